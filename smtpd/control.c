/*
 * control.c: the control process (forked by the parent, chrooted to the
 * empty directory, its own user).
 *
 * Accepts smtpctl(8) connections on the control socket the parent bound,
 * checks the protocol version in IMSG_CTL_HELLO, and forwards requests to
 * the process that owns the answer.  A client is untrusted input: a bad
 * or malformed request drops that client, never the daemon.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "smtpd.h"
#include "util.h"

#define CONTROL_MAX_CLIENTS	32

struct ctl_client {
	TAILQ_ENTRY(ctl_client)	 entry;
	uint32_t		 id;
	struct imsgev		 iev;
	uid_t			 uid;
	int			 hello;
};

static TAILQ_HEAD(, ctl_client) clients = TAILQ_HEAD_INITIALIZER(clients);
static size_t		 nclients;
static uint32_t		 next_client_id = 1;
static struct event	 ev_accept;
static int		 ctlfd = -1;

static void	control_accept(int, short, void *);
static void	control_client_dispatch(struct imsgev *, struct imsg *);

static struct ctl_client *
control_client_find(uint32_t id)
{
	struct ctl_client	*c;

	TAILQ_FOREACH(c, &clients, entry)
		if (c->id == id)
			return c;
	return NULL;
}

/* Answers from the queue or cryptd, for the client named by hdr.peerid. */
static void
control_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct ctl_client	*c;
	struct proto_text	 t;
	uint32_t		 type;

	if (proc_of(iev) != PROC_QUEUE && proc_of(iev) != PROC_CRYPT)
		fatalx("unexpected %s from %s", proto_imsg_name(imsg->hdr.type),
		    proto_proc_name(proc_of(iev)));
	switch (imsg->hdr.type) {
	case IMSG_CONTROL_TEXT:
	case IMSG_CONTROL_FAIL:
		PROTO_CHECK_LEN(imsg, struct proto_text);
		memcpy(&t, imsg->data, sizeof(t));
		PROTO_CHECK_STR(t.text);
		type = imsg->hdr.type == IMSG_CONTROL_TEXT ? IMSG_CTL_TEXT :
		    IMSG_CTL_FAIL;
		if ((c = control_client_find(imsg->hdr.peerid)) != NULL)
			imsgev_compose(&c->iev, type, 0, 0, -1, &t, sizeof(t));
		break;
	case IMSG_CONTROL_END:
		if (imsg->datalen != 0)
			fatalx("bad CONTROL_END from %s",
			    proto_proc_name(proc_of(iev)));
		if ((c = control_client_find(imsg->hdr.peerid)) != NULL)
			imsgev_compose(&c->iev, IMSG_CTL_END, 0, 0, -1, NULL,
			    0);
		break;
	default:
		fatalx("unexpected %s from %s",
		    proto_imsg_name(imsg->hdr.type),
		    proto_proc_name(proc_of(iev)));
	}
}

static void
control_ready(void)
{
	event_set(&ev_accept, ctlfd, EV_READ | EV_PERSIST, control_accept,
	    NULL);
	event_add(&ev_accept, NULL);
}

void
control_main(struct config *cfg, int parentfd, int fd)
{
	log_procname("control");
	setproctitle("control");
	ctlfd = fd;
	event_init();
	proc_child_init(PROC_CONTROL, parentfd, control_dispatch,
	    control_ready);
	proc_drop_privileges(PROC_CONTROL, cfg->empty);
	proc_child_run();
}

static void
control_accept(int fd, short ev, void *arg)
{
	struct ctl_client	*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	int			 s;

	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (nclients >= CONTROL_MAX_CLIENTS) {
		log_warnx("too many control clients");
		close(s);
		return;
	}
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("getsockopt SO_PEERCRED");
		close(s);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->uid = cred.uid;
	c->id = next_client_id++;
	imsgev_init(&c->iev, s, "control", "client", control_client_dispatch,
	    c);
	TAILQ_INSERT_TAIL(&clients, c, entry);
	nclients++;
}

static void
control_client_drop(struct ctl_client *c)
{
	imsgev_close(&c->iev);
	TAILQ_REMOVE(&clients, c, entry);
	nclients--;
	free(c);
}

static void
control_reply_fail(struct ctl_client *c, const char *msg)
{
	struct proto_text	t;

	memset(&t, 0, sizeof(t));
	(void)strlcpy(t.text, msg, sizeof(t.text));
	imsgev_compose(&c->iev, IMSG_CTL_FAIL, 0, 0, -1, &t, sizeof(t));
}

/*
 * Requests control only checks and passes on: the payload kind, whether
 * it needs root, and who answers (with the client in hdr.peerid).
 */
enum ctl_payload { CTL_P_NONE, CTL_P_MSGREF, CTL_P_RCPTREF };

static const struct ctl_route {
	uint32_t		 type;
	enum ctl_payload	 payload;
	int			 root;
	enum proc_id		 to;
	uint32_t		 fwd;
} ctl_routes[] = {
	{ IMSG_CTL_SHOW_QUEUE, CTL_P_NONE, 0, PROC_QUEUE,
	    IMSG_QUEUE_CTL_SHOW },
	{ IMSG_CTL_SCHEDULE, CTL_P_MSGREF, 1, PROC_QUEUE,
	    IMSG_QUEUE_CTL_SCHEDULE },
	{ IMSG_CTL_SECURE_SHOW, CTL_P_MSGREF, 1, PROC_CRYPT,
	    IMSG_CRYPT_CTL_SHOW },
	{ IMSG_CTL_SECURE_LOG, CTL_P_MSGREF, 1, PROC_CRYPT,
	    IMSG_CRYPT_CTL_LOG },
	{ IMSG_CTL_SECURE_REVOKE, CTL_P_RCPTREF, 1, PROC_CRYPT,
	    IMSG_CRYPT_CTL_REVOKE },
	{ IMSG_CTL_RELEASE, CTL_P_RCPTREF, 1, PROC_QUEUE,
	    IMSG_QUEUE_CTL_RELEASE },
	{ IMSG_CTL_REMOVE, CTL_P_RCPTREF, 1, PROC_QUEUE,
	    IMSG_QUEUE_CTL_REMOVE },
};

/* Returns 0 when handled, -1 for a request that is not valid. */
static int
control_forward(struct ctl_client *c, struct imsg *imsg)
{
	const struct ctl_route	*rt = NULL;
	struct proto_msgref	 ref;
	struct proto_revoke	 rv;
	size_t			 i;

	for (i = 0; i < sizeof(ctl_routes) / sizeof(ctl_routes[0]); i++)
		if (ctl_routes[i].type == imsg->hdr.type)
			rt = &ctl_routes[i];
	if (rt == NULL)
		return -1;
	switch (rt->payload) {
	case CTL_P_NONE:
		if (imsg->datalen != 0)
			return -1;
		break;
	case CTL_P_MSGREF:
		if (imsg->datalen != sizeof(ref))
			return -1;
		memcpy(&ref, imsg->data, sizeof(ref));
		if (!proto_str_ok(ref.msgid, sizeof(ref.msgid)))
			return -1;
		break;
	case CTL_P_RCPTREF:
		if (imsg->datalen != sizeof(rv))
			return -1;
		memcpy(&rv, imsg->data, sizeof(rv));
		if (!proto_str_ok(rv.msgid, sizeof(rv.msgid)) ||
		    !proto_str_ok(rv.rcpt, sizeof(rv.rcpt)))
			return -1;
		break;
	}
	if (rt->root && c->uid != 0) {
		control_reply_fail(c, "permission denied");
		return 0;
	}
	proc_compose(rt->to, rt->fwd, c->id, -1, imsg->data, imsg->datalen);
	return 0;
}

static void
control_client_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct ctl_client	*c = iev->arg;
	struct proto_hello	 hello;
	struct proto_verbose	 v;

	if (imsg == NULL) {
		control_client_drop(c);
		return;
	}
	if (!c->hello) {
		if (imsg->hdr.type != IMSG_CTL_HELLO ||
		    imsg->datalen != sizeof(hello)) {
			log_warnx("control client: no hello, dropped");
			imsgev_close(iev);
			return;
		}
		memcpy(&hello, imsg->data, sizeof(hello));
		if (hello.version != SEAL_PROTO_VERSION) {
			log_warnx("control client speaks protocol %u, not %u",
			    hello.version, SEAL_PROTO_VERSION);
			control_reply_fail(c, "smtpctl and smtpd are from "
			    "different builds");
			imsgev_flush(iev);
			imsgev_close(iev);
			return;
		}
		c->hello = 1;
		imsgev_compose(iev, IMSG_CTL_OK, 0, 0, -1, NULL, 0);
		return;
	}
	switch (imsg->hdr.type) {
	case IMSG_CTL_VERBOSE:
		if (imsg->datalen != sizeof(v))
			goto bad;
		memcpy(&v, imsg->data, sizeof(v));
		if (v.level < 0 || v.level > 2)
			goto bad;
		if (c->uid != 0) {
			control_reply_fail(c, "permission denied");
			return;
		}
		proc_compose(PROC_PARENT, IMSG_PARENT_VERBOSE, 0, -1, &v,
		    sizeof(v));
		imsgev_compose(iev, IMSG_CTL_OK, 0, 0, -1, NULL, 0);
		return;
	default:
		if (control_forward(c, imsg) == 0)
			return;
		break;
	}
bad:
	log_warnx("control client: bad request %s, dropped",
	    proto_imsg_name(imsg->hdr.type));
	imsgev_close(iev);
}
