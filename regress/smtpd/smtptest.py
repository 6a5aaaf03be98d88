"""smtptest: a raw SMTP client for the front end's integration tests.

Raw, because the tests send what real clients never do: pipelined
batches in one packet, bare LF, NUL, over-long lines, STARTTLS with
plaintext behind it.
"""

import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import *  # noqa


class Client:
    def __init__(self, port, host="127.0.0.1", timeout=10, tls=False):
        self.sock = socket.create_connection((host, port), timeout)
        self.buf = b""
        if tls:
            self.starttls_handshake()

    def starttls_handshake(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        l, _, self.buf = self.buf.partition(b"\n")
        return l.rstrip(b"\r").decode(errors="replace")

    def reply(self):
        """One whole (maybe multi-line) reply: (code, [texts])."""
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                break
        try:
            code = int(lines[-1][:3])
        except ValueError:
            code = -1
        return code, [l[4:] for l in lines]

    def cmd(self, c):
        self.send(c + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True if the server closed the connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except (socket.timeout, OSError):
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def maildir_messages(path, want=0, timeout=10):
    """Contents of the files in path/new, waiting for at least want."""
    end = time.time() + timeout
    while True:
        d = os.path.join(path, "new")
        files = sorted(os.listdir(d)) if os.path.isdir(d) else []
        if len(files) >= want or time.time() > end:
            out = []
            for f in files:
                with open(os.path.join(d, f), "rb") as fh:
                    # deliveryd stores Maildir files with LF endings.
                    out.append(fh.read().replace(b"\r\n", b"\n"))
            return out
        time.sleep(0.05)


def spool_files(r):
    """Every file under the spool (to show nothing was kept)."""
    out = []
    for root, dirs, files in os.walk(os.path.join(r.work, "spool")):
        out += [os.path.join(root, f) for f in files]
    return out


def start(t, name, conf, **kw):
    need_root(t)
    w = workdir(name)
    r = Relay(w, conf, **kw)
    if not t.ok(r.start(), "daemon starts"):
        t.diag(r.log())
        r.stop()
        t.done()
    return w, r
