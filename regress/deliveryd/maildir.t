#!/usr/bin/env python3
# Local delivery into a Maildir: created at start (tmp/ new/ cur/, owned
# by _sealdeliver), one file per recipient in new/ (written in tmp/ and
# renamed), LF line ends, control headers stripped.
import os
import pwd
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import *          # noqa: E402,F403

t = TAP()
need_root(t)
w = workdir("dlv-maildir")
md = os.path.join(w, "mail", "Maildir")
r = Relay(w, '''listen on 127.0.0.1 port {port}
action "local" maildir "%s"
match from any for any action "local"''' % md)
t.ok(r.start(), "relay started")
t.ok(all(os.path.isdir(os.path.join(md, d)) for d in ("tmp", "new", "cur")),
     "Maildir created with tmp/ new/ cur/")
t.is_(pwd.getpwuid(os.stat(os.path.join(md, "new")).st_uid).pw_name,
      "_sealdeliver", "owned by the delivery user")
s = smtplib.SMTP("127.0.0.1", r.port, timeout=10)
s.sendmail("a@example.org", ["u@example.com", "v@example.com"],
           b"Subject: md\r\nX-Seal-Secure: yes\r\n\r\n.dot\r\nbody\r\n")
s.quit()
end = time.time() + 10
files = []
while time.time() < end and len(files) < 2:
    files = os.listdir(os.path.join(md, "new"))
    time.sleep(0.1)
t.is_(len(files), 2, "one file per recipient in new/")
t.is_(os.listdir(os.path.join(md, "tmp")), [], "nothing left in tmp/")
data = open(os.path.join(md, "new", files[0]), "rb").read() if files else b""
t.ok(b"\r" not in data, "LF line ends")
t.ok(data.endswith(b"Subject: md\n\n.dot\nbody\n"),
     "content intact, no stuffing, control header stripped")
t.like(r.log(), r"to=<u@example.com> .*status=Ok", "delivery logged")
r.stop()
r.sanitizer_clean(t)
t.done()
