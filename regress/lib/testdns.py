"""testdns: a real DNS server (unbound(8) from Debian) on loopback for
sealrelay's tests, serving the records a test gives it.

    from testdns import TestDNS
    dns = TestDNS(work, ["nullmx.sealtest. MX 0 .",
                         "mx.sealtest. MX 10 mx1.mx.sealtest.",
                         "mx1.mx.sealtest. A 127.0.0.7"])
    dns.start()        # dns.port; smtpd.conf: resolver 127.0.0.1 port N
    dns.stop()

Every name under the zones of the records is answered from them only
(local-zone static: anything else there is NXDOMAIN); nothing is asked
upstream.  Do not use "test." or "invalid.": libunbound answers those
special-use names itself (NXDOMAIN) and never asks the server.
"""

import os
import socket
import subprocess
import time


def _free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class TestDNS:
    def __init__(self, work, records, zones=None):
        self.work = work
        self.port = _free_udp_port()
        self.records = records
        if zones is None:
            zones = sorted({r.split()[0].rstrip(".").split(".")[-1] + "."
                            for r in records})
        self.zones = zones
        self.conf = os.path.join(work, "unbound.conf")
        self.log = os.path.join(work, "unbound.log")
        self.proc = None

    def start(self):
        lines = [
            "server:",
            "  interface: 127.0.0.1",
            "  port: %d" % self.port,
            "  do-daemonize: no",
            '  username: ""',
            '  chroot: ""',
            '  directory: "%s"' % self.work,
            '  pidfile: ""',
            "  use-syslog: no",
            '  logfile: "%s"' % self.log,
            "  verbosity: 1",
            "  do-ip6: no",
            "  num-threads: 1",
            "  access-control: 127.0.0.0/8 allow",
            '  module-config: "iterator"',
            "  so-reuseport: no",
        ]
        for z in self.zones:
            lines.append('  local-zone: "%s" static' % z)
            # The apex exists (NODATA, not NXDOMAIN for "sealtest."), or a
            # resolver that minimises query names stops there.
            lines.append('  local-data: "%s 3600 IN SOA ns.%s '
                         'hostmaster.%s 1 3600 600 86400 60"' % (z, z, z))
        for r in self.records:
            lines.append('  local-data: "%s"' % r)
        lines += ["remote-control:", "  control-enable: no"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["unbound", "-d", "-c", self.conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.log + ".err", "w"))
        return self.wait()

    def query_ok(self):
        """True once the server answers (a minimal A query for a zone)."""
        q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" +
             b"".join(bytes([len(l)]) + l.encode()
                      for l in self.zones[0].rstrip(".").split(".")) +
             b"\x00\x00\x01\x00\x01")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.3)
        try:
            s.sendto(q, ("127.0.0.1", self.port))
            d, _ = s.recvfrom(512)
            return d[:2] == b"\x12\x34"
        except OSError:
            return False
        finally:
            s.close()

    def wait(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                return False
            if self.query_ok():
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
