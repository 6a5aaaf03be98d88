/*
 * smtp_io.c: a front end session's socket (smtp process).
 *
 * Reads go into the session's input evbuffer (plain reads straight from
 * the socket, TLS reads through one process-wide buffer), replies
 * collect in the output evbuffer and leave in as few writes as possible.
 * Both buffers start empty and grow only as far as a client pushes them,
 * so an idle session costs a few hundred bytes besides the kernel's.
 * TLS handshakes (smtps, STARTTLS) run here through libtls.
 *
 * Invariants: a session is freed only from an event callback of its
 * own, after which nothing touches it; after STARTTLS nothing read in
 * plaintext survives (the input is dropped and reading stops until the
 * handshake owns the socket).
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "smtp.h"

#define IO_READ_MAX	(64 * 1024)	/* plain read size hint */
#define IO_TLS_CHUNK	16384		/* one TLS record */
#define IO_CLOSE_WAIT	10		/* seconds to drain on close */

static char	io_tlsbuf[IO_TLS_CHUNK];

static void	smtp_io_event(int, short, void *);
static void	smtp_io_timer(int, short, void *);
static int	smtp_io_read(struct smtp_session *);
static int	smtp_io_write(struct smtp_session *);
static int	smtp_io_handshake(struct smtp_session *);
static void	smtp_io_tls_begin(struct smtp_session *);

void
smtp_io_start(struct smtp_session *s)
{
	event_set(&s->ev, s->fd, 0, smtp_io_event, s);
	evtimer_set(&s->timer, smtp_io_timer, s);
	s->evflags = 0;
	if (s->sl->l->tls == LISTEN_SMTPS)
		smtp_io_tls_begin(s);
	smtp_io_update(s);
}

void
smtp_io_update(struct smtp_session *s)
{
	short	ev = 0;

	if (s->state == SMTP_S_TLS_ACCEPT)
		ev = s->tls_want;
	else {
		if (!(s->flags & (SMTP_F_PAUSED | SMTP_F_CLOSING)) &&
		    s->wait != SMTP_W_TLS)
			ev |= EV_READ;
		if (evbuffer_get_length(s->out) > 0 ||
		    (s->flags & SMTP_F_CLOSING) || s->wait == SMTP_W_TLS)
			ev |= EV_WRITE;
		if (s->tls != NULL)
			ev |= s->tls_want;
	}
	if (ev == s->evflags)
		return;
	if (s->evflags != 0)
		event_del(&s->ev);
	s->evflags = ev;
	if (ev == 0)
		return;
	event_set(&s->ev, s->fd, ev | EV_PERSIST, smtp_io_event, s);
	event_add(&s->ev, NULL);
}

void
smtp_io_timeout(struct smtp_session *s, int seconds)
{
	struct timeval	tv = { seconds, 0 };

	evtimer_add(&s->timer, &tv);
}

void
smtp_io_close(struct smtp_session *s)
{
	s->flags |= SMTP_F_CLOSING;
	smtp_io_timeout(s, IO_CLOSE_WAIT);
	smtp_io_update(s);
}

/* The session may go on with its input: a request was answered. */
void
smtp_io_resume(struct smtp_session *s)
{
	s->flags &= ~SMTP_F_PAUSED;
	smtp_session_input(s);
	/* TLS may hold decrypted bytes the poller cannot see. */
	if (s->tls != NULL && !(s->flags & SMTP_F_PAUSED))
		event_active(&s->ev, EV_READ, 1);
	smtp_io_update(s);
}

/* STARTTLS was answered: drop the plaintext, drain the 220, hand over. */
void
smtp_io_starttls(struct smtp_session *s)
{
	evbuffer_drain(s->in, evbuffer_get_length(s->in));
	s->wait = SMTP_W_TLS;
	smtp_io_update(s);
}

static void
smtp_io_tls_begin(struct smtp_session *s)
{
	if (tls_accept_socket(s->sl->tls, &s->tls, s->fd) == -1) {
		log_warnx("session %016llx: tls_accept_socket: %s",
		    (unsigned long long)s->id, tls_error(s->sl->tls));
		s->flags |= SMTP_F_CLOSING;
		return;
	}
	s->state = SMTP_S_TLS_ACCEPT;
	s->tls_want = EV_READ;
}

static int
smtp_io_handshake(struct smtp_session *s)
{
	char	err[256];
	int	r;

	r = tls_handshake(s->tls);
	if (r == TLS_WANT_POLLIN) {
		s->tls_want = EV_READ;
		return 0;
	}
	if (r == TLS_WANT_POLLOUT) {
		s->tls_want = EV_WRITE;
		return 0;
	}
	if (r == -1) {
		const char *e = tls_error(s->tls);

		log_info("session %016llx: TLS handshake failed: %s",
		    (unsigned long long)s->id, log_escape(err, sizeof(err),
		    e ? e : "unknown", e ? strlen(e) : 7));
		return -1;
	}
	s->tls_want = 0;
	s->flags |= SMTP_F_TLS;
	(void)snprintf(s->tls_info, sizeof(s->tls_info), "%s %s",
	    tls_conn_version(s->tls), tls_conn_cipher(s->tls));
	log_info("session %016llx: TLS established: %s",
	    (unsigned long long)s->id, s->tls_info);
	smtp_session_tls_ready(s);
	return 0;
}

/* Returns -1 if the session must end. */
static int
smtp_io_read(struct smtp_session *s)
{
	ssize_t	n;
	size_t	got = 0;

	if (s->flags & (SMTP_F_PAUSED | SMTP_F_CLOSING) ||
	    s->wait == SMTP_W_TLS)
		return 0;
	if (s->tls == NULL) {
		n = evbuffer_read(s->in, s->fd, IO_READ_MAX);
		if (n == 0)
			return -1;
		if (n == -1)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		got = n;
	} else {
		s->tls_want &= ~(EV_READ | EV_WRITE);
		for (;;) {
			n = tls_read(s->tls, io_tlsbuf, sizeof(io_tlsbuf));
			if (n == TLS_WANT_POLLIN)
				break;
			if (n == TLS_WANT_POLLOUT) {
				s->tls_want |= EV_WRITE;
				break;
			}
			if (n <= 0)
				return -1;
			evbuffer_add(s->in, io_tlsbuf, n);
			got += n;
			if (got >= IO_READ_MAX) {
				/* Come back for the rest; be fair. */
				event_active(&s->ev, EV_READ, 1);
				break;
			}
		}
	}
	if (got > 0) {
		if (s->state != SMTP_S_DATA)
			smtp_io_timeout(s,
			    smtp_cfg->limits.timeout_command);
		smtp_session_input(s);
	}
	return 0;
}

static int
smtp_io_write(struct smtp_session *s)
{
	size_t		 len;
	ssize_t		 n;
	unsigned char	*p;

	while ((len = evbuffer_get_length(s->out)) > 0) {
		if (s->tls == NULL) {
			n = evbuffer_write(s->out, s->fd);
			if (n == -1)
				return (errno == EAGAIN || errno == EINTR) ?
				    0 : -1;
			if (n == 0)
				return 0;
			continue;
		}
		if (len > IO_TLS_CHUNK)
			len = IO_TLS_CHUNK;
		if ((p = evbuffer_pullup(s->out, len)) == NULL)
			return -1;
		n = tls_write(s->tls, p, len);
		if (n == TLS_WANT_POLLOUT) {
			s->tls_want |= EV_WRITE;
			return 0;
		}
		if (n == TLS_WANT_POLLIN) {
			s->tls_want |= EV_READ;
			return 0;
		}
		if (n <= 0)
			return -1;
		s->tls_want &= ~EV_WRITE;
		evbuffer_drain(s->out, n);
	}
	if (s->flags & SMTP_F_CLOSING)
		return -1;
	if (s->wait == SMTP_W_TLS) {
		s->wait = SMTP_W_NONE;
		evbuffer_drain(s->in, evbuffer_get_length(s->in));
		smtp_io_tls_begin(s);
		if (s->flags & SMTP_F_CLOSING)
			return -1;
		if (smtp_io_handshake(s) == -1)
			return -1;
	}
	return 0;
}

/* Write what is pending now: one write for a batch of replies. */
static void
smtp_io_event(int fd, short ev, void *arg)
{
	struct smtp_session	*s = arg;

	if (s->state == SMTP_S_TLS_ACCEPT) {
		if (smtp_io_handshake(s) == -1)
			goto drop;
		if (s->state == SMTP_S_TLS_ACCEPT) {
			smtp_io_update(s);
			return;
		}
		if (smtp_io_write(s) == -1)
			goto drop;
		smtp_io_update(s);
		return;
	}
	if ((ev & EV_WRITE) || (s->tls != NULL && (s->tls_want & EV_WRITE)))
		if (smtp_io_write(s) == -1)
			goto drop;
	if (ev & EV_READ || s->tls != NULL) {
		if (smtp_io_read(s) == -1) {
			smtp_session_free(s, "disconnected");
			return;
		}
		/* Answer what was read at once. */
		if (evbuffer_get_length(s->out) > 0 ||
		    (s->flags & SMTP_F_CLOSING) || s->wait == SMTP_W_TLS)
			if (smtp_io_write(s) == -1)
				goto drop;
	}
	smtp_io_update(s);
	return;
drop:
	smtp_session_free(s, (s->flags & SMTP_F_CLOSING) ? NULL :
	    "write error");
}

static void
smtp_io_timer(int fd, short ev, void *arg)
{
	struct smtp_session	*s = arg;

	if (s->flags & SMTP_F_CLOSING) {
		smtp_session_free(s, "timeout while closing");
		return;
	}
	if (s->state == SMTP_S_TLS_ACCEPT) {
		smtp_session_free(s, "timeout in TLS handshake");
		return;
	}
	smtp_session_timeout(s);
	smtp_io_update(s);
}
