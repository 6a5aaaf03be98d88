"""faultsmtp: a fault-injecting SMTP server for sealrelay's tests.

Runs in a thread of the test (or alone: python3 faultsmtp.py --help) and
records everything it receives, so a test can say what arrived and how.

    from faultsmtp import FaultSMTP
    srv = FaultSMTP(reply={"RCPT": "451 4.3.0 try later"}, times={"RCPT": 1})
    srv.start()            # srv.port
    ...
    srv.messages           # [{"from":..., "rcpts":[...], "data": bytes}]
    srv.stop()

Faults, by step: BANNER, EHLO, HELO, STARTTLS, AUTH (the final reply),
MAIL, RCPT, DATA, DOT (the reply to the end of the message), RSET, QUIT.
  reply={step: "451 text"}    that reply instead (CRLF added); bytes are
                              sent raw (malformed, multi-line, "25\\r\\n")
  times={step: n}             only the first n times, then normal
  rcpt_reply={addr: "550 .."} per recipient
  stall=step                  never answer that step (the client times out)
  disconnect=step             close the connection at that step;
                              "DATA_MID" closes halfway through the body
  tls=(cert, key)             offer STARTTLS with that certificate;
                              None: no STARTTLS
  ehlo=False                  answer EHLO with 502 (HELO fallback)
  pipelining=False, size=N    what EHLO offers
  auth=("user", "password")   offer AUTH (only after STARTTLS, so tls is
                              needed too) and require it before MAIL;
                              auth_mechs=("PLAIN", "LOGIN") by default
Everything received: srv.sessions (per connection: cmds, tls, auth: the
user that authenticated, auths: every attempt as (mechanism, user, ok),
auth_in_clear: AUTH tried without TLS), srv.messages (complete
transactions, data dot-unstuffed, as bytes, with "auth" and "tls").
"""

import argparse
import base64
import binascii
import socket
import ssl
import sys
import threading
import time


class FaultSMTP:
    def __init__(self, host="127.0.0.1", port=0, reply=None, times=None,
                 rcpt_reply=None, stall=None, disconnect=None, tls=None,
                 ehlo=True, pipelining=True, size=None, name="fault.test",
                 auth=None, auth_mechs=("PLAIN", "LOGIN")):
        self.host = host
        self.reply = dict(reply or {})
        self.times = dict(times or {})
        self.rcpt_reply = dict(rcpt_reply or {})
        self.stall = stall
        self.disconnect = disconnect
        self.tls = tls
        self.ehlo = ehlo
        self.pipelining = pipelining
        self.size = size
        self.name = name
        self.auth = auth
        self.auth_mechs = tuple(auth_mechs)
        self.sessions = []
        self.messages = []
        self.lock = threading.Lock()
        self.counts = {}
        self.sock = socket.socket(socket.AF_INET6 if ":" in host
                                  else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.running = False
        self.threads = []

    # -- control

    def start(self):
        self.sock.listen(64)
        self.running = True
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def stop(self):
        self.running = False
        try:
            self.sock.close()
        except OSError:
            pass

    def wait_messages(self, n, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if len(self.messages) >= n:
                    return True
            time.sleep(0.05)
        return False

    def wait_sessions(self, n, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if len(self.sessions) >= n:
                    return True
            time.sleep(0.05)
        return False

    def all_cmds(self):
        with self.lock:
            return [c for s in self.sessions for c in s["cmds"]]

    # -- serving

    def _accept(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()

    def _fault(self, step):
        """The reply for step if a fault applies (counted), else None."""
        if step not in self.reply:
            return None
        with self.lock:
            n = self.counts.get(step, 0)
            self.counts[step] = n + 1
        if step in self.times and n >= self.times[step]:
            return None
        return self.reply[step]

    def _serve(self, conn):
        sess = {"cmds": [], "tls": False, "closed_by": None, "auth": None,
                "auths": [], "auth_in_clear": False}
        with self.lock:
            self.sessions.append(sess)
        io = _Conn(conn)
        try:
            self._session(io, sess)
        except (OSError, ssl.SSLError, ConnectionError) as e:
            sess["closed_by"] = "error: %s" % e
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _answer(self, io, step, normal):
        """Send the reply of step; False if the session must end."""
        if self.stall == step:
            time.sleep(3600)
        if self.disconnect == step:
            raise ConnectionError("disconnect at %s" % step)
        r = self._fault(step)
        if r is None:
            r = normal
        if isinstance(r, str):
            r = r.encode() + b"\r\n"
        io.send(r)
        return True

    def _session(self, io, sess):
        mail, rcpts = None, []
        self._answer(io, "BANNER", "220 %s ESMTP faultsmtp" % self.name)
        while True:
            line = io.readline()
            if line is None:
                sess["closed_by"] = "client"
                return
            text = line.rstrip(b"\r\n").decode("latin-1")
            sess["cmds"].append(text)
            verb = text.split(" ", 1)[0].upper()
            up = text.upper()
            if verb == "EHLO":
                if not self.ehlo:
                    self._answer(io, "EHLO", "502 5.5.2 EHLO not here")
                    continue
                ext = ["250-%s" % self.name]
                if self.pipelining:
                    ext.append("250-PIPELINING")
                if self.size:
                    ext.append("250-SIZE %d" % self.size)
                ext.append("250-8BITMIME")
                if self.tls and not sess["tls"]:
                    ext.append("250-STARTTLS")
                if self.auth and sess["tls"]:
                    ext.append("250-AUTH %s" % " ".join(self.auth_mechs))
                ext.append("250 ENHANCEDSTATUSCODES")
                self._answer(io, "EHLO", "\r\n".join(ext))
            elif verb == "HELO":
                self._answer(io, "HELO", "250 %s" % self.name)
            elif verb == "STARTTLS" and self.tls and not sess["tls"]:
                r = self._fault("STARTTLS")
                if r is not None:
                    io.send(r.encode() + b"\r\n" if isinstance(r, str)
                            else r)
                    continue
                io.send(b"220 2.0.0 go ahead\r\n")
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(self.tls[0], self.tls[1])
                try:
                    io.starttls(ctx)
                except (ssl.SSLError, OSError) as e:
                    sess["closed_by"] = "tls: %s" % e
                    return
                sess["tls"] = True
                sess["tls_version"] = io.sock.version()
                mail, rcpts = None, []
            elif verb == "AUTH":
                self._auth(io, sess, text)
            elif up.startswith("MAIL FROM:"):
                if self.auth and sess["auth"] is None:
                    io.send(b"530 5.7.0 Authentication required\r\n")
                    continue
                mail, rcpts = text[10:], []
                self._answer(io, "MAIL", "250 2.1.0 ok")
            elif up.startswith("RCPT TO:"):
                addr = text[8:].split(" ")[0].strip("<>")
                if mail is None:
                    io.send(b"503 5.5.1 MAIL first\r\n")
                    continue
                if addr in self.rcpt_reply:
                    r = self.rcpt_reply[addr]
                    io.send(r.encode() + b"\r\n")
                    continue
                before = self.counts.get("RCPT", 0)
                r = self._fault("RCPT")
                if self.stall == "RCPT":
                    time.sleep(3600)
                if self.disconnect == "RCPT":
                    raise ConnectionError("disconnect at RCPT")
                if r is None:
                    rcpts.append(addr)
                    io.send(b"250 2.1.5 ok\r\n")
                else:
                    io.send(r.encode() + b"\r\n" if isinstance(r, str)
                            else r)
                del before
            elif verb == "DATA":
                if not rcpts:
                    io.send(b"554 5.5.1 no valid recipients\r\n")
                    continue
                r = self._fault("DATA")
                if self.stall == "DATA":
                    time.sleep(3600)
                if self.disconnect == "DATA":
                    raise ConnectionError("disconnect at DATA")
                if r is not None:
                    io.send(r.encode() + b"\r\n" if isinstance(r, str)
                            else r)
                    continue
                io.send(b"354 end with .\r\n")
                data = self._read_data(io)
                if data is None:
                    sess["closed_by"] = "client in DATA"
                    return
                msg = {"from": mail, "rcpts": rcpts, "data": data,
                       "tls": sess["tls"], "auth": sess["auth"]}
                r = self._fault("DOT")
                if r is None and self.stall != "DOT" and \
                        self.disconnect != "DOT":
                    with self.lock:
                        self.messages.append(msg)
                self._answer(io, "DOT", "250 2.0.0 queued as fault")
                mail, rcpts = None, []
            elif verb == "RSET":
                mail, rcpts = None, []
                self._answer(io, "RSET", "250 2.0.0 ok")
            elif verb == "NOOP":
                io.send(b"250 2.0.0 ok\r\n")
            elif verb == "QUIT":
                self._answer(io, "QUIT", "221 2.0.0 bye")
                sess["closed_by"] = "quit"
                return
            else:
                io.send(b"502 5.5.2 unknown command\r\n")

    def _auth_line(self, io, sess, challenge):
        """Send a 334 challenge, read the base64 answer; None: failed."""
        io.send(b"334 " + base64.b64encode(challenge) + b"\r\n")
        line = io.readline()
        if line is None:
            raise ConnectionError("closed during AUTH")
        text = line.rstrip(b"\r\n")
        sess["cmds"].append("<auth data>")
        if text == b"*":
            io.send(b"501 5.0.0 AUTH cancelled\r\n")
            return None
        return self._b64(io, text)

    def _b64(self, io, text):
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            io.send(b"501 5.5.2 cannot decode base64\r\n")
            return None

    def _auth(self, io, sess, text):
        """RFC 4954 AUTH with PLAIN (RFC 4616) or LOGIN."""
        # The command line carries credentials: keep only the verb.
        parts = text.split(" ")
        sess["cmds"][-1] = " ".join(parts[:2])
        if not self.auth or not sess["tls"]:
            if self.auth:
                sess["auth_in_clear"] = True
            io.send(b"503 5.5.1 AUTH not offered\r\n")
            return
        if sess["auth"] is not None:
            io.send(b"503 5.5.1 already authenticated\r\n")
            return
        mech = parts[1].upper() if len(parts) > 1 else ""
        if mech not in self.auth_mechs:
            io.send(b"504 5.5.4 mechanism not supported\r\n")
            return
        user = pw = None
        if mech == "PLAIN":
            if len(parts) > 2:
                blob = self._b64(io, parts[2].encode())
            else:
                blob = self._auth_line(io, sess, b"")
            if blob is None:
                return
            f = blob.split(b"\0")
            if len(f) != 3:
                io.send(b"501 5.5.2 bad PLAIN response\r\n")
                return
            user, pw = f[1], f[2]
        else:
            user = (self._b64(io, parts[2].encode()) if len(parts) > 2
                    else self._auth_line(io, sess, b"Username:"))
            if user is None:
                return
            pw = self._auth_line(io, sess, b"Password:")
            if pw is None:
                return
        user = user.decode("utf-8", "replace")
        good = (user, pw.decode("utf-8", "replace")) == tuple(self.auth)
        sess["auths"].append((mech, user, good))
        r = self._fault("AUTH")
        if r is not None:
            io.send(r.encode() + b"\r\n" if isinstance(r, str) else r)
            return
        if good:
            sess["auth"] = user
            io.send(b"235 2.7.0 Authentication successful\r\n")
        else:
            io.send(b"535 5.7.8 Authentication credentials invalid\r\n")

    def _read_data(self, io):
        lines = []
        size = 0
        while True:
            line = io.readline()
            if line is None:
                return None
            if line == b".\r\n":
                break
            if line.startswith(b"."):
                line = line[1:]
            lines.append(line)
            size += len(line)
            if self.disconnect == "DATA_MID" and size > 0:
                raise ConnectionError("disconnect in the middle of DATA")
        return b"".join(lines)


class _Conn:
    """Line reader over a socket that can switch to TLS."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def starttls(self, ctx):
        if self.buf:
            raise ConnectionError("plaintext after STARTTLS")
        self.sock = ctx.wrap_socket(self.sock, server_side=True)

    def send(self, b):
        self.sock.sendall(b)

    def readline(self):
        while b"\n" not in self.buf:
            try:
                d = self.sock.recv(65536)
            except (ConnectionError, ssl.SSLError):
                return None
            if not d:
                return None
            self.buf += d
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("--reply", action="append", default=[],
                    help="STEP=REPLY, e.g. RCPT='451 4.3.0 later'")
    ap.add_argument("--times", action="append", default=[],
                    help="STEP=N: the fault applies N times")
    ap.add_argument("--stall")
    ap.add_argument("--disconnect")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth", help="USER:PASSWORD (needs --cert)")
    a = ap.parse_args()
    reply = dict(x.split("=", 1) for x in a.reply)
    times = {k: int(v) for k, v in (x.split("=", 1) for x in a.times)}
    srv = FaultSMTP(a.host, a.port, reply=reply, times=times, stall=a.stall,
                    disconnect=a.disconnect,
                    tls=(a.cert, a.key) if a.cert else None,
                    auth=tuple(a.auth.split(":", 1)) if a.auth else None)
    srv.start()
    print("listening on %s:%d" % (a.host, srv.port), flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    for m in srv.messages:
        print(m["from"], m["rcpts"], len(m["data"]))


if __name__ == "__main__":
    sys.exit(main())
