#!/usr/bin/env python3
# smtpctl show queue lists a message that waits for a next hop that is
# down (id, age, state, next try, sender, recipients, last error), and
# smtpctl schedule ID tries it at once instead of after retry-min.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuelib import *  # noqa: F401,F403

t = TAP()
need_root(t)
w = workdir("queue-ctl")
r = Relay(w, '''listen on 127.0.0.1 port {port}
limit retry-min 1h
action "out" relay host smtp://127.0.0.1:{port2}
match from any for any action "out"''')
if not t.ok(r.start(), "daemon started, next hop down"):
    t.diag(r.log())
    t.done()
code, text, qid = submit(r.port, "sender@example.org",
                         ["rcpt@example.com", "two@example.com"], MSG)
t.is_(code, 250, "message accepted")
t.ok(wait_until(lambda: re.search(r"%s: to=<rcpt@example.com>.*deferred"
                                  % qid, r.log()), 10),
     "first attempt deferred")


def show():
    return r.smtpctl("show", "queue")


out = wait_until(lambda: (lambda p: p.stdout if "waiting" in p.stdout
                          else None)(show()), 5) or show().stdout
t.like(out, r"^ID\s+AGE\s+STATE\s+NEXT\s+SENDER\s+RECIPIENTS\s+LAST-ERROR",
       "header line")
line = next((l for l in out.splitlines() if l.startswith(qid or "-")), "")
t.like(line, r"^%s \d+s\s+waiting\s+\d+m\s+<sender@example.org> "
       r"2/2:<rcpt@example.com>,<two@example.com> .*Connection refused"
       % qid, "message listed: age, waiting, next try, sender, recipients, "
       "last error")
t.is_(show().returncode, 0, "show queue exits 0")

p = r.smtpctl("schedule", "0123456789abcdef")
t.ok(p.returncode != 0, "schedule of an unknown id fails")
t.like(p.stderr + p.stdout, r"no such message", "and says why")

sink = Sink(r.ports["port2"])
p = r.smtpctl("schedule", qid)
t.is_(p.returncode, 0, "schedule ID succeeds")
t.like(p.stdout, r"1 message scheduled", "one message scheduled")
t.ok(wait_until(lambda: len(sink.received()) == 1, 10),
     "delivered right away, not after retry-min")
t.ok(wait_until(lambda: qid not in show().stdout, 10),
     "no longer listed")
code, text, qid2 = submit(r.port, "sender@example.org", ["x@example.com"],
                          MSG)
t.ok(wait_until(lambda: len(sink.received()) == 2, 10), "next one goes "
     "straight through")
p = r.smtpctl("schedule", "all")
t.like(p.stdout, r"0 messages scheduled", "schedule all on an empty queue")
r.stop()
sink.close()
r.sanitizer_clean(t)
t.done()
