#!/usr/bin/env python3
# Per-destination TLS levels ("relay ... tls-policy <table>", recipient
# domain -> level, ".parent" for every subdomain): a domain's entry
# raises the action's level for that domain only.  One message to two
# domains through a server without STARTTLS: the "may" domain is
# delivered in the clear, the "encrypt" domain waits.  Through a server
# with a self-signed certificate: "encrypt" goes over TLS, "verify" (by
# a parent-domain entry) is refused and waits.
import os
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import *          # noqa: E402,F403
from faultsmtp import FaultSMTP  # noqa: E402

t = TAP()
need_root(t)
w = workdir("dlv-tlspolicy")
cert, key = make_cert(w, cn="localhost")
plain = FaultSMTP().start()
tls = FaultSMTP(tls=(cert, key)).start()

r = Relay(w, '''listen on 127.0.0.1 port {port}
table levels {{ enc.example = encrypt, .sub.example = verify }}
action "plain" relay host "smtp://127.0.0.1:%d" tls-policy <levels>
action "tls" relay host "smtp://127.0.0.1:%d" tls-policy <levels>
match from any for rcpt "p@plain.example" action "plain"
match from any for rcpt "p@enc.example" action "plain"
match from any for rcpt "t@plain.example" action "tls"
match from any for rcpt "t@enc.example" action "tls"
match from any for rcpt "t@x.sub.example" action "tls"
''' % (plain.port, tls.port))
t.ok(r.start(), "relay started")


def send(rcpts):
    s = smtplib.SMTP("127.0.0.1", r.port, timeout=10)
    s.sendmail("s@example.org", rcpts, b"Subject: policy\r\n\r\nhi\r\n")
    s.quit()


send(["p@plain.example", "p@enc.example"])
send(["t@plain.example", "t@enc.example", "t@x.sub.example"])

t.ok(plain.wait_messages(1), "no entry: may, delivered in the clear")
t.ok(r.wait_log(r"to=<p@enc\.example> .*status=TempFail.*STARTTLS"),
     "encrypt entry: the same server without STARTTLS is refused")
t.ok(tls.wait_messages(1), "TLS server: delivered")
t.ok(r.wait_log(r"to=<t@enc\.example> .*tls=\"TLSv1\.[23] \S+ "
                r"unverified\" status=Ok"),
     "encrypt entry: delivered over TLS")
t.ok(r.wait_log(r"to=<t@plain\.example> .*tls=\"TLSv1\.[23] .*status=Ok"),
     "no entry: may uses TLS when offered")
t.ok(r.wait_log(r"to=<t@x\.sub\.example> .*status=TempFail.*"
                r"(certificate|verif)"),
     ".sub.example entry: verify for x.sub.example, self-signed refused")
time.sleep(0.5)
t.is_([m["rcpts"] for m in plain.messages], [["p@plain.example"]],
      "the clear-text server got only the may recipient")
got = sorted(a for m in tls.messages for a in m["rcpts"])
t.is_(got, ["t@enc.example", "t@plain.example"],
      "the TLS server got the may and encrypt recipients, not verify")
q = r.smtpctl("show", "queue").stdout
t.ok("p@enc.example" in q and "t@x.sub.example" in q,
     "the refused recipients wait in the queue")
t.ok("p@plain.example" not in q and "t@enc.example" not in q,
     "the delivered ones left it")
r.stop()
plain.stop()
tls.stop()
r.sanitizer_clean(t)
t.done()
