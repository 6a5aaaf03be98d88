#!/usr/bin/env python3
# Relayed mail arrives byte-exact (plus our Received header) at a real
# next hop (Postfix's smtp-sink), with the X-Seal-* control headers
# stripped; several messages reuse one connection with pipelining; a
# message much larger than the piece deliveryd reads at a time (64 KiB)
# arrives byte-exact too, announced with its exact RFC 1870 SIZE.
import atexit
import os
import re
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import *          # noqa: E402,F403
from faultsmtp import FaultSMTP  # noqa: E402

t = TAP()
need_root(t)
w = workdir("dlv-nexthop")

# -- smtp-sink, dumping every message to a file
sink = free_port()
dump = os.path.join(w, "dump")
os.mkdir(dump)
sp = subprocess.Popen(["smtp-sink", "-u", "root", "-d", dump + "/%M.",
                       "127.0.0.1:%d" % sink, "100"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
atexit.register(sp.kill)        # even if the test dies half-way
wait_port(sink)
r = Relay(w, '''listen on 127.0.0.1 port {port}
action "out" relay host "smtp://127.0.0.1:%d"
match from any for any action "out"''' % sink)
t.ok(r.start(), "relay started")

body = (b"From: a@example.org\r\n"
        b"X-Seal-Secure: yes\r\n"
        b"\tcontinued control header\r\n"
        b"Subject: byte exact\r\n"
        b"x-seal-policy: strict\r\n"
        b"X-Sealed-Not: kept\r\n"
        b"\r\n"
        b"line one\r\n"
        b".starts with a dot\r\n"
        b"..two dots\r\n"
        b"X-Seal-Secure: in the body stays\r\n"
        b"trailing spaces   \r\n"
        b"\r\n"
        b"last\r\n")
s = smtplib.SMTP("127.0.0.1", r.port, timeout=10)
s.sendmail("a@example.org", ["b@example.com", "c@example.net"], body)
s.quit()

files = []
end = time.time() + 15
while time.time() < end and not files:
    files = os.listdir(dump)
    time.sleep(0.1)
t.is_(len(files), 1, "one transaction at the sink for two recipients")
got = open(os.path.join(dump, files[0]), "rb").read() if files else b""
t.like(got.decode("latin-1"), r"X-Rcpt-Args: <b@example.com>\r?\n"
       r"X-Rcpt-Args: <c@example.net>", "both recipients in one transaction")
# smtp-sink writes its own headers and Received first, with LF line
# ends, and one empty line after the message; ours comes next.
norm = got.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
i = norm.find(b"Received: from [127.0.0.1]")
mine = norm[i:] if i >= 0 else b""
want = (b"From: a@example.org\r\nSubject: byte exact\r\n"
        b"X-Sealed-Not: kept\r\n\r\nline one\r\n.starts with a dot\r\n"
        b"..two dots\r\nX-Seal-Secure: in the body stays\r\n"
        b"trailing spaces   \r\n\r\nlast\r\n\r\n")
hdr_end = mine.find(b"\r\nFrom: a@example.org")
t.ok(i >= 0 and hdr_end > 0 and b"(sealrelay)" in mine[:hdr_end],
     "our Received header first")
t.is_(mine[hdr_end + 2:], want, "message byte-exact, control headers stripped")
t.ok(b"X-Seal-Secure: yes" not in got and b"x-seal-policy" not in got and
     b"continued control header" not in got,
     "no control header or its continuation left")
t.like(r.log(), r"to=<b@example.com> .*status=Ok reply=\"250",
       "delivery logged with the remote reply")
r.stop()
sp.terminate()

# -- connection reuse and pipelining, seen by our recording server
fs = FaultSMTP(size=50 * 1024 * 1024).start()
w2 = workdir("dlv-reuse")
r = Relay(w2, '''listen on 127.0.0.1 port {port}
action "out" relay host "smtp://127.0.0.1:%d"
match from any for any action "out"''' % fs.port)
t.ok(r.start(), "relay started (reuse)")
n = 30
s = smtplib.SMTP("127.0.0.1", r.port, timeout=10)
for k in range(n):
    s.sendmail("a@example.org", ["u%d@example.com" % k],
               b"Subject: %d\r\n\r\nbody %d\r\n" % (k, k))
s.quit()
t.ok(fs.wait_messages(n), "%d messages arrived" % n)
t.ok(len(fs.sessions) <= 10,
     "connections reused: %d connections for %d messages"
     % (len(fs.sessions), n))
cmds = fs.all_cmds()
t.is_(len([c for c in cmds if c.startswith("MAIL FROM")]), n,
      "one MAIL per message")
t.ok(all(re.search(rb"^body \d+\r\n$", m["data"].split(b"\r\n\r\n", 1)[1])
         for m in fs.messages), "bodies intact")

# About 1 MiB: lines of every length from 0 to 199, some starting with a
# dot, so that pieces end everywhere: inside CRLF, before a dot, ...
lines = []
for k in range(12000):
    ln = (k * 37) % 200
    lead = b"." if k % 7 == 0 else b""
    lines.append(lead + (b"%d:" % k + b"x" * ln)[:ln])
big = (b"Subject: big\r\nX-Seal-Secure: yes\r\n\r\n" +
       b"\r\n".join(lines) + b"\r\n")
s = smtplib.SMTP("127.0.0.1", r.port, timeout=10)
s.sendmail("a@example.org", ["big@example.com"], big)
s.quit()
t.ok(fs.wait_messages(n + 1), "the large message arrived")
m = [m for m in fs.messages if m["rcpts"] == ["big@example.com"]]
data = m[0]["data"] if m else b""
cut = data.find(b"\r\nSubject: big\r\n")
t.ok(len(big) > 1000000 and cut > 0 and
     data[cut + 2:] == big.replace(b"X-Seal-Secure: yes\r\n", b""),
     "%d bytes byte-exact (control header stripped)" % len(big))
t.ok(any(c.startswith("MAIL FROM") and c.endswith(" SIZE=%d" % len(data))
         for c in fs.all_cmds()),
     "SIZE=%d: exactly what was sent, without the stuffed dots"
     % len(data))
r.stop()
fs.stop()
r.sanitizer_clean(t)
t.done()
