"""testca: a private certificate authority for sealrelay's tests, made
with openssl(1), so a test can give a next hop a certificate that
verifies (for a name of its choice) against a CA that only it trusts.

    from testca import TestCA
    ca = TestCA(work)                      # ca.cert: the CA, PEM
    cert, key = ca.issue("mx.good.sealtest")
    ... smtpd.conf: ca test cafile "<ca.cert>"

issue() puts the name in subjectAltName (DNS, or IP for an address)
and in the CN; the key is an EC P-256 key; everything lasts two days.
"""

import ipaddress
import os
import subprocess


def _openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class TestCA:
    def __init__(self, work, name="ca", cn="sealrelay test CA"):
        self.work = work
        self.cert = os.path.join(work, name + ".crt")
        self.key = os.path.join(work, name + ".key")
        self.serial = 1
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                 "-subj", "/CN=" + cn,
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-keyout", self.key, "-out", self.cert)
        os.chmod(self.key, 0o600)

    def issue(self, name, file=None):
        """A server certificate for name signed by this CA: (cert, key)."""
        self.serial += 1
        base = os.path.join(self.work, file or name)
        cert, key, csr, ext = (base + ".crt", base + ".key", base + ".csr",
                               base + ".ext")
        try:
            ipaddress.ip_address(name)
            san = "IP:" + name
        except ValueError:
            san = "DNS:" + name
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=%s\n" % san)
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes",
                 "-subj", "/CN=" + name, "-keyout", key, "-out", csr)
        _openssl("x509", "-req", "-in", csr, "-CA", self.cert,
                 "-CAkey", self.key, "-set_serial", str(self.serial),
                 "-days", "2", "-extfile", ext, "-out", cert)
        os.chmod(key, 0o600)
        return cert, key
