#!/usr/bin/env python3
# Secured delivery through the running relay, with smtplib as the client
# and a next-hop SMTP server: a message with a valid BSN to two
# recipients, one allowlisted, reaches the allowlisted one as it was sent
# and the other only as a notification in the language asked for
# (X-Seal-Language), with a link to the portal, the sender, the subject
# and the expiry date, and none of the body; afterwards a marker string
# of the body, and the link token, are found nowhere under the work
# directory (spool, vault, log) and the queue is empty; cryptd's audit
# trail has "sealed" and "notified".  A 2fa recipient without a phone
# number is held: nothing is delivered to it, the sender gets the
# explanation naming it and the X-Seal-Phone directive, and smtpctl show
# queue lists it as held; with the directive the same message is sealed.
# Quarantine is held for the operator.  With "secure missing-phone 1fa"
# the 2fa recipient is sealed for one factor instead; with "secure
# hide-subject" the notification has no subject.
import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuelib import *  # noqa: F401,F403

t = TAP()
need_root(t)
w = workdir("secure-delivery")
CONF = '''listen on 127.0.0.1 port {port} tag apps trust-headers
table partners {{ "partner.example" }}
policy "health" {{
    detect bsn score 5
    keywords "quarantine" {{ "quarantaine-test" }} score 50
    allow <partners>
    quarantine when score >= 50
    secure 1fa when score >= 5
}}
secure portal "https://portal.example.test/m/"
secure organisation "Zorg & Co"
secure from "Zorg & Co veilig <veilig@zorg.example>"
action "out" relay host smtp://127.0.0.1:{port2}
match from any for any action "out" policy "health"'''
r = Relay(w, CONF)
sink = Sink(r.ports["port2"])
if not t.ok(r.start(), "daemon starts with a policy and secure settings"):
    t.diag(r.log())
    t.done()


def msg(subject, body, extra=""):
    return ("From: \"Dr. A. Jansen\" <arts@zorg.example>\r\n"
            "To: <pat@example.com>\r\n%sSubject: %s\r\n"
            "Message-ID: <%s@zorg.example>\r\n\r\n%s\r\n"
            % (extra, subject, uuid.uuid4().hex, body)).encode()


def to(rcpt):
    return [m for m in sink.received() if rcpt in m[1]]


def grep_work(needle):
    hits = []
    for root, _, files in os.walk(w):
        for n in files:
            p = os.path.join(root, n)
            try:
                with open(p, "rb") as f:
                    if needle in f.read():
                        hits.append(p)
            except OSError:
                pass
    return hits


marker = ("MARKER-" + uuid.uuid4().hex).encode()
body = "Patient BSN 111222333, uitslag: %s" % marker.decode()
code, text, qid = submit(r.port, "arts@zorg.example",
                         ["pat@example.com", "dr@partner.example"],
                         msg("Uitslag onderzoek", body,
                             "X-Seal-Language: en\r\n"))
t.is_(code, 250, "message with a BSN accepted")
t.ok(wait_until(lambda: to("dr@partner.example") and to("pat@example.com"),
                15), "both recipients got a mail at the next hop")
orig = to("dr@partner.example")
t.ok(orig and marker in orig[0][2], "allowlisted recipient got the original")
note = to("pat@example.com")
data = note[0][2] if note else b""
t.ok(note and marker not in data and b"111222333" not in data,
     "secured recipient got nothing of the body")
m = re.search(rb"https://portal\.example\.test/m/([A-Za-z0-9_-]{32})", data)
t.ok(m is not None, "notification has the link to the portal")
token = m.group(1) if m else b"-no-token-"
t.like(data.decode(errors="replace"), r"Subject: Secure message from "
       r"Dr\. A\. Jansen: Uitslag onderzoek", "in English, with the "
       "sender's name and the subject")
t.like(data.decode(errors="replace"), r"The link works until \w+ \d+, "
       r"20\d\d", "with the expiry date")
t.like(data.decode(errors="replace"), r"(?m)^From: \"?Zorg & Co veilig\"? "
       r"<veilig@zorg\.example>", "From: as configured")
t.like(data.decode(errors="replace"), r"(?m)^Reply-To: <arts@zorg\.example>",
       "Reply-To: the sender")
t.ok(b"multipart/alternative" in data and b"text/html" in data,
     "text and HTML parts")
t.is_(note[0][0] if note else None, "arts@zorg.example",
      "notification's envelope sender is the original sender")
t.ok(r.wait_log(r"%s: to=<pat@example\.com>, sealed, notification" % qid),
     "sealing logged")
t.ok(r.wait_log(r"%s: done, removed from the queue" % qid),
     "original leaves the queue")
t.ok(r.wait_log(r"crypt: %s: notified pat@example\.com" % qid),
     "cryptd recorded the delivered notification")
time.sleep(0.5)
t.is_(grep_work(marker), [], "marker of the body nowhere on disk")
t.is_(grep_work(token), [], "link token nowhere on disk")
t.is_(spool_files(w), [], "spool queue/ is empty")
lg = r.smtpctl("secure", "log", qid)
t.ok(lg.returncode == 0 and "sealed" in lg.stdout and
     "notified" in lg.stdout, "secure log: sealed and notified")

# 2fa without a phone number: held, the sender is told.
n_before = len(sink.received())
code, text, qid2 = submit(r.port, "arts@zorg.example", ["nophone@example.com"],
                          msg("Verwijzing", "BSN 111222333",
                              "X-Seal-Security: 2fa\r\n"))
t.is_(code, 250, "2fa message accepted")
t.ok(wait_until(lambda: to("arts@zorg.example"), 15),
     "the sender got a mail")
ex = to("arts@zorg.example")
exd = ex[0][2].decode(errors="replace") if ex else ""
t.like(exd, r"Subject: Niet verstuurd: ontvangers zonder telefoonnummer",
       "explanation in the default language (nl)")
t.like(exd, r"<nophone@example\.com>", "it names the recipient")
t.like(exd, r"X-Seal-Phone: ", "and how to give the number")
t.ok("111222333" not in exd, "and none of the body")
t.is_(ex[0][0] if ex else None, "", "from the null sender")
time.sleep(1)
t.is_(to("nophone@example.com"), [], "nothing delivered to the recipient")
sq = r.smtpctl("show", "queue")
t.like(sq.stdout, r"%s .* held .*<nophone@example\.com>" % qid2,
       "show queue lists it as held")
t.ok(r.wait_log(r"%s: to=<nophone@example\.com>, held: 2fa without a phone"
                % qid2), "held logged")

code, text, qid3 = submit(r.port, "arts@zorg.example", ["tel@example.com"],
                          msg("Verwijzing", "BSN 111222333",
                              "X-Seal-Security: 2fa\r\nX-Seal-Phone: "
                              "tel@example.com +31612345678\r\n"))
t.ok(wait_until(lambda: to("tel@example.com"), 15),
     "with X-Seal-Phone the 2fa recipient gets a notification")
nd = to("tel@example.com")[0][2] if to("tel@example.com") else b""
t.like(nd.decode(errors="replace"), r"Beveiligd bericht van Dr\. A\. Jansen",
       "in Dutch by default")

# Quarantine: held for the operator.
code, text, qid4 = submit(r.port, "arts@zorg.example", ["q@example.com"],
                          msg("q", "quarantaine-test"))
t.is_(code, 250, "quarantined message accepted")
t.ok(r.wait_log(r"%s: to=<q@example\.com>, quarantined: held for the "
                r"operator" % qid4), "quarantine held")
sq = r.smtpctl("show", "queue")
t.like(sq.stdout, r"%s .* held .*<q@example\.com>" % qid4,
       "show queue lists the quarantined message")
time.sleep(0.5)
t.is_(to("q@example.com"), [], "nothing delivered")

# A restart keeps the held recipient held and tells the sender once.
r.stop()
n_ex = len(to("arts@zorg.example"))
t.ok(r.start(), "restart")
sq = r.smtpctl("show", "queue")
t.like(sq.stdout, r"%s .* held " % qid2, "still held after a restart")
time.sleep(1)
t.is_(len(to("arts@zorg.example")), n_ex, "no second explanation")
r.stop()
r.sanitizer_clean(t)

# The operator's explicit fallback: 2fa without a phone sealed for 1fa.
w2 = workdir("secure-fallback")
r2 = Relay(w2, CONF.replace("{port2}", str(r.ports["port2"])) +
           "\nsecure missing-phone 1fa\nsecure hide-subject\n")
t.ok(r2.start(), "daemon starts with secure missing-phone 1fa")
code, text, qid5 = submit(r2.port, "arts@zorg.example", ["fb@example.com"],
                          msg("Geheim onderwerp", "BSN 111222333",
                              "X-Seal-Security: 2fa\r\n"))
t.ok(wait_until(lambda: to("fb@example.com"), 15),
     "the 2fa recipient without a phone gets a notification")
fd = to("fb@example.com")[0][2] if to("fb@example.com") else b""
t.ok(b"Geheim onderwerp" not in fd, "hide-subject: no subject in it")
t.ok(r2.wait_log(r"%s: to=<fb@example\.com>, 2fa without a phone number: "
                 r"sealed for 1fa" % qid5), "the fallback is logged")
r2.stop()
sink.close()
r2.sanitizer_clean(t)
t.done()
