#!/usr/bin/env python3
# 4xx from the next hop: the recipient is retried with backoff (age
# clamped to retry-min..retry-max) until it is delivered; a destination
# that keeps failing is marked down for a while; the delivered recipient
# of the same message is not delivered again.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuelib import *  # noqa: F401,F403

t = TAP()
need_root(t)
w = workdir("queue-retry")


def reply(rcpt, n):
    if rcpt.startswith("slow") and n <= 3:
        return "451 4.3.0 Try again later (attempt %d)" % n
    return "250 2.1.5 Ok"


r = Relay(w, '''listen on 127.0.0.1 port {port}
limit retry-min 1s
limit retry-max 2s
action "out" relay host smtp://127.0.0.1:{port2}
action "dead" relay host smtp://127.0.0.1:{port3}
match from any for domain "dead.example" action "dead"
match from any for any action "out"''')
sink = Sink(r.ports["port2"], reply)
if not t.ok(r.start(), "daemon started"):
    t.diag(r.log())
    t.done()
start = time.time()
code, text, qid = submit(r.port, "sender@example.org",
                         ["fast@example.com", "slow@example.com"], MSG)
t.is_(code, 250, "accepted")
t.ok(wait_until(lambda: "slow@example.com" in
                [x for m in sink.received() for x in m[1]], 25),
     "slow recipient delivered in the end")
took = time.time() - start
t.is_(sink.attempts.get("slow@example.com"), 4, "after three 4xx, the "
      "fourth attempt")
t.ok(took >= 2, "retries were spaced out (%.1fs)" % took)
t.is_(sink.attempts.get("fast@example.com"), 1,
      "the recipient delivered first is not tried again")
log = r.log()
t.like(log, r"%s: to=<slow@example.com>.*deferred: 451 4\.3\.0" % qid,
       "deferral logged with the reply")
t.ok(wait_until(lambda: spool_files(w) == [], 10), "queue empty")

# A next hop that refuses connections is marked down after three
# batches in a row failed.
code, text, qid2 = submit(r.port, "sender@example.org", ["x@dead.example"],
                          MSG)
t.ok(wait_until(lambda: re.search(r"destination dead marked down for 1s "
                                  r"after 3 failures", r.log()), 15),
     "destination marked down after three failures in a row")
t.ok(re.search(r"queue: %s: to=<x@dead.example>.*deferred: .*refused" % qid2,
               r.log()), "connection failures deferred")
t.ok(not re.search(r"bounce", r.log()), "no bounce")
r.stop()
sink.close()
r.sanitizer_clean(t)
t.done()
