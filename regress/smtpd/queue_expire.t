#!/usr/bin/env python3
# Expiry: a message that could not be delivered within "limit expire"
# bounces with Status 4.4.7 and its last error; a message from the null
# sender (such as a bounce) is dropped with a log line instead.  The
# parser's smallest expire is a minute, so the test ages the messages by
# rewriting the arrival time in their envelopes (sealrelay-spool(5))
# while the daemon is stopped.
import email
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuelib import *  # noqa: F401,F403

t = TAP()
need_root(t)
w = workdir("queue-expire")
CONF = '''listen on 127.0.0.1 port {port}
limit expire 1h
limit retry-min 1h
action "local" maildir "{work}/Maildir"
action "out" relay host smtp://127.0.0.1:{port2}
match from any for rcpt "sender@example.org" action "local"
match from any for any action "out"'''
r = Relay(w, CONF)
if not t.ok(r.start(), "daemon started, next hop down"):
    t.diag(r.log())
    t.done()
code, text, qid = submit(r.port, "sender@example.org", ["late@example.com"],
                         MSG)
t.is_(code, 250, "accepted")
code, text, qid0 = submit(r.port, "", ["late@example.com"], MSG)
t.is_(code, 250, "null-sender message accepted")
t.ok(wait_until(lambda: r.smtpctl("show", "queue").stdout.count("waiting")
                == 2, 10), "both wait for the next hop")
r.stop()

old = int(time.time()) - 2 * 3600
for q in (qid, qid0):
    p = os.path.join(w, "spool", "queue", q + ".env")
    with open(p) as f:
        lines = f.read().split("\n")
    f2 = lines[1].split(" ")
    f2[2] = str(old)
    lines[1] = " ".join(f2)
    with open(p, "w") as f:
        f.write("\n".join(lines))

r2 = Relay(w, CONF, ports=r.ports)
t.ok(r2.start(), "restarted two hours later, as far as the queue knows")
t.ok(wait_until(lambda: len(maildir(w)) == 1, 10), "a DSN arrived")
t.ok(wait_until(lambda: spool_files(w) == [], 10), "queue empty")
log = r2.log()
t.like(log, r"%s: to=<late@example.com>, expired: 4\.4\.7" % qid,
       "expiry logged")
t.like(log, r"%s: to=<late@example.com>, failed, no bounce to the null "
       r"sender" % qid0, "null-sender message dropped with a log line")
dsn = email.message_from_bytes((maildir(w) or [b""])[0])
t.is_(dsn.get_content_type(), "multipart/report", "multipart/report")
parts = dsn.get_payload() if dsn.is_multipart() else []
if len(parts) == 3:
    text = "\n".join(str(b) for b in parts[1].get_payload())
    t.like(text, r"Final-Recipient: rfc822; late@example.com",
           "Final-Recipient")
    t.like(text, r"Action: failed", "Action: failed")
    t.like(text, r"Status: 4\.4\.7", "Status: 4.4.7")
    t.like(parts[0].get_payload(), r"expired; last error: .*refused",
           "human part has the last error")
else:
    t.ok(False, "three parts")
t.is_(len(maildir(w)), 1, "one DSN only")
r2.stop()
r2.sanitizer_clean(t)
t.done()
