/*
 * smtpd.c: the parent process.
 *
 * Runs as root without chroot.  Parses the configuration, binds the
 * listeners and the control socket, creates a socketpair to each child
 * and one per pair of children that talk (proc_links), forks the front
 * end, the queue and the control process, and execs policyd, deliveryd,
 * cryptd and portald with their parent channel on descriptor 3.  Each
 * child says hello; the parent checks the protocol version and hands it
 * the ends of its peer links, then tells it to go.
 *
 * Invariant: the daemon is all or nothing.  If any child exits the
 * parent stops the others and exits non-zero; if the parent dies the
 * children see their channel close and exit.  SIGTERM stops everything
 * and exits 0.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "defaults.h"
#include "log.h"
#include "notice.h"
#include "proc.h"
#include "smtpd.h"
#include "util.h"

#define MAX_LINKS	32
#define MAX_DEFINES	16

struct child {
	pid_t		 pid;
	int		 fd;		/* the parent's end */
	int		 childfd;	/* the child's end, until it runs */
	struct imsgev	 iev;
	int		 hello;
};

static struct child	 children[PROC_MAX];
static int		 link_fds[MAX_LINKS][2];	/* [k][0]: a's end */
static struct config	*cfg;
static struct proc_opts	 opts;
static int		 ctl_fd = -1;
static int		 stopping;
static struct event	 ev_start_timeout;
static char		 helper_dir[PATH_MAX];
static int		 helper_intree;
static char		*defines[MAX_DEFINES];
static int		 ndefines;
extern char		**environ;

static void	usage(void) __attribute__((noreturn));
static void	parent_shutdown(int) __attribute__((noreturn));
static void	parent_dispatch(struct imsgev *, struct imsg *);
static void	parent_sig(int, short, void *);
static void	parent_verbose(struct imsg *);
static void	parent_start_timeout(int, short, void *);
static int	setup_dirs(void);
static int	bind_listeners(void);
static int	bind_control(void);
static void	find_helpers(void);
static void	spawn(enum proc_id);

static void
usage(void)
{
	fprintf(stderr, "usage: smtpd [-dnv] [-D macro=value] [-f file] "
	    "[-T imsg|smtp]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct event	 ev_sigterm, ev_sigint, ev_sighup, ev_sigchld;
	struct timeval	 tv;
	size_t		 k;
	int		 ch, check = 0, p, sp[2];

	setproctitle_init(argc, argv, environ);
	opts.config = SEAL_CONFIG;
	while ((ch = getopt(argc, argv, "D:df:nT:v")) != -1) {
		switch (ch) {
		case 'D':
			if (ndefines == MAX_DEFINES || config_define(optarg) == -1)
				errx(1, "-D %s: want NAME=value (at most %d)",
				    optarg, MAX_DEFINES);
			defines[ndefines++] = optarg;
			break;
		case 'd':
			opts.foreground = 1;
			break;
		case 'f':
			opts.config = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'T':
			if (proc_trace_parse(optarg, &opts.trace) == -1)
				errx(1, "unknown trace \"%s\" (imsg, smtp, all)",
				    optarg);
			break;
		case 'v':
			opts.verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init(1, opts.verbose);
	log_procname("smtpd");
	log_trace = opts.trace;
	imsg_type_name = proto_imsg_name;

	if ((cfg = config_parse(opts.config, stderr)) == NULL)
		exit(1);
	if (config_load_pki(cfg, stderr) == -1)
		exit(1);
	find_helpers();
	/* The queue cannot read them in its chroot: read them now. */
	if (!TAILQ_EMPTY(&cfg->policies) && notice_load(cfg,
	    helper_intree ? helper_dir : NULL, stderr) == -1)
		exit(1);
	if (check) {
		printf("configuration OK\n");
		exit(0);
	}
	if (geteuid() != 0)
		errx(1, "need root privileges");
	if (TAILQ_EMPTY(&cfg->listeners))
		errx(1, "%s: no listen on line: nothing to serve",
		    opts.config);
	/* Helpers are told the same file; make it independent of cwd. */
	if ((opts.config = realpath(opts.config, NULL)) == NULL)
		err(1, "realpath");
	for (p = 0; p < PROC_MAX; p++)
		if (p != PROC_PARENT && getpwnam(proc_table[p].user) == NULL)
			errx(1, "user %s does not exist (run make install, "
			    "or mk/users as root)", proc_table[p].user);
	if (setup_dirs() == -1 || bind_listeners() == -1 ||
	    bind_control() == -1)
		exit(1);

	if (!opts.foreground && daemon(0, 0) == -1)
		err(1, "daemon");
	log_init(opts.foreground, opts.verbose);
	signal(SIGPIPE, SIG_IGN);

	for (p = 0; p < PROC_MAX; p++) {
		children[p].fd = children[p].childfd = -1;
		if (p == PROC_PARENT)
			continue;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sp) == -1)
			fatal("socketpair");
		children[p].fd = sp[0];
		children[p].childfd = sp[1];
	}
	if (proc_nlinks > MAX_LINKS)
		fatalx("too many links");
	for (k = 0; k < proc_nlinks; k++)
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    link_fds[k]) == -1)
			fatal("socketpair");

	for (p = 0; p < PROC_MAX; p++)
		if (p != PROC_PARENT)
			spawn(p);

	setproctitle("parent");
	event_init();
	for (p = 0; p < PROC_MAX; p++) {
		if (p == PROC_PARENT)
			continue;
		close(children[p].childfd);
		children[p].childfd = -1;
		imsgev_init(&children[p].iev, children[p].fd, "parent",
		    proc_table[p].name, parent_dispatch,
		    (void *)(uintptr_t)p);
	}
	signal_set(&ev_sigterm, SIGTERM, parent_sig, NULL);
	signal_set(&ev_sigint, SIGINT, parent_sig, NULL);
	signal_set(&ev_sighup, SIGHUP, parent_sig, NULL);
	signal_set(&ev_sigchld, SIGCHLD, parent_sig, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sighup, NULL);
	signal_add(&ev_sigchld, NULL);
	evtimer_set(&ev_start_timeout, parent_start_timeout, NULL);
	tv.tv_sec = HELPER_START_TIMEOUT;
	tv.tv_usec = 0;
	evtimer_add(&ev_start_timeout, &tv);

	log_info("sealrelay starting, pid %ld", (long)getpid());
	event_dispatch();
	parent_shutdown(1);
}

/* Use the helpers next to this smtpd when it runs from the build tree. */
static void
find_helpers(void)
{
	char	 self[PATH_MAX], probe[PATH_MAX], *slash;
	ssize_t	 n;

	(void)strlcpy(helper_dir, SEAL_LIBEXECDIR, sizeof(helper_dir));
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		return;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return;
	*slash = '\0';				/* .../smtpd */
	if ((slash = strrchr(self, '/')) == NULL)
		return;
	*slash = '\0';				/* build tree top */
	if (snprintf(probe, sizeof(probe), "%s/policyd/policyd", self) >=
	    (int)sizeof(probe))
		return;
	if (access(probe, X_OK) == 0) {
		(void)strlcpy(helper_dir, self, sizeof(helper_dir));
		helper_intree = 1;
	}
}

static int
setup_dir(const char *path, const char *user, mode_t mode)
{
	struct passwd	*pw;
	struct stat	 sb;
	uid_t		 uid = 0;
	gid_t		 gid = 0;

	if (user != NULL) {
		if ((pw = getpwnam(user)) == NULL)
			return -1;
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (mkdir(path, mode) == -1 && errno != EEXIST) {
		warn("mkdir %s", path);
		return -1;
	}
	if (lstat(path, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		warnx("%s is not a directory", path);
		return -1;
	}
	if (chown(path, uid, gid) == -1 || chmod(path, mode) == -1) {
		warn("%s", path);
		return -1;
	}
	return 0;
}

static int
setup_dirs(void)
{
	if (setup_dir(cfg->empty, NULL, 0755) == -1 ||
	    setup_dir(cfg->spool, SEAL_USER_QUEUE, 0700) == -1 ||
	    setup_dir(cfg->vault, SEAL_USER_CRYPT, 0700) == -1)
		return -1;
	return 0;
}

static int
bind_listeners(void)
{
	struct listener	*l;
	int		 fd, on = 1;

	TAILQ_FOREACH(l, &cfg->listeners, entry) {
		fd = socket(l->ss.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			warn("%s:%d: socket", l->file, l->line);
			return -1;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1)
			err(1, "setsockopt");
		if (l->ss.ss_family == AF_INET6 && setsockopt(fd,
		    IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
			err(1, "setsockopt");
		if (bind(fd, (struct sockaddr *)&l->ss, l->sslen) == -1) {
			warn("%s:%d: cannot listen on %s port %d", l->file,
			    l->line, l->addr, l->port);
			close(fd);
			return -1;
		}
		if (listen(fd, SOMAXCONN) == -1) {
			warn("listen");
			close(fd);
			return -1;
		}
		l->fd = fd;
	}
	return 0;
}

static int
bind_control(void)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, cfg->control_socket,
	    sizeof(sun.sun_path)) >= sizeof(sun.sun_path)) {
		warnx("control socket path too long: %s", cfg->control_socket);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		warn("socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		warnx("%s is in use: is smtpd already running?",
		    cfg->control_socket);
		close(fd);
		return -1;
	}
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		warn("socket");
		return -1;
	}
	(void)unlink(cfg->control_socket);
	old = umask(S_IXUSR | S_IRWXG | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		warn("bind %s", cfg->control_socket);
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	if (listen(fd, 16) == -1) {
		warn("listen %s", cfg->control_socket);
		close(fd);
		return -1;
	}
	ctl_fd = fd;
	return 0;
}

/* In a new child: keep only what proc p is entitled to. */
static void
child_close_others(enum proc_id p)
{
	struct listener	*l;
	size_t		 k;
	int		 q;

	for (q = 0; q < PROC_MAX; q++) {
		if (q == PROC_PARENT)
			continue;
		close(children[q].fd);
		if (q != (int)p)
			close(children[q].childfd);
	}
	for (k = 0; k < proc_nlinks; k++) {
		close(link_fds[k][0]);
		close(link_fds[k][1]);
	}
	if (p != PROC_SMTP)
		TAILQ_FOREACH(l, &cfg->listeners, entry) {
			close(l->fd);
			l->fd = -1;
		}
	if (p != PROC_CONTROL && ctl_fd != -1) {
		close(ctl_fd);
		ctl_fd = -1;
	}
}

static void
exec_helper(enum proc_id p)
{
	char	*argv[16 + 2 * MAX_DEFINES], *envp[8], path[PATH_MAX];
	char	*keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
		    "TZ", NULL };
	int	 argc = 0, envc = 0, i, fd = children[p].childfd;
	char	*v;

	/* Installed: LIBEXECDIR/policyd; build tree: TOP/policyd/policyd. */
	if ((helper_intree ? snprintf(path, sizeof(path), "%s/%s/%s",
	    helper_dir, proc_table[p].prog, proc_table[p].prog) :
	    snprintf(path, sizeof(path), "%s/%s", helper_dir,
	    proc_table[p].prog)) >= (int)sizeof(path))
		fatalx("helper path too long");
	if (fd == PROC_PARENT_FD) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			fatal("fcntl");
	} else if (dup2(fd, PROC_PARENT_FD) == -1)
		fatal("dup2");
	closefrom(PROC_PARENT_FD + 1);

	argv[argc++] = (char *)(uintptr_t)proc_table[p].prog;
	if (opts.foreground)
		argv[argc++] = "-d";
	for (i = 0; i < opts.verbose && i < 2; i++)
		argv[argc++] = "-v";
	if (opts.trace & TRACE_IMSG) {
		argv[argc++] = "-T";
		argv[argc++] = "imsg";
	}
	if (opts.trace & TRACE_SMTP) {
		argv[argc++] = "-T";
		argv[argc++] = "smtp";
	}
	for (i = 0; i < ndefines; i++) {
		argv[argc++] = "-D";
		argv[argc++] = defines[i];
	}
	argv[argc++] = "-f";
	argv[argc++] = (char *)(uintptr_t)opts.config;
	argv[argc] = NULL;

	envp[envc++] = "PATH=/usr/bin:/bin";
	for (i = 0; keep[i] != NULL; i++) {
		if ((v = getenv(keep[i])) == NULL)
			continue;
		if (xasprintf(&envp[envc], "%s=%s", keep[i], v) != -1)
			envc++;
	}
	envp[envc] = NULL;
	execve(path, argv, envp);
	fatal("cannot execute %s", path);
}

static void
spawn(enum proc_id p)
{
	pid_t	pid;
	int	fd;

	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		children[p].pid = pid;
		return;
	}
	fd = children[p].childfd;
	child_close_others(p);
	if (proc_table[p].prog != NULL)
		exec_helper(p);
	switch (p) {
	case PROC_SMTP:
		smtp_main(cfg, fd);
	case PROC_QUEUE:
		queue_main(cfg, fd);
	case PROC_CONTROL:
		control_main(cfg, fd, ctl_fd);
	default:
		fatalx("spawn: no entry for %s", proc_table[p].name);
	}
}

static void
parent_send_peers(enum proc_id p)
{
	struct proto_peer	 peer;
	size_t			 k;
	int			 q, all = 1;

	for (k = 0; k < proc_nlinks; k++) {
		memset(&peer, 0, sizeof(peer));
		if (proc_links[k].a == p) {
			peer.proc = proc_links[k].b;
			imsgev_compose(&children[p].iev, IMSG_ANY_PEER, 0, 0,
			    link_fds[k][0], &peer, sizeof(peer));
			link_fds[k][0] = -1;
		} else if (proc_links[k].b == p) {
			peer.proc = proc_links[k].a;
			imsgev_compose(&children[p].iev, IMSG_ANY_PEER, 0, 0,
			    link_fds[k][1], &peer, sizeof(peer));
			link_fds[k][1] = -1;
		}
	}
	imsgev_compose(&children[p].iev, IMSG_ANY_GO, 0, 0, -1, NULL, 0);
	for (q = 0; q < PROC_MAX; q++)
		if (q != PROC_PARENT && !children[q].hello)
			all = 0;
	if (all) {
		evtimer_del(&ev_start_timeout);
		log_info("all processes running");
	}
}

static void
parent_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct proto_hello	 hello;
	enum proc_id		 p = proc_of(iev);

	if (imsg == NULL) {
		if (!stopping)
			log_warnx("lost channel to %s", proc_table[p].name);
		parent_shutdown(1);
	}
	switch (imsg->hdr.type) {
	case IMSG_PARENT_HELLO:
		PROTO_CHECK_LEN(imsg, struct proto_hello);
		memcpy(&hello, imsg->data, sizeof(hello));
		if (hello.version != SEAL_PROTO_VERSION)
			fatalx("%s speaks protocol %u, not %u: mixed builds?",
			    proc_table[p].name, hello.version,
			    SEAL_PROTO_VERSION);
		if (hello.proc != p || hello.pid != (uint32_t)children[p].pid ||
		    children[p].hello)
			fatalx("bad hello from %s", proc_table[p].name);
		children[p].hello = 1;
		log_debug("%s running, pid %ld", proc_table[p].name,
		    (long)children[p].pid);
		parent_send_peers(p);
		break;
	case IMSG_PARENT_VERBOSE:
		if (p != PROC_CONTROL)
			fatalx("%s from %s", proto_imsg_name(imsg->hdr.type),
			    proc_table[p].name);
		parent_verbose(imsg);
		break;
	default:
		log_warnx("unexpected %s from %s",
		    proto_imsg_name(imsg->hdr.type), proc_table[p].name);
		parent_shutdown(1);
	}
}

static void
parent_verbose(struct imsg *imsg)
{
	struct proto_verbose	v;
	int			q;

	PROTO_CHECK_LEN(imsg, struct proto_verbose);
	memcpy(&v, imsg->data, sizeof(v));
	if (v.level < 0 || v.level > 2)
		fatalx("bad verbose level %d", v.level);
	log_verbose = v.level;
	log_info("log level set to %d", v.level);
	for (q = 0; q < PROC_MAX; q++)
		if (q != PROC_PARENT)
			imsgev_compose(&children[q].iev, IMSG_ANY_VERBOSE, 0,
			    0, -1, &v, sizeof(v));
}

static void
parent_start_timeout(int fd, short ev, void *arg)
{
	int	p;

	for (p = 0; p < PROC_MAX; p++)
		if (p != PROC_PARENT && !children[p].hello)
			log_warnx("%s did not start within %d seconds",
			    proc_table[p].name, HELPER_START_TIMEOUT);
	parent_shutdown(1);
}

static enum proc_id
child_by_pid(pid_t pid)
{
	int	p;

	for (p = 0; p < PROC_MAX; p++)
		if (p != PROC_PARENT && children[p].pid == pid)
			return p;
	return PROC_PARENT;
}

static void
log_exit(pid_t pid, int status)
{
	enum proc_id	p = child_by_pid(pid);

	if (p == PROC_PARENT)
		return;
	children[p].pid = 0;
	/*
	 * Once stopping, children end because of our SIGTERM or because a
	 * peer went away first: not news, unless a signal of its own.
	 */
	if (stopping && (WIFEXITED(status) || WTERMSIG(status) == SIGTERM)) {
		log_debug("%s (pid %ld) stopped", proc_table[p].name,
		    (long)pid);
		return;
	}
	if (WIFSIGNALED(status))
		log_warnx("%s (pid %ld) killed by signal %d",
		    proc_table[p].name, (long)pid, WTERMSIG(status));
	else
		log_warnx("%s (pid %ld) exited with status %d",
		    proc_table[p].name, (long)pid, WEXITSTATUS(status));
}

static void
parent_sig(int sig, short ev, void *arg)
{
	pid_t	pid;
	int	status, died = 0;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("received signal %d, stopping", sig);
		parent_shutdown(0);
	case SIGHUP:
		log_warnx("reload is not supported yet; restart to apply "
		    "a new configuration");
		break;
	case SIGCHLD:
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			log_exit(pid, status);
			died = 1;
		}
		if (died)
			parent_shutdown(1);
		break;
	}
}

static int
children_left(void)
{
	int	p, n = 0;

	for (p = 0; p < PROC_MAX; p++)
		if (p != PROC_PARENT && children[p].pid > 0)
			n++;
	return n;
}

static void
parent_shutdown(int code)
{
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };
	time_t		 deadline;
	pid_t		 pid;
	int		 p, status;

	if (!stopping)
		stopping = 1;
	for (p = 0; p < PROC_MAX; p++)
		if (p != PROC_PARENT && children[p].pid > 0)
			kill(children[p].pid, SIGTERM);
	deadline = time(NULL) + CHILD_STOP_GRACE;
	while (children_left() > 0 && time(NULL) < deadline) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			log_exit(pid, status);
		if (children_left() > 0)
			nanosleep(&ts, NULL);
	}
	for (p = 0; p < PROC_MAX; p++) {
		if (p == PROC_PARENT || children[p].pid <= 0)
			continue;
		log_warnx("%s did not stop, killing it", proc_table[p].name);
		kill(children[p].pid, SIGKILL);
		if (waitpid(children[p].pid, &status, 0) > 0)
			children[p].pid = 0;
	}
	if (cfg != NULL && cfg->control_socket != NULL)
		(void)unlink(cfg->control_socket);
	log_info("sealrelay stopped");
	exit(code);
}
