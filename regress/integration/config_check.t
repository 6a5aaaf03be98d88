#!/usr/bin/env python3
# smtpd -n: a valid file prints only "configuration OK" and exits 0; an
# invalid one names FILE:LINE for every error and exits 1; the example
# configuration of make run is valid.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import TAP, TOP, make_cert, prog, run, workdir  # noqa

t = TAP()
w = workdir("confcheck")

good = os.path.join(w, "good.conf")
with open(good, "w") as f:
    f.write('listen on 127.0.0.1 port 2525\n'
            'action "out" relay host smtp://127.0.0.1:2526\n'
            'match from local for any action "out"\n')
r = run([prog("smtpd"), "-n", "-f", good])
t.is_(r.returncode, 0, "valid file: exit 0")
t.is_(r.stdout, "configuration OK\n", "valid file: says configuration OK")
t.is_(r.stderr, "", "valid file: nothing on stderr")

bad = os.path.join(w, "bad.conf")
with open(bad, "w") as f:
    f.write('listen on 127.0.0.1 port 99999\n'       # 1
            'lisen on 127.0.0.1\n'                   # 2
            'listen on 127.0.0.1 port 2525 tls\n'    # 3
            'match from local for any action nope\n'  # 4
            'limit message-size lots\n')             # 5
r = run([prog("smtpd"), "-n", "-f", bad])
t.is_(r.returncode, 1, "invalid file: exit 1")
lines = r.stderr.splitlines()
for n in (1, 2, 3, 4, 5):
    t.ok(any(l.startswith("%s:%d: " % (bad, n)) for l in lines),
         "error on line %d reported as FILE:LINE" % n)
t.ok("configuration OK" not in r.stdout, "invalid file: no OK")

# A pki whose key cannot be read is an error at -n too.
cert, key = make_cert(w)
pk = os.path.join(w, "pki.conf")
with open(pk, "w") as f:
    f.write('pki a cert "%s"\npki a key "%s/missing.key"\n'
            'listen on 127.0.0.1 port 2525 tls pki a\n' % (cert, w))
r = run([prog("smtpd"), "-n", "-f", pk])
t.ok(r.returncode == 1 and "missing.key" in r.stderr,
     "unreadable pki key reported")

# The example configuration, with make run's -D macros.
demo = workdir("demo")
c, k = make_cert(demo, name="demo")
with open(os.path.join(demo, "users"), "w") as f:
    f.write("demo $y$j9T$abc$def\n")
args = ["-D", "demo=" + demo, "-D", "cert=" + c, "-D", "key=" + k,
        "-D", "users=file:%s/users" % demo,
        "-D", "maildir=%s/Maildir" % demo,
        "-D", "spooldir=%s/spool" % demo, "-D", "vaultdir=%s/vault" % demo,
        "-D", "ctlsock=%s/control.sock" % demo]
r = run([prog("smtpd"), "-n"] + args + ["-f",
        os.path.join(TOP, "etc", "smtpd.conf")])
t.is_(r.returncode, 0, "etc/smtpd.conf with make run's macros is valid")
if r.returncode:
    t.diag(r.stderr)
r = run([prog("smtpd"), "-n", "-D", "bad macro", "-f", good])
t.ok(r.returncode != 0, "a malformed -D is refused")
t.done()
