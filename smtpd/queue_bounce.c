/*
 * queue_bounce.c: delivery status notifications (RFC 3464), made by the
 * queue process, the only writer of the spool.
 *
 * A DSN is a multipart/report from the null sender (MAILER-DAEMON@
 * hostname) to the original sender, with a human-readable part, a
 * message/delivery-status part (one block per failed recipient, with
 * Original-Recipient from ORCPT and Original-Envelope-Id from ENVID) and
 * the original headers (text/rfc822-headers) or, with RET=FULL, the
 * whole message (message/rfc822).  queue_bounce_build() is pure and
 * does no I/O; queue_bounce_create() writes the file to incoming/ and
 * hands it to the commit path of queue.c, where policy decides its
 * action like for any message: the ruleset runs for the bounce recipient
 * with the original message's listener, source and authenticated user,
 * as a local sender.  The copy of the original goes through the filter
 * of every way out (common/hdrfilter.c) first: a DSN carries no X-Seal-*
 * directive, neither in its own header nor in the embedded one.
 *
 * Invariant: never a DSN to the null sender, nor for a recipient whose
 * NOTIFY excludes FAILURE; every field that came from the network is
 * escaped before it reaches a header line.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hdrfilter.h"
#include "log.h"
#include "queue.h"
#include "util.h"

#define BOUNCE_HDRS_MAX		(256 * 1024)	/* original headers kept */

int
queue_bounce_wanted(const struct qenv *env, const struct qrcpt *r)
{
	if (env->sender[0] == '\0' || (env->flags & QMSG_BOUNCE))
		return 0;
	if (r->notify == 0)
		return 1;	/* RFC 3461 4.1: failures by default */
	if (r->notify & DSN_NOTIFY_NEVER)
		return 0;
	return (r->notify & DSN_NOTIFY_FAILURE) != 0;
}

/* A value for a header line: no controls; 8-bit only if utf8. */
static void
add_safe(struct qbuf *b, const char *s, int utf8)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && !utf8) ||
		    *p == '+')
			qbuf_addf(b, "+%02X", *p);
		else
			qbuf_add(b, p, 1);
	}
}

static void
add_date(struct qbuf *b, time_t t)
{
	struct tm	tm;
	char		buf[64];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000",
	    &tm) == 0)
		(void)strlcpy(buf, "Thu, 01 Jan 1970 00:00:00 +0000",
		    sizeof(buf));
	qbuf_addstr(b, buf);
}

/* The enhanced status code of a reply, or one made from its class. */
static void
reply_status(const char *reply, char *st, size_t sz)
{
	const char	*p = reply;
	int		 a, bb, c, n = 0;

	if (p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' &&
	    p[2] >= '0' && p[2] <= '9' && (p[3] == ' ' || p[3] == '-'))
		p += 4;
	if (sscanf(p, "%1d.%3d.%3d%n", &a, &bb, &c, &n) == 3 && n > 0 &&
	    (a == 2 || a == 4 || a == 5) && (p[n] == ' ' || p[n] == '\0' ||
	    p[n] == ';')) {
		(void)snprintf(st, sz, "%d.%d.%d", a, bb, c);
		return;
	}
	(void)strlcpy(st, reply[0] == '4' ? "4.0.0" : "5.0.0", sz);
}

static int
reply_is_smtp(const char *reply)
{
	return reply[0] >= '2' && reply[0] <= '5' &&
	    reply[1] >= '0' && reply[1] <= '9' &&
	    reply[2] >= '0' && reply[2] <= '9';
}

/* The length of the header section, with its empty line. */
static size_t
header_len(const char *msg, size_t len)
{
	size_t	i;

	if (len >= 2 && msg[0] == '\r' && msg[1] == '\n')
		return 0;
	for (i = 0; i + 3 < len; i++)
		if (msg[i] == '\r' && msg[i + 1] == '\n' &&
		    msg[i + 2] == '\r' && msg[i + 3] == '\n')
			return i + 2;
	return len;
}

void
queue_bounce_build(struct qbuf *b, const char *hostname,
    const char *bounce_id, time_t now, const struct qenv *env,
    const size_t *idx, size_t n, const char *orig, size_t origlen)
{
	const struct qrcpt	*r;
	char			 boundary[128], st[16];
	const char		*relay_end;
	size_t			 i, hl;
	int			 utf8 = env->smtputf8 != 0;

	(void)snprintf(boundary, sizeof(boundary), "%s/%s", bounce_id,
	    hostname);
	qbuf_addstr(b, "Date: ");
	add_date(b, now);
	qbuf_addf(b, "\r\nFrom: Mail Delivery System <MAILER-DAEMON@%s>\r\n",
	    hostname);
	qbuf_addstr(b, "To: <");
	add_safe(b, env->sender, utf8);
	qbuf_addstr(b, ">\r\nSubject: Undelivered Mail Returned to Sender"
	    "\r\n");
	qbuf_addf(b, "Message-ID: <%s@%s>\r\n", bounce_id, hostname);
	qbuf_addstr(b, "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;"
	    "\r\n");
	qbuf_addf(b, "\tboundary=\"%s\"\r\n\r\n", boundary);
	qbuf_addstr(b, "This is a MIME-encapsulated message.\r\n\r\n");

	/* Human-readable part. */
	qbuf_addf(b, "--%s\r\nContent-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=%s\r\n\r\n", boundary,
	    utf8 ? "utf-8" : "us-ascii");
	qbuf_addf(b, "This is the mail system at host %s.\r\n\r\n", hostname);
	qbuf_addf(b, "Your message %s could not be delivered to %s.\r\n"
	    "It has been removed from the queue for %s.\r\n\r\n", env->id,
	    n == 1 ? "one recipient" : "some recipients",
	    n == 1 ? "this recipient" : "these recipients");
	for (i = 0; i < n; i++) {
		r = &env->rcpt[idx[i]];
		qbuf_addstr(b, "<");
		add_safe(b, r->rcpt, utf8);
		qbuf_addstr(b, ">: ");
		add_safe(b, r->reply ? r->reply : "failed", 0);
		qbuf_addstr(b, "\r\n");
	}
	qbuf_addstr(b, "\r\n");

	/* Machine-readable part, RFC 3464 2.1. */
	qbuf_addf(b, "--%s\r\nContent-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n", boundary);
	qbuf_addf(b, "Reporting-MTA: dns; %s\r\n", hostname);
	if (env->envid[0] != '\0') {
		qbuf_addstr(b, "Original-Envelope-Id: ");
		add_safe(b, env->envid, 0);
		qbuf_addstr(b, "\r\n");
	}
	qbuf_addstr(b, "Arrival-Date: ");
	add_date(b, (time_t)env->ctime);
	qbuf_addstr(b, "\r\n");
	for (i = 0; i < n; i++) {
		r = &env->rcpt[idx[i]];
		qbuf_addstr(b, "\r\n");
		if (r->orcpt[0] != '\0') {
			qbuf_addstr(b, "Original-Recipient: ");
			if (strchr(r->orcpt, ';') == NULL)
				qbuf_addstr(b, "rfc822;");
			add_safe(b, r->orcpt, 0);
			qbuf_addstr(b, "\r\n");
		}
		qbuf_addstr(b, "Final-Recipient: rfc822; ");
		add_safe(b, r->rcpt, utf8);
		reply_status(r->reply ? r->reply : "", st, sizeof(st));
		qbuf_addf(b, "\r\nAction: failed\r\nStatus: %s\r\n", st);
		if (r->relay != NULL && r->relay[0] != '\0') {
			relay_end = strchr(r->relay, ' ');
			qbuf_addstr(b, "Remote-MTA: dns; ");
			qbuf_add(b, r->relay, relay_end ?
			    (size_t)(relay_end - r->relay) : strlen(r->relay));
			qbuf_addstr(b, "\r\n");
		}
		if (r->reply != NULL && reply_is_smtp(r->reply)) {
			qbuf_addstr(b, "Diagnostic-Code: smtp; ");
			add_safe(b, r->reply, 0);
			qbuf_addstr(b, "\r\n");
		}
		if (r->when != 0) {
			qbuf_addstr(b, "Last-Attempt-Date: ");
			add_date(b, r->when);
			qbuf_addstr(b, "\r\n");
		}
	}
	qbuf_addstr(b, "\r\n");

	/* The original: headers, or all of it with RET=FULL. */
	if (env->dsn_ret == DSN_RET_FULL) {
		qbuf_addf(b, "--%s\r\nContent-Description: Undelivered Message"
		    "\r\nContent-Type: message/%s\r\n\r\n", boundary,
		    utf8 ? "global" : "rfc822");
		qbuf_add(b, orig, origlen);
		if (origlen >= 2 && (orig[origlen - 2] != '\r' ||
		    orig[origlen - 1] != '\n'))
			qbuf_addstr(b, "\r\n");
	} else {
		qbuf_addf(b, "--%s\r\nContent-Description: Undelivered Message "
		    "Headers\r\nContent-Type: text/%s\r\n\r\n", boundary,
		    utf8 ? "global-headers" : "rfc822-headers");
		hl = header_len(orig, origlen);
		if (hl > BOUNCE_HDRS_MAX)
			hl = BOUNCE_HDRS_MAX;
		qbuf_add(b, orig, hl);
		if (hl >= 2 && (orig[hl - 2] != '\r' || orig[hl - 1] != '\n'))
			qbuf_addstr(b, "\r\n");
	}
	qbuf_addf(b, "\r\n--%s--\r\n", boundary);
}

/* Read the original message: all of it, or what holds the headers. */
static char *
read_orig(const char *id, int full, size_t *len)
{
	struct stat	 sb;
	char		*buf;
	size_t		 want, off = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = queue_fs_open_body(id)) == -1)
		return NULL;
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return NULL;
	}
	want = (size_t)sb.st_size;
	if (!full && want > BOUNCE_HDRS_MAX + 4)
		want = BOUNCE_HDRS_MAX + 4;
	buf = xmalloc(want + 1);
	while (off < want) {
		if ((r = read(fd, buf + off, want - off)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("read queue/%s", id);
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	*len = off;
	return buf;
}

const char *const *
queue_triggers(size_t *n)
{
	static const char	**trig;
	static size_t		  ntrig;
	static int		  done;

	/* The config lives as long as the process (no reload). */
	if (!done) {
		trig = hdrfilter_config_triggers(queue_cfg(), &ntrig);
		done = 1;
	}
	*n = ntrig;
	return trig;
}

int
queue_bounce_create(struct qenv *env, const size_t *idx, size_t n)
{
	const char *const	*trig;
	size_t			 ntrig;
	char			*clean;
	struct config	*cfg = queue_cfg();
	struct qenv	 benv;
	struct qbuf	 b;
	const char	*host;
	char		*orig;
	size_t		 origlen, off = 0;
	ssize_t		 w;
	int		 fd;

	if ((orig = read_orig(env->id, env->dsn_ret == DSN_RET_FULL,
	    &origlen)) == NULL)
		return -1;
	trig = queue_triggers(&ntrig);
	clean = hdrfilter_buf(orig, origlen, trig, ntrig, &origlen);
	free(orig);
	orig = clean;
	queue_env_init(&benv);
	if ((fd = queue_fs_create(benv.id)) == -1) {
		free(orig);
		queue_env_free(&benv);
		return -1;
	}
	host = cfg->hostname ? cfg->hostname : "localhost";
	qbuf_init(&b);
	queue_bounce_build(&b, host, benv.id, time(NULL), env, idx, n, orig,
	    origlen);
	free(orig);
	while (off < b.len) {
		if ((w = write(fd, b.buf + off, b.len - off)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("write bounce %s", benv.id);
			close(fd);
			qbuf_free(&b);
			queue_fs_abort(benv.id);
			queue_env_free(&benv);
			return -1;
		}
		off += (size_t)w;
	}
	close(fd);
	qbuf_free(&b);

	benv.listener = env->listener;
	benv.local = 1;
	benv.body = env->body;
	benv.smtputf8 = env->smtputf8;
	benv.dsn_ret = DSN_RET_NONE;
	benv.flags = QMSG_BOUNCE;
	free(benv.src);
	benv.src = xstrdup(env->src);
	free(benv.auth_user);
	benv.auth_user = xstrdup(env->auth_user);
	free(benv.helo);
	benv.helo = xstrdup(host);
	queue_env_add_rcpt(&benv, env->sender, "", DSN_NOTIFY_NEVER);
	log_info("%s: bounce %s to <%s> for %zu recipient%s", env->id,
	    benv.id, env->sender, n, n == 1 ? "" : "s");
	return queue_submit_bounce(&benv, env->id, idx, n);
}
