#!/usr/bin/env python3
# deliveryd against a faulty next hop (regress/lib/faultsmtp.py): 4xx
# gives TempFail and the message waits (then the queue's retry delivers
# it), 5xx gives PermFail, a disconnect in the middle of DATA loses
# nothing, malformed and too-short replies and a stalled server are
# temporary failures, multi-line replies work, EHLO refused falls back to
# HELO, and a hostile reply is escaped before it reaches the log.
import os
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sealtest import *          # noqa: E402,F403
from faultsmtp import FaultSMTP  # noqa: E402

t = TAP()
need_root(t)
w = workdir("dlv-faults")

S = {
    "rcpt4xx": FaultSMTP(reply={"RCPT": "451 4.3.0 try later"},
                         times={"RCPT": 1}),
    "rcpt5xx": FaultSMTP(rcpt_reply={"bad@rcpt5xx.x":
                                     "550 5.1.1 no such user"}),
    "mail5xx": FaultSMTP(reply={"MAIL": "553 5.7.1 sender refused"}),
    "middata": FaultSMTP(disconnect="DATA_MID"),
    "dot4xx": FaultSMTP(reply={"DOT": "452 4.3.1 out of memory"}),
    "malformed": FaultSMTP(reply={"BANNER": b"hello there\r\n"}),
    "short": FaultSMTP(reply={"RCPT": b"25\r\n"}),
    "multi": FaultSMTP(reply={"DOT": b"250-2.0.0 ok\r\n250-more\r\n"
                              b"250 queued\r\n"}),
    "stall": FaultSMTP(stall="DOT"),
    "helo": FaultSMTP(ehlo=False),
    "hostile": FaultSMTP(reply={"RCPT": b"550 5.1.1 evil\rinjected: x"
                                b"\x1b[31m\x00\r\n"}),
}
conf = ["limit timeout-delivery 3s", "limit retry-min 1s",
        "limit retry-max 2s", "listen on 127.0.0.1 port {port}"]
for name, srv in S.items():
    srv.start()
    conf.append('action "%s" relay host "smtp://127.0.0.1:%d"'
                % (name, srv.port))
    conf.append('match from any for domain "%s.x" action "%s"'
                % (name, name))
r = Relay(w, "\n".join(conf))
t.ok(r.start(), "relay started")


def send(rcpts, body=b"Subject: fault\r\n\r\nbody\r\n"):
    s = smtplib.SMTP("127.0.0.1", r.port, timeout=10)
    s.sendmail("s@example.org", rcpts, body)
    s.quit()


def logged(rcpt, status, extra="", timeout=15):
    return r.wait_log(r"to=<%s> .*status=%s%s" % (rcpt.replace(".", r"\."),
                                                  status, extra), timeout)


big = b"Subject: big\r\n\r\n" + b"".join(
    b"line %06d of the body\r\n" % i for i in range(4000))
for name in S:
    if name == "rcpt5xx":
        send(["ok@rcpt5xx.x", "bad@rcpt5xx.x"])
    elif name == "middata":
        send(["a@middata.x"], big)
    else:
        send(["a@%s.x" % name])

t.ok(logged("a@rcpt4xx.x", "TempFail", r".*451 4\.3\.0"),
     "RCPT 451: TempFail with the remote reply")
t.ok(S["rcpt4xx"].wait_messages(1), "... then the queue's retry delivers")
t.ok(logged("bad@rcpt5xx.x", "PermFail", r".*550 5\.1\.1"),
     "RCPT 550: PermFail for that recipient")
t.ok(logged("ok@rcpt5xx.x", "Ok"), "... the other recipient delivered")
t.is_(S["rcpt5xx"].messages[0]["rcpts"] if S["rcpt5xx"].messages else None,
      ["ok@rcpt5xx.x"], "... in a transaction with the good one only")
t.ok(logged("a@mail5xx.x", "PermFail", r".*553 5\.7\.1"),
     "MAIL 553: PermFail")
t.ok(logged("a@middata.x", "TempFail"), "disconnect mid-DATA: TempFail")
t.is_(len(S["middata"].messages), 0, "... nothing counted as delivered")
t.like(r.smtpctl("show", "queue").stdout, r"a@middata\.x",
       "... the message waits in the queue")
t.ok(logged("a@dot4xx.x", "TempFail", r".*452 4\.3\.1"),
     "452 after the dot: TempFail")
t.ok(logged("a@malformed.x", "TempFail", r".*malformed reply"),
     "malformed greeting: TempFail")
t.ok(logged("a@short.x", "TempFail", r".*malformed reply"),
     "reply shorter than 4 bytes: TempFail")
t.ok(logged("a@multi.x", "Ok", r" reply=\"250 2\.0\.0 ok more queued\""),
     "multi-line reply: Ok, lines joined")
t.ok(logged("a@stall.x", "TempFail", r".*timeout", timeout=20),
     "stalled server: TempFail after timeout-delivery")
t.ok(logged("a@helo.x", "Ok"), "EHLO refused: delivered after HELO")
t.ok(any(c.startswith("HELO ") for c in S["helo"].all_cmds()),
     "... HELO was sent")
t.ok(logged("a@hostile.x", "PermFail", r".*evil\\x0dinjected: x\\x1b"),
     "hostile reply escaped in the log")
log = r.log()
t.ok("\x1b" not in log and "\x00" not in log and
     "\ninjected" not in log, "no raw control byte in the log")
t.ok(r.wait_log(r"queue: .*to=<a@hostile\.x>.*evil\\x0dinjected", 5),
     "the queue got the escaped reply too")
# Multi-line EHLO with pipelining was used on every good server.
cmds = S["multi"].all_cmds()
t.ok(any(c.startswith("EHLO ") for c in cmds), "EHLO sent")
r.stop()
for s in S.values():
    s.stop()
r.sanitizer_clean(t)
t.done()
