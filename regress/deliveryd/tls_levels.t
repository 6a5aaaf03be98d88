#!/usr/bin/env python3
# Outbound TLS levels: "may" delivers in the clear to a server without
# STARTTLS and uses TLS when offered; "encrypt" waits (4xx) without
# STARTTLS; "verify" refuses a self-signed or wrong-name certificate and
# the message stays queued.  TLS protocol, cipher and verification are
# logged per recipient.
import os
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import *          # noqa: E402,F403
from faultsmtp import FaultSMTP  # noqa: E402

t = TAP()
need_root(t)
w = workdir("dlv-tls")
cert, key = make_cert(w, cn="localhost")
wcert, wkey = make_cert(w, cn="wrong.example", name="wrong")

plain = FaultSMTP().start()               # no STARTTLS
tls = FaultSMTP(tls=(cert, key)).start()  # self-signed, CN localhost
wrong = FaultSMTP(tls=(wcert, wkey)).start()

r = Relay(w, '''listen on 127.0.0.1 port {port}
action "may-plain" relay host "smtp://127.0.0.1:%d" tls may
action "may-tls" relay host "smtp://127.0.0.1:%d" tls may
action "enc-plain" relay host "smtp://127.0.0.1:%d" tls encrypt
action "enc-tls" relay host "smtp://127.0.0.1:%d" tls encrypt
action "verify" relay host "smtp://localhost:%d" tls verify
action "verify-wrong" relay host "smtp://127.0.0.1:%d" tls verify
match from any for rcpt "a@may-plain.test" action "may-plain"
match from any for rcpt "a@may-tls.test" action "may-tls"
match from any for rcpt "a@enc-plain.test" action "enc-plain"
match from any for rcpt "a@enc-tls.test" action "enc-tls"
match from any for rcpt "a@verify.test" action "verify"
match from any for rcpt "a@verify-wrong.test" action "verify-wrong"
''' % (plain.port, tls.port, plain.port, tls.port, tls.port, wrong.port))
t.ok(r.start(), "relay started")


def send(rcpt):
    s = smtplib.SMTP("127.0.0.1", r.port, timeout=10)
    s.sendmail("s@example.org", [rcpt],
               b"Subject: tls\r\n\r\nfor %s\r\n" % rcpt.encode())
    s.quit()


for d in ("may-plain", "may-tls", "enc-plain", "enc-tls", "verify",
          "verify-wrong"):
    send("a@%s.test" % d)

t.ok(plain.wait_messages(1), "may: delivered in the clear without STARTTLS")
t.ok(plain.messages and not plain.messages[0]["tls"], "... not over TLS")
t.ok(tls.wait_messages(2), "may and encrypt: delivered over STARTTLS")
t.ok(all(m["tls"] for m in tls.messages), "... over TLS")
t.ok(r.wait_log(r"to=<a@may-tls.test> .*tls=\"TLSv1\.[23] \S+ unverified\" "
                r"status=Ok"), "TLS protocol, cipher, verification logged")
t.ok(r.wait_log(r"to=<a@enc-plain.test> .*status=TempFail.*STARTTLS"),
     "encrypt without STARTTLS: TempFail")
t.ok(r.wait_log(r"to=<a@verify.test> .*status=TempFail.*"
                r"(certificate|verif)"),
     "verify: self-signed certificate refused, TempFail")
t.ok(r.wait_log(r"to=<a@verify-wrong.test> .*status=TempFail"),
     "verify: wrong-name certificate refused, TempFail")
time.sleep(0.5)
t.is_(len(tls.messages), 2, "nothing delivered past a failed verify")
t.is_(len(wrong.messages), 0, "nothing delivered to the wrong name")
q = r.smtpctl("show", "queue").stdout
t.like(q, r"a@verify\.test", "the verify message waits in the queue")
t.like(q, r"a@enc-plain\.test", "the encrypt message waits in the queue")
t.ok("a@may-plain.test" not in q, "delivered ones left the queue")
r.stop()
for s in (plain, tls, wrong):
    s.stop()
r.sanitizer_clean(t)
t.done()
