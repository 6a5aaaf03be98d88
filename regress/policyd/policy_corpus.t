#!/usr/bin/env python3
# The corpus: every message of regress/policyd/corpus gets the decision
# expected.txt lists, offline through "smtpctl policy test" and through
# the running relay with a real SMTP client (the log line per recipient).
import os
import re
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "smtpd"))
from queuelib import *  # noqa: F401,F403

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
CONF = os.path.join(CORPUS, "smtpd.conf")

t = TAP()
cases = []
with open(os.path.join(CORPUS, "expected.txt")) as f:
    for line in f:
        line = line.split("#", 1)[0].split()
        if line:
            cases.append((line[0], line[1], line[2], line[3:]))
files = sorted(n for n in os.listdir(CORPUS) if n.endswith(".eml"))
t.ok(len(files) >= 40, "at least 40 corpus messages (%d)" % len(files))
t.ok(set(files) == set(c[0] for c in cases),
     "every message has an expected decision")

# Offline.
for name, rcpt, want, opts in cases:
    p = subprocess.run([prog("smtpctl"), "policy", "test", "-f", CONF] +
                       opts + ["-r", rcpt, os.path.join(CORPUS, name)],
                       capture_output=True, text=True)
    out = p.stdout.split()
    got = out[1] if len(out) >= 2 and out[0] == rcpt else "?"
    if not t.is_(got, want, "offline: %s %s %s" % (name, " ".join(opts),
                                                   rcpt)):
        t.diag(p.stdout + p.stderr)

# Through the relay: one listener plain, one trusting headers; the
# policy's tables and match lines as in the corpus config.
if os.geteuid() != 0:
    t.done()
w = workdir("policy-corpus")
text = open(CONF).read()
text = text.replace("{", "{{").replace("}", "}}")
text = re.sub(r'action "out" maildir "[^"]*"',
              'action "out" maildir "{work}/Maildir"', text)
text = re.sub(r"match from local .*\n", "", text)
text = re.sub(r"match from auth .*\n",
              'match from any for any action "out" policy "health"\n', text)
r = Relay(w, "listen on 127.0.0.1 port {port}\n"
          "listen on 127.0.0.1 port {port2} trust-headers\n" + text)
if not t.ok(r.start(listen_ports=[r.port, r.ports["port2"]]),
            "relay starts with the corpus policy"):
    t.diag(r.log())
    t.done()
for name, rcpt, want, opts in cases:
    if "-a" in opts:
        continue        # AUTH needs TLS: covered offline and in t_rules
    port = r.ports["port2"] if "-t" in opts else r.port
    with open(os.path.join(CORPUS, name), "rb") as f:
        body = f.read()
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
        s.ehlo("corpus.example")
        s.mail("sender@example.org")
        s.rcpt(rcpt)
        code, reply = s.data(body)
        s.quit()
    except smtplib.SMTPException as e:
        code, reply = 0, str(e).encode()
    reply = reply.decode(errors="replace")
    if want == "reject":
        t.is_(code, 550, "relay: %s refused" % name)
        continue
    m = re.search(r"queued as ([0-9a-f]{16})", reply)
    qid = m.group(1) if m else "none"
    if not t.ok(code == 250 and r.wait_log(
            r"%s: to=<%s>, decision %s," % (qid, re.escape(rcpt),
                                           re.escape(want)), 5),
            "relay: %s %s -> %s" % (name, rcpt, want)):
        t.diag("%d %s" % (code, reply))
        t.diag("\n".join(l for l in r.log().splitlines() if qid in l))
r.stop()
r.sanitizer_clean(t)
t.done()
