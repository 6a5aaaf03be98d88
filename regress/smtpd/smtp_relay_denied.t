#!/usr/bin/env python3
# Relay control: a client whose address no "match from" line allows gets
# 550 5.7.1 at RCPT; a listener tag allows what its rule says and no
# more; %-hacks and bang paths are refused as relay attempts, source
# routes are reduced to the mailbox and checked as such.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtptest import *  # noqa

t = TAP()
need_root(t)
w = workdir("smtp-relay")
r = Relay(w, '''table nets {{ 192.0.2.0/24 }}
listen on 127.0.0.1 port {port}
listen on 127.0.0.1 port {port2} tag submit
action "local" maildir "{work}/Maildir"
match from src <nets> for any action "local"
match from tag submit for domain example.org action "local"''')
if not t.ok(r.start(listen_ports=[r.port, r.ports["port2"]]),
            "daemon starts"):
    t.diag(r.log())
    t.done()

c = Client(r.port)
c.reply()
c.cmd("EHLO c.example")
c.cmd("MAIL FROM:<a@b.example>")
code, text = c.cmd("RCPT TO:<x@example.org>")
t.ok(code == 550 and text[0] == "5.7.1 Relaying denied",
     "source not in the src table: 550 5.7.1 at RCPT")
t.is_(c.cmd("DATA")[0], 554, "DATA with no accepted recipient: 554")
c.close()

c = Client(r.ports["port2"])
c.reply()
c.cmd("EHLO c.example")
c.cmd("MAIL FROM:<a@b.example>")
t.is_(c.cmd("RCPT TO:<x@example.org>")[0], 250,
      "tagged listener: allowed domain accepted")
t.is_(c.cmd("RCPT TO:<x@Example.ORG>")[0], 250,
      "domain compared without case")
t.is_(c.cmd("RCPT TO:<x@example.net>")[0], 550,
      "tagged listener: other domain 550")
t.is_(c.cmd("RCPT TO:<x@sub.example.org>")[0], 550,
      "tagged listener: subdomain is another domain")
code, text = c.cmd("RCPT TO:<x%example.net@example.org>")
t.ok(code == 550 and text[0].startswith("5.7.1"), "%-hack refused")
t.is_(c.cmd("RCPT TO:<example.net!x@example.org>")[0], 550,
      "bang path refused")
t.is_(c.cmd("RCPT TO:<@example.org:x@example.net>")[0], 550,
      "source route to an outside domain refused")
t.is_(c.cmd("RCPT TO:<@example.net:x@example.org>")[0], 250,
      "source route to an allowed domain: mailbox accepted")
t.is_(c.cmd("RCPT TO:<\"x y\"@example.org>")[0], 250,
      "quoted local part accepted")
t.is_(c.cmd("RCPT TO:<x@[192.0.2.1]>")[0], 550,
      "address literal is not example.org")
c.close()
t.ok(r.wait_log(r"no match, relaying denied"), "refusal logged by policy")
r.stop()
r.sanitizer_clean(t)
t.done()
