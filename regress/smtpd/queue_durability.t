#!/usr/bin/env python3
# Durability of the queue: a message acknowledged with 250 survives a
# kill -9 of the whole daemon and is delivered after the restart; a
# message cut off during DATA leaves nothing behind.
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuelib import *  # noqa: F401,F403

t = TAP()
need_root(t)
w = workdir("queue-durability")
CONF = '''listen on 127.0.0.1 port {port}
limit retry-min 1s
limit retry-max 2s
action "out" relay host smtp://127.0.0.1:{port2}
match from any for any action "out"'''
r = Relay(w, CONF)
if not t.ok(r.start(), "daemon started, next hop down"):
    t.diag(r.log())
    t.done()

code, text, qid = submit(r.port, "sender@example.org",
                         ["rcpt@example.com", "other@example.net"], MSG)
t.is_(code, 250, "message accepted")
t.ok(qid is not None, "reply names the queue id")
r.kill_all()
files = spool_files(w)
t.ok(qid in files and qid + ".env" in files,
     "after kill -9: message and envelope are in the queue")

# A second daemon cut off during DATA.
r2 = Relay(w, CONF, ports=r.ports)
t.ok(r2.start(), "restarted on the same spool, next hop still down")
s = socket.create_connection(("127.0.0.1", r2.port), 10)
f = s.makefile("rb")
f.readline()
for cmd in (b"EHLO test.example\r\n", b"MAIL FROM:<half@example.org>\r\n",
            b"RCPT TO:<rcpt@example.com>\r\n", b"DATA\r\n"):
    s.sendall(cmd)
    line = f.readline()
    while line[3:4] == b"-":
        line = f.readline()
t.like(line.decode(), r"^354", "DATA started")
s.sendall(b"Subject: half\r\n\r\n" + b"x" * 20000 + b"\r\nmore")
time.sleep(0.5)
incoming = spool_files(w, "incoming")
t.ok(len(incoming) == 1, "the half message is in incoming/")
r2.kill_all()
s.close()

# Third start: the next hop is up; the acknowledged message goes out,
# the half one is gone.
sink = Sink(r.ports["port2"])
r3 = Relay(w, CONF, ports=r.ports)
t.ok(r3.start(), "restarted with the next hop up")
t.ok(wait_until(lambda: len(sink.received()) >= 1, 20),
     "acknowledged message delivered after the restart")
got = sink.received()
t.is_(len(got), 1, "exactly one message at the next hop")
if got:
    t.is_(sorted(got[0][1]), ["other@example.net", "rcpt@example.com"],
          "both recipients")
    t.ok(b"Subject: queue test" in got[0][2] and b"Hello." in got[0][2],
         "content intact")
    t.ok(b"half" not in got[0][2], "nothing of the cut-off message")
t.ok(wait_until(lambda: spool_files(w) == [], 10),
     "queue empty after delivery")
t.is_(spool_files(w, "incoming"), [], "incoming/ empty: nothing "
      "half-written survived")
t.like(r3.log(), r"recovery: removed 1 incomplete file",
       "recovery removed the incomplete message")
time.sleep(1)
t.is_(len(sink.received()), 1, "the cut-off message never goes out")
r3.stop()
sink.close()
r3.sanitizer_clean(t)
t.done()
