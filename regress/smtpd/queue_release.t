#!/usr/bin/env python3
# smtpctl release and remove on the running relay.  Quarantined
# recipients wait until the operator releases them (one recipient: only
# that one goes to the next hop, as sent; the release survives a
# restart) or removes them (final, no DSN, the message leaves the
# queue).  A secured 2fa recipient held for a phone number is never
# released as plain mail: release refuses it and names the reason; the
# operator can remove the message.  Unknown ids and recipients fail.
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuelib import *  # noqa: F401,F403

t = TAP()
need_root(t)
w = workdir("queue-release")
CONF = '''listen on 127.0.0.1 port {port}
policy "health" {{
    detect bsn score 5
    keywords "hold" {{ "quarantaine-test" }} score 50
    quarantine when score >= 50
    secure 2fa when score >= 5
}}
action "out" relay host smtp://127.0.0.1:{port2}
match from any for any action "out" policy "health"'''
r = Relay(w, CONF)
sink = Sink(r.ports["port2"])
if not t.ok(r.start(), "daemon started"):
    t.diag(r.log())
    t.done()


def msg(body):
    return ("From: <arts@zorg.example>\r\nTo: <q1@example.com>\r\n"
            "Subject: test\r\nMessage-ID: <%s@zorg.example>\r\n\r\n%s\r\n"
            % (uuid.uuid4().hex, body)).encode()


def to(rcpt):
    return [m for m in sink.received() if rcpt in m[1]]


def ctl(*args):
    p = r.smtpctl(*args)
    return p.returncode, (p.stdout + p.stderr).strip()


code, text, qid = submit(r.port, "arts@zorg.example",
                         ["q1@example.com", "q2@example.com"],
                         msg("quarantaine-test RELEASE-MARKER"))
t.is_(code, 250, "quarantined message accepted")
t.ok(r.wait_log(r"%s: to=<q2@example.com>, quarantined" % qid),
     "both recipients held")
t.like(ctl("show", "queue")[1], r"%s .* held .*2/2" % qid,
       "show queue lists it as held")
t.is_(len(sink.received()), 0, "nothing delivered")

rc, out = ctl("release", qid, "Q1@example.com")
t.ok(rc == 0 and "1 recipient released" in out,
     "release one recipient (%s)" % out)
t.ok(wait_until(lambda: to("q1@example.com"), 15),
     "the released recipient reached the next hop")
t.ok(r.wait_log(r"%s: to=<q1@example.com>, released from quarantine by "
                r"the operator" % qid), "the release is logged")
t.ok(b"RELEASE-MARKER" in (to("q1@example.com") or [(0, 0, b"")])[0][2],
     "as it was sent")
t.is_(to("q2@example.com"), [], "the other one is still held")

r.stop()
mark = len(r.log())
t.ok(r.start(), "restart")
t.ok(r.wait_log(r"%s: to=<q2@example.com>, quarantined" % qid, 10,
                start=mark if len(r.log()) >= mark else 0),
     "after the restart the other one is held again")
t.is_(len(to("q1@example.com")), 1, "the released one is not sent twice")

rc, out = ctl("remove", qid, "q2@example.com")
t.ok(rc == 0 and "1 recipient removed" in out,
     "remove the other recipient (%s)" % out)
t.ok(wait_until(lambda: qid not in "".join(spool_files(w)), 10),
     "the message left the queue")
t.ok(r.wait_log(r"%s: to=<q2@example.com>, removed by the operator" % qid),
     "the removal is logged")
t.is_(to("q2@example.com"), [], "removed: never delivered")
t.is_([m for m in sink.received() if m[0] == ""], [], "and no DSN")

code, text, qid2 = submit(r.port, "arts@zorg.example", ["p@example.com"],
                          msg("BSN 111222333 SECURE-MARKER"))
t.is_(code, 250, "2fa message without a phone number accepted")
t.ok(r.wait_log(r"%s: to=<p@example.com>, held: 2fa without a phone" %
                qid2, 15), "held for a phone number")
rc, out = ctl("release", qid2)
t.ok(rc != 0 and "never released as plain mail" in out,
     "release refuses a secured recipient (%s)" % out)
t.ok(not [m for m in sink.received() if b"SECURE-MARKER" in m[2]],
     "its content went nowhere")
rc, out = ctl("remove", qid2)
t.ok(rc == 0 and "message removed" in out, "remove the whole message")
t.ok(wait_until(lambda: qid2 not in "".join(spool_files(w)), 10),
     "it left the queue")
t.ok(r.wait_log(r"%s: removed from the queue by the operator" % qid2),
     "logged")

rc, out = ctl("remove", "0123456789abcdef")
t.ok(rc != 0 and "no such message" in out, "unknown id refused")
code, text, qid3 = submit(r.port, "arts@zorg.example", ["q3@example.com"],
                          msg("quarantaine-test"))
t.ok(r.wait_log(r"%s: to=<q3@example.com>, quarantined" % qid3),
     "a third one held")
rc, out = ctl("release", qid3, "nobody@example.com")
t.ok(rc != 0 and "no such recipient" in out, "unknown recipient refused")
rc, out = ctl("remove", qid3, "nobody@example.com")
t.ok(rc != 0 and "no such recipient" in out,
     "unknown recipient refused by remove")

r.stop()
sink.close()
t.ok(r.sanitizer_clean(t), "no sanitizer reports")
t.done()
