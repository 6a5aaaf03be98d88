#!/usr/bin/env python3
# The front end with swaks, a real SMTP client: plain, STARTTLS, implicit
# TLS, AUTH (right and wrong password), pipelining, several recipients;
# what swaks sent arrives in the Maildir.
import glob
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtptest import *  # noqa

t = TAP()
need_root(t)
w = workdir("smtp-swaks")
cert, key = make_cert(w)
h = run([prog("smtpctl"), "encrypt", "swaks-pass"]).stdout.strip()
with open(os.path.join(w, "users"), "w") as f:
    f.write("carol %s\n" % h)
r = Relay(w, '''pki test cert "%s"
pki test key "%s"
table users file:%s/users
listen on 127.0.0.1 port {port} tls pki test
listen on 127.0.0.1 port {port2} smtps pki test auth <users> tag submission
action "local" maildir "{work}/Maildir"
match from local for any action "local"
match from auth for any action "local"''' % (cert, key, w))
if not t.ok(r.start(listen_ports=[r.port, r.ports["port2"]]),
            "daemon starts"):
    t.diag(r.log())
    t.done()


def swaks(*args, port=None):
    cmd = ["swaks", "--server", "127.0.0.1:%d" % (port or r.port),
           "--helo", "client.example", "--from", "app@client.example",
           "--timeout", "20"] + list(args)
    return subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)


def delivered(marker, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        for p in glob.glob(os.path.join(w, "Maildir", "new", "*")):
            with open(p, errors="replace") as f:
                if marker in f.read():
                    return p
        time.sleep(0.1)
    return None


res = swaks("--to", "a@dest.example", "--header", "Subject: swaks plain",
            "--body", "marker-plain-1")
t.is_(res.returncode, 0, "plain: swaks succeeds")
t.like(res.stdout, r"<[-~]  250 2\.0\.0 Ok: queued as [0-9a-f]{16}",
       "plain: 250 with the queue id")
t.ok(delivered("marker-plain-1"), "plain: delivered to the Maildir")

res = swaks("--tls", "--to", "b@dest.example", "--body", "marker-tls-2")
t.is_(res.returncode, 0, "STARTTLS: swaks succeeds")
t.like(res.stdout, r"TLS started", "STARTTLS: TLS started")
p = delivered("marker-tls-2")
t.ok(p, "STARTTLS: delivered")
if p:
    with open(p) as f:
        t.like(f.read(), r"with ESMTPS id [0-9a-f]{16}[\s\S]*TLSv1\.[23]",
               "STARTTLS: Received header says ESMTPS and the protocol")

res = swaks("--pipeline", "--to", "c1@dest.example,c2@dest.example,"
            "c3@dest.example", "--body", "marker-pipe-3")
t.is_(res.returncode, 0, "pipelining with three recipients")
t.like(res.stdout, r"(?s)(250 2\.1\.5.*){3}", "three recipients accepted")
t.ok(delivered("marker-pipe-3"), "pipelined message delivered")

res = swaks("--tlsc", "--auth", "PLAIN", "--auth-user", "carol",
            "--auth-password", "swaks-pass", "--to", "d@far.example",
            "--body", "marker-auth-4", port=r.ports["port2"])
t.is_(res.returncode, 0, "implicit TLS + AUTH PLAIN: swaks succeeds")
t.like(res.stdout, r"235 2\.7\.0", "AUTH accepted with 235 2.7.0")
t.ok(delivered("marker-auth-4"), "authenticated message delivered")

res = swaks("--tlsc", "--auth", "LOGIN", "--auth-user", "carol",
            "--auth-password", "wrong", "--to", "e@far.example",
            port=r.ports["port2"])
t.ok(res.returncode != 0, "wrong password: swaks fails")
t.like(res.stdout, r"535 5\.7\.8", "wrong password: 535 5.7.8")

res = swaks("--to", "big@dest.example", "--body", "x" * 200)
t.is_(res.returncode, 0, "the daemon still serves after a failed AUTH")
t.is_(r.stop(), 0, "SIGTERM exits 0")
r.sanitizer_clean(t)
t.done()
