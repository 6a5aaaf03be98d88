/*
 * smtp_data.c: the DATA phase of an SMTP session (smtp front end).
 *
 * The parser (smtp_dataparse) takes the bytes a client sends after 354
 * and gives the stored message: CRLF lines, dot-unstuffed (RFC 5321
 * 4.5.2).  It ends only at CRLF "." CRLF and refuses a bare LF, a bare
 * CR or a NUL anywhere, so no other reading of the stream can end the
 * message earlier or later (SMTP smuggling); after a fault it keeps
 * looking for the real end and stores nothing more.  It does no I/O.
 *
 * The session side writes our Received: header and then the message into
 * the descriptor the queue passed (IMSG_SMTP_MESSAGE_FILE), through one
 * user-space buffer that exists only during DATA; at the end it closes the
 * file and sends IMSG_QUEUE_ENVELOPE, one IMSG_QUEUE_RCPT per recipient
 * and IMSG_QUEUE_MESSAGE_COMMIT, or IMSG_QUEUE_MESSAGE_ABORT if the
 * message was refused.  Invariant: the client gets 250 only from the
 * queue's commit answer (smtp_session.c), never from here.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "defaults.h"
#include "log.h"
#include "proc.h"
#include "smtp.h"
#include "util.h"

#define DATA_BUFSZ	(64 * 1024)

enum {
	DP_BOL,		/* at the start of a line */
	DP_MID,		/* inside a line */
	DP_CR,		/* CR seen inside a line */
	DP_DOT,		/* "." at the start of a line */
	DP_DOTCR,	/* ".\r" at the start of a line */
};

static void	smtp_data_emit(void *, const char *, size_t);
static void	smtp_data_flush(struct smtp_session *);
static void	smtp_data_received(struct smtp_session *);
static void	smtp_data_end(struct smtp_session *);
static int	hdr_cat(char *, size_t, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

void
smtp_dataparse_init(struct smtp_dataparse *dp, uint64_t max_size,
    size_t max_line, void (*emit)(void *, const char *, size_t), void *arg)
{
	memset(dp, 0, sizeof(*dp));
	dp->state = DP_BOL;
	dp->max_size = max_size;
	dp->max_line = max_line;
	dp->emit = emit;
	dp->arg = arg;
}

static void
dp_fail(struct smtp_dataparse *dp, int err)
{
	if (dp->err == SMTP_DATA_OK)
		dp->err = err;
}

static void
dp_out(struct smtp_dataparse *dp, const char *p, size_t n)
{
	if (n == 0 || dp->err != SMTP_DATA_OK)
		return;
	dp->size += n;
	if (dp->size > dp->max_size) {
		dp_fail(dp, SMTP_DATA_SIZE);
		return;
	}
	dp->emit(dp->arg, p, n);
}

size_t
smtp_dataparse(struct smtp_dataparse *dp, const char *buf, size_t len)
{
	size_t		i, span = 0;
	unsigned char	c;

	for (i = 0; i < len; i++) {
		c = buf[i];
again:
		switch (dp->state) {
		case DP_BOL:
			dp->linelen = 0;
			if (c == '.') {
				dp_out(dp, buf + span, i - span);
				dp->state = DP_DOT;
				break;
			}
			dp->state = DP_MID;
			goto again;
		case DP_DOT:
			if (c == '\r') {
				dp->state = DP_DOTCR;
				break;
			}
			/* The stuffed dot is dropped; this byte starts over. */
			span = i;
			dp->state = DP_MID;
			goto again;
		case DP_DOTCR:
			if (c == '\n') {
				dp->done = 1;
				dp->state = DP_BOL;
				return i + 1;
			}
			/* ".\rX": a bare CR; the ".\r" is content now. */
			dp_fail(dp, SMTP_DATA_BARE_CR);
			span = i;
			dp->state = DP_MID;
			goto again;
		case DP_MID:
			if (c == '\r')
				dp->state = DP_CR;
			else if (c == '\n')
				dp_fail(dp, SMTP_DATA_BARE_LF);
			else if (c == '\0')
				dp_fail(dp, SMTP_DATA_NUL);
			else if (++dp->linelen > dp->max_line)
				dp_fail(dp, SMTP_DATA_LINE);
			break;
		case DP_CR:
			if (c == '\n') {
				dp->state = DP_BOL;
				break;
			}
			dp_fail(dp, SMTP_DATA_BARE_CR);
			dp->state = DP_MID;
			goto again;
		}
	}
	if (dp->state != DP_DOT && dp->state != DP_DOTCR)
		dp_out(dp, buf + span, len - span);
	return len;
}

const char *
smtp_data_strerr(int err)
{
	switch (err) {
	case SMTP_DATA_OK:
		return "ok";
	case SMTP_DATA_BARE_LF:
		return "bare LF";
	case SMTP_DATA_BARE_CR:
		return "bare CR";
	case SMTP_DATA_NUL:
		return "NUL byte";
	case SMTP_DATA_LINE:
		return "line too long";
	case SMTP_DATA_SIZE:
		return "message too large";
	case SMTP_DATA_IO:
		return "write error";
	}
	return "unknown";
}

/* Session side. */

static void
smtp_data_emit(void *arg, const char *p, size_t n)
{
	struct smtp_session	*s = arg;
	struct smtp_tx		*tx = s->tx;
	size_t			 k;

	while (n > 0) {
		if (tx->buflen == DATA_BUFSZ) {
			smtp_data_flush(s);
			if (tx->ioerr)
				return;
		}
		k = DATA_BUFSZ - tx->buflen;
		if (k > n)
			k = n;
		memcpy(tx->buf + tx->buflen, p, k);
		tx->buflen += k;
		p += k;
		n -= k;
	}
}

static void
smtp_data_flush(struct smtp_session *s)
{
	struct smtp_tx	*tx = s->tx;
	size_t		 off = 0;
	ssize_t		 n;

	if (tx->ioerr) {
		tx->buflen = 0;
		return;
	}
	while (off < tx->buflen) {
		n = write(tx->fd, tx->buf + off, tx->buflen - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			tx->ioerr = n == -1 ? errno : EIO;
			log_warnx("session %016llx: msgid %s: write: %s",
			    (unsigned long long)s->id, tx->msgid,
			    strerror(tx->ioerr));
			dp_fail(&tx->dp, SMTP_DATA_IO);
			break;
		}
		off += n;
	}
	tx->buflen = 0;
}

static int
hdr_cat(char *buf, size_t sz, int off, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (off < 0 || (size_t)off >= sz)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(buf + off, sz - off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sz - off)
		return -1;
	return off + n;
}

/* RFC 5321 4.4, with RFC 3848 "with" keywords. */
static void
smtp_data_received(struct smtp_session *s)
{
	struct smtp_tx		*tx = s->tx;
	struct smtp_rcpt	*r;
	char			 date[64], hdr[2048], lit[PROTO_IP_MAX + 8];
	const char		*with;
	struct tm		 tm;
	time_t			 now;
	int			 n;

	now = time(NULL);
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z",
	    &tm) == 0)
		(void)strlcpy(date, "Thu, 01 Jan 1970 00:00:00 +0000",
		    sizeof(date));
	if (s->ss.ss_family == AF_INET6)
		(void)snprintf(lit, sizeof(lit), "[IPv6:%s]", s->ip);
	else
		(void)snprintf(lit, sizeof(lit), "[%s]", s->ip);
	if (!(s->flags & SMTP_F_EHLO))
		with = "SMTP";
	else if (s->flags & SMTP_F_TLS)
		with = (s->flags & SMTP_F_AUTH) ? "ESMTPSA" : "ESMTPS";
	else
		with = (s->flags & SMTP_F_AUTH) ? "ESMTPA" : "ESMTP";
	r = TAILQ_FIRST(&tx->rcpts);
	/* RFC 5321 4.4: TCP-info is the address literal (no reverse DNS). */
	n = snprintf(hdr, sizeof(hdr), "Received: from %s (%s)\r\n"
	    "\tby %s (sealrelay) with %s id %s",
	    s->helo[0] != '\0' ? s->helo : "unknown", lit,
	    smtp_hostname(s), with, tx->msgid);
	if (n >= 0 && s->tls_info[0] != '\0')
		n = hdr_cat(hdr, sizeof(hdr), n, "\r\n\t(%s)", s->tls_info);
	if (n >= 0 && tx->nrcpt == 1)
		n = hdr_cat(hdr, sizeof(hdr), n, "\r\n\tfor <%s>;", r->addr);
	else if (n >= 0)
		n = hdr_cat(hdr, sizeof(hdr), n, ";");
	if (n >= 0)
		n = hdr_cat(hdr, sizeof(hdr), n, "\r\n\t%s\r\n", date);
	if (n < 0 || (size_t)n >= sizeof(hdr)) {
		dp_fail(&tx->dp, SMTP_DATA_IO);
		return;
	}
	smtp_data_emit(s, hdr, n);
}

int
smtp_data_begin(struct smtp_session *s, int fd)
{
	struct smtp_tx	*tx = s->tx;
	struct limits	*lim = &smtp_cfg->limits;

	tx->fd = fd;
	tx->buf = xmalloc(DATA_BUFSZ);
	tx->buflen = 0;
	tx->ioerr = 0;
	smtp_dataparse_init(&tx->dp, lim->max_message_size,
	    DEF_MAX_DATA_LINE, smtp_data_emit, s);
	smtp_data_received(s);
	smtp_session_enter(s, SMTP_S_DATA);
	smtp_session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtp_io_timeout(s, lim->timeout_data);
	return 0;
}

/* Feed what the client sent; at the end, commit or refuse. */
void
smtp_data_input(struct smtp_session *s)
{
	struct smtp_tx		*tx = s->tx;
	struct evbuffer_iovec	 v;
	size_t			 n;

	while (!tx->dp.done && evbuffer_get_length(s->in) > 0) {
		if (evbuffer_peek(s->in, -1, NULL, &v, 1) < 1)
			break;
		n = smtp_dataparse(&tx->dp, v.iov_base, v.iov_len);
		evbuffer_drain(s->in, n);
	}
	if (tx->dp.done)
		smtp_data_end(s);
}

static void
smtp_data_end(struct smtp_session *s)
{
	struct smtp_tx			*tx = s->tx;
	struct proto_envelope		 env;
	struct proto_envelope_rcpt	 er;
	struct proto_msgref		 ref;
	struct smtp_rcpt		*r;
	int				 err;

	smtp_data_flush(s);
	free(tx->buf);
	tx->buf = NULL;
	if (close(tx->fd) == -1 && tx->dp.err == SMTP_DATA_OK) {
		log_warn("session %016llx: msgid %s: close",
		    (unsigned long long)s->id, tx->msgid);
		tx->dp.err = SMTP_DATA_IO;
	}
	tx->fd = -1;
	smtp_io_timeout(s, smtp_cfg->limits.timeout_command);
	if ((err = tx->dp.err) != SMTP_DATA_OK) {
		log_info("session %016llx: msgid %s: refused: %s",
		    (unsigned long long)s->id, tx->msgid,
		    smtp_data_strerr(err));
		memset(&ref, 0, sizeof(ref));
		ref.reqid = s->id;
		(void)strlcpy(ref.msgid, tx->msgid, sizeof(ref.msgid));
		proc_compose(PROC_QUEUE, IMSG_QUEUE_MESSAGE_ABORT, 0, -1,
		    &ref, sizeof(ref));
		switch (err) {
		case SMTP_DATA_BARE_LF:
			smtp_session_reply(s, "550 5.6.11 Bare LF in message "
			    "refused: lines must end with CRLF");
			break;
		case SMTP_DATA_BARE_CR:
			smtp_session_reply(s, "550 5.6.11 Bare CR in message "
			    "refused: lines must end with CRLF");
			break;
		case SMTP_DATA_NUL:
			smtp_session_reply(s, "550 5.6.0 NUL byte in message "
			    "refused");
			break;
		case SMTP_DATA_LINE:
			smtp_session_reply(s, "550 5.6.0 Message line longer "
			    "than %d bytes refused", DEF_MAX_DATA_LINE);
			break;
		case SMTP_DATA_SIZE:
			smtp_session_reply(s, "552 5.3.4 Message too big: "
			    "limit is %zu bytes",
			    smtp_cfg->limits.max_message_size);
			break;
		default:
			smtp_session_reply(s, "451 4.3.0 Local error while "
			    "storing the message, try again later");
			break;
		}
		smtp_session_tx_reset(s);
		smtp_session_enter(s, SMTP_S_HELO);
		return;
	}

	memset(&env, 0, sizeof(env));
	env.reqid = s->id;
	(void)strlcpy(env.msgid, tx->msgid, sizeof(env.msgid));
	env.listener = s->sl->l->id;
	env.local = s->local;
	(void)strlcpy(env.src, s->ip, sizeof(env.src));
	(void)strlcpy(env.helo, s->helo, sizeof(env.helo));
	(void)strlcpy(env.auth_user, s->auth_user, sizeof(env.auth_user));
	(void)strlcpy(env.sender, tx->sender, sizeof(env.sender));
	env.body = tx->mp.body;
	env.smtputf8 = tx->mp.smtputf8;
	env.dsn_ret = tx->mp.ret;
	(void)strlcpy(env.dsn_envid, tx->mp.envid, sizeof(env.dsn_envid));
	(void)strlcpy(env.tls, s->tls_info, sizeof(env.tls));
	env.nrcpt = tx->nrcpt;
	proc_compose(PROC_QUEUE, IMSG_QUEUE_ENVELOPE, 0, -1, &env,
	    sizeof(env));
	TAILQ_FOREACH(r, &tx->rcpts, entry) {
		memset(&er, 0, sizeof(er));
		er.reqid = s->id;
		(void)strlcpy(er.msgid, tx->msgid, sizeof(er.msgid));
		(void)strlcpy(er.rcpt, r->addr, sizeof(er.rcpt));
		if (r->orcpt != NULL)
			(void)strlcpy(er.orcpt, r->orcpt, sizeof(er.orcpt));
		er.notify = r->notify;
		proc_compose(PROC_QUEUE, IMSG_QUEUE_RCPT, 0, -1, &er,
		    sizeof(er));
	}
	memset(&ref, 0, sizeof(ref));
	ref.reqid = s->id;
	(void)strlcpy(ref.msgid, tx->msgid, sizeof(ref.msgid));
	proc_compose(PROC_QUEUE, IMSG_QUEUE_MESSAGE_COMMIT, 0, -1, &ref,
	    sizeof(ref));
	s->wait = SMTP_W_COMMIT;
}

/* The session ends inside DATA: nothing of it may survive. */
void
smtp_data_abort(struct smtp_session *s)
{
	struct smtp_tx		*tx = s->tx;
	struct proto_msgref	 ref;

	if (tx == NULL || tx->fd == -1)
		return;
	free(tx->buf);
	tx->buf = NULL;
	close(tx->fd);
	tx->fd = -1;
	memset(&ref, 0, sizeof(ref));
	ref.reqid = s->id;
	(void)strlcpy(ref.msgid, tx->msgid, sizeof(ref.msgid));
	proc_compose(PROC_QUEUE, IMSG_QUEUE_MESSAGE_ABORT, 0, -1, &ref,
	    sizeof(ref));
}
