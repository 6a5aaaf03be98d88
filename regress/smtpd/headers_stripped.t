#!/usr/bin/env python3
# X-Seal-* directives and subject triggers never leave sealrelay, in any
# path.  Messages carrying directives (odd case, folded, repeated) and a
# subject trigger are sent from a trust-headers listener and from an
# untrusted one, with smtplib; at the next hop (an SMTP server), in a
# Maildir, in the DSNs for a recipient the next hop refuses (RET=HDRS and
# RET=FULL: the embedded copy too) and in the notification of a secured
# recipient, no X-Seal-* field and no trigger are left, the rest of the
# header and the body are as sent, and "[secure]" in the body stays.
# Triggers are configuration-wide: they leave the Subject whichever
# policy matched (here the relayed recipients' policy has none).
import email
import email.policy
import os
import re
import smtplib
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuelib import *  # noqa: F401,F403

t = TAP()
need_root(t)
w = workdir("headers-stripped")
CONF = '''listen on 127.0.0.1 port {port}
listen on 127.0.0.1 port {port3} tag apps trust-headers
policy "health" {{
    detect bsn score 5
    trigger "[secure]" secure 1fa
    trigger "[2fa]" secure 2fa
    secure 1fa when score >= 5
}}
policy "partners" {{
    detect bsn score 5
    secure 1fa when score >= 5
}}
secure portal "https://portal.example.test/m/"
action "local" maildir "{work}/Maildir"
action "out" relay host smtp://127.0.0.1:{port2}
match from any for rcpt "sender@example.org" action "local"
match from any for domain "local.example" action "local" policy "partners"
match from any for domain "partner.example" action "out" policy "partners"
match from any for any action "out" policy "health"'''


def reply(rcpt, n):
    if rcpt.startswith("bad"):
        return "550 5.1.1 <%s>: Recipient address rejected" % rcpt
    return "250 2.1.5 Ok"


r = Relay(w, CONF)
sink = Sink(r.ports["port2"], reply)
if not t.ok(r.start(listen_ports=[r.port, r.ports["port3"]]),
            "daemon started"):
    t.diag(r.log())
    t.done()

DIRECTIVES1 = ("X-Seal-Security: none\r\n"
               "x-sEAL-phone: pat@example.com\r\n"
               "\t+31612345678\r\n")
DIRECTIVES2 = ("X-SEAL-EXPIRES: 3\r\n"
               "X-Seal-Language: en\r\n"
               "X-Seal-Language:\r\n nl\r\n"
               "X-Seal-Notify-Read: yes\r\n")


def msg(tag, subject):
    return ("From: <sender@example.org>\r\n%s"
            "To: <ok@partner.example>\r\nSubject: %s\r\n"
            "X-Sealed-Not-A-Directive: kept %s\r\n"
            "Message-ID: <%s@example.org>\r\n%s\r\n"
            "Body of %s; [secure] in the body stays.\r\n"
            "X-Seal-Security: none (a body line, not a header)\r\n"
            % (DIRECTIVES1, subject, tag, uuid.uuid4().hex,
               DIRECTIVES2, tag))


def send(port, rcpts, body, ret="HDRS"):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("test.example")
    s.mail("sender@example.org", ["RET=" + ret])
    for x in rcpts:
        s.rcpt(x)
    code, text = s.data(body.encode())
    s.quit()
    m = re.search(r"queued as ([0-9a-f]{16})", text.decode())
    return code, m.group(1) if m else None


def header_of(data):
    end = data.find(b"\r\n\r\n")
    return data[:end + 2] if end >= 0 else data


def no_directive(data):
    """No X-Seal-* field at the start of any line of the header."""
    return not re.search(rb"(?im)^x-seal-", header_of(data))


ids = {}
for tag, port in (("trusted", r.ports["port3"]), ("untrusted", r.port)):
    code, qid = send(port, ["ok@partner.example", "bad@partner.example",
                            "box@local.example"],
                     msg(tag, "[secure] Lab results " + tag),
                     "FULL" if tag == "untrusted" else "HDRS")
    t.is_(code, 250, "%s: accepted" % tag)
    ids[tag] = qid

t.ok(wait_until(lambda: len(sink.received()) >= 2, 20),
     "both reached the next hop")
# Maildir: two for box@local.example, two DSNs for sender@example.org.
t.ok(wait_until(lambda: len(maildir(w)) >= 4, 20),
     "both in the Maildir, and a DSN for each")

for tag in ("trusted", "untrusted"):
    hop = [m[2] for m in sink.received()
           if ("Body of %s;" % tag).encode() in m[2]]
    box = [m for m in maildir(w) if ("Body of %s;" % tag).encode() in m
           and b"MAILER-DAEMON" not in m]
    t.is_(len(hop), 1, "%s: one copy at the next hop" % tag)
    t.is_(len(box), 1, "%s: one copy in the Maildir" % tag)
    for where, data in (("next hop", hop[0] if hop else b""),
                        ("maildir", box[0].replace(b"\n", b"\r\n")
                         if box else b"")):
        t.ok(data and no_directive(data),
             "%s, %s: no X-Seal-* field (odd case, folded, repeated)"
             % (tag, where))
        t.ok(b"\t+31612345678" not in data and b" nl\r\n" not in
             header_of(data), "%s, %s: no continuation line left" %
             (tag, where))
        t.like(header_of(data).decode(errors="replace"),
               r"(?m)^Subject: Lab results %s\r$" % tag,
               "%s, %s: the trigger left the subject" % (tag, where))
        t.ok(("X-Sealed-Not-A-Directive: kept %s" % tag).encode() in data,
             "%s, %s: other fields stay" % (tag, where))
        t.ok(b"[secure] in the body stays." in data and
             b"\r\nX-Seal-Security: none (a body line" in data,
             "%s, %s: the body is untouched" % (tag, where))

dsns = [m for m in maildir(w) if b"MAILER-DAEMON" in m]
t.is_(len(dsns), 2, "two DSNs")
for d in dsns:
    which = "untrusted" if b"Lab results untrusted" in d else "trusted"
    msgd = email.message_from_bytes(d, policy=email.policy.compat32)
    parts = msgd.get_payload() if msgd.is_multipart() else []
    kinds = [p.get_content_type() for p in parts]
    t.ok(len(parts) == 3, "%s DSN: three parts (%s)" % (which, kinds))
    t.ok(not re.search(rb"(?im)^x-seal-", d.replace(
        b"X-Seal-Security: none (a body line", b"")),
         "%s DSN: no X-Seal-* line anywhere, embedded copy included"
         % which)
    t.ok(b"Lab results " + which.encode() in d and
         b"[secure] Lab" not in d, "%s DSN: the embedded subject has no "
         "trigger" % which)
    t.ok(b"bad@partner.example" in d, "%s DSN: names the refused "
         "recipient" % which)
full = [d for d in dsns if b"Body of untrusted" in d]
t.ok(full and b"message/rfc822" in full[0], "RET=FULL: the whole message "
     "came back, filtered")

# A secured recipient: the notification shows the subject, no trigger.
code, qid = send(r.ports["port3"], ["pat@example.com"],
                 msg("secured", "[secure] Uitslag"))
t.is_(code, 250, "secured: accepted")
t.ok(wait_until(lambda: [m for m in sink.received()
                         if "pat@example.com" in m[1]], 20),
     "the notification reached the next hop")
note = [m[2] for m in sink.received() if "pat@example.com" in m[1]]
if note:
    n = email.message_from_bytes(note[0], policy=email.policy.default)
    text = "".join(p.get_content() for p in n.walk()
                   if p.get_content_type() == "text/plain")
    t.ok("Uitslag" in text and "[secure]" not in text,
         "notification: the subject without its trigger")
    t.ok("[secure]" not in str(n.get("Subject", "")),
         "notification's own Subject: no trigger")
    t.ok(no_directive(note[0]) and b"Body of secured" not in note[0],
         "notification: no directive, none of the body")
else:
    for _ in range(3):
        t.ok(False, "notification")
t.ok(r.wait_log(r"%s: to=<pat@example.com>, sealed" % qid),
     "the secured recipient was sealed")

r.stop()
sink.close()
t.ok(r.sanitizer_clean(t), "no sanitizer reports")
t.done()
