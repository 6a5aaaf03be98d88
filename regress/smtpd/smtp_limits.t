#!/usr/bin/env python3
# Limits and hostile input: a 100 KB command line gets 500 5.5.2 and the
# session goes on; NUL in a command; too many bad commands end the
# session with 421; sessions per address; the command timeout; a 1 MB
# line in DATA is kept, a longer one refused; the daemon serves on.
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtptest import *  # noqa

t = TAP()
w, r = start(t, "smtp-limits", '''listen on 127.0.0.1 port {port}
action "local" maildir "{work}/Maildir"
match from any for any action "local"
limit bad-commands 5
limit sessions-per-address 3
limit timeout-command 2s
limit mails-per-session 2''')
md = os.path.join(w, "Maildir")

c = Client(r.port)
c.reply()
c.cmd("EHLO c.example")
code, text = c.cmd("NOOP " + "x" * 100 * 1024)
t.ok(code == 500 and text[0].startswith("5.5.2"),
     "100 KB command line: 500 5.5.2")
t.is_(c.cmd("NOOP")[0], 250, "still serving after the long line")
code, text = c.cmd("NO\0OP")
t.is_(code, 500, "NUL in a command: 500")
t.is_(c.cmd("NOOP")[0], 250, "still serving after NUL")
# 100 KB header line in DATA is fine (under the 1 MB line limit).
c.cmd("MAIL FROM:<a@b.example>")
c.cmd("RCPT TO:<long@example.org>")
c.cmd("DATA")
c.send("Subject: long\r\nX-Long: " + "h" * 100 * 1024 + "\r\n\r\nbody\r\n.\r\n")
t.is_(c.reply()[0], 250, "100 KB header line accepted in DATA")
# A 1 MB line (1,000,000 bytes) is kept; a 2 MB one refused.
c.cmd("MAIL FROM:<a@b.example>")
c.cmd("RCPT TO:<mega@example.org>")
c.cmd("DATA")
c.send("Subject: mega\r\n\r\n" + "m" * 1000000 + "\r\n.\r\n")
t.is_(c.reply()[0], 250, "1 MB line in DATA accepted")
c.cmd("QUIT")
c.close()
c = Client(r.port)
c.reply()
c.cmd("EHLO c.example")
c.cmd("MAIL FROM:<a@b.example>")
c.cmd("RCPT TO:<toolong@example.org>")
c.cmd("DATA")
c.send("Subject: 2mb\r\n\r\n" + "z" * (2 * 1024 * 1024) + "\r\n.\r\n")
code, text = c.reply()
t.ok(code == 550 and "line" in text[0], "2 MB line in DATA refused")
t.is_(c.cmd("NOOP")[0], 250, "still serving after the 2 MB line")
c.close()
msgs = maildir_messages(md, 2)
t.ok(any(b"m" * 1000000 in m for m in msgs), "1 MB line delivered intact")
t.ok(not any(b"Subject: 2mb" in m for m in msgs), "2 MB line not delivered")

# mails-per-session 2.
c = Client(r.port)
c.reply()
c.cmd("EHLO c.example")
for i in range(2):
    c.cmd("MAIL FROM:<a@b.example>")
    c.cmd("RCPT TO:<n%d@example.org>" % i)
    c.cmd("DATA")
    c.send("Subject: n\r\n\r\nx\r\n.\r\n")
    c.reply()
code, text = c.cmd("MAIL FROM:<a@b.example>")
t.ok(code == 421 and c.closed(), "third mail in a session: 421 and closed")
c.close()

# Bad commands: the fifth ends the session.
c = Client(r.port)
c.reply()
codes = [c.cmd("BOGUS%d" % i)[0] for i in range(4)]
t.is_(codes, [500] * 4, "four bad commands: 500 each")
c.send("BOGUS\r\n")
t.is_(c.reply()[0], 500, "fifth bad command: 500")
t.is_(c.reply()[0], 421, "then 421")
t.ok(c.closed(), "and the connection is closed")
c.close()

# Sessions per address: the fourth gets 421.
cs = []
for i in range(3):
    x = Client(r.port)
    x.reply()
    cs.append(x)
x = Client(r.port)
code, text = x.reply()
t.ok(code == 421 and text[0].startswith("4.7.0"),
     "fourth session from one address: 421 4.7.0")
x.close()
for x in cs:
    x.close()
time.sleep(0.3)

# Command timeout (2 s): 421 4.4.2 then closed.
c = Client(r.port)
c.reply()
t0 = time.time()
code, text = c.reply()
t.ok(code == 421 and text[0].startswith("4.4.2"), "idle client: 421 4.4.2")
t.ok(1.5 < time.time() - t0 < 6, "after about the command timeout")
c.close()

# A client that vanishes in the middle of DATA leaves nothing.
c = Client(r.port)
c.reply()
c.cmd("EHLO c.example")
c.cmd("MAIL FROM:<a@b.example>")
c.cmd("RCPT TO:<gone@example.org>")
c.cmd("DATA")
c.send("Subject: half\r\n\r\nhalf a message")
time.sleep(0.3)
c.close()
time.sleep(0.5)
t.is_(spool_files(r), [], "client gone mid-DATA: nothing in the spool")

c = Client(r.port)
t.is_(c.reply()[0], 220, "daemon still serving")
c.close()
r.stop()
r.sanitizer_clean(t)
t.done()
