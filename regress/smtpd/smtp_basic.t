#!/usr/bin/env python3
# The SMTP dialogue on a plain listener: greeting, EHLO keywords, the
# simple commands, sequence errors, pipelining, and mail sent with
# smtplib arriving in a Maildir exactly as sent (dot-unstuffed, with our
# Received: header): two transactions on one connection, RSET, many
# recipients, SIZE.
import os
import re
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtptest import *  # noqa

t = TAP()
w, r = start(t, "smtp-basic", '''hostname mx.test.example
listen on 127.0.0.1 port {port}
action "local" maildir "{work}/Maildir"
match from any for any action "local"
limit message-size 100K
limit recipients 60''')
md = os.path.join(w, "Maildir")

c = Client(r.port)
code, text = c.reply()
t.is_((code, text[0]), (220, "mx.test.example ESMTP sealrelay"), "greeting")
code, text = c.cmd("EHLO client.example")
t.is_(code, 250, "EHLO 250")
t.like(text[0], r"^mx\.test\.example Hello client\.example \[127\.0\.0\.1\]",
       "EHLO first line names us and the client")
kw = set(x.split()[0] for x in text[1:])
for k in ("PIPELINING", "8BITMIME", "SIZE", "ENHANCEDSTATUSCODES", "DSN",
          "SMTPUTF8"):
    t.ok(k in kw, "EHLO offers %s" % k)
t.ok("SIZE 102400" in text, "SIZE shows the limit")
t.ok("STARTTLS" not in kw, "no STARTTLS on a plain listener")
t.ok("AUTH" not in kw, "no AUTH on a plain listener")
t.is_(c.cmd("NOOP")[0], 250, "NOOP")
code, text = c.cmd("VRFY root")
t.ok(code == 252 and text[0].startswith("2.5.0"), "VRFY 252 2.5.0")
v = Client(r.port)
v.reply()
v.cmd("EHLO v.example")
code, text = v.cmd("VRFY")
t.ok(code == 501 and text[0].startswith("5.5.4"), "VRFY without an "
     "argument: 501 5.5.4")
v.cmd("QUIT")
t.is_(c.cmd("EXPN staff")[0], 502, "EXPN 502")
t.is_(c.cmd("HELP")[0], 214, "HELP 214")
code, text = c.cmd("RCPT TO:<a@b.example>")
t.ok(code == 503 and text[0].startswith("5.5.1"), "RCPT before MAIL 503")
t.is_(c.cmd("DATA")[0], 503, "DATA before MAIL 503")
t.is_(c.cmd("MAIL FROM:<a@b.example>")[0], 250, "MAIL 250")
code, text = c.cmd("MAIL FROM:<a@b.example>")
t.is_(code, 503, "nested MAIL 503")
t.is_(c.cmd("DATA")[0], 503, "DATA without RCPT 503")
code, text = c.cmd("RSET")
t.ok(code == 250 and text[0].startswith("2.0.0"), "RSET 250 2.0.0")
t.is_(c.cmd("RCPT TO:<a@b.example>")[0], 503, "RSET ended the transaction")
t.is_(c.cmd("FOO bar")[0], 500, "unknown command 500")
code, text = c.cmd("MAIL FROM:<a@b.example> SIZE=200000")
t.ok(code == 552 and text[0].startswith("5.3.4"), "SIZE over limit: 552")
t.is_(c.cmd("MAIL FROM:<a@b.example> FOO=1")[0], 555,
      "unknown MAIL parameter 555")
t.is_(c.cmd("MAIL FROM:<a@b.example> BODY=BINARYMIME")[0], 501,
      "BINARYMIME refused")
t.is_(c.cmd("MAIL FROM:a@b.example")[0], 501, "address without <> 501")
code, text = c.cmd("QUIT")
t.is_(code, 221, "QUIT 221")
t.ok(c.closed(), "closed after QUIT")
c.close()

# HELO first: no EHLO, MAIL before HELO refused.
c = Client(r.port)
c.reply()
t.is_(c.cmd("MAIL FROM:<a@b.example>")[0], 503, "MAIL before HELO 503")
t.is_(c.cmd("HELO")[0], 501, "HELO without argument 501")
t.is_(c.cmd("HELO client.example")[0], 250, "HELO 250")
c.close()

# Pipelining: one packet, replies in order, one transaction.
c = Client(r.port)
c.reply()
c.send("EHLO p.example\r\nMAIL FROM:<p@p.example>\r\n"
       "RCPT TO:<one@example.org>\r\nRCPT TO:<two@example.org>\r\n"
       "RCPT TO:<bad address>\r\nDATA\r\n")
codes = [c.reply()[0] for _ in range(6)]
t.is_(codes, [250, 250, 250, 250, 501, 354], "pipelined replies in order")
c.send("Subject: pipelined\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n")
code, text = c.reply()
t.ok(code == 250 and re.match(r"2\.0\.0 Ok: queued as [0-9a-f]{16}$",
                              text[0]), "250 queued as ID")
qid = text[0].split()[-1]
t.is_(c.reply()[0], 250, "NOOP after DATA in the same packet")
t.is_(c.reply()[0], 221, "QUIT in the same packet")
c.close()
msgs = maildir_messages(md, 2)
t.is_(len(msgs), 2, "pipelined message delivered to both recipients")
m = msgs[0] if msgs else b""
t.ok(m.startswith(b"Received: from p.example ([127.0.0.1])\n"
                  b"\tby mx.test.example (sealrelay) with ESMTP id " +
                  qid.encode()), "Received: header first, with queue id")
t.ok(m.endswith(b"Subject: pipelined\n\nbody\n"), "body as sent")

# smtplib: two transactions, dot-unstuffing, many recipients.
for f in os.listdir(os.path.join(md, "new")):
    os.unlink(os.path.join(md, "new", f))
s = smtplib.SMTP("127.0.0.1", r.port, timeout=20)
s.ehlo("lib.example")
body1 = "Subject: one\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n"
t.is_(s.sendmail("s@lib.example", ["r1@example.org"], body1), {},
      "first transaction accepted")
s.rset()
rcpts = ["r%d@example.org" % i for i in range(50)]
t.is_(s.sendmail("s@lib.example", rcpts, "Subject: two\r\n\r\nmany\r\n"), {},
      "second transaction, 50 recipients, accepted")
s.quit()
msgs = maildir_messages(md, 51)
t.is_(len(msgs), 51, "51 deliveries")
one = [m for m in msgs if b"Subject: one" in m]
t.ok(len(one) == 1 and one[0].endswith(
    b"Subject: one\n\n.leading dot\n..two dots\n.\nend\n"),
    "dots survive the round trip")
t.ok(len(one) == 1 and b"for <r1@example.org>;" in one[0],
     "single recipient named in Received:")

# Too many recipients, and SIZE enforced during DATA.
c = Client(r.port)
c.reply()
c.cmd("EHLO x.example")
c.cmd("MAIL FROM:<a@b.example>")
codes = [c.cmd("RCPT TO:<r%d@example.org>" % i)[0] for i in range(61)]
t.ok(codes[:60] == [250] * 60 and codes[60] == 452,
     "recipient 61 of 60: 452")
c.cmd("RSET")
c.cmd("MAIL FROM:<a@b.example>")
c.cmd("RCPT TO:<big@example.org>")
t.is_(c.cmd("DATA")[0], 354, "DATA 354")
c.send(("x" * 998 + "\r\n") * 120 + ".\r\n")
code, text = c.reply()
t.ok(code == 552 and text[0].startswith("5.3.4"), "message over SIZE: 552")
t.is_(c.cmd("NOOP")[0], 250, "still serving after 552")
c.close()
t.ok(not any(b"big@example.org" in m for m in maildir_messages(md, 0, 1)),
     "oversized message not delivered")

t.ok(r.wait_log(r"smtp: session [0-9a-f]{16}: msgid [0-9a-f]{16}: accepted"),
     "log: session and msgid on one line")
r.stop()
r.sanitizer_clean(t)
t.done()
