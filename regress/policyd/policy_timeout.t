#!/usr/bin/env python3
# Fail closed when policyd hangs (SIGSTOP): a recipient check and the
# decision on a message each get 451 4.3.0 after limit timeout-policy;
# the message is never delivered, even when policyd wakes up and answers
# late, and then mail flows again.
import glob
import os
import signal
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import TAP, Relay, need_root, workdir  # noqa

t = TAP()
need_root(t)
w = workdir("policy-timeout")
r = Relay(w, '''
listen on 127.0.0.1 port {port}
action "local" maildir "{work}/Maildir"
match from local for any action "local"
limit timeout-policy 2s
''')
if not t.ok(r.start(), "daemon starts"):
    t.diag(r.log())
    t.done()


def title(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")[0].decode().strip()


def delivered(marker):
    for p in glob.glob(os.path.join(w, "Maildir", "new", "*")):
        with open(p, errors="replace") as f:
            if marker in f.read():
                return True
    return False


policy = [p for p in r.children() if title(p) == "policyd: policy"][0]

# 1. policyd hangs while the front end asks about a recipient.
os.kill(policy, signal.SIGSTOP)
s = smtplib.SMTP("127.0.0.1", r.port, timeout=30)
s.ehlo("client.example")
s.mail("a@client.example")
start = time.time()
code, text = s.rcpt("b@dest.example")
elapsed = time.time() - start
t.is_(code, 451, "RCPT while policyd hangs: 451")
t.like(text.decode(), r"^4\.3\.0 ", "with 4.3.0")
t.ok(1.5 <= elapsed < 10, "after the policy timeout (%.1f s)" % elapsed)
code, _ = s.noop()
t.is_(code, 250, "the session goes on")
s.close()
os.kill(policy, signal.SIGCONT)
time.sleep(0.5)

# 2. policyd hangs while the queue waits for its decision on a message.
s = smtplib.SMTP("127.0.0.1", r.port, timeout=30)
s.ehlo("client.example")
s.mail("a@client.example")
code, _ = s.rcpt("b@dest.example")
t.is_(code, 250, "RCPT accepted while policyd runs")
os.kill(policy, signal.SIGSTOP)
start = time.time()
code, text = s.data("Subject: hung\r\n\r\nmarker-hung-policy\r\n")
elapsed = time.time() - start
t.is_(code, 451, "end of DATA while policyd hangs: 451")
t.like(text.decode(), r"^4\.3\.0 ", "with 4.3.0")
t.ok(1.5 <= elapsed < 10, "after the policy timeout (%.1f s)" % elapsed)
s.close()
os.kill(policy, signal.SIGCONT)
time.sleep(1.5)
t.is_(r.proc.poll(), None, "the daemon survives policyd's late answer")
t.ok(not delivered("marker-hung-policy"), "the refused message is not "
     "delivered")
s = smtplib.SMTP("127.0.0.1", r.port, timeout=30)
s.sendmail("a@client.example", ["b@dest.example"],
           "Subject: ok\r\n\r\nmarker-after-policy\r\n")
s.quit()
end = time.time() + 10
while time.time() < end and not delivered("marker-after-policy"):
    time.sleep(0.1)
t.ok(delivered("marker-after-policy"), "with policyd back, mail flows")
t.ok(not delivered("marker-hung-policy"), "and the refused message never "
     "arrives")
t.like(r.log(), r"no answer from policy in 2 seconds",
       "the front end's timeout is logged")
t.like(r.log(), r"no decision from policy in 2 seconds",
       "the queue's timeout is logged")
t.is_(r.stop(), 0, "SIGTERM exits 0")
r.sanitizer_clean(t)
t.done()
