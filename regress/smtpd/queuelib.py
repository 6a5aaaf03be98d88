"""queuelib: helpers for the queue's integration tests (regress/smtpd/queue_*.t).

Sink is a small SMTP server (a next hop) whose replies a test chooses per
recipient and attempt; it records every message it accepted.  submit()
sends one message with smtplib and returns the DATA reply and queue id.
"""

import os
import re
import smtplib
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from sealtest import *  # noqa: F401,F403,E402


class Sink:
    """SMTP next hop on 127.0.0.1:port.

    rcpt_reply(rcpt, attempt) returns the reply line for RCPT TO (default
    "250 2.1.5 Ok"); attempt counts from 1 per recipient address."""

    def __init__(self, port, rcpt_reply=None):
        self.port = port
        self.rcpt_reply = rcpt_reply or (lambda r, n: "250 2.1.5 Ok")
        self.messages = []      # (mail_from, [rcpts], data bytes)
        self.attempts = {}
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self):
        self.running = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _serve(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(c,),
                             daemon=True).start()

    def _session(self, c):
        f = c.makefile("rb")

        def send(line):
            c.sendall(line.encode() + b"\r\n")
        try:
            send("220 sink ESMTP")
            mail, rcpts = None, []
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode(errors="replace").strip()
                up = cmd.upper()
                if up.startswith("EHLO"):
                    c.sendall(b"250-sink\r\n250-PIPELINING\r\n"
                              b"250 8BITMIME\r\n")
                elif up.startswith("HELO"):
                    send("250 sink")
                elif up.startswith("MAIL FROM:"):
                    m = re.match(r"MAIL FROM:<([^>]*)>", cmd, re.I)
                    mail, rcpts = (m.group(1) if m else ""), []
                    send("250 2.1.0 Ok")
                elif up.startswith("RCPT TO:"):
                    m = re.match(r"RCPT TO:<([^>]*)>", cmd, re.I)
                    r = m.group(1) if m else ""
                    with self.lock:
                        n = self.attempts.get(r, 0) + 1
                        self.attempts[r] = n
                    reply = self.rcpt_reply(r, n)
                    if reply.startswith("2"):
                        rcpts.append(r)
                    send(reply)
                elif up == "DATA":
                    if not rcpts:
                        send("554 5.5.1 No valid recipients")
                        continue
                    send("354 go ahead")
                    data = b""
                    while True:
                        l2 = f.readline()
                        if not l2:
                            return
                        if l2 == b".\r\n":
                            break
                        if l2.startswith(b"."):
                            l2 = l2[1:]
                        data += l2
                    with self.lock:
                        self.messages.append((mail, list(rcpts), data))
                    send("250 2.0.0 Ok: queued")
                elif up == "RSET":
                    mail, rcpts = None, []
                    send("250 2.0.0 Ok")
                elif up == "QUIT":
                    send("221 2.0.0 Bye")
                    return
                else:
                    send("250 2.0.0 Ok")
        except OSError:
            pass
        finally:
            c.close()

    def received(self):
        with self.lock:
            return list(self.messages)


def submit(port, sender, rcpts, body):
    """Send one message; returns (code, text, queue id or None)."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("test.example")
    s.mail(sender)
    for r in rcpts:
        s.rcpt(r)
    code, text = s.data(body)
    text = text.decode(errors="replace")
    s.quit()
    m = re.search(r"queued as ([0-9a-f]{16})", text)
    return code, text, m.group(1) if m else None


def wait_until(fn, timeout=15, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def spool_files(work, sub="queue"):
    d = os.path.join(work, "spool", sub)
    try:
        return sorted(os.listdir(d))
    except OSError:
        return []


def maildir(work, name="Maildir"):
    """Contents (bytes) of every message delivered to the Maildir."""
    out = []
    d = os.path.join(work, name, "new")
    try:
        names = sorted(os.listdir(d))
    except OSError:
        return out
    for n in names:
        with open(os.path.join(d, n), "rb") as f:
            out.append(f.read())
    return out


MSG = ("From: <sender@example.org>\r\nTo: <rcpt@example.com>\r\n"
       "Subject: queue test\r\nMessage-ID: <qt@example.org>\r\n\r\n"
       "Hello.\r\n")
