#!/usr/bin/env python3
# "tls verify" with a CA of our own ("ca NAME cafile FILE", "relay ...
# ca NAME"): a certificate the CA signed for the MX host name (found
# through a real DNS server) verifies and the mail goes; a CA-signed
# certificate for another name, a self-signed certificate, and the same
# good server for an action that trusts only the system's bundle are all
# refused, and those messages wait in the queue.  A relay host name is
# verified the same way.  "verified" is logged and recorded.  A ca file
# that cannot be read stops the daemon at start.
import os
import random
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import *          # noqa: E402,F403
from faultsmtp import FaultSMTP  # noqa: E402
from testca import TestCA        # noqa: E402
from testdns import TestDNS      # noqa: E402

t = TAP()
need_root(t)
w = workdir("dlv-tlsca")
ca = TestCA(w)
good_crt = ca.issue("mx.good.sealtest")
wrong_crt = ca.issue("other.sealtest")
host_crt = ca.issue("localhost")
self_crt = make_cert(w, cn="mx.self.sealtest", name="self")

# MX delivery goes to port 25: each server on its own loopback address.
base = "127.%d.%d." % (random.randint(1, 250), random.randint(1, 250))
good = FaultSMTP(host=base + "2", port=25, tls=good_crt).start()
wrong = FaultSMTP(host=base + "3", port=25, tls=wrong_crt).start()
selfs = FaultSMTP(host=base + "4", port=25, tls=self_crt).start()
host = FaultSMTP(tls=host_crt).start()
dns = TestDNS(w, [
    "good.sealtest. MX 10 mx.good.sealtest.",
    "mx.good.sealtest. A %s2" % base,
    "wrong.sealtest. MX 10 mx.wrong.sealtest.",
    "mx.wrong.sealtest. A %s3" % base,
    "self.sealtest. MX 10 mx.self.sealtest.",
    "mx.self.sealtest. A %s4" % base,
    "sys.sealtest. MX 10 mx.good.sealtest.",
])
t.ok(dns.start(), "test DNS server (unbound) answers")

r = Relay(w, '''resolver 127.0.0.1 port %d
ca test cafile "%s"
listen on 127.0.0.1 port {port}
action "ca" relay tls verify ca test
action "sys" relay tls verify
action "hostca" relay host "smtp://localhost:%d" tls verify ca test
match from any for domain "sys.sealtest" action "sys"
match from any for rcpt "h@host.example" action "hostca"
match from any for any action "ca"''' % (dns.port, ca.cert, host.port))
t.ok(r.start(), "relay started")


def send(rcpt):
    s = smtplib.SMTP("127.0.0.1", r.port, timeout=10)
    s.sendmail("s@example.org", [rcpt],
               b"Subject: verify\r\n\r\nfor %s\r\n" % rcpt.encode())
    s.quit()


for rcpt in ("u@good.sealtest", "u@wrong.sealtest", "u@self.sealtest",
             "u@sys.sealtest", "h@host.example"):
    send(rcpt)

b = base.replace(".", r"\.")
t.ok(good.wait_messages(1), "verify: delivered to the MX whose certificate "
     "our CA signed for its name")
t.ok(good.messages and good.messages[0]["tls"], "... over TLS")
t.ok(r.wait_log(r"to=<u@good\.sealtest> .*relay=\"mx\.good\.sealtest "
                r"\[%s2\]:25\" tls=\"TLSv1\.[23] \S+ verified\" status=Ok"
                % b), "log: the MX host, TLS and \"verified\"")
t.ok(host.wait_messages(1), "verify: relay host name verified against "
     "the CA")
t.ok(r.wait_log(r"to=<h@host\.example> .*tls=\"TLSv1\.[23] \S+ verified\" "
                r"status=Ok"), "log: relay host \"verified\"")
t.ok(r.wait_log(r"to=<u@wrong\.sealtest> .*status=TempFail.*"
                r"mx\.wrong\.sealtest"),
     "CA-signed certificate for another name: TempFail")
t.ok(r.wait_log(r"to=<u@self\.sealtest> .*status=TempFail.*"
                r"(certificate|verif)"),
     "self-signed certificate: TempFail")
t.ok(r.wait_log(r"to=<u@sys\.sealtest> .*status=TempFail.*"
                r"(certificate|verif)"),
     "without \"ca\": the system bundle does not know our CA")
time.sleep(0.5)
t.is_(len(good.messages), 1, "the good MX got only its own message")
t.is_(len(wrong.messages) + len(selfs.messages), 0,
      "nothing delivered past a failed verification")
q = r.smtpctl("show", "queue").stdout
t.ok(all(("u@%s.sealtest" % d) in q for d in ("wrong", "self", "sys")),
     "refused ones wait in the queue")
t.ok("u@good.sealtest" not in q and "h@host.example" not in q,
     "verified ones left the queue")
r.stop()
r.sanitizer_clean(t)

# A ca file that cannot be read: the daemon does not start.
w2 = workdir("dlv-tlsca-bad")
r2 = Relay(w2, '''ca missing cafile "%s/nonexistent.pem"
listen on 127.0.0.1 port {port}
action "out" relay tls verify ca missing
match from any for any action "out"''' % w2)
r2.start(wait=False)
rc = r2.wait_exit(15)
t.ok(rc is not None and rc != 0, "unreadable ca file: smtpd exits (%s)" % rc)
t.like(r2.log(), r"ca \"missing\": cannot load .*nonexistent\.pem",
       "... and says which ca and file")
r2.stop()
for s in (good, wrong, selfs, host):
    s.stop()
dns.stop()
t.done()
