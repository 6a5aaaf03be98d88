#!/usr/bin/env python3
# The lifetime of a secured message per action, through the running
# relay: two actions with their own secure-expire seal for 2 and 30
# days, X-Seal-Expires from a trusted sender shortens it (1 day) or
# extends it within the action's secure-expire-max (45 of 60 days), and
# one above the maximum is cut to it (and logged); smtpctl secure show
# lists each recipient with that expiry, and the notification names the
# same date.
import datetime
import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuelib import *  # noqa: F401,F403

t = TAP()
need_root(t)
w = workdir("secure-expire")
CONF = '''listen on 127.0.0.1 port {port} tag apps trust-headers
limit secure-expire 10d
limit secure-expire-max 20d
policy "health" {{
    detect bsn score 5
    secure 1fa when score >= 5
}}
secure portal "https://portal.example.test/m/"
action "short" relay host smtp://127.0.0.1:{port2} secure-expire 2d
action "long" relay host smtp://127.0.0.1:{port2} secure-expire 30d \\
    secure-expire-max 60d
match from any for domain "short.example" action "short" policy "health"
match from any for domain "long.example" action "long" policy "health"'''
r = Relay(w, CONF)
sink = Sink(r.ports["port2"])
if not t.ok(r.start(), "daemon starts with per-action secure-expire"):
    t.diag(r.log())
    t.done()


def msg(extra=""):
    return ("From: <arts@zorg.example>\r\nTo: <p@short.example>\r\n%s"
            "Subject: Uitslag\r\nMessage-ID: <%s@zorg.example>\r\n\r\n"
            "BSN 111222333.\r\n" % (extra, uuid.uuid4().hex)).encode()


def sealed(qid, rcpt):
    return r.wait_log(r"%s: to=<%s>, sealed" % (re.escape(qid),
                                               re.escape(rcpt)), 20)


def expiry(qid, rcpt):
    """The expiry smtpctl secure show gives for rcpt of qid (epoch)."""
    out = r.smtpctl("secure", "show", qid).stdout
    m = re.search(r"^\s+\d+ %s 1fa \S+ expires (\S+)" % re.escape(rcpt),
                  out, re.M)
    if not m:
        t.diag(out)
        return None
    return datetime.datetime.strptime(
        m.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def near(got, days, start):
    return got is not None and abs(got - (start + days * 86400)) < 120


cases = [
    ("short, action default", ["s1@short.example"], "", 2),
    ("long, action default", ["l1@long.example"], "", 30),
    ("short, directive shortens", ["s2@short.example"],
     "X-Seal-Expires: 1\r\n", 1),
    ("long, directive extends within its maximum",
     ["l2@long.example"], "X-Seal-Expires: 45\r\n", 45),
    ("short, directive above the global maximum: clamped",
     ["s3@short.example"], "X-Seal-Expires: 50\r\n", 20),
    ("long, directive above the action's maximum: clamped",
     ["l3@long.example"], "X-Seal-Expires: 90\r\n", 60),
]
for name, rcpts, extra, days in cases:
    start = time.time()
    code, text, qid = submit(r.port, "arts@zorg.example", rcpts,
                             msg(extra))
    t.is_(code, 250, "%s: accepted" % name)
    t.ok(qid and sealed(qid, rcpts[0]), "%s: sealed" % name)
    got = expiry(qid, rcpts[0]) if qid else None
    t.ok(near(got, days, start), "%s: expires in %d days (%s)" %
         (name, days, got and time.strftime("%Y-%m-%d %H:%M",
                                            time.gmtime(got))))

t.ok(r.wait_log(r"to=<s3@short.example>, X-Seal-Expires 50 days is longer "
                r"than secure-expire-max"), "the clamp is logged")
t.ok(wait_until(lambda: len(sink.received()) >= len(cases), 20),
     "every notification reached the next hop")
note = [m[2] for m in sink.received() if "l2@long.example" in m[1]]
when = time.gmtime(time.time() + 45 * 86400)
t.ok(note and str(when.tm_year).encode() in note[0] and
     str(when.tm_mday).encode() in note[0],
     "the notification names the extended date")

r.stop()
sink.close()
t.ok(r.sanitizer_clean(t), "no sanitizer reports")
t.done()
