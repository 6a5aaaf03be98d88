/*
 * t_queue_fs.c: unit tests of the spool's record format (queue_fs.c) and
 * of the DSN builder (queue_bounce.c): round trips with hostile strings,
 * truncated and corrupt envelopes refused, appended results, and the
 * multipart/report structure of a bounce.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/tap.h"
#include "log.h"
#include "../../smtpd/queue.h"
#include "util.h"

static const char *nasty = "a b%c\r\ncommit 1\n=%0A\x01\xff\xc3\xa9 ";

static void
make_env(struct qenv *e)
{
	queue_env_init(e);
	memcpy(e->id, "0123456789abcdef", QUEUE_ID_LEN + 1);
	e->ctime = 1700000000;
	e->size = 4096;
	e->listener = 2;
	e->local = 1;
	e->body = BODY_8BITMIME;
	e->smtputf8 = 1;
	e->dsn_ret = DSN_RET_HDRS;
	free(e->src);
	e->src = xstrdup("192.0.2.1");
	free(e->helo);
	e->helo = xstrdup(nasty);
	free(e->sender);
	e->sender = xstrdup("sender@example.org");
	free(e->envid);
	e->envid = xstrdup("ENV+2Bid");
	queue_env_add_rcpt(e, "rcpt1@example.com", "rfc822;RCPT1@example.com",
	    DSN_NOTIFY_FAILURE);
	queue_env_add_rcpt(e, nasty, "", 0);
	queue_env_add_rcpt(e, "denied@example.net", "", 0);
	e->rcpt[0].decision = DECISION_RELAY;
	free(e->rcpt[0].action);
	e->rcpt[0].action = xstrdup("out");
	e->rcpt[1].decision = DECISION_RELAY_VERIFY;
	free(e->rcpt[1].action);
	e->rcpt[1].action = xstrdup("out");
	free(e->rcpt[1].rules);
	e->rcpt[1].rules = xstrdup("rule(3),other(1)");
	e->rcpt[2].decision = DECISION_REJECT;
}

static int
env_equal(const struct qenv *a, const struct qenv *b)
{
	size_t	i;

	if (strcmp(a->id, b->id) || a->ctime != b->ctime ||
	    a->size != b->size || a->listener != b->listener ||
	    a->local != b->local || a->body != b->body ||
	    a->smtputf8 != b->smtputf8 || a->dsn_ret != b->dsn_ret ||
	    a->flags != b->flags || strcmp(a->src, b->src) ||
	    strcmp(a->helo, b->helo) || strcmp(a->auth_user, b->auth_user) ||
	    strcmp(a->sender, b->sender) || strcmp(a->envid, b->envid) ||
	    strcmp(a->tls, b->tls) || a->nrcpt != b->nrcpt)
		return 0;
	for (i = 0; i < a->nrcpt; i++)
		if (strcmp(a->rcpt[i].rcpt, b->rcpt[i].rcpt) ||
		    strcmp(a->rcpt[i].orcpt, b->rcpt[i].orcpt) ||
		    strcmp(a->rcpt[i].action, b->rcpt[i].action) ||
		    strcmp(a->rcpt[i].rules, b->rcpt[i].rules) ||
		    a->rcpt[i].notify != b->rcpt[i].notify ||
		    a->rcpt[i].decision != b->rcpt[i].decision)
			return 0;
	return 1;
}

static int
decode(const char *buf, size_t len, struct qenv *out, size_t *used,
    char *err)
{
	return queue_env_decode(buf, len, out, used, err, 128);
}

static void
test_roundtrip(void)
{
	struct qenv	 e, d;
	struct qbuf	 b;
	size_t		 used, i, nl = 0, cut;
	char		 err[128];

	make_env(&e);
	qbuf_init(&b);
	queue_env_encode(&b, &e);
	for (i = 0; i < b.len; i++) {
		if (b.buf[i] == '\n')
			nl++;
		if ((unsigned char)b.buf[i] < 0x20 && b.buf[i] != '\n')
			break;
		if ((unsigned char)b.buf[i] >= 0x7f)
			break;
	}
	ok(i == b.len, "encoded envelope is printable ASCII and LF only");
	is_int(nl, 1 + 1 + 3 + 1, "one line per record: header, message, 3 "
	    "rcpt, commit");
	ok(strncmp(b.buf, "sealrelay-spool 2\n", 18) == 0,
	    "starts with the magic and version");
	ok(decode(b.buf, b.len, &d, &used, err) == 0, "decodes (%s)", err);
	is_int(used, b.len, "all of it used");
	ok(env_equal(&e, &d), "round trip keeps every field");
	is_str(d.helo, nasty, "hostile helo kept byte for byte");
	is_str(d.rcpt[1].rcpt, nasty, "hostile recipient kept byte for byte");
	is_int(d.rcpt[0].state, QR_PENDING, "relay recipient pending");
	is_int(d.rcpt[2].state, QR_REJECTED, "rejected recipient final");
	queue_env_free(&d);

	/* Appended results. */
	queue_rec_result(&b, "done", 0, 1700000100, "mx.example.com "
	    "[192.0.2.9]", "250 2.0.0 Ok\r\nfail 1 0 = =");
	queue_rec_result(&b, "defer", 1, 1700000150, "mx", "451 4.3.0 later");
	cut = b.len;
	queue_rec_result(&b, "fail", 1, 1700000200, NULL,
	    "550 5.1.1 No such user");
	queue_rec_bounced(&b, 1, 1700000300);
	ok(decode(b.buf, b.len, &d, &used, err) == 0, "decodes with results "
	    "(%s)", err);
	is_int(d.rcpt[0].state, QR_DONE, "done record");
	is_str(d.rcpt[0].reply, "250 2.0.0 Ok\r\nfail 1 0 = =",
	    "reply with CRLF cannot inject a record");
	is_int(d.rcpt[0].when, 1700000100, "time of result");
	is_int(d.rcpt[1].state, QR_BOUNCED, "fail then bounced");
	is_str(d.rcpt[1].relay, "", "empty relay replaces the deferral's");
	queue_env_free(&d);
	ok(decode(b.buf, cut, &d, &used, err) == 0 &&
	    d.rcpt[1].state == QR_PENDING && d.rcpt[1].reply != NULL &&
	    strcmp(d.rcpt[1].reply, "451 4.3.0 later") == 0,
	    "a deferral keeps the recipient pending with its last error");
	queue_env_free(&d);

	/* A partial append after the commit is ignored, not fatal. */
	qbuf_addstr(&b, "done 2 17000");
	ok(decode(b.buf, b.len, &d, &used, err) == 0,
	    "partial last line after commit tolerated");
	is_int(used, b.len - strlen("done 2 17000"), "used excludes it");
	queue_env_free(&d);

	queue_env_free(&e);
	qbuf_free(&b);
}

static void
test_truncated(void)
{
	struct qenv	 e, d;
	struct qbuf	 b;
	size_t		 used, cut, bad = 0, commit_end;
	char		 err[128];

	make_env(&e);
	qbuf_init(&b);
	queue_env_encode(&b, &e);
	commit_end = b.len;
	for (cut = 0; cut < commit_end; cut++)
		if (decode(b.buf, cut, &d, &used, err) == 0) {
			bad++;
			queue_env_free(&d);
		}
	is_int(bad, 0, "every truncation before the commit record refused");
	queue_env_free(&e);
	qbuf_free(&b);
}

static void
expect_bad(const char *text, const char *what)
{
	struct qenv	d;
	size_t		used;
	char		err[128] = "";

	if (!ok(decode(text, strlen(text), &d, &used, err) == -1,
	    "refused: %s", what))
		queue_env_free(&d);
	else
		printf("#   reason: %s\n", err);
}

#define MSG	"message 0123456789abcdef 1 10 0 0 0 0 0 0 = = = =a@b = =\n"
#define RCPT0	"rcpt 0 0 0 =out =x@y = =\n"

static void
test_corrupt(void)
{
	struct qenv	d;
	size_t		used;
	char		err[128] = "";
	const char	*good = "sealrelay-spool 1\n" MSG RCPT0 "commit 1\n";

	ok(decode(good, strlen(good), &d, &used, err) == 0,
	    "minimal envelope decodes (%s)", err);
	queue_env_free(&d);
	expect_bad("sealrelay-spool 3\n" MSG RCPT0 "commit 1\n",
	    "future version");
	expect_bad("postfix 1\n" MSG RCPT0 "commit 1\n", "wrong magic");
	expect_bad("sealrelay-spool 1\n" MSG RCPT0 "commit 2\n",
	    "commit count mismatch");
	expect_bad("sealrelay-spool 1\n" MSG "rcpt 1 0 0 =out =x@y = =\n"
	    "commit 1\n", "recipient index out of order");
	expect_bad("sealrelay-spool 1\n" MSG "commit 0\n", "no recipients");
	expect_bad("sealrelay-spool 1\n" MSG RCPT0 "commit 1\nbounced 0 5\n",
	    "bounced without a failure");
	expect_bad("sealrelay-spool 1\n" MSG RCPT0 "commit 1\ndone 1 5 = =\n",
	    "result for an unknown recipient");
	expect_bad("sealrelay-spool 1\n" MSG RCPT0 "commit 1\ndone 0 5 = =\n"
	    "done 0 6 = =\n", "second result for a final recipient");
	expect_bad("sealrelay-spool 1\n" MSG "rcpt 0 0 0 =out =x%0a@y = =\n"
	    "commit 1\n", "lower-case escape");
	expect_bad("sealrelay-spool 1\n" MSG "rcpt 0 0 0 =out =x%00@y = =\n"
	    "commit 1\n", "escaped NUL");
	expect_bad("sealrelay-spool 1\n" MSG "rcpt 0 0 0 =out x@y = =\n"
	    "commit 1\n", "string field without its marker");
	expect_bad("sealrelay-spool 1\n" MSG "rcpt 0 0 0 =out  =x@y = =\n"
	    "commit 1\n", "empty field");
	expect_bad("sealrelay-spool 1\n" MSG "rcpt 0 9 0 =out =x@y = =\n"
	    "commit 1\n", "unknown decision");
	expect_bad("sealrelay-spool 1\n" MSG "rcpt 0 -1 0 =out =x@y = =\n"
	    "commit 1\n", "negative number");
	expect_bad("sealrelay-spool 1\nmessage 0123456789ABCDEF 1 10 0 0 0 0 "
	    "0 0 = = = =a@b = =\n" RCPT0 "commit 1\n", "upper-case queue id");
	expect_bad("sealrelay-spool 1\n" MSG RCPT0 "commit 1\nrcpt 1 0 0 =o "
	    "=z@y = =\n", "recipient after the commit");
	expect_bad("sealrelay-spool 1\n" MSG RCPT0 "commit 1\nfrobnicate\n",
	    "unknown record after the commit");
	expect_bad("", "empty file");
	{
		char	buf[256];
		size_t	len;

		len = (size_t)snprintf(buf, sizeof(buf), "%s", good);
		buf[30] = '\0';
		ok(decode(buf, len, &d, &used, err) == -1, "NUL byte refused");
	}
	ok(queue_id_valid("0123456789abcdef"), "valid id");
	ok(!queue_id_valid("0123456789abcde"), "short id refused");
	ok(!queue_id_valid("0123456789abcdeg"), "non-hex id refused");
	ok(!queue_id_valid("../../etc/passwd"), "path refused as id");
	{
		char	id[QUEUE_ID_LEN + 1], id2[QUEUE_ID_LEN + 1];

		queue_id_new(id);
		queue_id_new(id2);
		ok(queue_id_valid(id) && strcmp(id, id2) != 0,
		    "new ids valid and different");
	}
}

static int
count(const char *hay, const char *needle)
{
	int		 n = 0;
	const char	*p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static int
crlf_only(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return 0;
		if (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n'))
			return 0;
	}
	return 1;
}

static void
test_dsn(void)
{
	struct qenv	 e;
	struct qbuf	 b;
	size_t		 idx[2] = { 0, 1 };
	const char	*orig = "Received: from x by y\r\nSubject: hello\r\n"
	    "From: <sender@example.org>\r\n\r\nSECRET BODY LINE\r\n";
	char		*p;

	make_env(&e);
	e.smtputf8 = 0;
	e.rcpt[0].state = QR_FAILED;
	e.rcpt[0].reply = xstrdup("550 5.1.1 <rcpt1@example.com>: no such "
	    "user");
	e.rcpt[0].relay = xstrdup("mx.example.com [192.0.2.9]");
	e.rcpt[0].when = 1700000500;
	e.rcpt[1].state = QR_FAILED;
	e.rcpt[1].reply = xstrdup("4.4.7 Delivery time expired; last "
	    "error: 421 busy");

	qbuf_init(&b);
	queue_bounce_build(&b, "relay.example.net", "fedcba9876543210",
	    1700001000, &e, idx, 2, orig, strlen(orig));
	ok(crlf_only(b.buf, b.len), "DSN lines end in CRLF only");
	ok(strstr(b.buf, "Content-Type: multipart/report; "
	    "report-type=delivery-status;") != NULL, "multipart/report");
	ok(strstr(b.buf, "From: Mail Delivery System "
	    "<MAILER-DAEMON@relay.example.net>\r\n") != NULL,
	    "from MAILER-DAEMON");
	ok(strstr(b.buf, "To: <sender@example.org>\r\n") != NULL,
	    "to the sender");
	ok(strstr(b.buf, "Auto-Submitted: auto-replied\r\n") != NULL,
	    "auto-submitted");
	is_int(count(b.buf, "\r\n--fedcba9876543210/relay.example.net\r\n"),
	    3, "three parts");
	is_int(count(b.buf, "\r\n--fedcba9876543210/relay.example.net--\r\n"),
	    1, "closing boundary");
	ok(strstr(b.buf, "Content-Type: message/delivery-status\r\n") != NULL,
	    "delivery-status part");
	ok(strstr(b.buf, "Reporting-MTA: dns; relay.example.net\r\n") != NULL,
	    "Reporting-MTA");
	ok(strstr(b.buf, "Original-Envelope-Id: ENV+2B2Bid\r\n") != NULL,
	    "Original-Envelope-Id from ENVID (escaped)");
	ok(strstr(b.buf, "Original-Recipient: rfc822;RCPT1@example.com\r\n"
	    "Final-Recipient: rfc822; rcpt1@example.com\r\nAction: failed\r\n"
	    "Status: 5.1.1\r\nRemote-MTA: dns; mx.example.com\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <rcpt1@example.com>: no such "
	    "user\r\n") != NULL, "per-recipient block of a 5xx");
	ok(strstr(b.buf, "Action: failed\r\nStatus: 4.4.7\r\n") != NULL,
	    "expired recipient has status 4.4.7");
	ok(strstr(b.buf, "Final-Recipient: rfc822; a b%c+0D+0Acommit 1"
	    "+0A=%0A+01+FF+C3+A9 \r\n") != NULL,
	    "hostile recipient escaped in the report");
	ok(strstr(b.buf, "Content-Type: text/rfc822-headers\r\n\r\n"
	    "Received: from x by y\r\nSubject: hello\r\n") != NULL,
	    "original headers returned");
	ok(strstr(b.buf, "SECRET BODY LINE") == NULL,
	    "body not returned without RET=FULL");
	p = strstr(b.buf, "Content-Type: message/delivery-status\r\n\r\n");
	ok(p != NULL && strstr(p, "\r\n\r\n\r\n") == NULL,
	    "no empty group in the report");
	qbuf_free(&b);

	e.dsn_ret = DSN_RET_FULL;
	qbuf_init(&b);
	queue_bounce_build(&b, "relay.example.net", "fedcba9876543210",
	    1700001000, &e, idx, 1, orig, strlen(orig));
	ok(strstr(b.buf, "Content-Type: message/rfc822\r\n\r\nReceived: ") !=
	    NULL && strstr(b.buf, "SECRET BODY LINE\r\n") != NULL,
	    "RET=FULL returns the whole message");
	ok(strstr(b.buf, "Status: 4.4.7") == NULL, "only the named "
	    "recipients are reported");
	ok(crlf_only(b.buf, b.len), "RET=FULL DSN is CRLF only");
	qbuf_free(&b);

	ok(queue_bounce_wanted(&e, &e.rcpt[0]), "NOTIFY=FAILURE bounces");
	ok(queue_bounce_wanted(&e, &e.rcpt[1]), "no NOTIFY bounces");
	e.rcpt[1].notify = DSN_NOTIFY_NEVER;
	ok(!queue_bounce_wanted(&e, &e.rcpt[1]), "NOTIFY=NEVER does not");
	e.rcpt[1].notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_DELAY;
	ok(!queue_bounce_wanted(&e, &e.rcpt[1]),
	    "NOTIFY=SUCCESS,DELAY does not");
	free(e.sender);
	e.sender = xstrdup("");
	ok(!queue_bounce_wanted(&e, &e.rcpt[0]), "never to the null sender");
	queue_env_free(&e);
}

int
main(void)
{
	log_init(1, 0);
	test_roundtrip();
	test_truncated();
	test_corrupt();
	test_dsn();
	return done_testing();
}
