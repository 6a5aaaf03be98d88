#!/usr/bin/env python3
# A 5xx from the next hop makes an RFC 3464 DSN to the sender: a
# multipart/report with the human part, the delivery-status (ENVID,
# ORCPT, Status from the reply, Remote-MTA, Diagnostic-Code) and the
# original headers (or the whole message with RET=FULL); only failed
# recipients are reported; NOTIFY=NEVER and the null sender get none.
import email
import email.policy
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuelib import *  # noqa: F401,F403

t = TAP()
need_root(t)
w = workdir("queue-bounce")


def reply(rcpt, n):
    if rcpt.startswith("bad"):
        return "550 5.1.1 <%s>: Recipient address rejected" % rcpt
    return "250 2.1.5 Ok"


r = Relay(w, '''listen on 127.0.0.1 port {port}
action "local" maildir "{work}/Maildir"
action "out" relay host smtp://127.0.0.1:{port2}
match from any for rcpt "sender@example.org" action "local"
match from any for any action "out"''')
sink = Sink(r.ports["port2"], reply)
if not t.ok(r.start(), "daemon started"):
    t.diag(r.log())
    t.done()


def send(sender, rcpts, mopts=(), ropts=(), body=MSG):
    s = smtplib.SMTP("127.0.0.1", r.port, timeout=30)
    s.ehlo("test.example")
    c, m = s.mail(sender, list(mopts))
    for x in rcpts:
        s.rcpt(x, list(ropts))
    code, text = s.data(body)
    s.quit()
    m = re.search(r"queued as ([0-9a-f]{16})", text.decode())
    return code, m.group(1) if m else None


code, qid = send("sender@example.org", ["good@example.com",
                                        "bad1@example.com"],
                 ["RET=HDRS", "ENVID=envid-42"],
                 ["NOTIFY=FAILURE", "ORCPT=rfc822;Bad1@Example.com"],
                 MSG + "SECRET BODY\r\n")
t.is_(code, 250, "accepted with DSN parameters")
t.ok(wait_until(lambda: len(maildir(w)) == 1, 15), "a DSN arrived for the "
     "sender")
t.ok(wait_until(lambda: spool_files(w) == [], 10),
     "original and DSN left the queue")
got = sink.received()
t.is_([m[1] for m in got], [["good@example.com"]],
      "the good recipient was delivered")

dsn = email.message_from_bytes((maildir(w) or [b""])[0],
                               policy=email.policy.compat32)
t.like(dsn.get("From", ""), r"MAILER-DAEMON@", "from MAILER-DAEMON")
t.like(dsn.get("To", ""), r"<sender@example.org>", "to the sender")
t.is_(dsn.get("Auto-Submitted"), "auto-replied", "Auto-Submitted")
t.is_(dsn.get_content_type(), "multipart/report", "multipart/report")
t.is_(dsn.get_param("report-type"), "delivery-status",
      "report-type=delivery-status")
parts = dsn.get_payload() if dsn.is_multipart() else []
t.is_([p.get_content_type() for p in parts],
      ["text/plain", "message/delivery-status", "text/rfc822-headers"],
      "three parts: notification, delivery-status, original headers")
if len(parts) == 3:
    human = parts[0].get_payload()
    t.like(human, r"bad1@example.com>: 550 5\.1\.1", "human part names the "
           "recipient and the reply")
    t.ok("good@example.com" not in human, "delivered recipient not named")
    status = parts[1].get_payload()
    blocks = [b.as_string() if hasattr(b, "as_string") else str(b)
              for b in status] if isinstance(status, list) else [status]
    text = "\n".join(blocks)
    t.like(text, r"Reporting-MTA: dns; \S+", "Reporting-MTA")
    t.like(text, r"Original-Envelope-Id: envid-42", "ENVID returned")
    t.like(text, r"Original-Recipient: rfc822;Bad1@Example.com",
           "ORCPT returned")
    t.like(text, r"Final-Recipient: rfc822; ?bad1@example.com",
           "Final-Recipient")
    t.like(text, r"Action: failed", "Action: failed")
    t.like(text, r"Status: 5\.1\.1", "Status from the enhanced code")
    t.like(text, r"Remote-MTA: dns; 127\.0\.0\.1", "Remote-MTA")
    t.like(text, r"Diagnostic-Code: smtp; 550 5\.1\.1", "Diagnostic-Code")
    t.ok("good@example.com" not in text, "only failed recipients reported")
    hdrs = parts[2].get_payload()
    t.like(hdrs, r"Subject: queue test", "original headers returned")
    t.ok("SECRET BODY" not in hdrs, "RET=HDRS: no body")
t.like(r.log(), r"%s: bounce [0-9a-f]{16} to <sender@example.org>" % qid,
       "bounce logged with the original id")

# RET=FULL: the whole message comes back as message/rfc822.
code, qid = send("sender@example.org", ["bad2@example.com"], ["RET=FULL"],
                 [], MSG + "FULL BODY\r\n")
t.ok(wait_until(lambda: len(maildir(w)) == 2, 15), "second DSN arrived")
dsn2 = [m for m in maildir(w) if b"FULL BODY" in m]
t.ok(len(dsn2) == 1, "RET=FULL returns the body")
if dsn2:
    m2 = email.message_from_bytes(dsn2[0])
    t.is_([p.get_content_type() for p in m2.get_payload()],
          ["text/plain", "message/delivery-status", "message/rfc822"],
          "third part is message/rfc822")

# NOTIFY=NEVER and the null sender: no DSN.
code, qid3 = send("sender@example.org", ["bad3@example.com"], [],
                  ["NOTIFY=NEVER"])
code, qid4 = send("", ["bad4@example.com"])
t.is_(code, 250, "null sender accepted")
t.ok(wait_until(lambda: re.search(r"%s: to=<bad4@example.com>, failed, no "
                                  r"bounce to the null sender" % qid4,
                                  r.log()), 15),
     "null sender: failure logged, no bounce")
t.ok(wait_until(lambda: spool_files(w) == [], 10), "queue empty")
time.sleep(0.5)
t.is_(len(maildir(w)), 2, "no DSN for NOTIFY=NEVER nor for the null sender")
t.ok(not re.search(r"%s: bounce" % qid3, r.log()), "NOTIFY=NEVER: no "
     "bounce")
r.stop()
sink.close()
r.sanitizer_clean(t)
t.done()
