#!/usr/bin/env python3
# TLS on the front end: STARTTLS offered only before TLS on tls
# listeners, mail sent over STARTTLS and over implicit TLS (smtps), the
# Received: header naming protocol and cipher, tls-require refusing MAIL
# before STARTTLS, and the STARTTLS injection: plaintext sent behind
# STARTTLS in the same packet is discarded, never executed.
import os
import smtplib
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtptest import *  # noqa

t = TAP()
need_root(t)
w = workdir("smtp-tls")
cert, key = make_cert(w)
r = Relay(w, '''pki test cert "%s"
pki test key "%s"
listen on 127.0.0.1 port {port} tls pki test
listen on 127.0.0.1 port {port2} smtps pki test
listen on 127.0.0.1 port {port3} tls-require pki test
action "local" maildir "{work}/Maildir"
match from any for any action "local"''' % (cert, key))
if not t.ok(r.start(listen_ports=[r.ports["port"], r.ports["port2"],
                                  r.ports["port3"]]), "daemon starts"):
    t.diag(r.log())
    t.done()
md = os.path.join(w, "Maildir")


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


c = Client(r.port)
c.reply()
code, text = c.cmd("EHLO c.example")
t.ok("STARTTLS" in text, "STARTTLS offered on a tls listener")
code, text = c.cmd("STARTTLS")
t.ok(code == 220 and text[0].startswith("2.0.0"), "STARTTLS 220")
c.starttls_handshake()
code, text = c.cmd("EHLO c.example")
t.is_(code, 250, "EHLO over TLS")
t.ok("STARTTLS" not in text, "no STARTTLS once TLS is up")
t.is_(c.cmd("STARTTLS")[0], 503, "second STARTTLS refused")
t.is_(c.cmd("QUIT")[0], 221, "QUIT over TLS")
c.close()

# smtplib over STARTTLS.
s = smtplib.SMTP("127.0.0.1", r.port, timeout=20)
s.starttls(context=ctx())
t.is_(s.sendmail("a@b.example", ["tls@example.org"],
                 "Subject: starttls\r\n\r\nsecret\r\n"), {},
      "smtplib STARTTLS send")
s.quit()
# smtplib over implicit TLS.
s = smtplib.SMTP_SSL("127.0.0.1", r.ports["port2"], timeout=20,
                     context=ctx())
code, text = s.ehlo()
t.ok(b"STARTTLS" not in text, "smtps: no STARTTLS offered")
t.is_(s.sendmail("a@b.example", ["smtps@example.org"],
                 "Subject: smtps\r\n\r\nsecret\r\n"), {},
      "smtplib implicit TLS send")
s.quit()
msgs = maildir_messages(md, 2)
t.is_(len(msgs), 2, "both delivered")
for m in msgs:
    t.like(m.decode(errors="replace"),
           r"^Received: from [^\n]+\n\tby [^\n]+ with ESMTPS id [0-9a-f]{16}"
           r"\n\t\(TLSv1\.[23] [A-Z0-9_-]+\)\n",
           "Received: names ESMTPS, TLS version and cipher")

# tls-require.
c = Client(r.ports["port3"])
c.reply()
c.cmd("EHLO c.example")
code, text = c.cmd("MAIL FROM:<a@b.example>")
t.ok(code == 530 and text[0].startswith("5.7.0"),
     "tls-require: MAIL before STARTTLS 530 5.7.0")
c.cmd("STARTTLS")
c.starttls_handshake()
t.is_(c.cmd("MAIL FROM:<a@b.example>")[0], 503,
      "after STARTTLS the session starts over: EHLO needed")
c.cmd("EHLO c.example")
t.is_(c.cmd("MAIL FROM:<a@b.example>")[0], 250,
      "tls-require: MAIL after STARTTLS and EHLO")
c.close()

# STARTTLS injection: commands behind STARTTLS in one packet.
c = Client(r.port)
c.reply()
c.cmd("EHLO c.example")
c.send("STARTTLS\r\nRSET\r\nEHLO evil.example\r\n"
       "MAIL FROM:<evil@example.net>\r\n")
code, text = c.reply()
t.is_(code, 220, "injection: STARTTLS answered")
c.starttls_handshake()
code, text = c.cmd("NOOP")
t.ok(code == 250 and text[0] == "2.0.0 Ok",
     "injection: first reply over TLS is our NOOP's (RSET not executed)")
t.is_(c.cmd("RCPT TO:<x@example.org>")[0], 503,
      "injection: injected EHLO/MAIL not executed")
t.is_(c.cmd("MAIL FROM:<a@b.example>")[0], 503,
      "injection: session is before EHLO")
c.close()

# A failed handshake ends that session only.
c = Client(r.ports["port2"])
c.send(b"EHLO plaintext-on-smtps\r\n")
t.ok(c.closed(), "smtps: plaintext client dropped")
c.close()
c = Client(r.ports["port2"], tls=True)
t.is_(c.reply()[0], 220, "smtps still serving")
c.close()
r.stop()
r.sanitizer_clean(t)
t.done()
