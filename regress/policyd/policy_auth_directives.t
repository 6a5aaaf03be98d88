#!/usr/bin/env python3
# X-Seal-* directives from authenticated users, through the relay with a
# real client (STARTTLS + AUTH): an authenticated user may raise the
# level (X-Seal-Security: 2fa with X-Seal-Phone) and, when listed in the
# policy's "downgrade from" table, lower it below what the content rules
# demand; another authenticated user may not lower it; an unauthenticated
# client's directives are ignored.  No directive reaches a recipient.
import os
import smtplib
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "smtpd"))
from queuelib import *  # noqa: F401,F403

t = TAP()
need_root(t)
w = workdir("policy-auth")
cert, key = make_cert(w)
users = os.path.join(w, "users")
with open(users, "w") as f:
    for u in ("alice", "bob"):
        h = run([prog("smtpctl"), "encrypt", u + "-pw"]).stdout.strip()
        f.write("%s %s\n" % (u, h))
CONF = '''pki test cert "%s"
pki test key "%s"
table users file:%s
table lowering {{ "alice" }}
listen on 127.0.0.1 port {port}
listen on 127.0.0.1 port {port2} tls pki test auth <users>
policy "health" {{
    keywords "health" {{ "diagnose", "verwijsbrief" }} score 2
    detect bsn score 5
    downgrade from <lowering>
    secure 1fa when score >= 5
}}
action "local" maildir "{work}/Maildir"
match from auth for any action "local" policy "health"
match from local for any action "local" policy "health"''' % (cert, key, users)
r = Relay(w, CONF)
if not t.ok(r.start(listen_ports=[r.port, r.ports["port2"]]),
            "daemon starts"):
    t.diag(r.log())
    t.done()


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def send(user, rcpt, subject, body, headers):
    """Submit; returns the queue id from the 250 reply."""
    if user:
        s = smtplib.SMTP("127.0.0.1", r.ports["port2"], timeout=20)
        s.starttls(context=ctx())
        s.login(user, user + "-pw")
    else:
        s = smtplib.SMTP("127.0.0.1", r.port, timeout=20)
        s.ehlo("app.example.org")
    data = ("From: <%s@example.org>\r\nTo: <%s>\r\n%sSubject: %s\r\n\r\n"
            "%s\r\n" % (user or "app", rcpt, headers, subject, body))
    s.mail("%s@example.org" % (user or "app"))
    s.rcpt(rcpt)
    code, text = s.data(data.encode())
    s.quit()
    t.is_(code, 250, "%s: accepted" % subject)
    return text.decode().split()[-1]


# Raise: a harmless message, 2fa asked for by an authenticated user.
qid = send("bob", "p1@example.com", "raise", "lunch at noon",
           "X-Seal-Security: 2fa\r\nX-Seal-Phone: p1@example.com "
           "+31612345678\r\n")
t.ok(r.wait_log(r"%s: to=<p1@example.com>, decision secure-2fa" % qid),
     "authenticated user raises to 2fa")

# Lower: alice may, bob may not.
BSN = "BSN 111222333 verwijsbrief"
qid = send("alice", "p2@example.com", "lower-alice", BSN,
           "X-Seal-Security: none\r\n")
t.ok(r.wait_log(r"%s: to=<p2@example.com>, decision relay" % qid),
     "a user of the downgrade table lowers a secure decision")
qid = send("bob", "p3@example.com", "lower-bob", BSN,
           "X-Seal-Security: none\r\n")
t.ok(r.wait_log(r"%s: to=<p3@example.com>, decision secure-1fa" % qid),
     "another authenticated user cannot lower it")

# Unauthenticated: ignored, and logged.
qid = send(None, "p4@example.com", "untrusted", "lunch at noon",
           "X-Seal-Security: 2fa\r\n")
t.ok(r.wait_log(r"%s: to=<p4@example.com>, decision relay, .*"
                r"directives ignored" % qid),
     "an unauthenticated client's directive is ignored and logged")

# What reached the Maildir: no directive anywhere.
t.ok(wait_until(lambda: len(maildir(w)) >= 4, 15), "four mails delivered "
     "(two notifications, two relayed)")
time.sleep(0.5)
leaked = [m for m in maildir(w) if b"X-Seal-" in m or b"x-seal-" in m]
t.is_(len(leaked), 0, "no X-Seal-* header reached a recipient")
plain = [m for m in maildir(w) if b"111222333" in m]
t.is_(len(plain), 1, "only the lowered message went out in the clear")
t.is_(r.stop(), 0, "SIGTERM exits 0")
r.sanitizer_clean(t)
t.done()
