#!/usr/bin/env python3
# Crash under load: several clients send at once, the whole daemon is
# killed with SIGKILL at an arbitrary moment, restarted on the same spool;
# every message a client got 250 for reaches the next hop (at least once),
# in three rounds.  SIGKILL leaves the page cache intact, so this checks
# the commit's order and the recovery (no 250 before the message is in
# queue/, nothing committed thrown away at start), not the fsync itself,
# which only a power cut would test.
import os
import random
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from faultsmtp import FaultSMTP  # noqa
from sealtest import TAP, Relay, need_root, workdir  # noqa

t = TAP()
need_root(t)
w = workdir("crash-load")
sink = FaultSMTP()
sink.start()
CONF = '''
listen on 127.0.0.1 port {port}
action "out" relay host smtp://127.0.0.1:%d tls none
match from local for any action "out"
limit retry-min 1s
limit retry-max 2s
''' % sink.port

acked = set()
lock = threading.Lock()
stop = threading.Event()


def client(cid, port):
    n = 0
    while not stop.is_set():
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=10)
            for _ in range(5):
                marker = "crash-%d-%d-%d" % (cid, n, random.randrange(1 << 30))
                n += 1
                s.sendmail("c%d@client.example" % cid,
                           ["r%d@dest.example" % (n % 3)],
                           "Subject: %s\r\n\r\n%s\r\n" % (marker, marker))
                with lock:
                    acked.add(marker)
            s.quit()
        except Exception:
            # The daemon died under us: whatever did not get 250 may be
            # lost, that is allowed.
            time.sleep(0.05)


def arrived():
    got = set()
    for m in sink.messages:
        d = m["data"].decode(errors="replace")
        for line in d.splitlines():
            if line.startswith("Subject: crash-"):
                got.add(line[len("Subject: "):].strip())
    return got


r = None
for rnd in range(3):
    r = Relay(w, CONF, ports={"port": r.port} if r else None)
    if not t.ok(r.start(), "round %d: daemon starts" % rnd):
        t.diag(r.log()[-3000:])
        break
    stop.clear()
    th = [threading.Thread(target=client, args=(i + 10 * rnd, r.port))
          for i in range(6)]
    for x in th:
        x.start()
    time.sleep(0.5 + random.random() * 1.5)
    r.kill_all()
    stop.set()
    for x in th:
        x.join(30)
    t.ok(len(acked) > 0, "round %d: clients got 250s before the kill (%d so "
         "far)" % (rnd, len(acked)))

# Restart once more and let the queue drain.
r = Relay(w, CONF, ports={"port": r.port})
t.ok(r.start(), "final start on the same spool")
end = time.time() + 40
while time.time() < end and not acked <= arrived():
    time.sleep(0.2)
missing = acked - arrived()
t.is_(len(missing), 0, "every message acknowledged with 250 arrived "
      "(%d acknowledged)" % len(acked))
if missing:
    t.diag("missing: %s" % sorted(missing)[:10])
spool_left = []
qdir = os.path.join(w, "spool", "queue")
end = time.time() + 10
while time.time() < end:
    spool_left = os.listdir(qdir) if os.path.isdir(qdir) else []
    if not spool_left:
        break
    time.sleep(0.2)
t.is_(spool_left, [], "the queue is empty at the end")
t.is_(r.stop(), 0, "SIGTERM exits 0")
r.sanitizer_clean(t)
sink.stop()
t.done()
