/*
 * smtp_session.c: the SMTP server state machine (smtp front end).
 *
 * One session per client connection.  Commands come from a table, each
 * with a check (state, syntax; replies on failure) and a proceed
 * function.  Sends IMSG_POLICY_RCPT to policyd and
 * IMSG_QUEUE_MESSAGE_CREATE to the queue (smtp_auth.c sends
 * IMSG_POLICY_AUTH, smtp_data.c the rest of the message); receives the
 * answers through smtp_session_imsg().
 *
 * Invariants: commands are executed strictly in the order received,
 * one at a time: while a request is outstanding (s->wait) input is
 * buffered, not interpreted.  Every client string that reaches a log
 * line is escaped.  Nothing a client sends ends the process: faults get
 * a reply, repeated faults a 421 and a closed connection.
 */
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "defaults.h"
#include "log.h"
#include "proc.h"
#include "ruleset.h"
#include "smtp.h"
#include "util.h"

#define SMTP_LINE_BUF	(65536 + 2)	/* the largest line-max, + CRLF */
/* Input kept while a request is outstanding (pipelining). */
#define SMTP_INPUT_HOLD	(256 * 1024)

struct smtp_cmd {
	const char	*verb;
	/* Returns 0 to proceed, -1 when it already replied. */
	int		(*check)(struct smtp_session *, const char *);
	void		(*proceed)(struct smtp_session *, const char *);
};

static int	check_helo(struct smtp_session *, const char *);
static void	do_helo(struct smtp_session *, const char *);
static void	do_ehlo(struct smtp_session *, const char *);
static int	check_starttls(struct smtp_session *, const char *);
static void	do_starttls(struct smtp_session *, const char *);
static int	check_mail(struct smtp_session *, const char *);
static void	do_mail(struct smtp_session *, const char *);
static int	check_rcpt(struct smtp_session *, const char *);
static void	do_rcpt(struct smtp_session *, const char *);
static int	check_data(struct smtp_session *, const char *);
static void	do_data(struct smtp_session *, const char *);
static int	check_noargs(struct smtp_session *, const char *);
static void	do_rset(struct smtp_session *, const char *);
static void	do_noop(struct smtp_session *, const char *);
static void	do_quit(struct smtp_session *, const char *);
static void	do_help(struct smtp_session *, const char *);
static int	check_vrfy(struct smtp_session *, const char *);
static void	do_vrfy(struct smtp_session *, const char *);
static void	do_expn(struct smtp_session *, const char *);

static const struct smtp_cmd smtp_cmds[] = {
	{ "EHLO",	check_helo,	do_ehlo },
	{ "HELO",	check_helo,	do_helo },
	{ "STARTTLS",	check_starttls,	do_starttls },
	{ "AUTH",	smtp_auth_check, smtp_auth_proceed },
	{ "MAIL",	check_mail,	do_mail },
	{ "RCPT",	check_rcpt,	do_rcpt },
	{ "DATA",	check_data,	do_data },
	{ "RSET",	check_noargs,	do_rset },
	{ "NOOP",	NULL,		do_noop },
	{ "QUIT",	NULL,		do_quit },
	{ "HELP",	NULL,		do_help },
	{ "VRFY",	check_vrfy,	do_vrfy },
	{ "EXPN",	NULL,		do_expn },
};

static char	smtp_line[SMTP_LINE_BUF];

static void	smtp_session_line(struct smtp_session *, char *, size_t);
static void	smtp_session_peer_reply(struct smtp_session *, int,
		    const char *, const char *, const char *);
static int	smtp_tls_required(struct smtp_session *);
static void	smtp_session_policy_timeout(int, short, void *);

const char *
smtp_strstate(enum smtp_state st)
{
	switch (st) {
	case SMTP_S_TLS_ACCEPT:
		return "tls-accept";
	case SMTP_S_INIT:
		return "init";
	case SMTP_S_HELO:
		return "helo";
	case SMTP_S_MAIL:
		return "mail";
	case SMTP_S_RCPT:
		return "rcpt";
	case SMTP_S_AUTH_PLAIN:
		return "auth-plain";
	case SMTP_S_AUTH_USER:
		return "auth-user";
	case SMTP_S_AUTH_PASS:
		return "auth-pass";
	case SMTP_S_DATA:
		return "data";
	case SMTP_S_QUIT:
		return "quit";
	}
	return "unknown";
}

void
smtp_session_enter(struct smtp_session *s, enum smtp_state st)
{
	if (s->state != st)
		log_trace_msg(TRACE_SMTP, "session %016llx: %s -> %s",
		    (unsigned long long)s->id, smtp_strstate(s->state),
		    smtp_strstate(st));
	s->state = st;
}

const char *
smtp_hostname(const struct smtp_session *s)
{
	return s->sl->hostname;
}

const char *
smtp_esc(const char *str, char *buf, size_t sz)
{
	return log_escape(buf, sz, str, strlen(str));
}

struct smtp_session *
smtp_session_new(struct smtp_listener *sl, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct smtp_session	*s;

	s = xcalloc(1, sizeof(*s));
	s->sl = sl;
	s->fd = fd;
	memcpy(&s->ss, sa, salen);
	s->sslen = salen;
	s->local = ruleset_addr_is_loopback(sa, salen);
	if (getnameinfo(sa, salen, s->ip, sizeof(s->ip), NULL, 0,
	    NI_NUMERICHOST) != 0)
		(void)strlcpy(s->ip, "unknown", sizeof(s->ip));
	if (strncmp(s->ip, "::ffff:", 7) == 0 && strchr(s->ip, '.') != NULL)
		memmove(s->ip, s->ip + 7, strlen(s->ip + 7) + 1);
	if ((s->in = evbuffer_new()) == NULL ||
	    (s->out = evbuffer_new()) == NULL)
		fatal("evbuffer_new");
	s->state = SMTP_S_INIT;
	evtimer_set(&s->ptimer, smtp_session_policy_timeout, s);
	smtp_session_register(s);
	log_info("session %016llx: connected from [%s] on %s",
	    (unsigned long long)s->id, s->ip, sl->name);
	smtp_io_start(s);
	smtp_io_timeout(s, smtp_cfg->limits.timeout_command);
	if (s->state == SMTP_S_INIT)
		smtp_session_reply(s, "220 %s ESMTP sealrelay",
		    smtp_hostname(s));
	smtp_io_update(s);
	return s;
}

void
smtp_session_free(struct smtp_session *s, const char *why)
{
	struct smtp_rcpt	*r;

	log_info("session %016llx: closed%s%s, %zu message%s",
	    (unsigned long long)s->id, why ? ": " : "", why ? why : "",
	    s->nmails, s->nmails == 1 ? "" : "s");
	if (s->state == SMTP_S_DATA)
		smtp_data_abort(s);
	smtp_session_unregister(s);
	if (s->evflags != 0)
		event_del(&s->ev);
	evtimer_del(&s->timer);
	evtimer_del(&s->ptimer);
	if (s->tls != NULL) {
		(void)tls_close(s->tls);
		tls_free(s->tls);
	}
	close(s->fd);
	evbuffer_free(s->in);
	evbuffer_free(s->out);
	if (s->tx != NULL) {
		while ((r = TAILQ_FIRST(&s->tx->rcpts)) != NULL) {
			TAILQ_REMOVE(&s->tx->rcpts, r, entry);
			free(r->addr);
			free(r->orcpt);
			free(r);
		}
		if (s->tx->pending != NULL) {
			free(s->tx->pending->addr);
			free(s->tx->pending->orcpt);
			free(s->tx->pending);
		}
		free(s->tx->buf);
		free(s->tx);
	}
	if (s->login_user != NULL)
		freezero(s->login_user, strlen(s->login_user));
	free(s);
}

void
smtp_session_reply(struct smtp_session *s, const char *fmt, ...)
{
	char	buf[1024], esc[1100];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf) - 2)
		n = sizeof(buf) - 3;
	if (log_trace & TRACE_SMTP)
		log_trace_msg(TRACE_SMTP, "session %016llx: >>> %s",
		    (unsigned long long)s->id, log_escape(esc, sizeof(esc),
		    buf, n));
	buf[n++] = '\r';
	buf[n++] = '\n';
	evbuffer_add(s->out, buf, n);
}

/* A refused command: reply, count, and end a session that keeps at it. */
void
smtp_session_bad(struct smtp_session *s, const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	smtp_session_reply(s, "%s", buf);
	if (++s->nbad >= smtp_cfg->limits.max_bad_commands) {
		smtp_session_reply(s, "421 4.7.0 %s Too many errors, closing "
		    "connection", smtp_hostname(s));
		log_info("session %016llx: too many errors",
		    (unsigned long long)s->id);
		smtp_session_enter(s, SMTP_S_QUIT);
		smtp_io_close(s);
	}
}

void
smtp_session_tx_reset(struct smtp_session *s)
{
	struct smtp_rcpt	*r;
	struct smtp_tx		*tx = s->tx;

	if (tx == NULL)
		return;
	while ((r = TAILQ_FIRST(&tx->rcpts)) != NULL) {
		TAILQ_REMOVE(&tx->rcpts, r, entry);
		free(r->addr);
		free(r->orcpt);
		free(r);
	}
	if (tx->fd != -1)
		close(tx->fd);
	free(tx->buf);
	free(tx);
	s->tx = NULL;
}

void
smtp_session_tls_ready(struct smtp_session *s)
{
	if (s->sl->l->tls == LISTEN_SMTPS && !(s->flags & SMTP_F_EHLO) &&
	    s->helo[0] == '\0') {
		smtp_session_enter(s, SMTP_S_INIT);
		smtp_session_reply(s, "220 %s ESMTP sealrelay",
		    smtp_hostname(s));
		return;
	}
	/* RFC 3207 4.2: forget everything learnt before TLS. */
	smtp_session_tx_reset(s);
	s->helo[0] = '\0';
	s->flags &= ~SMTP_F_EHLO;
	smtp_session_enter(s, SMTP_S_INIT);
}

void
smtp_session_timeout(struct smtp_session *s)
{
	log_info("session %016llx: timeout in state %s",
	    (unsigned long long)s->id, smtp_strstate(s->state));
	if (s->state == SMTP_S_DATA)
		smtp_data_abort(s);
	smtp_session_reply(s, "421 4.4.2 %s Timeout, closing connection",
	    smtp_hostname(s));
	smtp_session_enter(s, SMTP_S_QUIT);
	smtp_io_close(s);
}

/* Interpret buffered input while no request is outstanding. */
void
smtp_session_input(struct smtp_session *s)
{
	struct evbuffer_ptr	 p;
	size_t			 eol, len, max = smtp_cfg->limits.max_line;

	while (s->wait == SMTP_W_NONE && !(s->flags & SMTP_F_CLOSING)) {
		if (s->state == SMTP_S_DATA) {
			smtp_data_input(s);
			if (s->state == SMTP_S_DATA)
				break;
			continue;
		}
		if (s->state == SMTP_S_TLS_ACCEPT || s->state == SMTP_S_QUIT)
			break;
		p = evbuffer_search_eol(s->in, NULL, &eol, EVBUFFER_EOL_LF);
		if (p.pos == -1) {
			if (evbuffer_get_length(s->in) > max) {
				/* Drop it as it comes; reply at its end. */
				evbuffer_drain(s->in,
				    evbuffer_get_length(s->in));
				s->flags |= SMTP_F_SKIPLINE;
			}
			break;
		}
		len = p.pos;
		if ((s->flags & SMTP_F_SKIPLINE) || len > max) {
			evbuffer_drain(s->in, len + eol);
			s->flags &= ~SMTP_F_SKIPLINE;
			smtp_session_bad(s, "500 5.5.2 Line too long (limit "
			    "%zu bytes)", max);
			continue;
		}
		evbuffer_remove(s->in, smtp_line, len + eol);
		if (len > 0 && smtp_line[len - 1] == '\r')
			len--;
		smtp_line[len] = '\0';
		smtp_session_line(s, smtp_line, len);
	}
	if (s->wait != SMTP_W_NONE &&
	    evbuffer_get_length(s->in) > SMTP_INPUT_HOLD)
		s->flags |= SMTP_F_PAUSED;
}

static void
smtp_session_line(struct smtp_session *s, char *line, size_t len)
{
	struct smtp_cmdline	 cmd;
	char			 esc[256];
	size_t			 i;

	if (log_trace & TRACE_SMTP) {
		const char *shown = line;

		if (s->state == SMTP_S_AUTH_PLAIN ||
		    s->state == SMTP_S_AUTH_PASS ||
		    (len > 5 && strncasecmp(line, "AUTH ", 5) == 0))
			shown = "(authentication data)";
		log_trace_msg(TRACE_SMTP, "session %016llx: <<< %s",
		    (unsigned long long)s->id,
		    log_escape(esc, sizeof(esc), shown, shown == line ?
		    len : strlen(shown)));
	}
	if (s->state == SMTP_S_AUTH_PLAIN || s->state == SMTP_S_AUTH_USER ||
	    s->state == SMTP_S_AUTH_PASS) {
		if (memchr(line, '\0', len) != NULL)
			line[0] = '\0';
		smtp_auth_line(s, line);
		explicit_bzero(line, len);
		return;
	}
	if (memchr(line, '\0', len) != NULL ||
	    smtp_parse_cmdline(line, len, &cmd) == -1) {
		smtp_session_bad(s, "500 5.5.2 Syntax error");
		return;
	}
	for (i = 0; i < sizeof(smtp_cmds) / sizeof(smtp_cmds[0]); i++) {
		if (strcmp(cmd.verb, smtp_cmds[i].verb) != 0)
			continue;
		if (smtp_cmds[i].check != NULL &&
		    smtp_cmds[i].check(s, cmd.args) == -1)
			return;
		smtp_cmds[i].proceed(s, cmd.args);
		return;
	}
	smtp_session_bad(s, "500 5.5.1 Command unrecognized");
}

/* Which listeners require TLS before a transaction. */
static int
smtp_tls_required(struct smtp_session *s)
{
	return s->sl->l->tls == LISTEN_STARTTLS_REQUIRE &&
	    !(s->flags & SMTP_F_TLS);
}

static int
check_helo(struct smtp_session *s, const char *args)
{
	char	helo[SMTP_DOMAIN_MAX + 1];

	if (smtp_parse_helo(args, helo, sizeof(helo)) == -1) {
		smtp_session_bad(s, "501 5.5.4 Syntax: HELO/EHLO domain or "
		    "address literal");
		return -1;
	}
	return 0;
}

static void
smtp_helo_common(struct smtp_session *s, const char *args)
{
	smtp_session_tx_reset(s);
	(void)smtp_parse_helo(args, s->helo, sizeof(s->helo));
	smtp_session_enter(s, SMTP_S_HELO);
}

static void
do_helo(struct smtp_session *s, const char *args)
{
	smtp_helo_common(s, args);
	s->flags &= ~SMTP_F_EHLO;
	smtp_session_reply(s, "250 %s Hello %s [%s]", smtp_hostname(s),
	    s->helo, s->ip);
}

static void
do_ehlo(struct smtp_session *s, const char *args)
{
	const struct listener	*l = s->sl->l;

	smtp_helo_common(s, args);
	s->flags |= SMTP_F_EHLO;
	smtp_session_reply(s, "250-%s Hello %s [%s]", smtp_hostname(s),
	    s->helo, s->ip);
	smtp_session_reply(s, "250-PIPELINING");
	smtp_session_reply(s, "250-8BITMIME");
	smtp_session_reply(s, "250-SIZE %zu",
	    smtp_cfg->limits.max_message_size);
	smtp_session_reply(s, "250-ENHANCEDSTATUSCODES");
	smtp_session_reply(s, "250-DSN");
	smtp_session_reply(s, "250-SMTPUTF8");
	if ((l->tls == LISTEN_STARTTLS || l->tls == LISTEN_STARTTLS_REQUIRE) &&
	    !(s->flags & SMTP_F_TLS))
		smtp_session_reply(s, "250-STARTTLS");
	if (l->auth != NULL && (s->flags & SMTP_F_TLS) &&
	    !(s->flags & SMTP_F_AUTH))
		smtp_session_reply(s, "250-AUTH PLAIN LOGIN");
	smtp_session_reply(s, "250 HELP");
}

static int
check_starttls(struct smtp_session *s, const char *args)
{
	const struct listener	*l = s->sl->l;

	if (l->tls != LISTEN_STARTTLS && l->tls != LISTEN_STARTTLS_REQUIRE) {
		smtp_session_bad(s, "502 5.5.1 STARTTLS not available");
		return -1;
	}
	if (s->flags & SMTP_F_TLS) {
		smtp_session_bad(s, "503 5.5.1 TLS already active");
		return -1;
	}
	if (*args != '\0') {
		smtp_session_bad(s, "501 5.5.4 Syntax: STARTTLS");
		return -1;
	}
	if (s->state == SMTP_S_INIT) {
		smtp_session_bad(s, "503 5.5.1 Send EHLO first");
		return -1;
	}
	if (s->tx != NULL) {
		smtp_session_bad(s, "503 5.5.1 STARTTLS not allowed in a "
		    "mail transaction");
		return -1;
	}
	return 0;
}

static void
do_starttls(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, "220 2.0.0 Ready to start TLS");
	/* Whatever else came in plaintext is dropped, not executed. */
	smtp_io_starttls(s);
}

static int
check_mail(struct smtp_session *s, const char *args)
{
	if (s->state == SMTP_S_INIT) {
		smtp_session_bad(s, "503 5.5.1 Send HELO/EHLO first");
		return -1;
	}
	if (s->tx != NULL) {
		smtp_session_bad(s, "503 5.5.1 Nested MAIL command");
		return -1;
	}
	if (smtp_tls_required(s)) {
		smtp_session_bad(s, "530 5.7.0 Must issue a STARTTLS command "
		    "first");
		return -1;
	}
	if (s->nmails >= smtp_cfg->limits.max_mails_per_session) {
		smtp_session_reply(s, "421 4.7.0 %s Too many messages in "
		    "one session, closing connection", smtp_hostname(s));
		smtp_session_enter(s, SMTP_S_QUIT);
		smtp_io_close(s);
		return -1;
	}
	return 0;
}

static void
do_mail(struct smtp_session *s, const char *args)
{
	struct smtp_path	 path;
	struct smtp_mail_params	 mp;
	const char		*rest;
	char			 esc[PROTO_ADDR_MAX * 4];
	int			 r, flags = SMTP_PATH_NULL_OK | SMTP_PATH_UTF8;

	r = smtp_parse_mailrcpt(args, "FROM", flags, &path, &rest);
	if (r == SMTP_POK)
		r = smtp_parse_mail_params(rest, &mp);
	switch (r) {
	case SMTP_POK:
		break;
	case SMTP_PERR_PARAM:
		smtp_session_bad(s, "555 5.5.4 Unsupported MAIL parameter");
		return;
	case SMTP_PERR_PARAMVAL:
	case SMTP_PERR_DUP:
		smtp_session_bad(s, "501 5.5.4 Bad MAIL parameter");
		return;
	case SMTP_PERR_TOOLONG:
		smtp_session_bad(s, "501 5.1.7 Sender address too long");
		return;
	default:
		smtp_session_bad(s, "501 5.1.7 Bad sender address syntax");
		return;
	}
	if (path.eightbit && !mp.smtputf8) {
		smtp_session_bad(s, "553 5.6.7 Non-ASCII address needs "
		    "SMTPUTF8");
		return;
	}
	if (mp.has_size && mp.size > smtp_cfg->limits.max_message_size) {
		smtp_session_reply(s, "552 5.3.4 Message size exceeds fixed "
		    "maximum message size");
		return;
	}
	s->tx = xcalloc(1, sizeof(*s->tx));
	TAILQ_INIT(&s->tx->rcpts);
	s->tx->fd = -1;
	(void)strlcpy(s->tx->sender, path.addr, sizeof(s->tx->sender));
	s->tx->mp = mp;
	log_debug("session %016llx: mail from=<%s>",
	    (unsigned long long)s->id, smtp_esc(path.addr, esc, sizeof(esc)));
	smtp_session_enter(s, SMTP_S_MAIL);
	smtp_session_reply(s, "250 2.1.0 Ok");
}

static int
check_rcpt(struct smtp_session *s, const char *args)
{
	if (s->state != SMTP_S_MAIL && s->state != SMTP_S_RCPT) {
		smtp_session_bad(s, "503 5.5.1 Need MAIL before RCPT");
		return -1;
	}
	return 0;
}

static void
do_rcpt(struct smtp_session *s, const char *args)
{
	struct smtp_tx		*tx = s->tx;
	struct smtp_path	 path;
	struct smtp_rcpt_params	 rp;
	struct proto_rcpt_check	 rc;
	struct smtp_rcpt	*r;
	const char		*rest;
	char			 esc[PROTO_ADDR_MAX * 4];
	int			 err, flags;

	flags = SMTP_PATH_POSTMASTER | SMTP_PATH_NORELAY;
	if (tx->mp.smtputf8)
		flags |= SMTP_PATH_UTF8;
	tx->nrcpt_tried++;
	err = smtp_parse_mailrcpt(args, "TO", flags, &path, &rest);
	if (err == SMTP_POK)
		err = smtp_parse_rcpt_params(rest, tx->mp.smtputf8, &rp);
	switch (err) {
	case SMTP_POK:
		break;
	case SMTP_PERR_RELAY:
		log_info("session %016llx: rcpt %s refused: "
		    "relay attempt", (unsigned long long)s->id,
		    smtp_esc(args, esc, sizeof(esc)));
		smtp_session_reply(s, "550 5.7.1 Relaying denied");
		return;
	case SMTP_PERR_UTF8:
		smtp_session_bad(s, "553 5.6.7 Non-ASCII address needs "
		    "SMTPUTF8");
		return;
	case SMTP_PERR_PARAM:
		smtp_session_bad(s, "555 5.5.4 Unsupported RCPT parameter");
		return;
	case SMTP_PERR_PARAMVAL:
	case SMTP_PERR_DUP:
		smtp_session_bad(s, "501 5.5.4 Bad RCPT parameter");
		return;
	case SMTP_PERR_TOOLONG:
		smtp_session_bad(s, "501 5.1.3 Recipient address too long");
		return;
	default:
		smtp_session_bad(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	if (tx->nrcpt >= smtp_cfg->limits.max_rcpt) {
		smtp_session_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	r = xcalloc(1, sizeof(*r));
	if (path.postmaster)
		xasprintf(&r->addr, "postmaster@%s", smtp_hostname(s));
	else
		r->addr = xstrdup(path.addr);
	r->orcpt = rp.orcpt[0] != '\0' ? xstrdup(rp.orcpt) : NULL;
	r->notify = rp.notify;
	tx->pending = r;

	memset(&rc, 0, sizeof(rc));
	rc.reqid = s->id;
	rc.listener = s->sl->l->id;
	rc.local = s->local;
	(void)strlcpy(rc.src, s->ip, sizeof(rc.src));
	(void)strlcpy(rc.auth_user, s->auth_user, sizeof(rc.auth_user));
	(void)strlcpy(rc.sender, tx->sender, sizeof(rc.sender));
	(void)strlcpy(rc.rcpt, r->addr, sizeof(rc.rcpt));
	smtp_session_ask_policy(s, SMTP_W_RCPT, IMSG_POLICY_RCPT, &rc,
	    sizeof(rc));
}

static int
check_data(struct smtp_session *s, const char *args)
{
	if (*args != '\0') {
		smtp_session_bad(s, "501 5.5.4 Syntax: DATA");
		return -1;
	}
	if (s->state == SMTP_S_MAIL && s->tx->nrcpt_tried > 0) {
		smtp_session_reply(s, "554 5.5.1 No valid recipients");
		return -1;
	}
	if (s->state != SMTP_S_RCPT) {
		smtp_session_bad(s, "503 5.5.1 Need RCPT before DATA");
		return -1;
	}
	return 0;
}

static void
do_data(struct smtp_session *s, const char *args)
{
	struct proto_req	req;

	memset(&req, 0, sizeof(req));
	req.reqid = s->id;
	proc_compose(PROC_QUEUE, IMSG_QUEUE_MESSAGE_CREATE, 0, -1, &req,
	    sizeof(req));
	s->wait = SMTP_W_FILE;
}

static int
check_noargs(struct smtp_session *s, const char *args)
{
	if (*args != '\0') {
		smtp_session_bad(s, "501 5.5.4 No parameters allowed");
		return -1;
	}
	return 0;
}

static void
do_rset(struct smtp_session *s, const char *args)
{
	smtp_session_tx_reset(s);
	if (s->state != SMTP_S_INIT)
		smtp_session_enter(s, SMTP_S_HELO);
	smtp_session_reply(s, "250 2.0.0 Reset state");
}

static void
do_noop(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, "250 2.0.0 Ok");
}

static void
do_quit(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, "221 2.0.0 Bye");
	smtp_session_enter(s, SMTP_S_QUIT);
	smtp_io_close(s);
}

static void
do_help(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, "214-2.0.0 Commands: EHLO HELO STARTTLS AUTH "
	    "MAIL RCPT DATA");
	smtp_session_reply(s, "214 2.0.0 RSET NOOP QUIT HELP VRFY EXPN");
}

/* RFC 5321 4.1.1.6: VRFY takes a string. */
static int
check_vrfy(struct smtp_session *s, const char *args)
{
	if (*args == '\0') {
		smtp_session_bad(s, "501 5.5.4 Syntax: VRFY address");
		return -1;
	}
	return 0;
}

static void
do_vrfy(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, "252 2.5.0 Cannot VRFY user, but will accept "
	    "message and attempt delivery");
}

static void
do_expn(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, "502 5.5.1 EXPN not available");
}

/*
 * A reply chosen by policyd or the queue: used as given if it is a
 * well-formed reply of the expected class, else the default.
 */
static void
smtp_session_peer_reply(struct smtp_session *s, int status, const char *text,
    const char *deftemp, const char *defperm)
{
	char		 cls = status == PROTO_TEMPFAIL ? '4' : '5';
	const char	*def = status == PROTO_TEMPFAIL ? deftemp : defperm;
	size_t		 i, len = strlen(text);

	if (len < 4 || len > 400 || text[0] != cls ||
	    !isdigit((unsigned char)text[1]) ||
	    !isdigit((unsigned char)text[2]) || text[3] != ' ')
		goto fallback;
	for (i = 0; i < len; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			goto fallback;
	smtp_session_reply(s, "%s", text);
	return;
fallback:
	if (len > 0 && len <= 400) {
		for (i = 0; i < len; i++)
			if (text[i] < 0x20 || text[i] > 0x7e)
				break;
		if (i == len && !isdigit((unsigned char)text[0])) {
			smtp_session_reply(s, "%.9s %s", def, text);
			return;
		}
	}
	smtp_session_reply(s, "%s", def);
}

static void
smtp_session_rcpt_result(struct smtp_session *s, struct proto_result *res)
{
	struct smtp_tx		*tx = s->tx;
	struct smtp_rcpt	*r = tx->pending;
	char			 esc[PROTO_ADDR_MAX * 4];

	tx->pending = NULL;
	if (res->status == PROTO_OK) {
		TAILQ_INSERT_TAIL(&tx->rcpts, r, entry);
		tx->nrcpt++;
		smtp_session_enter(s, SMTP_S_RCPT);
		smtp_session_reply(s, "250 2.1.5 Ok");
		return;
	}
	log_info("session %016llx: rcpt <%s> refused: %s",
	    (unsigned long long)s->id, smtp_esc(r->addr, esc, sizeof(esc)),
	    res->text);
	smtp_session_peer_reply(s, res->status, res->text,
	    "451 4.3.0 Temporary failure", "550 5.7.1 Relaying denied");
	free(r->addr);
	free(r->orcpt);
	free(r);
}

/*
 * policyd does not answer: fail closed with a temporary reply, as if it
 * had said TEMPFAIL, and forget the request (its number moves on, so a
 * late answer is recognised and dropped).
 */
static void
smtp_session_policy_timeout(int fd, short ev, void *arg)
{
	struct smtp_session	*s = arg;
	struct proto_result	 res;
	enum smtp_wait		 w = s->wait;

	log_warnx("session %016llx: no answer from policy in %d seconds",
	    (unsigned long long)s->id, smtp_cfg->limits.timeout_policy);
	memset(&res, 0, sizeof(res));
	res.reqid = s->id;
	res.status = PROTO_TEMPFAIL;
	(void)strlcpy(res.text, "451 4.3.0 Policy not available, try again "
	    "later", sizeof(res.text));
	s->reqseq++;
	s->wait = SMTP_W_NONE;
	if (w == SMTP_W_RCPT)
		smtp_session_rcpt_result(s, &res);
	else if (w == SMTP_W_AUTH)
		smtp_auth_result(s, &res);
	else
		fatalx("%s: waiting for %d", __func__, w);
	smtp_io_resume(s);
}

/* Send a request to policyd and wait, at most limit timeout-policy. */
void
smtp_session_ask_policy(struct smtp_session *s, enum smtp_wait w,
    uint32_t type, const void *data, size_t len)
{
	struct timeval	tv;

	s->reqseq++;
	proc_compose(PROC_POLICY, type, s->reqseq, -1, data, len);
	s->wait = w;
	tv.tv_sec = smtp_cfg->limits.timeout_policy;
	tv.tv_usec = 0;
	evtimer_add(&s->ptimer, &tv);
}

static int
smtp_msgid_ok(const char *id)
{
	size_t	i;

	for (i = 0; id[i] != '\0'; i++)
		if (!isxdigit((unsigned char)id[i]))
			return 0;
	return i == 16;
}

static void
smtp_session_msgfile(struct smtp_session *s, struct proto_msgfile *mf,
    int fd)
{
	struct smtp_tx	*tx = s->tx;
	char		 esc[PROTO_ADDR_MAX * 4];

	if (mf->status != PROTO_OK || fd == -1) {
		if (fd != -1)
			close(fd);
		smtp_session_reply(s, "451 4.3.0 Temporary failure, try "
		    "again later");
		return;
	}
	if (!smtp_msgid_ok(mf->msgid))
		fatalx("bad message id from the queue");
	(void)strlcpy(tx->msgid, mf->msgid, sizeof(tx->msgid));
	log_info("session %016llx: msgid %s: from=<%s> nrcpt=%zu",
	    (unsigned long long)s->id, tx->msgid,
	    smtp_esc(tx->sender, esc, sizeof(esc)), tx->nrcpt);
	smtp_data_begin(s, fd);
}

static void
smtp_session_commit(struct smtp_session *s, struct proto_commit *c)
{
	struct smtp_tx	*tx = s->tx;

	if (c->status == PROTO_OK) {
		s->nmails++;
		log_info("session %016llx: msgid %s: accepted, "
		    "size=%llu nrcpt=%zu", (unsigned long long)s->id,
		    tx->msgid, (unsigned long long)tx->dp.size, tx->nrcpt);
		smtp_session_reply(s, "250 2.0.0 Ok: queued as %s",
		    tx->msgid);
	} else {
		log_info("session %016llx: msgid %s: not accepted: %s",
		    (unsigned long long)s->id, tx->msgid, c->text);
		smtp_session_peer_reply(s, c->status, c->text,
		    "451 4.3.0 Temporary failure",
		    "554 5.0.0 Transaction failed");
	}
	smtp_session_tx_reset(s);
	smtp_session_enter(s, SMTP_S_HELO);
}

/* An answer from policyd or the queue for this session (smtp.c). */
void
smtp_session_imsg(struct smtp_session *s, struct imsg *imsg)
{
	struct proto_result	res;
	struct proto_msgfile	mf;
	struct proto_commit	c;
	int			fd;

	switch (imsg->hdr.type) {
	case IMSG_SMTP_RCPT_RESULT:
	case IMSG_SMTP_AUTH_RESULT:
		if (imsg->hdr.peerid != s->reqseq) {
			log_debug("session %016llx: late %s dropped",
			    (unsigned long long)s->id,
			    proto_imsg_name(imsg->hdr.type));
			return;
		}
		evtimer_del(&s->ptimer);
		memcpy(&res, imsg->data, sizeof(res));
		if (imsg->hdr.type == IMSG_SMTP_RCPT_RESULT) {
			if (s->wait != SMTP_W_RCPT)
				fatalx("unexpected rcpt result");
			s->wait = SMTP_W_NONE;
			smtp_session_rcpt_result(s, &res);
		} else {
			if (s->wait != SMTP_W_AUTH)
				fatalx("unexpected auth result");
			s->wait = SMTP_W_NONE;
			smtp_auth_result(s, &res);
		}
		break;
	case IMSG_SMTP_MESSAGE_FILE:
		memcpy(&mf, imsg->data, sizeof(mf));
		fd = imsg->fd;
		imsg->fd = -1;
		if (s->wait != SMTP_W_FILE)
			fatalx("unexpected message file");
		s->wait = SMTP_W_NONE;
		smtp_session_msgfile(s, &mf, fd);
		break;
	case IMSG_SMTP_COMMIT_RESULT:
		memcpy(&c, imsg->data, sizeof(c));
		if (s->wait != SMTP_W_COMMIT)
			fatalx("unexpected commit result");
		s->wait = SMTP_W_NONE;
		smtp_session_commit(s, &c);
		break;
	default:
		fatalx("%s: %s", __func__, proto_imsg_name(imsg->hdr.type));
	}
	smtp_io_resume(s);
}
