#!/usr/bin/env python3
# SMTP smuggling: DATA ends only at CRLF.CRLF.  The classic end-of-data
# variants (\n.\n, \r\n.\n, \n.\r\n, \r.\r\n) in the middle of a message,
# followed by a smuggled second transaction, get a 5xx for the whole
# message: nothing is queued or delivered, the smuggled commands are not
# executed, and the same connection goes on serving.  NUL bytes too.
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtptest import *  # noqa

t = TAP()
w, r = start(t, "smtp-smuggling", '''listen on 127.0.0.1 port {port}
action "local" maildir "{work}/Maildir"
match from any for any action "local"''')
md = os.path.join(w, "Maildir")

cases = [
    ("\\n.\\n", b"\n.\n"),
    ("\\r\\n.\\n", b"\r\n.\n"),
    ("\\n.\\r\\n", b"\n.\r\n"),
    ("\\r.\\r\\n", b"\r.\r\n"),
    ("\\r\\n.\\r", b"\r\n.\r"),
    ("bare LF line", b"\nplain\n"),
]
c = Client(r.port)
c.reply()
c.cmd("EHLO c.example")
for name, end in cases:
    c.cmd("MAIL FROM:<a@b.example>")
    c.cmd("RCPT TO:<victim@example.org>")
    t.is_(c.cmd("DATA")[0], 354, "%s: DATA 354" % name)
    c.send(b"Subject: outer\r\n\r\nhello" + end +
           b"MAIL FROM:<admin@example.org>\r\n"
           b"RCPT TO:<smuggled@example.org>\r\nDATA\r\n"
           b"Subject: smuggled\r\n\r\nevil\r\n.\r\n")
    code, text = c.reply()
    t.ok(code == 550 and text[0].startswith("5.6.11"),
         "%s: whole message refused with 550 5.6.11" % name)
    code, text = c.cmd("NOOP")
    t.is_(code, 250, "%s: next reply is our NOOP's, nothing smuggled" % name)
    t.is_(c.cmd("RCPT TO:<x@example.org>")[0], 503,
          "%s: transaction was reset" % name)

# NUL in DATA.
c.cmd("MAIL FROM:<a@b.example>")
c.cmd("RCPT TO:<victim@example.org>")
c.cmd("DATA")
c.send(b"Subject: nul\r\n\r\nhel\0lo\r\n.\r\n")
code, text = c.reply()
t.ok(code == 550 and "NUL" in text[0], "NUL in DATA refused")

# A clean message on the same connection still goes through.
c.cmd("MAIL FROM:<a@b.example>")
c.cmd("RCPT TO:<good@example.org>")
c.cmd("DATA")
c.send(b"Subject: good\r\n\r\nline\r\n.\r\n")
code, text = c.reply()
t.is_(code, 250, "clean message accepted after the refusals")
c.cmd("QUIT")
c.close()

msgs = maildir_messages(md, 1)
time.sleep(1)
msgs = maildir_messages(md, 1)
t.is_(len(msgs), 1, "exactly one message delivered")
t.ok(len(msgs) == 1 and b"Subject: good" in msgs[0], "it is the clean one")
t.ok(not any(b"smuggled" in m or b"evil" in m for m in msgs),
     "nothing smuggled was delivered")
t.ok(r.wait_log(r"refused: bare LF") and r.wait_log(r"refused: bare CR"),
     "refusals logged with the reason")
t.ok(not r.wait_log(r"smuggled@example", 0.5),
     "smuggled recipient never reached a log line")
# Nothing half-written stays in the spool.
time.sleep(0.5)
t.is_(spool_files(r), [], "no aborted message left in the spool")
r.stop()
r.sanitizer_clean(t)
t.done()
