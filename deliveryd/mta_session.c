/*
 * mta_session.c: one outbound SMTP connection of the delivery process
 * (deliveryd): connect, TLS (STARTTLS or smtps), EHLO/HELO, AUTH (PLAIN,
 * or LOGIN when PLAIN is not offered; over TLS only), then one
 * transaction after another for its destination (mta.c), with
 * MAIL/RCPT/DATA pipelined when the server offers PIPELINING.
 *
 * TLS levels: none; may (STARTTLS when offered, plaintext otherwise or
 * after a failed handshake); encrypt (STARTTLS required); verify (and
 * the chain and the host name verified).  A route that cannot give the
 * level is skipped; when no route is left the transactions wait (4xx).
 *
 * Invariants: the message goes out as the encoder of mta_body.c makes
 * it (CRLF only, dot-stuffed, control headers stripped), read from the
 * file a piece at a time (never whole in memory), the last piece with
 * the final dot in one write; every remote reply is escaped before it is logged or
 * returned (mta_reply.c); every recipient of a transaction gets one
 * result, whatever happens to the connection.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include "defaults.h"
#include "delivery.h"
#include "log.h"
#include "util.h"

enum mta_state {
	MTA_CONNECT,
	MTA_BANNER,
	MTA_EHLO,
	MTA_HELO,
	MTA_STARTTLS,
	MTA_AUTH,
	MTA_AUTH_USER,		/* AUTH LOGIN sent, 334 for the user */
	MTA_AUTH_PASS,		/* user sent, 334 for the password */
	MTA_READY,
	MTA_RSET,
	MTA_TX,
	MTA_BODY,
	MTA_QUIT,
};

static const char *mta_state_names[] = {
	"connect", "banner", "ehlo", "helo", "starttls", "auth", "auth-user",
	"auth-pass", "ready",
	"rset", "tx", "body", "quit",
};

struct mta_session {
	uint64_t		 id;
	struct mta_dest		*dest;
	enum relay_proto	 proto;
	enum tls_level		 level;
	char			*auth;
	struct mta_route	*routes;
	size_t			 nroutes;
	size_t			 route;
	int			 fd;
	struct tls		*tls;
	struct tls_config	*verify;	/* for TLS_LEVEL_VERIFY */
	int			 handshaking;
	int			 tls_failed_plain; /* may: retry in clear */
	enum mta_state		 state;
	struct event		 ev;
	short			 evflags;
	struct event		 timer;
	struct mta_buf		 rbuf;
	struct mta_buf		 wbuf;
	int			 sending;	/* the message, after 354 */
	int			 body_more;	/* more of the file to read */
	struct mta_body_enc	 enc;
	off_t			 foff;		/* read of the file */
	struct mta_buf		 body;		/* the piece being sent */
	size_t			 bodyoff;	/* sent of it */
	int			 want_out;	/* TLS wants POLLOUT */
	int			 caps;
	uint64_t		 maxsize;
	int			 connected;	/* handed to the destination */
	int			 dead;
	char			 tlsinfo[PROTO_TAG_MAX * 2];
	char			 relay[PROTO_NAME_MAX];
	char			 why[PROTO_REPLY_MAX];
	struct mta_tx		*tx;
	size_t			 nreply;	/* replies in this tx */
	int			*accepted;
	size_t			 naccepted;
	int			 mail_failed;
	int			 discard;	/* 354 with no recipient */
	int			 need_rset;
	int			 nmails;
	int			 gen;		/* connection number */
	char			 connwhy[PROTO_REPLY_MAX];
};

/* The CA of a "ca NAME" statement, loaded before the chroot. */
struct mta_ca {
	const struct ca		*ca;
	struct tls_config	*verify;
};

static struct tls_config	*mta_tls_noverify, *mta_tls_verify;
static struct mta_ca		*mta_cas;
static size_t			 mta_ncas;
static uint64_t			 mta_session_ids;

static void	session_io(int, short, void *);
static void	session_timeout(int, short, void *);
static void	session_update(struct mta_session *);
static void	session_connect(struct mta_session *);
static void	session_next_route(struct mta_session *, const char *);
static void	session_connect_failed(struct mta_session *, const char *);
static void	session_ready(struct mta_session *);
static void	session_ehlo(struct mta_session *);
static void	session_reply(struct mta_session *, const struct mta_reply *,
		    const char *, size_t);
static void	session_error(struct mta_session *, const char *);
static void	session_close(struct mta_session *);
static void	session_free_if_dead(struct mta_session *);
static void	session_body_stop(struct mta_session *);
static void	tx_begin(struct mta_session *);
static void	tx_end(struct mta_session *);

/* A tls_config that trusts the certificates of file; NULL: why. */
static struct tls_config *
session_verify_config(const char *file, const char **why)
{
	struct tls_config	*cfg;
	uint8_t			*ca;
	size_t			 calen;

	if ((ca = tls_load_file(file, &calen, NULL)) == NULL) {
		*why = strerror(errno);
		return NULL;
	}
	if (memmem(ca, calen, "-----BEGIN CERTIFICATE-----", 27) == NULL) {
		tls_unload_file(ca, calen);
		*why = "no PEM certificate in it";
		return NULL;
	}
	if ((cfg = tls_config_new()) == NULL)
		fatalx("tls_config_new");
	if (tls_config_set_ca_mem(cfg, ca, calen) == -1)
		fatalx("tls config: %s", tls_config_error(cfg));
	tls_unload_file(ca, calen);
	return cfg;
}

void
mta_session_init(void)
{
	struct ca	*ca;
	const char	*why;
	size_t		 n = 0;

	/*
	 * The CAs an action names instead of the system bundle.  A file
	 * that cannot be read is a configuration error: stop at start
	 * rather than fail every verified delivery later.
	 */
	TAILQ_FOREACH(ca, &delivery_cfg->cas, entry)
		n++;
	mta_cas = xcalloc(n ? n : 1, sizeof(*mta_cas));
	TAILQ_FOREACH(ca, &delivery_cfg->cas, entry) {
		mta_cas[mta_ncas].ca = ca;
		if ((mta_cas[mta_ncas].verify =
		    session_verify_config(ca->cafile, &why)) == NULL)
			fatalx("%s:%d: ca \"%s\": cannot load %s: %s",
			    ca->file, ca->line, ca->name, ca->cafile, why);
		mta_ncas++;
	}
	if ((mta_tls_noverify = tls_config_new()) == NULL)
		fatalx("tls_config_new");
	tls_config_insecure_noverifycert(mta_tls_noverify);
	tls_config_insecure_noverifyname(mta_tls_noverify);
	/* Opportunistic TLS: any protocol beats plaintext. */
	if (tls_config_set_protocols(mta_tls_noverify, TLS_PROTOCOLS_ALL)
	    == -1 || tls_config_set_ciphers(mta_tls_noverify, "compat") == -1)
		fatalx("tls config: %s", tls_config_error(mta_tls_noverify));
	/* Read the CA bundle now: after the chroot there is no file. */
	if ((mta_tls_verify = session_verify_config(DEF_MTA_CA_FILE, &why))
	    == NULL) {
		log_warnx("cannot load %s: %s: tls verify will fail",
		    DEF_MTA_CA_FILE, why);
		/* Trusts nothing: every verification fails. */
		if ((mta_tls_verify = tls_config_new()) == NULL)
			fatalx("tls_config_new");
	}
}

static const char *
session_addr(const struct sockaddr_storage *ss, char *buf, size_t sz)
{
	const void	*a;

	if (ss->ss_family == AF_INET)
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	else
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (inet_ntop(ss->ss_family, a, buf, sz) == NULL)
		strlcpy(buf, "?", sz);
	return buf;
}

void
mta_session_new(struct mta_dest *d, const struct mta_dest_info *info)
{
	struct mta_session	*s;
	size_t			 i;

	s = xcalloc(1, sizeof(*s));
	s->id = ++mta_session_ids;
	s->dest = d;
	s->proto = info->proto;
	s->level = info->tls;
	s->auth = info->auth ? xstrdup(info->auth) : NULL;
	s->verify = mta_tls_verify;
	for (i = 0; info->ca != NULL && i < mta_ncas; i++)
		if (mta_cas[i].ca == info->ca)
			s->verify = mta_cas[i].verify;
	s->routes = xcalloc(info->nroutes, sizeof(*s->routes));
	memcpy(s->routes, info->routes, info->nroutes * sizeof(*s->routes));
	s->nroutes = info->nroutes;
	s->fd = -1;
	evtimer_set(&s->timer, session_timeout, s);
	log_debug("mta %llu: new session to %s (tls level %d)",
	    (unsigned long long)s->id, info->key, s->level);
	session_connect(s);
	session_free_if_dead(s);
}

static void
session_timer(struct mta_session *s, int secs)
{
	struct timeval	tv = { secs, 0 };

	evtimer_add(&s->timer, &tv);
}

static void
session_reset_conn(struct mta_session *s)
{
	if (s->fd != -1) {
		if (s->evflags)
			event_del(&s->ev);
		s->evflags = 0;
		if (s->tls != NULL) {
			tls_close(s->tls);
			tls_free(s->tls);
			s->tls = NULL;
		}
		close(s->fd);
		s->fd = -1;
	}
	evtimer_del(&s->timer);
	s->gen++;
	s->rbuf.len = 0;
	s->wbuf.len = 0;
	session_body_stop(s);
	s->handshaking = 0;
	s->want_out = 0;
	s->caps = 0;
	s->tlsinfo[0] = '\0';
}

static void
session_connect(struct mta_session *s)
{
	struct mta_route	*r;
	char			 addr[INET6_ADDRSTRLEN];
	int			 one = 1;
	socklen_t		 sl;

	session_reset_conn(s);
	if (s->route >= s->nroutes) {
		/* Nowhere left to go. */
		if (s->why[0] == '\0')
			strlcpy(s->why, "4.4.1 no route", sizeof(s->why));
		s->dead = 1;
		mta_dest_session_gone(s->dest, s, s->connected, 1, s->why);
		return;
	}
	r = &s->routes[s->route];
	mta_fmt(s->relay, sizeof(s->relay), "%s [%s]:%d", r->name,
	    session_addr(&r->ss, addr, sizeof(addr)),
	    ntohs(r->ss.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&r->ss)->sin_port :
	    ((struct sockaddr_in6 *)&r->ss)->sin6_port));
	s->state = MTA_CONNECT;
	if ((s->fd = socket(r->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		session_connect_failed(s, strerror(errno));
		return;
	}
	/* Commands and the body are written whole: no Nagle delay. */
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sl = r->ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	if (connect(s->fd, (struct sockaddr *)&r->ss, sl) == -1 &&
	    errno != EINPROGRESS) {
		session_connect_failed(s, strerror(errno));
		return;
	}
	session_timer(s, DEF_MTA_CONNECT_TIMEOUT);
	session_update(s);
}

/*
 * A connection that failed at once goes on from the event loop, never
 * by recursion into the caller (mta.c may be starting sessions).
 */
static void
session_connect_failed(struct mta_session *s, const char *why)
{
	strlcpy(s->connwhy, why, sizeof(s->connwhy));
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	s->state = MTA_CONNECT;
	session_timer(s, 0);
}

/* This route failed (why: a plain reason, escaped already). */
static void
session_next_route(struct mta_session *s, const char *why)
{
	log_info("mta %llu: %s: %s", (unsigned long long)s->id, s->relay,
	    why);
	/* Every route's reason, for the result: the first is often best. */
	if (s->why[0] == '\0')
		mta_fmt(s->why, sizeof(s->why), "4.4.1 %s: %s", s->relay, why);
	else {
		char	more[PROTO_REPLY_MAX];

		mta_fmt(more, sizeof(more), "; %s: %s", s->relay, why);
		strlcat(s->why, more, sizeof(s->why));
	}
	s->route++;
	s->tls_failed_plain = 0;
	session_connect(s);
}

static void
session_tls_start(struct mta_session *s)
{
	struct tls_config	*cfg;
	const char		*name = s->routes[s->route].name;

	cfg = s->level == TLS_LEVEL_VERIFY ? s->verify : mta_tls_noverify;
	if ((s->tls = tls_client()) == NULL) {
		session_error(s, "tls_client failed");
		return;
	}
	if (tls_configure(s->tls, cfg) == -1 ||
	    tls_connect_socket(s->tls, s->fd, name) == -1) {
		session_error(s, tls_error(s->tls));
		return;
	}
	s->handshaking = 1;
	s->want_out = 1;	/* the ClientHello is ours to send */
	session_timer(s, delivery_cfg->limits.timeout_delivery);
}

static void
session_tls_done(struct mta_session *s)
{
	s->handshaking = 0;
	mta_fmt(s->tlsinfo, sizeof(s->tlsinfo), "%s %s %s",
	    tls_conn_version(s->tls), tls_conn_cipher(s->tls),
	    s->level == TLS_LEVEL_VERIFY ? "verified" : "unverified");
	log_info("mta %llu: %s: TLS %s", (unsigned long long)s->id,
	    s->relay, s->tlsinfo);
}

/* Send a line; shown: what a trace says instead, for credentials. */
static void
session_send_shown(struct mta_session *s, const char *line,
    const char *shown)
{
	char	esc[1024];

	if (log_trace & TRACE_SMTP) {
		if (shown == NULL)
			shown = line;
		log_escape(esc, sizeof(esc), shown, strlen(shown));
		log_trace_msg(TRACE_SMTP, "mta %llu >>> %s",
		    (unsigned long long)s->id, esc);
	}
	mta_buf_addstr(&s->wbuf, line);
	mta_buf_add(&s->wbuf, "\r\n", 2);
}

static void
session_send(struct mta_session *s, const char *line)
{
	session_send_shown(s, line, NULL);
}

static void
session_update(struct mta_session *s)
{
	short	flags = EV_READ | EV_PERSIST;

	if (s->fd == -1 || s->dead)
		return;
	if (s->state == MTA_CONNECT || s->wbuf.len > 0 || s->sending ||
	    s->want_out)
		flags |= EV_WRITE;
	if (flags == s->evflags)
		return;
	if (s->evflags)
		event_del(&s->ev);
	event_set(&s->ev, s->fd, flags, session_io, s);
	event_add(&s->ev, NULL);
	s->evflags = flags;
}

/* Write what the socket takes.  -1: error (closed). */
static int
session_write(struct mta_session *s, const char *p, size_t len,
    size_t *done)
{
	ssize_t	n;

	*done = 0;
	while (*done < len) {
		if (s->tls != NULL) {
			n = tls_write(s->tls, p + *done, len - *done);
			if (n == TLS_WANT_POLLOUT || n == TLS_WANT_POLLIN) {
				s->want_out = n == TLS_WANT_POLLOUT;
				return 0;
			}
			if (n == -1) {
				mta_fmt(s->why, sizeof(s->why), "write: %s",
				    tls_error(s->tls));
				return -1;
			}
		} else {
			n = write(s->fd, p + *done, len - *done);
			if (n == -1) {
				if (errno == EAGAIN || errno == EINTR)
					return 0;
				mta_fmt(s->why, sizeof(s->why), "write: %s",
				    strerror(errno));
				return -1;
			}
		}
		*done += n;
	}
	return 0;
}

static int
session_flush(struct mta_session *s)
{
	size_t	n;
	int	r;

	s->want_out = 0;
	if (s->wbuf.len > 0) {
		if (session_write(s, s->wbuf.data, s->wbuf.len, &n) == -1)
			return -1;
		mta_buf_drop(&s->wbuf, n);
		if (s->wbuf.len > 0)
			return 0;
	}
	/* The message: one piece of the file after the other. */
	while (s->sending) {
		if (s->bodyoff == s->body.len) {
			if (!s->body_more) {
				/* All sent: the reply to the dot is next. */
				session_body_stop(s);
				break;
			}
			s->body.len = s->bodyoff = 0;
			r = mta_batch_chunk(s->tx->batch, &s->foff, &s->enc,
			    &s->body, s->why, sizeof(s->why));
			if (r == -1)
				return -1;
			s->body_more = r;
			continue;
		}
		if (session_write(s, s->body.data + s->bodyoff,
		    s->body.len - s->bodyoff, &n) == -1)
			return -1;
		s->bodyoff += n;
		if (s->bodyoff < s->body.len)
			break;		/* the socket is full */
	}
	return 0;
}

static void
session_body_start(struct mta_session *s)
{
	mta_body_enc_init(&s->enc, BODY_SMTP);
	s->foff = 0;
	s->body.len = s->bodyoff = 0;
	s->sending = s->body_more = 1;
}

static void
session_body_stop(struct mta_session *s)
{
	s->sending = s->body_more = 0;
	/* An idle session keeps no message buffer. */
	mta_buf_free(&s->body);
	s->bodyoff = 0;
}

/* Read what is there.  -1: error or EOF (s->why says). */
static int
session_read(struct mta_session *s)
{
	ssize_t	n;

	for (;;) {
		if (s->rbuf.cap - s->rbuf.len < 4096) {
			s->rbuf.cap = s->rbuf.cap ? s->rbuf.cap * 2 : 8192;
			s->rbuf.data = xreallocarray(s->rbuf.data, 1,
			    s->rbuf.cap);
		}
		if (s->tls != NULL) {
			n = tls_read(s->tls, s->rbuf.data + s->rbuf.len,
			    s->rbuf.cap - s->rbuf.len);
			if (n == TLS_WANT_POLLIN)
				return 0;
			if (n == TLS_WANT_POLLOUT) {
				s->want_out = 1;
				return 0;
			}
			if (n == -1) {
				mta_fmt(s->why, sizeof(s->why), "read: %s",
				    tls_error(s->tls));
				return -1;
			}
		} else {
			n = read(s->fd, s->rbuf.data + s->rbuf.len,
			    s->rbuf.cap - s->rbuf.len);
			if (n == -1) {
				if (errno == EAGAIN || errno == EINTR)
					return 0;
				mta_fmt(s->why, sizeof(s->why), "read: %s",
				    strerror(errno));
				return -1;
			}
		}
		if (n == 0) {
			strlcpy(s->why, "connection closed by the server",
			    sizeof(s->why));
			return -1;
		}
		s->rbuf.len += n;
		if (s->rbuf.len > MTA_REPLY_MAX + 4096) {
			strlcpy(s->why, "server sends too much",
			    sizeof(s->why));
			return -1;
		}
		if (s->tls == NULL)
			return 0;	/* level-triggered: read again later */
	}
}

static void
session_io(int fd, short ev, void *arg)
{
	struct mta_session	*s = arg;
	struct mta_reply	 r;
	socklen_t		 sl;
	ssize_t			 n;
	size_t			 off;
	int			 err, ret, gen = s->gen;

	if (s->state == MTA_CONNECT && !s->handshaking) {
		sl = sizeof(err);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1)
			err = errno;
		if (err != 0) {
			session_next_route(s, strerror(err));
			goto out;
		}
		log_debug("mta %llu: connected to %s",
		    (unsigned long long)s->id, s->relay);
		s->state = MTA_BANNER;
		session_timer(s, delivery_cfg->limits.timeout_delivery);
		if (s->proto == RELAY_SMTPS) {
			session_tls_start(s);
			if (s->dead || s->fd == -1)
				goto out;
		}
	}
	if (s->handshaking) {
		ret = tls_handshake(s->tls);
		if (ret == TLS_WANT_POLLIN || ret == TLS_WANT_POLLOUT) {
			s->want_out = ret == TLS_WANT_POLLOUT;
			goto out;
		}
		s->want_out = 0;
		if (ret == -1) {
			char	why[PROTO_REPLY_MAX];

			mta_fmt(why, sizeof(why), "TLS handshake: %s",
			    tls_error(s->tls));
			if (s->level == TLS_LEVEL_MAY &&
			    s->proto != RELAY_SMTPS) {
				/* Opportunistic: again, in the clear. */
				log_info("mta %llu: %s: %s, retrying without "
				    "TLS", (unsigned long long)s->id,
				    s->relay, why);
				s->tls_failed_plain = 1;
				session_connect(s);
			} else
				session_next_route(s, why);
			goto out;
		}
		session_tls_done(s);
		/* RFC 3207 4.2: forget what was said before TLS. */
		if (s->state == MTA_STARTTLS)
			session_ehlo(s);
	}
	if (session_flush(s) == -1) {
		session_error(s, s->why);
		goto out;
	}
	if (session_read(s) == -1) {
		/* Replies that came before the close still count. */
		err = 1;
	} else
		err = 0;
	off = 0;
	while (!s->dead && off < s->rbuf.len) {
		n = mta_reply_parse(s->rbuf.data + off, s->rbuf.len - off, &r);
		if (n == 0)
			break;
		if (n == -1) {
			session_error(s, r.text);
			goto out;
		}
		if (log_trace & TRACE_SMTP)
			log_trace_msg(TRACE_SMTP, "mta %llu <<< %s",
			    (unsigned long long)s->id, r.text);
		session_reply(s, &r, s->rbuf.data + off, (size_t)n);
		off += n;
		if (s->gen != gen)
			goto out;
		/*
		 * After the reply to STARTTLS nothing may come in the clear
		 * (it would be injected into the TLS session, CVE-2011-0411).
		 */
		if (s->handshaking) {
			if (off < s->rbuf.len) {
				session_next_route(s, "data after the "
				    "STARTTLS reply");
				goto out;
			}
			break;
		}
	}
	if (s->dead || s->gen != gen)
		goto out;
	mta_buf_drop(&s->rbuf, off);
	if (err) {
		session_error(s, s->why);
		goto out;
	}
	if (!s->handshaking && session_flush(s) == -1)
		session_error(s, s->why);
out:
	session_update(s);
	session_free_if_dead(s);
}

static void
session_timeout(int fd, short ev, void *arg)
{
	struct mta_session	*s = arg;

	if (s->state == MTA_CONNECT && s->fd == -1)
		session_next_route(s, s->connwhy);
	else if (s->state == MTA_READY && s->tx == NULL) {
		/* Idle long enough: say goodbye, do not wait. */
		session_send(s, "QUIT");
		s->state = MTA_QUIT;
		(void)session_flush(s);
		session_close(s);
	} else if (s->state == MTA_QUIT)
		session_close(s);
	else {
		char	why[PROTO_REPLY_MAX];

		mta_fmt(why, sizeof(why), "timeout in state %s",
		    mta_state_names[s->state]);
		session_error(s, why);
	}
	session_update(s);
	session_free_if_dead(s);
}

/* Fail the recipients of the running transaction without a result. */
static void
tx_fail(struct mta_session *s, int status, const char *why)
{
	struct mta_tx	*tx = s->tx;
	size_t		 i;

	if (tx == NULL)
		return;
	for (i = 0; i < tx->nrcpt; i++)
		mta_result(tx, i, status, why, s->relay, s->tlsinfo);
	s->tx = NULL;
	session_body_stop(s);
	free(s->accepted);
	s->accepted = NULL;
	mta_tx_done(tx);
}

/*
 * The connection broke (why: escaped).  Before the session was ready
 * this route failed: the next one is tried.  After, the running
 * transaction waits (4xx) and the session ends.
 */
static void
session_error(struct mta_session *s, const char *why)
{
	char	reply[PROTO_REPLY_MAX];

	if (s->dead)
		return;
	if (!s->connected && s->state != MTA_QUIT) {
		session_next_route(s, why);
		return;
	}
	if (s->tx != NULL) {
		mta_fmt(reply, sizeof(reply), "4.4.2 %s (%s)", why,
		    mta_state_names[s->state]);
		log_info("mta %llu: %s: %s", (unsigned long long)s->id,
		    s->relay, reply);
		tx_fail(s, PROTO_TEMPFAIL, reply);
	} else if (s->state != MTA_QUIT)
		log_debug("mta %llu: %s: %s", (unsigned long long)s->id,
		    s->relay, why);
	session_close(s);
}

static void
session_close(struct mta_session *s)
{
	if (s->dead)
		return;
	tx_fail(s, PROTO_TEMPFAIL, "4.4.2 connection closed");
	session_reset_conn(s);
	s->dead = 1;
	mta_dest_session_gone(s->dest, s, s->connected, 0, NULL);
}

static void
session_free_if_dead(struct mta_session *s)
{
	if (!s->dead)
		return;
	session_reset_conn(s);
	mta_buf_free(&s->rbuf);
	mta_buf_free(&s->wbuf);
	free(s->accepted);
	free(s->routes);
	if (s->auth != NULL)
		freezero(s->auth, strlen(s->auth));
	free(s);
}

static void
session_ehlo(struct mta_session *s)
{
	char	line[PROTO_NAME_MAX + 8];

	mta_fmt(line, sizeof(line), "EHLO %s", delivery_cfg->hostname);
	session_send(s, line);
	s->state = MTA_EHLO;
}

/*
 * Send the user (part 0) or the password (part 1) of s->auth in base64,
 * for AUTH LOGIN.  The trace shows stars.
 */
static void
session_auth_login_part(struct mta_session *s, int part)
{
	char	 b64[PROTO_NAME_MAX * 2 + 8];
	char	*colon = strchr(s->auth, ':');
	size_t	 len;

	len = part == 0 ? (size_t)(colon - s->auth) : strlen(colon + 1);
	sodium_bin2base64(b64, sizeof(b64), (unsigned char *)(part == 0 ?
	    s->auth : colon + 1), len, sodium_base64_VARIANT_ORIGINAL);
	session_send_shown(s, b64, "****");
	explicit_bzero(b64, sizeof(b64));
}

/*
 * RFC 4954 over TLS only: PLAIN (RFC 4616) when offered, else LOGIN.
 * A refusal fails the route: the mail waits (4xx), it is not bounced,
 * since wrong credentials are the operator's to fix, not the sender's.
 */
static void
session_auth(struct mta_session *s)
{
	char	 plain[2 * PROTO_NAME_MAX + 2];
	char	 b64[sizeof(plain) * 2], line[sizeof(b64) + 16];
	char	*colon;
	size_t	 ulen, plen;

	if ((colon = strchr(s->auth, ':')) == NULL) {
		session_next_route(s, "4.7.0 bad secret (want user:password)");
		return;
	}
	if (s->tls == NULL) {
		session_next_route(s, "4.7.0 no TLS: credentials not sent in "
		    "the clear");
		return;
	}
	if (!(s->caps & EXT_AUTH)) {
		session_next_route(s, "4.7.0 server does not offer AUTH");
		return;
	}
	ulen = colon - s->auth;
	plen = strlen(colon + 1);
	if (ulen + plen + 2 > sizeof(plain) || ulen > PROTO_NAME_MAX ||
	    plen > PROTO_NAME_MAX) {
		session_next_route(s, "4.7.0 credentials too long");
		return;
	}
	if (!(s->caps & EXT_AUTH_PLAIN) && (s->caps & EXT_AUTH_LOGIN)) {
		session_send(s, "AUTH LOGIN");
		s->state = MTA_AUTH_USER;
		return;
	}
	if (!(s->caps & EXT_AUTH_PLAIN)) {
		session_next_route(s, "4.7.0 server offers neither AUTH "
		    "PLAIN nor LOGIN");
		return;
	}
	/* RFC 4616: authzid NUL authcid NUL passwd. */
	plain[0] = '\0';
	memcpy(plain + 1, s->auth, ulen);
	plain[1 + ulen] = '\0';
	memcpy(plain + 2 + ulen, colon + 1, plen);
	sodium_bin2base64(b64, sizeof(b64), (unsigned char *)plain,
	    ulen + plen + 2, sodium_base64_VARIANT_ORIGINAL);
	mta_fmt(line, sizeof(line), "AUTH PLAIN %s", b64);
	session_send_shown(s, line, "AUTH PLAIN ****");
	explicit_bzero(plain, sizeof(plain));
	explicit_bzero(b64, sizeof(b64));
	explicit_bzero(line, sizeof(line));
	s->state = MTA_AUTH;
}

/* After EHLO/HELO: TLS, AUTH or ready. */
static void
session_greeted(struct mta_session *s)
{
	if (s->tls == NULL && s->level != TLS_LEVEL_NONE &&
	    !s->tls_failed_plain) {
		if (s->caps & EXT_STARTTLS) {
			session_send(s, "STARTTLS");
			s->state = MTA_STARTTLS;
			return;
		}
		if (s->level >= TLS_LEVEL_ENCRYPT) {
			session_next_route(s, "4.7.4 TLS required but "
			    "STARTTLS not offered");
			return;
		}
	}
	if (s->tls == NULL && s->level >= TLS_LEVEL_ENCRYPT) {
		session_next_route(s, "4.7.4 TLS required");
		return;
	}
	if (s->auth != NULL) {
		session_auth(s);
		return;
	}
	session_ready(s);
}

static void
session_ready(struct mta_session *s)
{
	int	first = !s->connected;

	s->connected = 1;
	s->state = MTA_READY;
	evtimer_del(&s->timer);
	if (s->nmails >= DEF_MTA_MAILS_PER_SESSION) {
		session_send(s, "QUIT");
		s->state = MTA_QUIT;
		session_timer(s, 5);
		return;
	}
	if ((s->tx = mta_dest_next(s->dest, s, first)) == NULL) {
		session_timer(s, DEF_MTA_IDLE_TIMEOUT);
		return;
	}
	tx_begin(s);
}

void
mta_session_start(struct mta_session *s, struct mta_tx *tx)
{
	evtimer_del(&s->timer);
	s->tx = tx;
	tx_begin(s);
	if (!s->dead && s->fd != -1 && session_flush(s) == -1)
		session_error(s, s->why);
	session_update(s);
	session_free_if_dead(s);
}

static int
reply_status(int code)
{
	if (code >= 200 && code < 400)
		return PROTO_OK;
	return code >= 500 ? PROTO_PERMFAIL : PROTO_TEMPFAIL;
}

static void
tx_rcpt_cmd(struct mta_session *s, size_t i)
{
	struct mta_rcpt	*r = &s->tx->batch->rcpts[s->tx->rcpt[i]];
	/* Sized for the longest: no truncation, n stays below. */
	char		 line[PROTO_ADDR_MAX * 4 + 128], x[PROTO_ADDR_MAX * 3];
	size_t		 n;

	n = (size_t)snprintf(line, sizeof(line), "RCPT TO:<%s>", r->rcpt);
	if (s->caps & EXT_DSN) {
		if (r->notify & DSN_NOTIFY_NEVER)
			n += snprintf(line + n, sizeof(line) - n,
			    " NOTIFY=NEVER");
		else if (r->notify != 0)
			n += snprintf(line + n, sizeof(line) - n,
			    " NOTIFY=%s%s%s%s%s",
			    r->notify & DSN_NOTIFY_SUCCESS ? "SUCCESS" : "",
			    (r->notify & DSN_NOTIFY_SUCCESS) &&
			    (r->notify & (DSN_NOTIFY_FAILURE |
			    DSN_NOTIFY_DELAY)) ? "," : "",
			    r->notify & DSN_NOTIFY_FAILURE ? "FAILURE" : "",
			    (r->notify & DSN_NOTIFY_FAILURE) &&
			    (r->notify & DSN_NOTIFY_DELAY) ? "," : "",
			    r->notify & DSN_NOTIFY_DELAY ? "DELAY" : "");
		if (r->orcpt[0] != '\0' && n < sizeof(line) &&
		    mta_xtext(x, sizeof(x), r->orcpt) == 0)
			mta_fmt(line + n, sizeof(line) - n,
			    " ORCPT=rfc822;%s", x);
	}
	session_send(s, line);
}

static void
tx_begin(struct mta_session *s)
{
	struct mta_tx		*tx = s->tx;
	struct mta_batch	*b = tx->batch;
	/* Sized for the longest: no truncation, n stays below. */
	char			 line[PROTO_ADDR_MAX + 1024], x[320];
	size_t			 i, n;

	s->state = MTA_TX;
	s->nreply = 0;
	s->naccepted = 0;
	s->mail_failed = 0;
	s->discard = 0;
	free(s->accepted);
	s->accepted = xcalloc(tx->nrcpt, sizeof(*s->accepted));
	if (b->d.smtputf8 && !(s->caps & EXT_SMTPUTF8)) {
		tx_fail(s, PROTO_PERMFAIL, "5.6.7 the next hop does not "
		    "support SMTPUTF8");
		session_ready(s);
		return;
	}
	if ((s->caps & EXT_SIZE) && s->maxsize > 0 &&
	    b->wiresize > s->maxsize) {
		tx_fail(s, PROTO_PERMFAIL, "5.3.4 message too big for the "
		    "next hop");
		session_ready(s);
		return;
	}
	if (s->need_rset) {
		session_send(s, "RSET");
		s->need_rset = 0;
		s->state = MTA_RSET;
		session_timer(s, delivery_cfg->limits.timeout_delivery);
		return;
	}
	n = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<%s>",
	    b->d.sender);
	if (s->caps & EXT_SIZE)
		n += snprintf(line + n, sizeof(line) - n, " SIZE=%zu",
		    b->wiresize);
	if (b->d.body != BODY_7BIT && (s->caps & EXT_8BITMIME) &&
	    n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, " BODY=8BITMIME");
	if (b->d.smtputf8 && n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, " SMTPUTF8");
	if ((s->caps & EXT_DSN) && n < sizeof(line)) {
		if (b->d.dsn_ret == DSN_RET_FULL)
			n += snprintf(line + n, sizeof(line) - n, " RET=FULL");
		else if (b->d.dsn_ret == DSN_RET_HDRS)
			n += snprintf(line + n, sizeof(line) - n, " RET=HDRS");
		if (b->d.dsn_envid[0] != '\0' && n < sizeof(line) &&
		    mta_xtext(x, sizeof(x), b->d.dsn_envid) == 0)
			mta_fmt(line + n, sizeof(line) - n, " ENVID=%s", x);
	}
	session_send(s, line);
	if (s->caps & EXT_PIPELINING) {
		for (i = 0; i < tx->nrcpt; i++)
			tx_rcpt_cmd(s, i);
		session_send(s, "DATA");
	}
	session_timer(s, delivery_cfg->limits.timeout_delivery);
}

static void
tx_end(struct mta_session *s)
{
	struct mta_tx	*tx = s->tx;

	s->tx = NULL;
	session_body_stop(s);
	free(s->accepted);
	s->accepted = NULL;
	s->nmails++;
	mta_tx_done(tx);
	session_ready(s);
}

/* A reply within a transaction: MAIL, RCPT 1..n, DATA, then the dot. */
static void
tx_reply(struct mta_session *s, const struct mta_reply *r)
{
	struct mta_tx	*tx = s->tx;
	int		 pipelining = s->caps & EXT_PIPELINING;
	int		 st = reply_status(r->code);
	size_t		 k = s->nreply++, i;

	if (k == 0) {
		if (r->code / 100 != 2) {
			s->mail_failed = 1;
			s->need_rset = 1;
			for (i = 0; i < tx->nrcpt; i++)
				mta_result(tx, i, st, r->text, s->relay,
				    s->tlsinfo);
			if (!pipelining)
				tx_end(s);
		} else if (!pipelining)
			tx_rcpt_cmd(s, 0);
		return;
	}
	if (k <= tx->nrcpt) {
		if (!s->mail_failed) {
			if (r->code / 100 == 2) {
				s->accepted[k - 1] = 1;
				s->naccepted++;
			} else
				mta_result(tx, k - 1, st, r->text, s->relay,
				    s->tlsinfo);
		}
		if (pipelining)
			return;
		if (k < tx->nrcpt)
			tx_rcpt_cmd(s, k);
		else if (s->naccepted > 0)
			session_send(s, "DATA");
		else {
			s->need_rset = 1;
			tx_end(s);
		}
		return;
	}
	if (k == tx->nrcpt + 1) {
		if (r->code != 354) {
			for (i = 0; i < tx->nrcpt; i++)
				if (s->accepted[i])
					mta_result(tx, i, st == PROTO_OK ?
					    PROTO_TEMPFAIL : st, r->text,
					    s->relay, s->tlsinfo);
			s->need_rset = 1;
			tx_end(s);
			return;
		}
		s->state = MTA_BODY;
		if (s->mail_failed || s->naccepted == 0) {
			/* RFC 2920 3.1: an empty message, then RSET. */
			s->discard = 1;
			session_send(s, ".");
		} else
			session_body_start(s);
		session_timer(s, delivery_cfg->limits.timeout_delivery * 2);
		return;
	}
}

static void
session_reply(struct mta_session *s, const struct mta_reply *r,
    const char *raw, size_t rawlen)
{
	struct mta_tx	*tx;
	char		 why[PROTO_REPLY_MAX + 32];
	size_t		 i;
	int		 st;

	switch (s->state) {
	case MTA_CONNECT:
	case MTA_READY:
		/* Unsolicited (e.g. 421 before closing). */
		session_error(s, r->text);
		return;
	case MTA_BANNER:
		if (r->code / 100 != 2) {
			session_next_route(s, r->text);
			return;
		}
		session_ehlo(s);
		break;
	case MTA_EHLO:
		if (r->code / 100 == 2) {
			s->caps = mta_reply_ehlo(raw, rawlen, &s->maxsize);
			session_greeted(s);
		} else if (r->code / 100 == 5 && s->tls == NULL) {
			char	line[PROTO_NAME_MAX + 8];

			mta_fmt(line, sizeof(line), "HELO %s",
			    delivery_cfg->hostname);
			session_send(s, line);
			s->state = MTA_HELO;
		} else
			session_next_route(s, r->text);
		break;
	case MTA_HELO:
		if (r->code / 100 != 2) {
			session_next_route(s, r->text);
			return;
		}
		s->caps = 0;
		session_greeted(s);
		break;
	case MTA_STARTTLS:
		if (r->code / 100 != 2) {
			if (s->level >= TLS_LEVEL_ENCRYPT) {
				mta_fmt(why, sizeof(why), "STARTTLS refused: "
				    "%s", r->text);
				session_next_route(s, why);
				return;
			}
			s->tls_failed_plain = 1;
			session_greeted(s);
			return;
		}
		session_tls_start(s);
		break;
	case MTA_AUTH_USER:
	case MTA_AUTH_PASS:
		if (r->code != 334) {
			mta_fmt(why, sizeof(why), "authentication failed: %s",
			    r->text);
			session_next_route(s, why);
			return;
		}
		session_auth_login_part(s, s->state == MTA_AUTH_PASS);
		s->state = s->state == MTA_AUTH_USER ? MTA_AUTH_PASS :
		    MTA_AUTH;
		break;
	case MTA_AUTH:
		if (r->code != 235) {
			mta_fmt(why, sizeof(why), "authentication failed: %s",
			    r->text);
			session_next_route(s, why);
			return;
		}
		session_ready(s);
		break;
	case MTA_RSET:
		tx_begin(s);
		break;
	case MTA_TX:
		tx_reply(s, r);
		break;
	case MTA_BODY:
		tx = s->tx;
		session_body_stop(s);
		if (s->discard) {
			s->need_rset = 1;
			tx_end(s);
			return;
		}
		st = reply_status(r->code);
		for (i = 0; i < tx->nrcpt; i++)
			if (s->accepted[i])
				mta_result(tx, i, st, r->text, s->relay,
				    s->tlsinfo);
		if (st != PROTO_OK)
			s->need_rset = 1;
		tx_end(s);
		break;
	case MTA_QUIT:
		session_close(s);
		break;
	}
}
