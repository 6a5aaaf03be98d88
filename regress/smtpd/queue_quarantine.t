#!/usr/bin/env python3
# Recovery at start never dies on a bad file: a corrupt envelope, an
# envelope of a future spool version, a message of the wrong size and a
# stray file are moved to quarantine/ with a log line; a good message
# next to them goes out, and the daemon keeps serving.
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuelib import *  # noqa: F401,F403

t = TAP()
need_root(t)
w = workdir("queue-quarantine")
CONF = '''listen on 127.0.0.1 port {port}
action "local" maildir "{work}/Maildir"
match from any for any action "local"'''
r = Relay(w, CONF)
if not t.ok(r.start(), "first start creates the spool"):
    t.diag(r.log())
    t.done()
r.stop()

q = os.path.join(w, "spool", "queue")
BODY = b"Subject: from the spool\r\n\r\nkept\r\n"


def env(qid, size, version=1, extra=b""):
    return (b"sealrelay-spool %d\n" % version +
            b"message %s %d %d 0 1 0 0 0 0 =127.0.0.1 =h = "
            b"=s@example.org = =\n" % (qid.encode(), int(time.time()),
                                        size) +
            b"rcpt 0 0 0 =local =r@example.com = =\ncommit 1\n" + extra)


def put(name, data):
    with open(os.path.join(q, name), "wb") as f:
        f.write(data)


good = "00000000000000aa"
put(good, BODY)
put(good + ".env", env(good, len(BODY)))
put("00000000000000bb", BODY)
put("00000000000000bb.env", b"sealrelay-spool 1\nmessage \x00garbage\n")
put("00000000000000cc", BODY)
put("00000000000000cc.env", env("00000000000000cc", len(BODY), version=9))
put("00000000000000dd", BODY + b"extra")
put("00000000000000dd.env", env("00000000000000dd", len(BODY)))
put("00000000000000ee", BODY)
put("00000000000000ee.env", env("00000000000000ee", len(BODY),
                                 extra=b"done 0 1 = =\nrcpt 1 0 0 =x =y = =\n"))
put("stray-file", b"?")

t.ok(r.start(), "daemon starts on a spool with bad files")
log = r.log()
for name, why in (("00000000000000bb.env", "NUL"),
                  ("00000000000000cc.env", "unsupported spool version 9"),
                  ("00000000000000dd.env", "wrong size"),
                  ("00000000000000ee.env", "unexpected record"),
                  ("stray-file", "not a spool file name")):
    t.like(log, r"queue: quarantined queue/%s as quarantine/%s\.\d+: .*%s"
           % (re.escape(name), re.escape(name), why),
           "log line for %s (%s)" % (name, why))
qdir = os.listdir(os.path.join(w, "spool", "quarantine"))
for name in ("00000000000000bb", "00000000000000bb.env", "00000000000000cc",
             "00000000000000dd.env", "00000000000000ee", "stray-file"):
    t.ok(any(n.startswith(name + ".") for n in qdir),
         "%s moved to quarantine/" % name)
t.ok(wait_until(lambda: len(maildir(w)) == 1, 10),
     "the good message next to them was delivered")
t.ok(b"kept" in (maildir(w) or [b""])[0], "with its content")
code, text, qid = submit(r.port, "a@example.org", ["b@example.com"], MSG)
t.is_(code, 250, "daemon keeps serving")
t.ok(wait_until(lambda: len(maildir(w)) == 2, 10), "and delivering")
t.ok(wait_until(lambda: spool_files(w) == [], 10), "queue empty")
r.stop()
r.sanitizer_clean(t)
t.done()
