#!/usr/bin/env python3
# MX routing through a real DNS server (unbound on loopback, configured
# with "resolver"): MX in priority order (a dead first MX falls through
# to the next), the domain's own address without MX, RFC 7505 null MX
# and a non-existent domain refused at once (PermFail).
import os
import random
import smtplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import *          # noqa: E402,F403
from faultsmtp import FaultSMTP  # noqa: E402
from testdns import TestDNS      # noqa: E402

t = TAP()
need_root(t)
w = workdir("dlv-mx")

# MX delivery goes to port 25: give each server its own loopback address.
base = "127.%d.%d." % (random.randint(1, 250), random.randint(1, 250))
good = FaultSMTP(host=base + "2", port=25, name="mx2.a.sealtest").start()
bare = FaultSMTP(host=base + "4", port=25, name="b.sealtest").start()
dns = TestDNS(w, [
    "a.sealtest. MX 10 mx1.a.sealtest.",          # nothing listens on mx1
    "a.sealtest. MX 20 mx2.a.sealtest.",
    "mx1.a.sealtest. A %s3" % base,
    "mx2.a.sealtest. A %s2" % base,
    "b.sealtest. A %s4" % base,               # no MX: the domain itself
    "nullmx.sealtest. MX 0 .",
])
t.ok(dns.start(), "test DNS server (unbound) answers")
r = Relay(w, '''resolver 127.0.0.1 port %d
listen on 127.0.0.1 port {port}
action "mx" relay
match from any for any action "mx"''' % dns.port)
t.ok(r.start(), "relay started")


def send(rcpts):
    s = smtplib.SMTP("127.0.0.1", r.port, timeout=10)
    s.sendmail("s@example.org", rcpts, b"Subject: mx\r\n\r\nhello\r\n")
    s.quit()


send(["u@a.sealtest"])
t.ok(good.wait_messages(1), "delivered to the second MX (first is down)")
t.ok(r.wait_log(r"to=<u@a.sealtest> .*relay=\"mx2.a.sealtest \[%s2\]:25\" "
                r".*status=Ok" % base.replace(".", r"\.")),
     "log names the MX host and address")
send(["v@b.sealtest"])
t.ok(bare.wait_messages(1), "no MX: delivered to the domain's address")
send(["w@nullmx.sealtest"])
t.ok(r.wait_log(r"to=<w@nullmx.sealtest> .*status=PermFail.*5\.1\.10.*null MX"),
     "null MX: PermFail at once (5.1.10)")
send(["x@nxdomain.sealtest"])
t.ok(r.wait_log(r"to=<x@nxdomain.sealtest> .*status=PermFail.*5\.1\.2"),
     "non-existent domain: PermFail (5.1.2)")
send(["y@a.sealtest", "z@b.sealtest"])
t.ok(good.wait_messages(2) and bare.wait_messages(2),
     "one message, two domains: each to its MX")
t.ok(r.wait_log(r"to=<y@a.sealtest> .*status=Ok") and
     r.wait_log(r"to=<z@b.sealtest> .*status=Ok"), "both logged Ok")
r.stop()
dns.stop()
good.stop()
bare.stop()
r.sanitizer_clean(t)
t.done()
