/*
 * proc.c: what every child process does to start: options of the exec'd
 * helpers, the hello to the parent, receiving peer channels, and the
 * privilege drop (chroot, own user, no_new_privs, parent-death signal).
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defaults.h"
#include "log.h"
#include "proc.h"
#include "util.h"

const struct proc_desc proc_table[PROC_MAX] = {
	{ PROC_PARENT,	 "parent",   NULL,	  "root" },
	{ PROC_SMTP,	 "smtp",     NULL,	  SEAL_USER_SMTP },
	{ PROC_QUEUE,	 "queue",    NULL,	  SEAL_USER_QUEUE },
	{ PROC_CONTROL,	 "control",  NULL,	  SEAL_USER_CONTROL },
	{ PROC_POLICY,	 "policy",   "policyd",	  SEAL_USER_POLICY },
	{ PROC_DELIVERY, "delivery", "deliveryd", SEAL_USER_DELIVERY },
	{ PROC_CRYPT,	 "crypt",    "cryptd",	  SEAL_USER_CRYPT },
	{ PROC_PORTAL,	 "portal",   "portald",	  SEAL_USER_PORTAL },
};

/* Who may talk to whom, besides everyone to the parent. */
const struct proc_link proc_links[] = {
	{ PROC_SMTP,	PROC_QUEUE },
	{ PROC_SMTP,	PROC_POLICY },
	{ PROC_QUEUE,	PROC_POLICY },
	{ PROC_QUEUE,	PROC_DELIVERY },
	{ PROC_QUEUE,	PROC_CRYPT },
	{ PROC_QUEUE,	PROC_CONTROL },
	{ PROC_CONTROL,	PROC_CRYPT },
	{ PROC_PORTAL,	PROC_CRYPT },
};
const size_t proc_nlinks = sizeof(proc_links) / sizeof(proc_links[0]);

struct imsgev	*proc_peer[PROC_MAX];

static enum proc_id	 proc_self;
static imsgev_handler	 proc_handler;
static void		(*proc_ready)(void);
static int		 proc_started;
static pid_t		 proc_ppid;

int
proc_trace_parse(const char *arg, int *trace)
{
	if (strcmp(arg, "imsg") == 0)
		*trace |= TRACE_IMSG;
	else if (strcmp(arg, "smtp") == 0)
		*trace |= TRACE_SMTP;
	else if (strcmp(arg, "all") == 0)
		*trace |= TRACE_IMSG | TRACE_SMTP;
	else
		return -1;
	return 0;
}

struct config *
proc_helper_init(int argc, char **argv, enum proc_id self,
    struct proc_opts *opts)
{
	struct config	*cfg;
	int		 ch;

	memset(opts, 0, sizeof(*opts));
	opts->config = SEAL_CONFIG;
	while ((ch = getopt(argc, argv, "D:df:T:v")) != -1) {
		switch (ch) {
		case 'D':
			if (config_define(optarg) == -1)
				errx(1, "bad -D %s", optarg);
			break;
		case 'd':
			opts->foreground = 1;
			break;
		case 'f':
			opts->config = optarg;
			break;
		case 'T':
			if (proc_trace_parse(optarg, &opts->trace) == -1)
				errx(1, "unknown trace \"%s\"", optarg);
			break;
		case 'v':
			opts->verbose++;
			break;
		default:
			fprintf(stderr, "usage: %s [-dv] [-T trace] -f file\n"
			    "(started by smtpd(8), not by hand)\n",
			    getprogname());
			exit(1);
		}
	}
	log_init(opts->foreground, opts->verbose);
	log_trace = opts->trace;
	log_procname(proc_table[self].name);
	setproctitle("%s", proc_table[self].name);
	if (fcntl(PROC_PARENT_FD, F_GETFD) == -1)
		fatalx("no channel to the parent on fd %d: %s is started by "
		    "smtpd(8)", PROC_PARENT_FD, getprogname());
	if ((cfg = config_parse(opts->config, stderr)) == NULL)
		fatalx("cannot load configuration %s", opts->config);
	return cfg;
}

enum proc_id
proc_of(const struct imsgev *iev)
{
	return (enum proc_id)(uintptr_t)iev->arg;
}

void
proc_compose(enum proc_id to, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	if (proc_peer[to] == NULL)
		fatalx("no channel to %s", proc_table[to].name);
	if (imsgev_compose(proc_peer[to], type, peerid, 0, fd, data,
	    len) == -1)
		fatal("compose %s to %s", proto_imsg_name(type),
		    proc_table[to].name);
}

static void
proc_child_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct proto_peer	 peer;
	struct imsgev		*piev;
	enum proc_id		 from = proc_of(iev);

	if (imsg == NULL) {
		if (from == PROC_PARENT) {
			log_debug("parent went away, exiting");
			exit(0);
		}
		fatalx("lost channel to %s, exiting", proc_table[from].name);
	}
	if (!proc_started && from == PROC_PARENT) {
		switch (imsg->hdr.type) {
		case IMSG_ANY_PEER:
			PROTO_CHECK_LEN(imsg, struct proto_peer);
			memcpy(&peer, imsg->data, sizeof(peer));
			if (peer.proc >= PROC_MAX || peer.proc == PROC_PARENT ||
			    peer.proc == proc_self ||
			    proc_peer[peer.proc] != NULL || imsg->fd == -1)
				fatalx("bad peer %u from parent", peer.proc);
			piev = xcalloc(1, sizeof(*piev));
			imsgev_init(piev, imsg->fd, proc_table[proc_self].name,
			    proc_table[peer.proc].name, proc_child_dispatch,
			    (void *)(uintptr_t)peer.proc);
			imsg->fd = -1;
			proc_peer[peer.proc] = piev;
			return;
		case IMSG_ANY_GO:
			if (imsg->datalen != 0)
				fatalx("bad GO from parent");
			proc_started = 1;
			if (proc_ready != NULL)
				proc_ready();
			return;
		default:
			fatalx("%s from parent before start",
			    proto_imsg_name(imsg->hdr.type));
		}
	}
	if (from == PROC_PARENT && imsg->hdr.type == IMSG_ANY_VERBOSE) {
		struct proto_verbose	v;

		PROTO_CHECK_LEN(imsg, struct proto_verbose);
		memcpy(&v, imsg->data, sizeof(v));
		if (v.level < 0 || v.level > 2)
			fatalx("bad verbose level %d", v.level);
		log_verbose = v.level;
		return;
	}
	if (!proc_started)
		fatalx("%s from %s before start",
		    proto_imsg_name(imsg->hdr.type), proc_table[from].name);
	proc_handler(iev, imsg);
}

void
proc_child_init(enum proc_id self, int fd, imsgev_handler handler,
    void (*ready)(void))
{
	struct proto_hello	 hello;
	struct imsgev		*iev;

	proc_self = self;
	proc_ppid = getppid();
	proc_handler = handler;
	proc_ready = ready;
	imsg_type_name = proto_imsg_name;
	iev = xcalloc(1, sizeof(*iev));
	imsgev_init(iev, fd, proc_table[self].name, "parent",
	    proc_child_dispatch, (void *)(uintptr_t)PROC_PARENT);
	proc_peer[PROC_PARENT] = iev;

	memset(&hello, 0, sizeof(hello));
	hello.version = SEAL_PROTO_VERSION;
	hello.proc = self;
	hello.pid = (uint32_t)getpid();
	proc_compose(PROC_PARENT, IMSG_PARENT_HELLO, 0, -1, &hello,
	    sizeof(hello));
}

void
proc_drop_privileges(enum proc_id self, const char *dir)
{
	struct passwd	*pw;
	struct stat	 sb;
	const char	*user = proc_table[self].user;

	if ((pw = getpwnam(user)) == NULL)
		fatalx("user %s does not exist (mk/users creates it)", user);
	if (stat(dir, &sb) == -1)
		fatal("chroot directory %s", dir);
	if (chroot(dir) == -1)
		fatal("chroot %s", dir);
	if (chdir("/") == -1)
		fatal("chdir /");
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("cannot drop privileges to %s", user);
	if (setuid(0) != -1 || geteuid() == 0)
		fatalx("privileges were not dropped");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl no_new_privs");
	/* Set after the credential change, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) == -1)
		fatal("prctl pdeathsig");
	if (getppid() != proc_ppid)
		fatalx("parent went away during start");
	sandbox_enter(self);
	log_debug("running as %s in %s", user, dir);
}

static void
proc_child_sig(int sig, short ev, void *arg)
{
	log_debug("received signal %d, exiting", sig);
	exit(0);
}

void
proc_child_run(void)
{
	static struct event	ev_term, ev_int;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal_set(&ev_term, SIGTERM, proc_child_sig, NULL);
	signal_set(&ev_int, SIGINT, proc_child_sig, NULL);
	signal_add(&ev_term, NULL);
	signal_add(&ev_int, NULL);
	event_dispatch();
	fatalx("event loop ended");
}
