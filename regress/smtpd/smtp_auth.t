#!/usr/bin/env python3
# AUTH PLAIN and LOGIN: offered and accepted only under TLS on a listener
# with an auth table of crypt(3) hashes (yescrypt, bcrypt), checked by
# policyd; right and wrong passwords, unknown users, AUTH before TLS
# refused, and "match from auth" letting only authenticated clients relay.
import base64
import os
import smtplib
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtptest import *  # noqa

t = TAP()
need_root(t)
w = workdir("smtp-auth")
cert, key = make_cert(w)
h = run([prog("smtpctl"), "encrypt", "s3cret pass"]).stdout.strip()
t.ok(h.startswith("$y$"), "smtpctl encrypt makes a yescrypt hash")
bc = run(["python3", "-c", "import crypt,sys;"
          "print(crypt.crypt('bcpass', crypt.mksalt(crypt.METHOD_BLOWFISH)))"]
         ).stdout.strip()
with open(os.path.join(w, "users"), "w") as f:
    f.write("alice %s\n" % h)
    if bc.startswith("$2"):
        f.write("bob %s\n" % bc)
r = Relay(w, '''pki test cert "%s"
pki test key "%s"
table users file:%s/users
listen on 127.0.0.1 port {port} tls pki test auth <users>
listen on 127.0.0.1 port {port2}
action "local" maildir "{work}/Maildir"
match from auth for any action "local"''' % (cert, key, w))
if not t.ok(r.start(listen_ports=[r.port, r.ports["port2"]]),
            "daemon starts"):
    t.diag(r.log())
    t.done()


def b64(s):
    return base64.b64encode(s.encode()).decode()


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


c = Client(r.port)
c.reply()
code, text = c.cmd("EHLO c.example")
t.ok(not any(x.startswith("AUTH") for x in text), "no AUTH before TLS")
code, text = c.cmd("AUTH PLAIN " + b64("\0alice\0s3cret pass"))
t.ok(code == 538 and text[0].startswith("5.7.11"),
     "AUTH before TLS refused with 538 5.7.11")
c.cmd("STARTTLS")
c.starttls_handshake()
code, text = c.cmd("EHLO c.example")
t.ok("AUTH PLAIN LOGIN" in text, "AUTH PLAIN LOGIN offered under TLS")
t.is_(c.cmd("MAIL FROM:<a@b.example>")[0], 250, "MAIL unauthenticated")
code, text = c.cmd("RCPT TO:<x@example.org>")
t.ok(code == 550 and text[0].startswith("5.7.1"),
     "unauthenticated RCPT: 550 5.7.1")
c.cmd("RSET")
code, text = c.cmd("AUTH PLAIN " + b64("\0alice\0wrong"))
t.ok(code == 535 and text[0].startswith("5.7.8"), "wrong password: 535")
code, text = c.cmd("AUTH PLAIN " + b64("\0mallory\0s3cret pass"))
t.is_(code, 535, "unknown user: 535")
code, text = c.cmd("AUTH PLAIN not-base64")
t.is_(code, 501, "undecodable PLAIN: 501")
code, text = c.cmd("AUTH CRAM-MD5")
t.is_(code, 504, "unknown mechanism: 504")
code, text = c.cmd("AUTH PLAIN")
t.is_((code, text[0]), (334, ""), "PLAIN without initial response: 334")
code, text = c.cmd("*")
t.is_(code, 501, "AUTH cancelled with *")
code, text = c.cmd("AUTH PLAIN")
code, text = c.cmd(b64("\0alice\0s3cret pass"))
t.ok(code == 235 and text[0].startswith("2.7.0"), "right password: 235")
t.is_(c.cmd("AUTH PLAIN " + b64("\0alice\0s3cret pass"))[0], 503,
      "second AUTH refused")
c.cmd("MAIL FROM:<alice@b.example>")
t.is_(c.cmd("RCPT TO:<x@example.org>")[0], 250,
      "authenticated RCPT accepted")
c.close()

# AUTH LOGIN.
c = Client(r.port)
c.reply()
c.cmd("EHLO c.example")
c.cmd("STARTTLS")
c.starttls_handshake()
c.cmd("EHLO c.example")
code, text = c.cmd("AUTH LOGIN")
t.is_((code, text[0]), (334, "VXNlcm5hbWU6"), "LOGIN asks for the user")
code, text = c.cmd(b64("alice"))
t.is_((code, text[0]), (334, "UGFzc3dvcmQ6"), "LOGIN asks for the password")
code, text = c.cmd(b64("s3cret pass"))
t.is_(code, 235, "AUTH LOGIN right password: 235")
c.close()

# smtplib with login, bcrypt user.
s = smtplib.SMTP("127.0.0.1", r.port, timeout=20)
s.starttls(context=ctx())
if bc.startswith("$2"):
    try:
        s.login("bob", "bcpass")
        t.ok(True, "bcrypt hash accepted")
    except smtplib.SMTPException as e:
        t.ok(False, "bcrypt hash accepted: %s" % e)
else:
    s.login("alice", "s3cret pass")
    t.ok(True, "login (no bcrypt here)")
t.is_(s.sendmail("a@b.example", ["y@example.org"], "Subject: a\r\n\r\nx\r\n"),
      {}, "authenticated send")
s.quit()
msgs = maildir_messages(os.path.join(w, "Maildir"), 1)
t.ok(len(msgs) == 1 and b"with ESMTPSA id" in msgs[0],
     "Received: says ESMTPSA")

# Plain listener without auth: AUTH not available.
c = Client(r.ports["port2"])
c.reply()
c.cmd("EHLO c.example")
t.is_(c.cmd("AUTH PLAIN " + b64("\0alice\0s3cret pass"))[0], 503,
      "AUTH on a listener without auth: 503")
c.close()

log = r.log()
t.ok("s3cret" not in log, "password never logged")
t.like(log, r"authentication of mallory failed|user mallory refused",
       "failed authentication logged")
r.stop()
r.sanitizer_clean(t)
t.done()
