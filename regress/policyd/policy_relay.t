#!/usr/bin/env python3
# The content policy through the running relay, with real SMTP clients:
# a harmless message is delivered; one with a BSN is sealed (never
# delivered as plain mail: its recipient gets a notification), with one
# log line per recipient that names the rules; an allowlisted recipient of the same message gets it;
# a card number is refused at the end of DATA with the policy's text;
# X-Seal-* directives count from a trust-headers listener and are ignored
# (and logged) from an untrusted one; killing policyd during a
# transaction gives the client a 4xx and delivers nothing.
import os
import re
import signal
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "smtpd"))
from queuelib import *  # noqa: F401,F403

t = TAP()
need_root(t)
w = workdir("policy-relay")
CONF = '''listen on 127.0.0.1 port {port}
listen on 127.0.0.1 port {port2} tag apps trust-headers
table partners {{ "partner.example" }}
policy "health" {{
    keywords "health" {{ "diagnose", "patiënt", "verwijsbrief" }} score 2
    detect bsn score 5
    detect card score 100
    allow <partners>
    trigger "[secure]" secure 1fa
    reject "550 5.7.1 Card numbers may not be sent by mail" when score >= 100
    secure 1fa when score >= 5
    relay verify when score >= 2
}}
action "local" maildir "{work}/Maildir"
match from any for any action "local" policy "health"'''
r = Relay(w, CONF)
if not t.ok(r.start(listen_ports=[r.port, r.ports["port2"]]),
            "daemon starts with a policy"):
    t.diag(r.log())
    t.done()


def msg(subject, body, extra=""):
    return _msg(subject, body, extra).encode()


def _msg(subject, body, extra):
    return ("From: <a@example.org>\r\nTo: <b@example.com>\r\n%s"
            "Subject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\n%s\r\n"
            % (extra, subject, abs(hash(subject + body)), body))


code, text, qid = submit(r.port, "a@example.org", ["b@example.com"],
                         msg("lunch", "See you at noon."))
t.is_(code, 250, "harmless message accepted")
t.ok(wait_until(lambda: len(maildir(w)) == 1, 10), "and delivered")
t.ok(r.wait_log(r"%s: to=<b@example.com>, decision relay, action local, "
                r"policy health, score 0, rules -" % qid),
     "decision logged on one line")

code, text, qid = submit(r.port, "a@example.org",
                         ["b@example.com", "dr@partner.example"],
                         msg("verwijsbrief", "BSN 123456782 van de pati\u00ebnt."))
t.is_(code, 250, "message with a BSN accepted")
t.ok(r.wait_log(r"%s: to=<b@example.com>, decision secure-1fa, action "
                r"local, policy health, score 7, rules "
                r"bsn\(5\),keyword:health\(2\)" % qid),
     "secure-1fa with its rules logged")
t.ok(r.wait_log(r"%s: to=<dr@partner.example>, decision relay, .*"
                r"rules bsn\(5\),keyword:health\(2\),allow" % qid),
     "allowlisted recipient relayed")
t.ok(wait_until(lambda: len(maildir(w)) == 3, 10),
     "allowlisted copy and a notification delivered")
time.sleep(1)
got = [m for m in maildir(w) if b"123456782" in m]
t.is_(len(got), 1, "secured recipient got no plain copy")
t.ok(any(b"To: <b@example.com>" in m and b"/m/" in m for m in maildir(w)),
     "secured recipient got a notification with a link")

code, text, qid = submit(r.port, "a@example.org", ["b@example.com"],
                         msg("payment", "card 4111 1111 1111 1111"))
t.is_(code, 550, "card number refused at end of DATA")
t.like(text, r"Card numbers may not be sent by mail", "with the policy text")

SEC = "X-Seal-Security: 1fa\r\n"
code, text, qid = submit(r.port, "a@example.org", ["c@example.com"],
                         msg("untrusted directive", "hello", SEC))
t.is_(code, 250, "directive from an untrusted client accepted")
t.ok(r.wait_log(r"%s: to=<c@example.com>, decision relay, .*X-Seal-\* "
                r"directives ignored: sender not trusted" % qid),
     "directive ignored and logged")
code, text, qid = submit(r.ports["port2"], "a@example.org",
                         ["d@example.com"],
                         msg("trusted directive", "hello", SEC))
t.is_(code, 250, "directive on a trust-headers listener accepted")
t.ok(r.wait_log(r"%s: to=<d@example.com>, decision secure-1fa, .*"
                r"header:secure-1fa" % qid), "directive honoured")
t.ok(wait_until(lambda: any(b"To: <d@example.com>" in m
                            for m in maildir(w)), 10),
     "and its recipient notified")

# Fail closed: policyd dies while the client waits for the DATA reply.
pol = [p for p in r.children() if "policyd" in cmdline(p)]
t.ok(len(pol) == 1, "policyd is running")
before = len(maildir(w))
s = smtplib.SMTP("127.0.0.1", r.port, timeout=30)
s.ehlo("test.example")
s.mail("a@example.org")
s.rcpt("e@example.com")
s.putcmd("data")
s.getreply()
if pol:
    os.kill(pol[0], signal.SIGKILL)
try:
    s.send(msg("during a crash", "hello") + b".\r\n")
    code, _ = s.getreply()
except (smtplib.SMTPException, OSError):
    code = 421
t.ok(400 <= code < 500, "client gets 4xx when policyd dies (%d)" % code)
time.sleep(1)
t.is_(len(maildir(w)), before, "nothing delivered")
r.wait_exit(15)
t.ok(r.proc.poll() is not None, "daemon shut down cleanly")
r.stop()
r.sanitizer_clean(t)
t.done()
