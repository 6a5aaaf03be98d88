#!/usr/bin/env python3
# Load through the whole relay with Postfix's tools at both ends:
# smtp-source sends 300 messages of 3 recipients each over 10 parallel
# sessions, 3 messages per connection (10 rounds of -s 10 -m 30 -d, each
# round with its own recipients); sealrelay relays everything to
# smtp-sink, which dumps each transaction.  Every message arrives once,
# every recipient exactly once, the queue ends empty, and it all takes
# well under 15 seconds.
import atexit
import collections
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import *          # noqa: E402,F403

ROUNDS, SESSIONS, PER_CONN, RCPTS = 10, 10, 3, 3
MESSAGES = ROUNDS * SESSIONS * PER_CONN

t = TAP()
need_root(t)
w = workdir("dlv-load")
sink = free_port()
dump = os.path.join(w, "dump")
os.mkdir(dump)
sp = subprocess.Popen(["smtp-sink", "-u", "root", "-d", dump + "/m.",
                       "127.0.0.1:%d" % sink, "256"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
atexit.register(sp.kill)        # even if the test dies half-way
t.ok(wait_port(sink), "smtp-sink listens")
r = Relay(w, '''listen on 127.0.0.1 port {port}
action "out" relay host "smtp://127.0.0.1:%d"
match from any for any action "out"''' % sink)
t.ok(r.start(), "relay started")

start = time.time()
failed = []
for k in range(ROUNDS):
    p = run(["smtp-source", "-s", str(SESSIONS),
             "-m", str(SESSIONS * PER_CONN), "-r", str(RCPTS), "-N", "-d",
             "-f", "sender@load.example", "-t", "r%d@sink.example" % k,
             "-M", "source.example", "127.0.0.1:%d" % r.port], timeout=60)
    if p.returncode != 0:
        failed.append((k, p.returncode, p.stderr[-500:]))
accepted = time.time() - start
t.is_(failed, [], "smtp-source: every message accepted (%d in %.1fs)"
      % (MESSAGES, accepted))

want = {"%dr%d@sink.example" % (n, k)
        for k in range(ROUNDS) for n in range(1, SESSIONS * PER_CONN *
                                                RCPTS + 1)}
rcpts, msgids, per_tx = collections.Counter(), collections.Counter(), []


def scan():
    rcpts.clear()
    msgids.clear()
    per_tx.clear()
    for f in os.listdir(dump):
        with open(os.path.join(dump, f), "rb") as fh:
            d = fh.read().decode("latin-1")
        rs = re.findall(r"^X-Rcpt-Args: <([^>]*)>", d, re.M)
        rcpts.update(rs)
        per_tx.append(len(rs))
        msgids.update(re.findall(r"^Message-Id: (<[^>]*>)", d, re.M | re.I))


end = start + 30
while time.time() < end:
    scan()
    if sum(rcpts.values()) >= len(want):
        break
    time.sleep(0.2)
elapsed = time.time() - start
time.sleep(0.5)         # anything extra (a duplicate) would come now
scan()
t.is_(sum(rcpts.values()), MESSAGES * RCPTS,
      "%d recipients arrived at the sink" % (MESSAGES * RCPTS))
t.ok(set(rcpts) == want, "exactly the recipients that were sent")
dups = [a for a, n in rcpts.items() if n > 1]
t.is_(dups, [], "no recipient twice")
t.is_(len(msgids), MESSAGES, "%d distinct messages" % MESSAGES)
t.ok(all(n == 1 for n in msgids.values()), "every message once")
t.ok(per_tx and all(n == RCPTS for n in per_tx),
     "a message's %d recipients in one transaction" % RCPTS)
t.ok(elapsed < 15, "end to end in %.1fs (under 15s)" % elapsed)
t.diag("%d messages, %d recipients: accepted in %.1fs, at the sink in "
       "%.1fs" % (MESSAGES, MESSAGES * RCPTS, accepted, elapsed))
q = r.smtpctl("show", "queue").stdout
t.ok(not re.search(r"[0-9a-f]{16}", q), "the queue is empty")
t.ok(not re.search(r"status=(TempFail|PermFail)", r.log()),
     "no delivery failed")
r.stop()
sp.terminate()
sp.wait()
r.sanitizer_clean(t)
t.done()
