#!/usr/bin/env python3
"""cryptd through imsg: sealing, tokens, one-time codes, opening, locking,
revocation, expiry and the audit trail, with the real cryptd (chrooted,
as _sealcrypt) driven by regress/cryptd/cryptd_client playing its parent,
the queue, the portal and control; then the secure verbs of smtpctl on
the whole daemon, and the vault's permissions checked as _sealsmtp."""

import os
import re
import sqlite3
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from sealtest import *  # noqa: E402,F403

t = TAP()
need_root(t)

OK, TEMPFAIL, PERMFAIL = 0, 1, 2
ACTIVE, LOCKED, REVOKED, EXPIRED = 0, 1, 2, 3
MSG1 = "0123456789abcdef"
MSG2 = "00000000000000e2"
MARKER = "MARKER-c0ffee-%d" % os.getpid()


class Client:
    def __init__(self, work, conf):
        env = dict(os.environ)
        if SANITIZE:
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        self.logfile = os.path.join(work, "cryptd.log")
        self.p = subprocess.Popen(
            [os.path.join(BUILD, "regress", "cryptd", "cryptd_client"),
             prog("cryptd"), conf, self.logfile],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=env)
        self.ready = self.p.stdout.readline().strip() == "ready"

    def cmd(self, *fields, lines=1):
        self.p.stdin.write("\t".join(str(f) for f in fields) + "\n")
        self.p.stdin.flush()
        out = []
        for _ in range(lines):
            line = self.p.stdout.readline()
            if line == "":
                break
            out.append(line.rstrip("\n").split("\t"))
        return out

    def one(self, *fields):
        r = self.cmd(*fields)
        return r[0] if r else ["eof"]

    def listing(self, *fields):
        """show / log / revoke: text lines until end or fail."""
        self.p.stdin.write("\t".join(fields) + "\n")
        self.p.stdin.flush()
        out = []
        while True:
            line = self.p.stdout.readline()
            if line == "":
                return out, "eof"
            f = line.rstrip("\n").split("\t")
            if f[0] == "end":
                return out, "end"
            if f[0] == "fail":
                return out, "fail: " + f[1]
            out.append(f[1])

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        return self.p.wait(10)

    def log(self):
        with open(self.logfile, errors="replace") as f:
            return f.read()


def files_under(d):
    for root, _, files in os.walk(d):
        for f in files:
            yield os.path.join(root, f)


def grep_tree(d, needle):
    hits = []
    for path in files_under(d):
        with open(path, "rb") as f:
            if needle.encode() in f.read():
                hits.append(path)
    return hits


w = workdir("crypt")
vault = os.path.join(w, "vault")
os.mkdir(vault, 0o700)
subprocess.run(["chown", "_sealcrypt:_sealcrypt", vault], check=True)
conf = os.path.join(w, "smtpd.conf")
with open(conf, "w") as f:
    f.write('vault "%s"\nlimit code-lifetime 2s\nlimit secure-sweep 1s\n'
            'limit code-attempts 5\n' % vault)
msgfile = os.path.join(w, "msg")
body = ("Received: from test\r\nFrom: a@example.org\r\nTo: b@example.nl\r\n"
        "Subject: lab results\r\n\r\nBSN 111222333 " + MARKER + "\r\n")
with open(msgfile, "w", newline="") as f:
    f.write(body * 3000)	# about 280 KB: several chunks
os.chmod(msgfile, 0o644)

c = Client(w, conf)
t.ok(c.ready, "cryptd started by the test client (hello, peers, go)")

# --- sealing
r = c.cmd("seal", MSG1, msgfile, "a@example.org", "lab results", 0,
          "b@example.nl,1fa,,nl,0;c@example.nl,2fa,+31612345678,en,0;"
          "d@example.nl,2fa,,en,0", lines=4)
t.is_(len(r), 4, "three results and done")
tok_b, tok_c = r[0][3], r[1][3]
t.ok(r[0][2] == "0" and re.fullmatch(r"[A-Za-z0-9_-]{32}", tok_b)
     is not None, "1fa recipient: a 192-bit url-safe token")
t.ok(r[1][2] == "0" and tok_c != tok_b, "2fa recipient with a phone: token")
t.ok(r[2][2] == str(PERMFAIL) and r[2][3] == "-" and "held" in r[2][5],
     "2fa recipient without a phone: held, no token")
t.is_(r[3][:2], ["done", "0"], "seal done")
t.is_(grep_tree(vault, MARKER), [], "the marker is nowhere in the vault")
t.is_(grep_tree(vault, tok_b) + grep_tree(vault, tok_c), [],
      "the tokens are not stored in clear")
t.ok(MARKER not in c.log() and tok_b not in c.log(),
     "neither marker nor token in cryptd's log")
blob = os.path.join(vault, "blobs", MSG1)
t.ok(os.path.exists(blob), "blob stored under blobs/ID")

# --- lookup
r = c.one("lookup", tok_b, "192.0.2.7")
t.is_(r[1:4], ["0", str(ACTIVE), "2"], "lookup: ok, active, 1fa")
t.is_(r[5:8], ["a@example.org", "lab results", "b***@e***.nl"],
      "lookup: sender, subject, masked recipient")
r = c.one("lookup", tok_c, "-")
t.is_(r[8], "+31*******78", "lookup: masked phone")
t.is_(c.one("lookup", "A" * 32, "-")[1], str(PERMFAIL),
      "unknown token refused")
t.is_(c.one("lookup", "bad token!", "-")[1], str(PERMFAIL),
      "malformed token refused, cryptd keeps serving")

# --- 1fa: code, wrong code, right code, open
t.is_(c.one("open", tok_b, "B" * 32, os.path.join(w, "x"))[1],
      str(PERMFAIL), "open without a session refused")
r = c.one("issue", tok_b, "mail", "192.0.2.7")
code = r[3]
t.ok(r[1] == "0" and re.fullmatch(r"\d{8}", code) is not None and
     r[4] == "b@example.nl", "mail code issued, sent through the queue")
t.is_(r[2], "b***@e***.nl", "the portal sees only the masked address")
wrong = "%08d" % ((int(code) + 1) % 10 ** 8)
r = c.one("check", tok_b, "mail", wrong, "192.0.2.7")
t.is_(r[1:4], [str(PERMFAIL), str(ACTIVE), "4"], "wrong code: 4 attempts "
      "left")
r = c.one("check", tok_b, "mail", code, "192.0.2.7")
sess_b = r[4]
t.ok(r[1] == "0" and re.fullmatch(r"[A-Za-z0-9_-]{32}", sess_b) is not None,
     "right code: a session")
t.is_(c.one("check", tok_b, "mail", code, "192.0.2.7")[1], str(PERMFAIL),
      "a code works once")
out = os.path.join(w, "opened")
r = c.one("open", tok_b, sess_b, out)
t.is_(r[1:3], ["0", str(len(body) * 3000)], "open: ok, full size")
with open(out, newline="") as f:
    t.ok(f.read() == body * 3000, "the opened message is the original")
os.unlink(out)
t.is_(c.one("open", tok_c, sess_b, out)[1], str(PERMFAIL),
      "a session opens only its own token")
t.is_(c.one("reply", tok_b, sess_b)[1], "0", "reply recorded")

# --- 2fa: mail then sms
code = c.one("issue", tok_c, "mail", "198.51.100.1")[3]
r = c.one("check", tok_c, "mail", code, "198.51.100.1")
t.is_(r[1:2] + r[4:5], ["0", "-"], "2fa: the mail code alone opens nothing")
r = c.one("issue", tok_c, "sms", "198.51.100.1")
t.ok(r[1] == "0" and r[4] == "+31612345678" and r[2] == "+31*******78",
     "sms code issued to the phone, masked for the portal")
r = c.one("check", tok_c, "sms", r[3], "198.51.100.1")
sess_c = r[4]
t.ok(r[1] == "0" and sess_c != "-", "2fa: both codes give a session")
t.is_(c.one("open", tok_c, sess_c, out)[1], "0", "2fa recipient opens")
t.is_(c.one("issue", tok_b, "sms", "-")[1], str(PERMFAIL),
      "no sms factor for a 1fa link")

# --- expired code
code = c.one("issue", tok_b, "mail", "192.0.2.7")[3]
time.sleep(2.5)
r = c.one("check", tok_b, "mail", code, "192.0.2.7")
t.ok(r[1] == str(PERMFAIL) and "expired" in r[5], "expired code refused")

# --- five wrong codes lock
code = c.one("issue", tok_b, "mail", "192.0.2.7")[3]
wrong = "%08d" % ((int(code) + 1) % 10 ** 8)
left = []
for i in range(5):
    r = c.one("check", tok_b, "mail", wrong, "192.0.2.7")
    left.append(r[3])
t.is_(left, ["4", "3", "2", "1", "0"], "attempts count down")
t.is_(r[2], str(LOCKED), "the fifth wrong code locks the link")
r = c.one("check", tok_b, "mail", code, "192.0.2.7")
t.ok(r[1] == str(PERMFAIL) and "locked" in r[5],
     "locked: even the right code is refused")
t.is_(c.one("lookup", tok_b, "-")[2], str(LOCKED), "lookup shows locked")
t.is_(c.one("issue", tok_b, "mail", "-")[1], str(PERMFAIL),
      "locked: no new codes")
t.is_(c.one("open", tok_b, sess_b, out)[1], str(PERMFAIL),
      "locked: an earlier session no longer opens")

# --- revocation
lines, end = c.listing("revoke", MSG1, "c@example.nl")
t.ok(end == "end" and "1 recipient(s) revoked" in lines[0] and
     len(lines) == 1, "revoke one recipient; the message stays")
t.is_(c.one("open", tok_c, sess_c, out)[1], str(PERMFAIL),
      "revoked recipient cannot open")
t.is_(c.one("lookup", tok_c, "-")[2], str(REVOKED), "lookup shows revoked")
lines, end = c.listing("revoke", MSG1)
t.ok(end == "end" and any("shredded" in l for l in lines),
     "revoking the rest shreds the message")
t.ok(not os.path.exists(blob), "blob removed")
db = sqlite3.connect(os.path.join(vault, "index.db"))
row = db.execute("SELECT wrapped, key_id, state FROM messages WHERE msgid=?",
                 (MSG1,)).fetchone()
t.is_(row, (None, "", 1), "wrapped key destroyed in the index")
db.close()
lines, end = c.listing("revoke", "fedcba9876543210")
t.ok(end.startswith("fail"), "revoke of an unknown message fails")
lines, end = c.listing("revoke", "../etc")
t.ok(end.startswith("fail"), "revoke of a malformed id fails")

# --- expiry
r = c.cmd("seal", MSG2, msgfile, "a@example.org", "secret", 1,
          "e@example.nl,1fa,,en,2", lines=2)
tok_e = r[0][3]
t.ok(r[0][2] == "0" and int(r[0][4]) - time.time() < 3,
     "seal with a 2 second lifetime")
t.is_(c.one("lookup", tok_e, "-")[6], "-", "hidden subject not shown")
time.sleep(3.5)
t.is_(c.one("lookup", tok_e, "-")[2], str(EXPIRED), "expired link")
t.ok(not os.path.exists(os.path.join(vault, "blobs", MSG2)),
     "expired message shredded by the sweep")
lines, end = c.listing("show", MSG2)
t.ok(end == "end" and "shredded" in lines[0] and "expired" in lines[1],
     "secure show: shredded, recipient expired")

# --- the audit trail
c.cmd("event", MSG1, 0, "notified", "250 2.0.0 queued as X", lines=0)
lines, end = c.listing("log", MSG1)
events = [l.split(" ")[1] for l in lines]
for ev in ("sealed", "held", "notified", "code-sent", "code-failed",
           "locked", "opened", "replied", "revoked"):
    t.ok(ev in events, "audit: %s recorded" % ev)
t.ok(any("client 192.0.2.7" in l and " opened " in l for l in lines),
     "audit: portal events carry the client address")
lines, end = c.listing("log", MSG2)
t.ok("expired" in [l.split(" ")[1] for l in lines], "audit: expired")
lines, end = c.listing("show")
t.is_(len([l for l in lines if not l.startswith(" ")]), 2,
      "secure show lists both messages")

# --- permissions
keys = [p for p in os.listdir(vault) if p.startswith("master-")]
t.is_(len(keys), 1, "one master key file")
kpath = os.path.join(vault, keys[0])
st = os.stat(kpath)
t.ok(stat.S_IMODE(st.st_mode) == 0o600 and
     st.st_uid == int(run(["id", "-u", "_sealcrypt"]).stdout),
     "key file: mode 0600, owned by _sealcrypt")
t.is_(stat.S_IMODE(os.stat(vault).st_mode), 0o700, "vault: mode 0700")
t.is_(stat.S_IMODE(os.stat(os.path.join(vault, "index.db")).st_mode), 0o600,
      "index: mode 0600")
asuser = ["setpriv", "--reuid=_sealsmtp", "--regid=_sealsmtp",
          "--init-groups"]
r = run(asuser + ["cat", kpath])
t.ok(r.returncode != 0 and "Permission denied" in r.stderr,
     "_sealsmtp cannot read the master key")
r = run(asuser + ["ls", vault])
t.ok(r.returncode != 0 and "Permission denied" in r.stderr,
     "_sealsmtp cannot list the vault")

# --- a malformed message from the portal stops cryptd
r = c.one("badportal")
t.ok(r[0] == "exit" and r[1] != "0", "malformed portal message: cryptd "
     "stops (the daemon shuts down)")
t.like(c.log(), r"bad length \d+ for CRYPT_LOOKUP", "and says why")
c.close()
t.ok(not re.search(r"(AddressSanitizer|runtime error:)", c.log()),
     "no sanitizer report from cryptd")

# --- the whole daemon: smtpctl secure verbs through control
w2 = workdir("crypt-relay")
rl = Relay(w2, '''listen on 127.0.0.1 port {port}
action "out" maildir "{work}/Maildir"
match from any for any action "out"''')
t.ok(rl.start(), "relay started")
r = rl.smtpctl("secure", "show")
t.ok(r.returncode == 0 and r.stdout == "", "smtpctl secure show: empty vault")
r = rl.smtpctl("secure", "log", "0123456789abcdef")
t.ok(r.returncode == 1 and "no such secured message" in r.stderr,
     "smtpctl secure log of an unknown message fails")
r = rl.smtpctl("secure", "revoke", "nonsense")
t.ok(r.returncode == 1 and "bad message id" in r.stderr,
     "smtpctl secure revoke checks the id")
r = run(asuser + [prog("smtpctl"), "-s", rl.socket, "secure", "show"])
t.ok(r.returncode != 0, "secure show refused to a non-root user")
v2 = os.path.join(w2, "vault")
k2 = [p for p in os.listdir(v2) if p.startswith("master-")]
t.is_(len(k2), 1, "the daemon's cryptd created its master key")
r = run(asuser + ["cat", os.path.join(v2, k2[0])])
t.ok(r.returncode != 0, "_sealsmtp cannot read the daemon's master key")
pids = [p for p in rl.children() if "crypt" in cmdline(p)]
t.ok(len(pids) == 1 and proc_status(pids[0])["Uid"].split()[0] ==
     run(["id", "-u", "_sealcrypt"]).stdout.strip() and
     os.readlink("/proc/%d/root" % pids[0]) == v2,
     "cryptd runs as _sealcrypt, chrooted in the vault")
t.is_(rl.stop(), 0, "relay stopped")
rl.sanitizer_clean(t)
t.done()
