#!/usr/bin/env python3
# AUTH to a smart host ("relay host smtp+tls://HOST:PORT auth <secrets>",
# the secrets table maps HOST to user:password): right credentials
# deliver, with AUTH PLAIN or, when only LOGIN is offered, AUTH LOGIN,
# always after STARTTLS; wrong credentials (535) leave the message in
# the queue (TempFail, like Postfix's smtp_sasl_auth_soft_bounce and
# OpenSMTPD: the operator fixes the secret, the sender gets no bounce);
# a host that offers no TLS never sees the credentials.  The password
# appears nowhere in the log, not even with -T smtp -v.
import base64
import os
import random
import re
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import *          # noqa: E402,F403
from faultsmtp import FaultSMTP  # noqa: E402

t = TAP()
need_root(t)
w = workdir("dlv-auth")
cert, key = make_cert(w, cn="localhost")

# The secrets table is keyed by host: one loopback address per server.
base = "127.%d.%d." % (random.randint(1, 250), random.randint(1, 250))
PW = {"plain": "Pl41n-s3cret!", "login": "L0g1n-s3cret?",
      "wrong": "Wr0ng-s3cret#", "notls": "N0tls-s3cret%"}
S = {
    "plain": FaultSMTP(host=base + "2", tls=(cert, key),
                       auth=("alice", PW["plain"]), auth_mechs=("PLAIN",)),
    "login": FaultSMTP(host=base + "3", tls=(cert, key),
                       auth=("bob", PW["login"]), auth_mechs=("LOGIN",)),
    "wrong": FaultSMTP(host=base + "4", tls=(cert, key),
                       auth=("carol", "the-right-one")),
    "notls": FaultSMTP(host=base + "5", auth=("dave", PW["notls"])),
}
USER = {"plain": "alice", "login": "bob", "wrong": "carol", "notls": "dave"}
conf = ["limit retry-min 1s", "limit retry-max 2s",
        "listen on 127.0.0.1 port {port}",
        "table secrets {{ %s }}" % ", ".join(
            '"%s" = "%s:%s"' % (S[n].host, USER[n], PW[n]) for n in S)]
for n, srv in S.items():
    srv.start()
    scheme = "smtp" if n == "notls" else "smtp+tls"
    conf.append('action "%s" relay host "%s://%s:%d" auth <secrets>'
                % (n, scheme, srv.host, srv.port))
    conf.append('match from any for domain "%s.example" action "%s"'
                % (n, n))
r = Relay(w, "\n".join(conf))
t.ok(r.start(args=["-v", "-T", "smtp"]), "relay started (-v -T smtp)")


def send(rcpt):
    s = smtplib.SMTP("127.0.0.1", r.port, timeout=10)
    s.sendmail("s@example.org", [rcpt], b"Subject: auth\r\n\r\nhi\r\n")
    s.quit()


for n in S:
    send("u@%s.example" % n)

t.ok(S["plain"].wait_messages(1), "right credentials: delivered (PLAIN)")
m = S["plain"].messages[:1]
t.ok(m and m[0]["auth"] == "alice" and m[0]["tls"],
     "... authenticated as alice, over TLS")
t.is_([a[0] for s in S["plain"].sessions for a in s["auths"]], ["PLAIN"],
      "... with AUTH PLAIN")
t.ok(S["login"].wait_messages(1), "right credentials: delivered (LOGIN)")
m = S["login"].messages[:1]
t.ok(m and m[0]["auth"] == "bob", "... authenticated as bob")
t.is_([a[0] for s in S["login"].sessions for a in s["auths"]], ["LOGIN"],
      "... with AUTH LOGIN when PLAIN is not offered")
t.ok(r.wait_log(r"to=<u@wrong\.example> .*status=TempFail.*"
                r"authentication failed: 535 5\.7\.8"),
     "wrong credentials: TempFail with the server's 535")
t.ok(r.wait_log(r"to=<u@notls\.example> .*status=TempFail.*no TLS"),
     "no TLS offered: TempFail, credentials not sent")
# The queue retries (retry-min 1s): still refused, still queued.
t.ok(S["wrong"].wait_sessions(2, 10), "wrong credentials: retried")
time.sleep(0.5)
t.is_(len(S["wrong"].messages) + len(S["notls"].messages), 0,
      "nothing delivered without authentication")
t.ok(all(not ok for s in S["wrong"].sessions for _, _, ok in s["auths"]),
     "every attempt was refused")
t.ok(not any(s["auth_in_clear"] for s in S["notls"].sessions) and
     not any(c.upper().startswith("AUTH") for c in S["notls"].all_cmds()),
     "no AUTH in the clear")
q = r.smtpctl("show", "queue").stdout
t.ok("u@wrong.example" in q and "u@notls.example" in q,
     "both wait in the queue, no bounce")
t.ok("u@plain.example" not in q and "u@login.example" not in q,
     "delivered ones left the queue")
r.stop()
log = r.log()
t.like(log, r"mta \d+ >>> AUTH PLAIN \*\*\*\*", "the trace hides AUTH PLAIN")
m = re.search(r"mta (\d+) >>> AUTH LOGIN$", log, re.M)
t.ok(m and len(re.findall(r"mta %s >>> \*\*\*\*$" % m.group(1), log,
                          re.M)) == 2,
     "the trace hides the LOGIN user and password")
leaks = []
for n in S:
    pw = PW[n].encode()
    forms = [pw, base64.b64encode(pw),
             base64.b64encode(b"\0" + USER[n].encode() + b"\0" + pw)]
    leaks += [f for f in forms if f.decode() in log]
t.is_(leaks, [], "no password, in clear or base64, in the log")
for srv in S.values():
    srv.stop()
r.sanitizer_clean(t)
t.done()
