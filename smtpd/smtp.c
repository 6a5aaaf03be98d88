/*
 * smtp.c: the SMTP front end process (forked by the parent, chrooted to
 * the empty directory, running as _sealsmtp).
 *
 * Owns the listening sockets the parent bound, one libtls server context
 * per TLS listener (built from the pki held in memory, before the
 * privilege drop), the accept loop with its limits (sessions in total
 * and per client address) and the table of sessions by id.  Receives
 * IMSG_SMTP_AUTH_RESULT and IMSG_SMTP_RCPT_RESULT from policyd and
 * IMSG_SMTP_MESSAGE_FILE and IMSG_SMTP_COMMIT_RESULT from the queue and
 * hands each to its session (smtp_session.c); an answer for a session
 * that is gone is dropped, and a message file for it is aborted.
 *
 * Invariant: a client can make this process refuse or close its own
 * session, never stop the process.
 */
#include <sys/socket.h>
#include <sys/cdefs.h>
/* libbsd's tree.h marks its generated functions so; cdefs.h does not. */
#ifndef __unused
#define __unused __attribute__((__unused__))
#endif
#include <sys/tree.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "smtp.h"
#include "smtpd.h"
#include "util.h"

#define SMTP_ACCEPT_BATCH	64
#define SMTP_ACCEPT_PAUSE	1	/* seconds, when out of descriptors */

struct smtp_ipcount {
	RB_ENTRY(smtp_ipcount)	 entry;
	char			 ip[PROTO_IP_MAX];
	size_t			 count;
};

RB_HEAD(smtp_sessions, smtp_session);
RB_HEAD(smtp_ipcounts, smtp_ipcount);

static int	session_cmp(struct smtp_session *, struct smtp_session *);
static int	ipcount_cmp(struct smtp_ipcount *, struct smtp_ipcount *);
RB_PROTOTYPE_STATIC(smtp_sessions, smtp_session, entry, session_cmp)
RB_PROTOTYPE_STATIC(smtp_ipcounts, smtp_ipcount, entry, ipcount_cmp)

struct config			*smtp_cfg;
static struct smtp_sessions	 sessions = RB_INITIALIZER(&sessions);
static struct smtp_ipcounts	 ipcounts = RB_INITIALIZER(&ipcounts);
static size_t			 nsessions;
static struct smtp_listener	*listeners;
static size_t			 nlisteners;
static struct event		 ev_resume;
static int			 accepting;

static void	smtp_dispatch(struct imsgev *, struct imsg *);
static void	smtp_ready(void);
static void	smtp_tls_init(void);
static void	smtp_accept(int, short, void *);
static void	smtp_accept_pause(void);
static void	smtp_accept_resume(int, short, void *);
static void	smtp_refuse(int, const char *);

static int
session_cmp(struct smtp_session *a, struct smtp_session *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

static int
ipcount_cmp(struct smtp_ipcount *a, struct smtp_ipcount *b)
{
	return strcmp(a->ip, b->ip);
}

RB_GENERATE_STATIC(smtp_sessions, smtp_session, entry, session_cmp)
RB_GENERATE_STATIC(smtp_ipcounts, smtp_ipcount, entry, ipcount_cmp)

struct smtp_session *
smtp_session_find(uint64_t id)
{
	struct smtp_session	key;

	memset(&key, 0, sizeof(key));
	key.id = id;
	return RB_FIND(smtp_sessions, &sessions, &key);
}

void
smtp_session_register(struct smtp_session *s)
{
	struct smtp_ipcount	key, *ic;

	do {
		s->id = ((uint64_t)arc4random() << 32) | arc4random();
	} while (s->id == 0 || RB_INSERT(smtp_sessions, &sessions, s) != NULL);
	nsessions++;
	memset(&key, 0, sizeof(key));
	(void)strlcpy(key.ip, s->ip, sizeof(key.ip));
	if ((ic = RB_FIND(smtp_ipcounts, &ipcounts, &key)) == NULL) {
		ic = xcalloc(1, sizeof(*ic));
		(void)strlcpy(ic->ip, s->ip, sizeof(ic->ip));
		RB_INSERT(smtp_ipcounts, &ipcounts, ic);
	}
	ic->count++;
	s->ipc = ic;
}

void
smtp_session_unregister(struct smtp_session *s)
{
	RB_REMOVE(smtp_sessions, &sessions, s);
	nsessions--;
	if (s->ipc != NULL && --s->ipc->count == 0) {
		RB_REMOVE(smtp_ipcounts, &ipcounts, s->ipc);
		free(s->ipc);
	}
	s->ipc = NULL;
	if (!accepting)
		smtp_accept_resume(-1, 0, NULL);
}

static size_t
smtp_ip_sessions(const char *ip)
{
	struct smtp_ipcount	key, *ic;

	memset(&key, 0, sizeof(key));
	(void)strlcpy(key.ip, ip, sizeof(key.ip));
	ic = RB_FIND(smtp_ipcounts, &ipcounts, &key);
	return ic != NULL ? ic->count : 0;
}

/* Answers for a session that is gone. */
static void
smtp_dispatch_orphan(struct imsg *imsg)
{
	struct proto_msgfile	mf;
	struct proto_msgref	ref;

	if (imsg->hdr.type != IMSG_SMTP_MESSAGE_FILE)
		return;
	memcpy(&mf, imsg->data, sizeof(mf));
	if (mf.status != PROTO_OK)
		return;
	memset(&ref, 0, sizeof(ref));
	ref.reqid = mf.reqid;
	(void)strlcpy(ref.msgid, mf.msgid, sizeof(ref.msgid));
	proc_compose(PROC_QUEUE, IMSG_QUEUE_MESSAGE_ABORT, 0, -1, &ref,
	    sizeof(ref));
}

static void
smtp_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct smtp_session	*s;
	enum proc_id		 from = proc_of(iev);
	uint64_t		 reqid;

	switch (imsg->hdr.type) {
	case IMSG_SMTP_AUTH_RESULT:
	case IMSG_SMTP_RCPT_RESULT: {
		struct proto_result	*r;

		if (from != PROC_POLICY)
			goto bad;
		PROTO_CHECK_LEN(imsg, struct proto_result);
		r = imsg->data;
		PROTO_CHECK_STR(r->text);
		if (r->status != PROTO_OK && r->status != PROTO_TEMPFAIL &&
		    r->status != PROTO_PERMFAIL)
			fatalx("bad status %d from policy", r->status);
		reqid = r->reqid;
		break;
	}
	case IMSG_SMTP_MESSAGE_FILE: {
		struct proto_msgfile	*mf;

		if (from != PROC_QUEUE)
			goto bad;
		PROTO_CHECK_LEN(imsg, struct proto_msgfile);
		mf = imsg->data;
		PROTO_CHECK_STR(mf->msgid);
		if ((mf->status == PROTO_OK) != (imsg->fd != -1))
			fatalx("message file: status %d with%s fd",
			    mf->status, imsg->fd == -1 ? "out" : "");
		reqid = mf->reqid;
		break;
	}
	case IMSG_SMTP_COMMIT_RESULT: {
		struct proto_commit	*c;

		if (from != PROC_QUEUE)
			goto bad;
		PROTO_CHECK_LEN(imsg, struct proto_commit);
		c = imsg->data;
		PROTO_CHECK_STR(c->msgid);
		PROTO_CHECK_STR(c->text);
		if (c->status != PROTO_OK && c->status != PROTO_TEMPFAIL &&
		    c->status != PROTO_PERMFAIL)
			fatalx("bad status %d from queue", c->status);
		reqid = c->reqid;
		break;
	}
	default:
		goto bad;
	}
	if ((s = smtp_session_find(reqid)) == NULL) {
		log_debug("%s for a closed session %016llx",
		    proto_imsg_name(imsg->hdr.type),
		    (unsigned long long)reqid);
		smtp_dispatch_orphan(imsg);
		return;
	}
	smtp_session_imsg(s, imsg);
	return;
bad:
	fatalx("unexpected %s from %s", proto_imsg_name(imsg->hdr.type),
	    proto_proc_name(from));
}

static void
smtp_tls_init(void)
{
	struct tls_config	*tc;
	struct smtp_listener	*sl;
	struct pki		*pki;
	size_t			 i;

	if (tls_init() == -1)
		fatalx("tls_init");
	for (i = 0; i < nlisteners; i++) {
		sl = &listeners[i];
		if (sl->l->tls == LISTEN_PLAIN || (pki = sl->l->pki) == NULL)
			continue;
		if ((tc = tls_config_new()) == NULL)
			fatalx("tls_config_new");
		if (tls_config_set_keypair_mem(tc, pki->cert, pki->cert_len,
		    pki->key, pki->key_len) == -1)
			fatalx("listener %s: pki %s: %s", sl->name, pki->name,
			    tls_config_error(tc));
		if ((sl->tls = tls_server()) == NULL)
			fatalx("tls_server");
		if (tls_configure(sl->tls, tc) == -1)
			fatalx("listener %s: %s", sl->name,
			    tls_error(sl->tls));
		tls_config_free(tc);
	}
	/* The contexts hold their own copies. */
	TAILQ_FOREACH(pki, &smtp_cfg->pkis, entry)
		if (pki->key != NULL)
			explicit_bzero(pki->key, pki->key_len);
}

static void
smtp_refuse(int fd, const char *msg)
{
	/* Best effort: the socket is new, a short write goes through. */
	if (write(fd, msg, strlen(msg)) == -1)
		log_debug("refusing: %s", strerror(errno));
	close(fd);
}

static void
smtp_accept(int lfd, short ev, void *arg)
{
	struct smtp_listener	*sl = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct limits		*lim = &smtp_cfg->limits;
	char			 ip[PROTO_IP_MAX], msg[256];
	int			 fd, i, on = 1;

	for (i = 0; i < SMTP_ACCEPT_BATCH; i++) {
		sslen = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept");
				smtp_accept_pause();
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		if (getnameinfo((struct sockaddr *)&ss, sslen, ip, sizeof(ip),
		    NULL, 0, NI_NUMERICHOST) != 0)
			(void)strlcpy(ip, "unknown", sizeof(ip));
		if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip, '.') != NULL)
			memmove(ip, ip + 7, strlen(ip + 7) + 1);
		if (nsessions >= lim->max_sessions) {
			log_info("refused [%s] on %s: too many sessions",
			    ip, sl->name);
			(void)snprintf(msg, sizeof(msg), "421 4.7.0 %s Too many "
			    "sessions, try again later\r\n", sl->hostname);
			smtp_refuse(fd, sl->l->tls == LISTEN_SMTPS ? "" : msg);
			continue;
		}
		if (smtp_ip_sessions(ip) >= lim->max_sessions_per_ip) {
			log_info("refused [%s] on %s: too many sessions "
			    "from this address", ip, sl->name);
			(void)snprintf(msg, sizeof(msg), "421 4.7.0 %s Too many "
			    "sessions from your address, try again later\r\n",
			    sl->hostname);
			smtp_refuse(fd, sl->l->tls == LISTEN_SMTPS ? "" : msg);
			continue;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on));
		smtp_session_new(sl, fd, (struct sockaddr *)&ss, sslen);
	}
}

static void
smtp_accept_pause(void)
{
	struct timeval	tv = { SMTP_ACCEPT_PAUSE, 0 };
	size_t		i;

	if (!accepting)
		return;
	for (i = 0; i < nlisteners; i++)
		event_del(&listeners[i].ev);
	accepting = 0;
	evtimer_add(&ev_resume, &tv);
}

static void
smtp_accept_resume(int fd, short ev, void *arg)
{
	size_t	i;

	if (accepting)
		return;
	evtimer_del(&ev_resume);
	for (i = 0; i < nlisteners; i++)
		event_add(&listeners[i].ev, NULL);
	accepting = 1;
}

static void
smtp_ready(void)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++) {
		event_set(&listeners[i].ev, listeners[i].l->fd,
		    EV_READ | EV_PERSIST, smtp_accept, &listeners[i]);
		event_add(&listeners[i].ev, NULL);
	}
	evtimer_set(&ev_resume, smtp_accept_resume, NULL);
	accepting = 1;
	log_debug("ready, %zu listener%s", nlisteners,
	    nlisteners == 1 ? "" : "s");
}

void
smtp_main(struct config *cfg, int parentfd)
{
	struct listener	*l;
	size_t		 i = 0;

	log_procname("smtp");
	setproctitle("smtp");
	smtp_cfg = cfg;
	TAILQ_FOREACH(l, &cfg->listeners, entry)
		nlisteners++;
	listeners = xcalloc(nlisteners, sizeof(*listeners));
	TAILQ_FOREACH(l, &cfg->listeners, entry) {
		if (l->fd == -1)
			fatalx("listener %s port %d is not bound", l->addr,
			    l->port);
		listeners[i].l = l;
		listeners[i].hostname = l->hostname != NULL ? l->hostname :
		    cfg->hostname;
		if (l->ss.ss_family == AF_INET6)
			(void)snprintf(listeners[i].name,
			    sizeof(listeners[i].name), "[%s]:%d", l->addr,
			    l->port);
		else
			(void)snprintf(listeners[i].name,
			    sizeof(listeners[i].name), "%s:%d", l->addr,
			    l->port);
		i++;
	}
	/* OpenSSL reads its configuration: before the chroot. */
	smtp_tls_init();
	event_init();
	proc_child_init(PROC_SMTP, parentfd, smtp_dispatch, smtp_ready);
	proc_drop_privileges(PROC_SMTP, cfg->empty);
	proc_child_run();
}
