/*
 * smtpctl.c: the control program.  Talks to the running daemon through
 * the control socket (IMSG_CTL_* messages, protocol version checked in
 * the hello); commands that need no daemon run on their own.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <crypt.h>
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "defaults.h"
#include "../policyd/policy.h"
#include "ruleset.h"
#include "imsg.h"
#include "log.h"
#include "proto.h"
#include "util.h"

struct ctl_cmd {
	const char	*words[4];
	int		(*run)(int, char **);
	const char	*help;
};

static int	cmd_log_verbose(int, char **);
static int	cmd_log_brief(int, char **);
static int	cmd_encrypt(int, char **);
static int	cmd_show_queue(int, char **);
static int	cmd_msgref(uint32_t, const char *);
static int	cmd_schedule(int, char **);
static int	cmd_policy_test(int, char **);
static int	cmd_secure_show(int, char **);
static int	cmd_secure_log(int, char **);
static int	cmd_secure_revoke(int, char **);
static int	cmd_release(int, char **);
static int	cmd_remove(int, char **);

static const struct ctl_cmd commands[] = {
	{ { "encrypt" }, cmd_encrypt,
	    "encrypt [password]\thash a password for an auth table" },
	{ { "log", "verbose" }, cmd_log_verbose,
	    "log verbose\t\tlog debug messages" },
	{ { "log", "brief" }, cmd_log_brief,
	    "log brief\t\tstop logging debug messages" },
	{ { "show", "queue" }, cmd_show_queue,
	    "show queue\t\tlist queued messages" },
	{ { "schedule" }, cmd_schedule,
	    "schedule all|ID\t\ttry queued messages now" },
	{ { "release" }, cmd_release,
	    "release ID [rcpt]\trelay quarantined recipients" },
	{ { "remove" }, cmd_remove,
	    "remove ID [rcpt]\tdrop a message or recipient, no bounce" },
	{ { "policy", "test" }, cmd_policy_test,
	    "policy test [-t] [-f conf] [-a user] [-s sender] -r rcpt ... "
	    "FILE\n\t\t\t\tdecide for each recipient of a message file" },
	{ { "secure", "show" }, cmd_secure_show,
	    "secure show [ID]\tlist secured messages and recipients" },
	{ { "secure", "log" }, cmd_secure_log,
	    "secure log ID\t\taudit trail of a secured message" },
	{ { "secure", "revoke" }, cmd_secure_revoke,
	    "secure revoke ID [rcpt]\trevoke links; shred when none is left" },
};

static const char	*socket_path = SEAL_CONTROL_SOCKET;
static const char	*conf_path;
static struct imsgbuf	 ibuf;

static void
usage(void)
{
	size_t	i;

	fprintf(stderr, "usage: smtpctl [-D macro=value] [-f file | "
	    "-s socket] command [argument ...]\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "\t%s\n", commands[i].help);
	exit(1);
}

static void
ctl_send(uint32_t type, const void *data, size_t len)
{
	if (imsg_compose(&ibuf, type, 0, 0, -1, data, len) == -1)
		err(1, "imsg_compose");
	while (ibuf.wqlen > 0)
		if (imsgbuf_write(&ibuf) == -1)
			err(1, "write to control socket");
}

/* Wait for the next message; exits if the daemon goes away. */
static void
ctl_recv(struct imsg *imsg)
{
	ssize_t	n;
	int	r;

	for (;;) {
		if ((r = imsg_get(&ibuf, imsg)) == -1)
			errx(1, "malformed reply from smtpd");
		if (r == 1)
			return;
		if ((n = imsgbuf_read(&ibuf)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			err(1, "read from control socket");
		}
		if (n == 0)
			errx(1, "smtpd closed the connection");
	}
}

/* Print text replies; return 0 on OK or END, 1 on FAIL. */
static int
ctl_replies(void)
{
	struct imsg		 imsg;
	struct proto_text	 t;

	for (;;) {
		ctl_recv(&imsg);
		switch (imsg.hdr.type) {
		case IMSG_CTL_OK:
		case IMSG_CTL_END:
			imsg_free(&imsg);
			return 0;
		case IMSG_CTL_TEXT:
		case IMSG_CTL_FAIL:
			if (imsg.datalen != sizeof(t))
				errx(1, "malformed reply from smtpd");
			memcpy(&t, imsg.data, sizeof(t));
			t.text[sizeof(t.text) - 1] = '\0';
			if (imsg.hdr.type == IMSG_CTL_FAIL) {
				fprintf(stderr, "smtpctl: %s\n", t.text);
				imsg_free(&imsg);
				return 1;
			}
			printf("%s\n", t.text);
			break;
		default:
			errx(1, "unexpected reply %u from smtpd",
			    imsg.hdr.type);
		}
		imsg_free(&imsg);
	}
}

static void
ctl_connect(void)
{
	struct sockaddr_un	 sun;
	struct proto_hello	 hello;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, socket_path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "socket path too long: %s", socket_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "cannot connect to %s: is smtpd running?",
		    socket_path);
	imsgbuf_init(&ibuf, fd);
	memset(&hello, 0, sizeof(hello));
	hello.version = SEAL_PROTO_VERSION;
	hello.proc = PROC_MAX;
	hello.pid = (uint32_t)getpid();
	ctl_send(IMSG_CTL_HELLO, &hello, sizeof(hello));
	if (ctl_replies() != 0)
		exit(1);
}

static int
ctl_verbose(int level)
{
	struct proto_verbose	v;

	ctl_connect();
	memset(&v, 0, sizeof(v));
	v.level = level;
	ctl_send(IMSG_CTL_VERBOSE, &v, sizeof(v));
	if (ctl_replies() != 0)
		return 1;
	printf("logging %s\n", level ? "verbose" : "brief");
	return 0;
}

static int
cmd_log_verbose(int argc, char **argv)
{
	return ctl_verbose(1);
}

static int
cmd_log_brief(int argc, char **argv)
{
	return ctl_verbose(0);
}

/* Print a yescrypt hash of the password (argument, or a line on stdin). */
static int
cmd_encrypt(int argc, char **argv)
{
	char	*line = NULL, *salt, *hash;
	size_t	 sz = 0;
	ssize_t	 n;

	if (argc > 1)
		usage();
	if (argc == 0) {
		if ((n = getline(&line, &sz, stdin)) == -1)
			errx(1, "no password on standard input");
		line[strcspn(line, "\r\n")] = '\0';
	} else
		line = xstrdup(argv[0]);
	if ((salt = crypt_gensalt_ra("$y$", 0, NULL, 0)) == NULL)
		err(1, "crypt_gensalt");
	if ((hash = crypt(line, salt)) == NULL || hash[0] == '*')
		errx(1, "crypt failed");
	printf("%s\n", hash);
	freezero(line, strlen(line));
	free(salt);
	return 0;
}

static int
cmd_show_queue(int argc, char **argv)
{
	if (argc != 0)
		usage();
	ctl_connect();
	ctl_send(IMSG_CTL_SHOW_QUEUE, NULL, 0);
	return ctl_replies();
}

static int
cmd_schedule(int argc, char **argv)
{
	if (argc != 1)
		usage();
	return cmd_msgref(IMSG_CTL_SCHEDULE, argv[0]);
}

/* release, remove, secure revoke: ID [rcpt] */
static int
cmd_msg_rcpt(uint32_t type, int argc, char **argv)
{
	struct proto_revoke	rv;

	if (argc < 1 || argc > 2)
		usage();
	memset(&rv, 0, sizeof(rv));
	if (strlcpy(rv.msgid, argv[0], sizeof(rv.msgid)) >= sizeof(rv.msgid))
		errx(1, "bad message id \"%s\"", argv[0]);
	if (argc == 2 && strlcpy(rv.rcpt, argv[1], sizeof(rv.rcpt)) >=
	    sizeof(rv.rcpt))
		errx(1, "recipient too long");
	ctl_connect();
	ctl_send(type, &rv, sizeof(rv));
	return ctl_replies();
}

static int
cmd_release(int argc, char **argv)
{
	return cmd_msg_rcpt(IMSG_CTL_RELEASE, argc, argv);
}

static int
cmd_remove(int argc, char **argv)
{
	return cmd_msg_rcpt(IMSG_CTL_REMOVE, argc, argv);
}

/* A request naming one message, or every message when id is NULL. */
static int
cmd_msgref(uint32_t type, const char *id)
{
	struct proto_msgref	ref;

	memset(&ref, 0, sizeof(ref));
	if (id != NULL && strlcpy(ref.msgid, id, sizeof(ref.msgid)) >=
	    sizeof(ref.msgid))
		errx(1, "bad message id \"%s\"", id);
	ctl_connect();
	ctl_send(type, &ref, sizeof(ref));
	return ctl_replies();
}

static int
cmd_secure_show(int argc, char **argv)
{
	if (argc > 1)
		usage();
	return cmd_msgref(IMSG_CTL_SECURE_SHOW, argc ? argv[0] : NULL);
}

static int
cmd_secure_log(int argc, char **argv)
{
	if (argc != 1)
		usage();
	return cmd_msgref(IMSG_CTL_SECURE_LOG, argv[0]);
}

static int
cmd_secure_revoke(int argc, char **argv)
{
	return cmd_msg_rcpt(IMSG_CTL_SECURE_REVOKE, argc, argv);
}

int
main(int argc, char **argv)
{
	struct config	*cfg;
	const char	*conf = NULL;
	size_t		 i, w;
	int		 ch;

	log_init(1, 0);
	log_procname("smtpctl");
	while ((ch = getopt(argc, argv, "+D:f:s:")) != -1) {
		switch (ch) {
		case 'D':
			if (config_define(optarg) == -1)
				errx(1, "bad macro definition: %s", optarg);
			break;
		case 'f':
			conf = conf_path = optarg;
			break;
		case 's':
			socket_path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	if (conf != NULL) {
		if ((cfg = config_parse(conf, stderr)) == NULL)
			exit(1);
		socket_path = cfg->control_socket;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		for (w = 0; commands[i].words[w] != NULL; w++)
			if ((int)w >= argc ||
			    strcmp(argv[w], commands[i].words[w]) != 0)
				break;
		if (commands[i].words[w] == NULL)
			return commands[i].run(argc - (int)w, argv + w);
	}
	usage();
}

/*
 * policy test: the decision policyd would make for each recipient of a
 * message file, without a daemon: the match line for the recipient (as
 * from this machine, or as the authenticated user -a) names the policy.
 */
static int
cmd_policy_test(int argc, char **argv)
{
	struct config		*cfg;
	struct policy_engine	*eng;
	struct policy_input	 in;
	struct policy_verdict	 v;
	struct ruleset_query	 q;
	const struct match	*m;
	const char		*conf = conf_path ? conf_path : SEAL_CONFIG;
	const char		*rcpts[256], *one[1];
	char			 ebuf[512];
	FILE			*fp;
	uint8_t			*msg = NULL;
	size_t			 nrcpt = 0, len = 0, cap = 0, n, i;
	int			 ch, rc = 0;

	memset(&in, 0, sizeof(in));
	in.sender = "";
	optind = 0;
	while ((ch = getopt(argc + 1, argv - 1, "+a:f:r:s:t")) != -1) {
		switch (ch) {
		case 'a':
			in.auth_user = optarg;
			break;
		case 'f':
			conf = optarg;
			break;
		case 'r':
			if (nrcpt == sizeof(rcpts) / sizeof(rcpts[0]))
				errx(1, "too many recipients");
			rcpts[nrcpt++] = optarg;
			break;
		case 's':
			in.sender = optarg;
			break;
		case 't':
			in.trust_headers = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc != 1 || nrcpt == 0)
		usage();
	if ((fp = fopen(argv[0], "r")) == NULL)
		err(1, "%s", argv[0]);
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			msg = xreallocarray(msg, 1, cap);
		}
		if ((n = fread(msg + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	if (ferror(fp))
		err(1, "%s", argv[0]);
	fclose(fp);
	if ((cfg = config_parse(conf, stderr)) == NULL)
		exit(1);
	for (i = 0; i < nrcpt; i++) {
		memset(&q, 0, sizeof(q));
		q.local = in.auth_user == NULL;
		q.auth_user = in.auth_user;
		q.rcpt = rcpts[i];
		if ((m = ruleset_match(cfg, &q)) == NULL) {
			printf("%s reject no-match\n", rcpts[i]);
			continue;
		}
		if (m->policy == NULL) {
			printf("%s relay -\n", rcpts[i]);
			continue;
		}
		/* One engine per recipient: matches may name other policies. */
		if ((eng = policy_engine_new(m->policy, ebuf, sizeof(ebuf))) ==
		    NULL)
			errx(1, "%s", ebuf);
		one[0] = rcpts[i];
		if (policy_evaluate(eng, &in, msg, len, one, &v, 1) == -1)
			rc = 2;
		printf("%s %s %s\n", rcpts[i], policy_level_name(v.level),
		    v.rules[0] ? v.rules : "-");
		if (v.notes[0] != '\0')
			fprintf(stderr, "%s: %s\n", rcpts[i], v.notes);
		policy_engine_free(eng);
	}
	free(msg);
	config_free(cfg);
	return rc;
}
