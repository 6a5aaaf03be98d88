#!/usr/bin/env python3
# The process model in production mode: every child under its own user,
# in its chroot, with its title; the daemon is all or nothing (kill -9 any
# child or the parent and nothing is left); SIGTERM exits 0.
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import (TAP, Relay, USERS, alive, cmdline, need_root,  # noqa
                      proc_status, workdir)

t = TAP()
need_root(t)
w = workdir("procs")
CONF = '''
listen on 127.0.0.1 port {port}
action "local" maildir "{work}/Maildir"
match from local for any action "local"
'''

EXPECT = {
    # title: (user, chroot)
    "smtpd: smtp": ("smtp", "/var/lib/sealrelay/empty"),
    "smtpd: queue": ("queue", w + "/spool"),
    "smtpd: control": ("control", "/var/lib/sealrelay/empty"),
    "policyd: policy": ("policy", "/var/lib/sealrelay/empty"),
    "deliveryd: delivery": ("delivery", "/var/lib/sealrelay/empty"),
    "cryptd: crypt": ("crypt", w + "/vault"),
    "portald: portal": ("portal", "/var/lib/sealrelay/empty"),
}


def title(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")[0].decode().strip()


def uid_of(user):
    import pwd
    return pwd.getpwnam(user).pw_uid


r = Relay(w, CONF)
t.ok(r.start(), "daemon starts and all processes run")
kids = r.children()
t.is_(len(kids), 7, "seven children")
seen = {}
for pid in kids:
    seen[title(pid)] = pid
t.is_(sorted(seen), sorted(EXPECT), "each child has its process title")
for name, (role, root) in sorted(EXPECT.items()):
    pid = seen.get(name)
    if pid is None:
        t.ok(False, "%s running" % name)
        continue
    st = proc_status(pid)
    uids = st["Uid"].split()
    want = uid_of(USERS[role])
    t.ok(all(int(u) == want for u in uids),
         "%s runs as %s (real, effective, saved)" % (name, USERS[role]))
    t.ok(want != 0, "%s is not root" % name)
    t.is_(os.readlink("/proc/%d/root" % pid), root,
          "%s is chrooted to %s" % (name, root))
    t.is_(st.get("NoNewPrivs"), "1", "%s has no_new_privs" % name)
    t.is_(st.get("Seccomp"), "2", "%s runs under a seccomp filter" % name)
    groups = st["Groups"].split()
    t.ok(all(int(g) != 0 for g in groups),
         "%s has no supplementary root group" % name)
t.is_(title(r.pid), "smtpd: parent", "parent has its process title")
t.is_(int(proc_status(r.pid)["Uid"].split()[0]), 0, "parent runs as root")

rc = r.stop()
t.is_(rc, 0, "SIGTERM: the daemon exits 0")
t.ok(not any(alive(p) for p in kids), "SIGTERM: no child left behind")
t.ok("all processes running" in r.log(), "start-up logged")

# kill -9 each child in turn: the whole daemon goes, non-zero, no orphans.
for name in sorted(EXPECT):
    r = Relay(w, CONF)
    if not r.start():
        t.ok(False, "restart before killing %s" % name)
        t.diag(r.log()[-3000:])
        continue
    kids = r.children()
    victim = [p for p in kids if title(p) == name]
    if not victim:
        t.ok(False, "found %s" % name)
        continue
    os.kill(victim[0], signal.SIGKILL)
    rc = r.wait_exit(10)
    t.ok(rc is not None and rc != 0,
         "kill -9 %s: parent exits non-zero within 10 s (rc %s)" % (name, rc))
    end = time.time() + 5
    while time.time() < end and any(alive(p) for p in kids):
        time.sleep(0.05)
    t.ok(not any(alive(p) for p in kids),
         "kill -9 %s: no process left behind" % name)
    if rc is None:
        r.stop(signal.SIGKILL)

# kill -9 the parent: every child exits.
r = Relay(w, CONF)
t.ok(r.start(), "restart before killing the parent")
kids = r.children()
os.kill(r.pid, signal.SIGKILL)
r.proc.wait()
end = time.time() + 5
while time.time() < end and any(alive(p) for p in kids):
    time.sleep(0.05)
t.ok(not any(alive(p) for p in kids),
     "kill -9 parent: every child exits within 5 s")
for p in kids:
    if alive(p):
        t.diag("left: %d %s" % (p, cmdline(p)))
        os.kill(p, signal.SIGKILL)

# A second daemon on the same control socket is refused.
r = Relay(w, CONF)
t.ok(r.start(), "start again after the parent was killed (stale socket)")
r2 = Relay(w, CONF, name="second.conf")
r2.start(wait=False)
rc2 = r2.wait_exit(10)
t.ok(rc2 is not None and rc2 != 0, "a second daemon on the same socket "
     "exits non-zero")
t.like(r2.log(), "already running|cannot listen", "and says why")
t.is_(r.proc.poll(), None, "the first daemon keeps running")

# -T imsg traces every message by name.
r.stop()
r = Relay(w, CONF)
t.ok(r.start(["-T", "imsg"]), "start with -T imsg")
t.like(r.log()[r.log_start:], r"parent -> smtp: ANY_GO len=0",
       "-T imsg names each message and its direction")
r.stop()

# A malformed message between processes is an attack: the receiver logs
# it and the whole daemon stops.  Take a copy of the front end's channel
# to the queue (pidfd_getfd) and write garbage into it.
import ctypes  # noqa
libc = ctypes.CDLL(None, use_errno=True)
SYS_pidfd_getfd = 438


def unix_socket_fds(pid):
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:"):
            out.append((int(fd), link))
    return out


def unix_inodes():
    with open("/proc/net/unix") as f:
        next(f)
        return {line.split()[6] for line in f}


r = Relay(w, CONF)
t.ok(r.start(), "start before the malformed message")
smtp = [p for p in r.children() if title(p) == "smtpd: smtp"][0]
queue = [p for p in r.children() if title(p) == "smtpd: queue"][0]
ux = unix_inodes()
# The front end's Unix sockets lead to the parent, the queue and policyd;
# the first one found will do: whichever process reads the garbage must
# stop the daemon.
cands = [fd for fd, link in unix_socket_fds(smtp) if link[8:-1] in ux]
pidfd = os.pidfd_open(smtp)
sent = 0
for fd in cands:
    mine = libc.syscall(SYS_pidfd_getfd, pidfd, fd, 0)
    if mine < 0:
        continue
    try:
        # type 9999, a length larger than any message may be.
        os.write(mine, (9999).to_bytes(4, "little") +
                 (1 << 20).to_bytes(4, "little") + bytes(12))
        sent += 1
    finally:
        os.close(mine)
    break
t.ok(sent == 1, "wrote a malformed header into an internal channel")
rc = r.wait_exit(10)
t.ok(rc is not None and rc != 0, "the daemon stops, non-zero (rc %s)" % rc)
t.like(r.log()[r.log_start:], r"malformed",
       "the receiver logged the malformed message")

# smtpctl talks to it; verbosity reaches every process.
r = Relay(w, CONF)
t.ok(r.start(), "start again")
res = r.smtpctl("log", "verbose")
t.is_(res.returncode, 0, "smtpctl log verbose")
t.ok(r.wait_log("log level set to 1"), "parent set the log level")
res = r.smtpctl("log", "brief")
t.is_(res.returncode, 0, "smtpctl log brief")
t.is_(r.stop(), 0, "SIGTERM exits 0")
r.sanitizer_clean(t)
t.done()
