"""sealtest: helpers for sealrelay's integration tests.

Each integration test is a .t program printing TAP (run by prove from
make check).  It starts the real daemon as it runs in production: as
root, with privilege separation, chroots and its own users, in the
foreground (-d) so its log lands in a file of the test's work directory.

    from sealtest import *
    t = TAP()
    w = workdir("name")
    r = Relay(w, '''listen on 127.0.0.1 port {port}
    action "out" maildir "{work}/Maildir"
    match from any for any action "out"''')
    r.start()
    ...
    r.stop()
    t.done()

In a config text, {port} is a free port (also {port2}, {port3}),
{work} the work directory; spool, vault and control socket are set to
places under {work} unless the text sets them.
"""

import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get("SEAL_BUILD", TOP)
SANITIZE = os.environ.get("SEAL_SANITIZE") == "1"

USERS = {
    "smtp": "_sealsmtp", "queue": "_sealqueue", "control": "_sealctl",
    "policy": "_sealpolicy", "delivery": "_sealdeliver",
    "crypt": "_sealcrypt", "portal": "_sealportal",
}


def prog(name):
    """Path of a built program: smtpd, smtpctl, policyd, ..."""
    folder = "smtpd" if name in ("smtpd", "smtpctl") else name
    return os.path.join(BUILD, folder, name)


class TAP:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name))
        sys.stdout.flush()
        if not cond:
            self.failed += 1
        return cond

    def is_(self, got, want, name):
        r = self.ok(got == want, name)
        if not r:
            self.diag("got %r, want %r" % (got, want))
        return r

    def like(self, got, pattern, name):
        r = self.ok(got is not None and re.search(pattern, got) is not None,
                    name)
        if not r:
            self.diag("%r does not match /%s/" % (got, pattern))
        return r

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# " + line)
        sys.stdout.flush()

    def done(self):
        print("1..%d" % self.n)
        sys.exit(1 if self.failed else 0)


def need_root(t):
    if os.geteuid() != 0:
        print("1..0 # SKIP integration tests run as root")
        sys.exit(0)


def workdir(name):
    d = tempfile.mkdtemp(prefix="seal-%s-" % name, dir="/var/tmp")
    os.chmod(d, 0o755)
    return d


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, host="127.0.0.1", timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((host, port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def make_cert(work, cn="localhost", name="server"):
    """A self-signed certificate and key made with openssl(1)."""
    cert = os.path.join(work, name + ".crt")
    key = os.path.join(work, name + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
         "-subj", "/CN=" + cn, "-addext",
         "subjectAltName=DNS:%s,IP:127.0.0.1" % cn,
         "-keyout", key, "-out", cert],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    return cert, key


def proc_status(pid):
    """uid (real) and name from /proc/PID/status."""
    info = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            info[k] = v.strip()
    return info


def descendants(pid):
    """All live descendant pids of pid (from /proc)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().replace(b"\0", b" ").decode(errors="replace").strip()


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st[st.rindex(")") + 2] != "Z"
    except OSError:
        return False


_started = []


@atexit.register
def _cleanup():
    """A test that dies must not leave a daemon behind."""
    for r in _started:
        if r.proc is not None and r.proc.poll() is None:
            for p in [r.proc.pid] + descendants(r.proc.pid):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            r.proc.wait()


class Relay:
    """One sealrelay daemon under test."""

    def __init__(self, work, conf, ports=None, name="smtpd.conf"):
        self.work = work
        self.ports = ports or {}
        for k in ("port", "port2", "port3"):
            self.ports.setdefault(k, free_port())
        self.port = self.ports["port"]
        self.conf = os.path.join(work, name)
        text = conf.format(work=work, **self.ports)
        head = []
        if not re.search(r"^\s*spool\b", text, re.M):
            head.append('spool "%s/spool"' % work)
        if not re.search(r"^\s*vault\b", text, re.M):
            head.append('vault "%s/vault"' % work)
        if not re.search(r"^\s*control\b", text, re.M):
            head.append('control socket "%s/control.sock"' % work)
        self.text = "\n".join(head) + "\n" + text + "\n"
        with open(self.conf, "w") as f:
            f.write(self.text)
        self.socket = os.path.join(work, "control.sock")
        m = re.search(r'^\s*control socket "([^"]+)"', self.text, re.M)
        if m:
            self.socket = m.group(1)
        self.logfile = os.path.join(work, "smtpd.log")
        self.proc = None

    def start(self, args=(), wait=True, listen_ports=None):
        env = dict(os.environ)
        if SANITIZE:
            # Children chroot: no /proc for LeakSanitizer there.
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        self.log_fh = open(self.logfile, "ab")
        self.log_start = self.log_fh.tell()
        self.proc = subprocess.Popen(
            [prog("smtpd"), "-d", "-f", self.conf] + list(args),
            stdout=self.log_fh, stderr=subprocess.STDOUT, env=env)
        _started.append(self)
        if not wait:
            return True
        ports = listen_ports if listen_ports is not None else [self.port]
        for p in ports:
            if not wait_port(p):
                return False
        return self.wait_log("all processes running", 20,
                             start=self.log_start)

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=10, start=0):
        end = time.time() + timeout
        while time.time() < end:
            if re.search(pattern, self.log()[start:]):
                return True
            if self.proc.poll() is not None:
                return bool(re.search(pattern, self.log()[start:]))
            time.sleep(0.05)
        return False

    def children(self):
        return descendants(self.proc.pid)

    def wait_exit(self, timeout=15):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        kids = self.children()
        self.proc.send_signal(sig)
        rc = self.wait_exit(timeout)
        if rc is None:
            for p in [self.proc.pid] + kids:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            self.proc.wait()
        return rc

    def kill_all(self):
        """kill -9 the whole daemon, parent and children at once."""
        pids = [self.proc.pid] + self.children()
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait()
        end = time.time() + 5
        while time.time() < end and any(alive(p) for p in pids):
            time.sleep(0.05)

    def smtpctl(self, *args, check=False):
        r = subprocess.run([prog("smtpctl"), "-s", self.socket] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30)
        if check and r.returncode != 0:
            raise RuntimeError("smtpctl %s: %s" % (args, r.stderr))
        return r

    def sanitizer_clean(self, t):
        """One TAP line: no sanitizer report in the log."""
        log = self.log()
        bad = re.search(r"(AddressSanitizer|LeakSanitizer|runtime error:)",
                        log)
        ok = t.ok(bad is None, "no sanitizer report in the daemon log")
        if not ok:
            t.diag(log[max(0, bad.start() - 2000):bad.start() + 4000])
        return ok


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)
