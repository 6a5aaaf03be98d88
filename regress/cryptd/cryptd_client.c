/*
 * cryptd_client.c: a test driver that runs the real cryptd(8) the way
 * smtpd(8) does -- channel to the parent on descriptor 3, the hello, its
 * peer channels, GO -- and then plays parent, queue, portal and control
 * at once, so crypt.t can exercise every operation through imsg before
 * the portal exists.  Must run as root: cryptd chroots and drops to its
 * user for real.
 *
 * usage: cryptd_client CRYPTD CONFIG LOGFILE
 * cryptd's log goes to LOGFILE; commands are read once it says "ready".
 * Commands on standard input, one a line, fields separated by tabs;
 * answers on standard output, one line each ("-" for an empty field):
 *   seal MSGID FILE SENDER SUBJECT HIDE RCPT,LEVEL,PHONE,LANG,LIFE[;...]
 *	-> "result IDX STATUS TOKEN EXPIRES TEXT" per recipient, "done STATUS"
 *   event MSGID IDX EVENT TEXT		-> (nothing)
 *   lookup TOKEN CLIENT		-> "lookup STATUS STATE LEVEL MSGID
 *					    SENDER SUBJECT RCPT PHONE"
 *   issue TOKEN CHANNEL CLIENT		-> "issued STATUS DEST CODE TEXT"
 *   check TOKEN CHANNEL CODE CLIENT	-> "check STATUS STATE LEFT SESSION
 *					    TEXT"
 *   open TOKEN SESSION OUTFILE		-> "open STATUS SIZE TEXT"
 *   reply TOKEN SESSION		-> "reply STATUS TEXT"
 *   show [ID] | log ID | revoke ID [RCPT] -> "text ..." lines, "end" or
 *					    "fail TEXT"
 *   badportal				-> a short payload from the portal;
 *					    then "exit STATUS" once cryptd ends
 *   sleep SECONDS
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "proc.h"
#include "proto.h"

static struct imsgbuf	parent, queue, portal, control;
static pid_t		child;

static void
xsend(struct imsgbuf *ib, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	if (imsg_compose(ib, type, peerid, 0, fd, data, len) == -1)
		err(1, "imsg_compose");
	while (ib->wqlen > 0)
		if (imsgbuf_write(ib) == -1)
			err(1, "write");
}

static void
xrecv(struct imsgbuf *ib, struct imsg *imsg)
{
	ssize_t	n;
	int	r;

	for (;;) {
		if ((r = imsg_get(ib, imsg)) == -1)
			errx(1, "malformed message from cryptd");
		if (r == 1)
			return;
		if ((n = imsgbuf_read(ib)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			err(1, "read");
		}
		if (n == 0) {
			printf("eof\n");
			fflush(stdout);
			exit(1);
		}
	}
}

static void
xrecv_type(struct imsgbuf *ib, struct imsg *imsg, uint32_t type,
    size_t len)
{
	xrecv(ib, imsg);
	if (imsg->hdr.type != type || imsg->datalen != len)
		errx(1, "got %s (%zu bytes), want %s",
		    proto_imsg_name(imsg->hdr.type), imsg->datalen,
		    proto_imsg_name(type));
}

static const char *
d(const char *s)
{
	return s[0] != '\0' ? s : "-";
}

/* Wait for cryptd's "ready" line: it serves peers only after GO. */
static void
wait_ready(const char *logfile)
{
	char	buf[65536];
	ssize_t	n;
	int	fd, i;

	for (i = 0; i < 200; i++) {
		if ((fd = open(logfile, O_RDONLY)) != -1) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				buf[n] = '\0';
				if (strstr(buf, "crypt: ready") != NULL)
					return;
			}
		}
		usleep(50 * 1000);
	}
	errx(1, "cryptd did not get ready; see %s", logfile);
}

static void
start(const char *cryptd, const char *conf, const char *logfile)
{
	struct proto_hello	hello;
	struct proto_peer	peer;
	struct imsg		imsg;
	int			sp[4][2], i;
	enum proc_id		peers[3] = { PROC_QUEUE, PROC_CONTROL,
				    PROC_PORTAL };

	for (i = 0; i < 4; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sp[i]) == -1)
			err(1, "socketpair");
	if ((child = fork()) == -1)
		err(1, "fork");
	if (child == 0) {
		int	lfd;

		if ((lfd = open(logfile, O_WRONLY | O_CREAT | O_APPEND,
		    0644)) == -1 || dup2(lfd, 1) == -1 || dup2(lfd, 2) == -1)
			err(1, "%s", logfile);
		if (dup2(sp[0][1], PROC_PARENT_FD) == -1)
			err(1, "dup2");
		closefrom(PROC_PARENT_FD + 1);
		execl(cryptd, "cryptd", "-d", "-v", "-f", conf, (char *)NULL);
		err(1, "exec %s", cryptd);
	}
	close(sp[0][1]);
	imsgbuf_init(&parent, sp[0][0]);
	imsgbuf_init(&queue, sp[1][0]);
	imsgbuf_init(&control, sp[2][0]);
	imsgbuf_init(&portal, sp[3][0]);
	xrecv_type(&parent, &imsg, IMSG_PARENT_HELLO, sizeof(hello));
	memcpy(&hello, imsg.data, sizeof(hello));
	if (hello.version != SEAL_PROTO_VERSION || hello.proc != PROC_CRYPT ||
	    hello.pid != (uint32_t)child)
		errx(1, "bad hello");
	imsg_free(&imsg);
	for (i = 0; i < 3; i++) {
		memset(&peer, 0, sizeof(peer));
		peer.proc = peers[i];
		xsend(&parent, IMSG_ANY_PEER, 0, sp[i + 1][1], &peer,
		    sizeof(peer));
	}
	xsend(&parent, IMSG_ANY_GO, 0, -1, NULL, 0);
	wait_ready(logfile);
}

static int
split(char *line, char **f, int max)
{
	int	n = 0;
	char	*p;

	while (n < max && (p = strsep(&line, "\t")) != NULL)
		f[n++] = p;
	return n;
}

static void
cmd_seal(char **f, int n)
{
	struct proto_seal		s;
	struct proto_seal_rcpt		r;
	struct proto_seal_result	res;
	struct proto_msgref		ref;
	struct proto_commit		done;
	struct imsg			imsg;
	char				*rl, *one, *rf[5];
	uint32_t			i, k;
	int				fd;

	if (n != 7)
		errx(1, "seal: want 6 fields");
	memset(&s, 0, sizeof(s));
	s.reqid = 42;
	strlcpy(s.msgid, f[1], sizeof(s.msgid));
	strlcpy(s.sender, f[3], sizeof(s.sender));
	strlcpy(s.subject, f[4], sizeof(s.subject));
	s.hide_subject = (uint32_t)atoi(f[5]);
	for (rl = f[6], s.nrcpt = 1; *rl; rl++)
		if (*rl == ';')
			s.nrcpt++;
	if ((fd = open(f[2], O_RDONLY)) == -1)
		err(1, "%s", f[2]);
	xsend(&queue, IMSG_CRYPT_SEAL, 0, fd, &s, sizeof(s));
	rl = f[6];
	for (i = 0; (one = strsep(&rl, ";")) != NULL; i++) {
		for (k = 0; k < 5; k++)
			rf[k] = strsep(&one, ",");
		if (rf[4] == NULL)
			errx(1, "seal: RCPT,LEVEL,PHONE,LANG,LIFE");
		memset(&r, 0, sizeof(r));
		r.reqid = 42;
		r.idx = i;
		r.level = strcmp(rf[1], "2fa") == 0 ? DECISION_SECURE_2FA :
		    DECISION_SECURE_1FA;
		strlcpy(r.rcpt, rf[0], sizeof(r.rcpt));
		strlcpy(r.phone, rf[2], sizeof(r.phone));
		strlcpy(r.lang, rf[3], sizeof(r.lang));
		r.lifetime = atoll(rf[4]);
		xsend(&queue, IMSG_CRYPT_SEAL_RCPT, 0, -1, &r, sizeof(r));
	}
	memset(&ref, 0, sizeof(ref));
	ref.reqid = 42;
	strlcpy(ref.msgid, s.msgid, sizeof(ref.msgid));
	xsend(&queue, IMSG_CRYPT_SEAL_END, 0, -1, &ref, sizeof(ref));
	for (i = 0; i < s.nrcpt; i++) {
		xrecv_type(&queue, &imsg, IMSG_QUEUE_SEAL_RESULT, sizeof(res));
		memcpy(&res, imsg.data, sizeof(res));
		imsg_free(&imsg);
		printf("result\t%u\t%d\t%s\t%lld\t%s\n", res.idx, res.status,
		    d(res.token), (long long)res.expires, d(res.text));
	}
	xrecv_type(&queue, &imsg, IMSG_QUEUE_SEAL_DONE, sizeof(done));
	memcpy(&done, imsg.data, sizeof(done));
	imsg_free(&imsg);
	printf("done\t%d\t%s\n", done.status, d(done.text));
}

static void
portal_req(struct proto_portal_req *q, const char *token,
    const char *session, const char *client)
{
	memset(q, 0, sizeof(*q));
	strlcpy(q->token, token, sizeof(q->token));
	strlcpy(q->session, session, sizeof(q->session));
	strlcpy(q->client, strcmp(client, "-") == 0 ? "" : client,
	    sizeof(q->client));
}

static void
cmd_lookup(char **f, int n)
{
	struct proto_portal_req		q;
	struct proto_portal_info	info;
	struct imsg			imsg;

	if (n != 3)
		errx(1, "lookup TOKEN CLIENT");
	portal_req(&q, f[1], "", f[2]);
	xsend(&portal, IMSG_CRYPT_LOOKUP, 7, -1, &q, sizeof(q));
	xrecv_type(&portal, &imsg, IMSG_PORTAL_LOOKUP_RESULT, sizeof(info));
	memcpy(&info, imsg.data, sizeof(info));
	if (imsg.hdr.peerid != 7)
		errx(1, "lookup: wrong peerid");
	imsg_free(&imsg);
	printf("lookup\t%d\t%u\t%u\t%s\t%s\t%s\t%s\t%s\n", info.status,
	    info.state, info.level, d(info.msgid), d(info.sender),
	    d(info.subject), d(info.rcpt_masked), d(info.phone_masked));
}

static void
cmd_issue(char **f, int n)
{
	struct proto_portal_req		q;
	struct proto_code_issued	res;
	struct proto_code_send		cs;
	struct imsg			imsg;

	if (n != 4)
		errx(1, "issue TOKEN CHANNEL CLIENT");
	portal_req(&q, f[1], "", f[3]);
	q.channel = strcmp(f[2], "sms") == 0 ? CODE_SMS : CODE_MAIL;
	xsend(&portal, IMSG_CRYPT_CODE_ISSUE, 8, -1, &q, sizeof(q));
	xrecv_type(&portal, &imsg, IMSG_PORTAL_CODE_ISSUED, sizeof(res));
	memcpy(&res, imsg.data, sizeof(res));
	imsg_free(&imsg);
	memset(&cs, 0, sizeof(cs));
	if (res.status == PROTO_OK) {
		xrecv_type(&queue, &imsg, IMSG_QUEUE_CODE_SEND, sizeof(cs));
		memcpy(&cs, imsg.data, sizeof(cs));
		imsg_free(&imsg);
	}
	printf("issued\t%d\t%s\t%s\t%s\t%s\n", res.status, d(res.dest_masked),
	    d(cs.code), d(cs.channel == CODE_SMS ? cs.phone : cs.rcpt),
	    d(res.text));
}

static void
cmd_check(char **f, int n)
{
	struct proto_code_check		q;
	struct proto_code_result	res;
	struct imsg			imsg;

	if (n != 5)
		errx(1, "check TOKEN CHANNEL CODE CLIENT");
	memset(&q, 0, sizeof(q));
	strlcpy(q.token, f[1], sizeof(q.token));
	q.channel = strcmp(f[2], "sms") == 0 ? CODE_SMS : CODE_MAIL;
	strlcpy(q.code, f[3], sizeof(q.code));
	strlcpy(q.client, strcmp(f[4], "-") == 0 ? "" : f[4],
	    sizeof(q.client));
	xsend(&portal, IMSG_CRYPT_CODE_CHECK, 9, -1, &q, sizeof(q));
	xrecv_type(&portal, &imsg, IMSG_PORTAL_CODE_RESULT, sizeof(res));
	memcpy(&res, imsg.data, sizeof(res));
	imsg_free(&imsg);
	printf("check\t%d\t%u\t%u\t%s\t%s\n", res.status, res.state,
	    res.attempts_left, d(res.session), d(res.text));
}

static void
cmd_open(char **f, int n)
{
	struct proto_portal_req		q;
	struct proto_open_result	res;
	struct imsg			imsg;
	char				buf[8192];
	ssize_t				r;
	int				out, wr;

	if (n != 4)
		errx(1, "open TOKEN SESSION OUTFILE");
	portal_req(&q, f[1], f[2], "192.0.2.7");
	q.what = PORTAL_OPEN_VIEW;
	strlcpy(q.detail, "body", sizeof(q.detail));
	xsend(&portal, IMSG_CRYPT_OPEN, 10, -1, &q, sizeof(q));
	xrecv_type(&portal, &imsg, IMSG_PORTAL_OPEN_RESULT, sizeof(res));
	memcpy(&res, imsg.data, sizeof(res));
	if (res.status == PROTO_OK) {
		if (imsg.fd == -1)
			errx(1, "open: no descriptor");
		if ((out = open(f[3], O_WRONLY | O_CREAT | O_TRUNC, 0600)) ==
		    -1)
			err(1, "%s", f[3]);
		while ((r = read(imsg.fd, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)r) != r)
				err(1, "write");
		/* The portal gets a sealed, read-only copy. */
		wr = write(imsg.fd, "x", 1) == -1;
		close(out);
		if (!wr)
			errx(1, "open: the descriptor is writable");
	} else if (imsg.fd != -1)
		errx(1, "open: descriptor with a failure");
	imsg_free(&imsg);
	printf("open\t%d\t%lld\t%s\n", res.status, (long long)res.size,
	    d(res.text));
}

static void
cmd_reply(char **f, int n)
{
	struct proto_portal_req		q;
	struct proto_portal_status	res;
	struct imsg			imsg;

	if (n != 3)
		errx(1, "reply TOKEN SESSION");
	portal_req(&q, f[1], f[2], "192.0.2.7");
	strlcpy(q.detail, "reply of 12 bytes", sizeof(q.detail));
	xsend(&portal, IMSG_CRYPT_REPLY, 11, -1, &q, sizeof(q));
	xrecv_type(&portal, &imsg, IMSG_PORTAL_REPLY_RESULT, sizeof(res));
	memcpy(&res, imsg.data, sizeof(res));
	imsg_free(&imsg);
	printf("reply\t%d\t%s\n", res.status, d(res.text));
}

static void
cmd_control(char **f, int n)
{
	struct proto_msgref	ref;
	struct proto_revoke	rv;
	struct proto_text	t;
	struct imsg		imsg;

	if (strcmp(f[0], "revoke") == 0) {
		memset(&rv, 0, sizeof(rv));
		strlcpy(rv.msgid, n > 1 ? f[1] : "", sizeof(rv.msgid));
		strlcpy(rv.rcpt, n > 2 ? f[2] : "", sizeof(rv.rcpt));
		xsend(&control, IMSG_CRYPT_CTL_REVOKE, 5, -1, &rv, sizeof(rv));
	} else {
		memset(&ref, 0, sizeof(ref));
		strlcpy(ref.msgid, n > 1 ? f[1] : "", sizeof(ref.msgid));
		xsend(&control, strcmp(f[0], "show") == 0 ?
		    IMSG_CRYPT_CTL_SHOW : IMSG_CRYPT_CTL_LOG, 5, -1, &ref,
		    sizeof(ref));
	}
	for (;;) {
		xrecv(&control, &imsg);
		if (imsg.hdr.peerid != 5)
			errx(1, "control: wrong peerid");
		if (imsg.hdr.type == IMSG_CONTROL_END) {
			printf("end\n");
			imsg_free(&imsg);
			return;
		}
		if (imsg.datalen != sizeof(t))
			errx(1, "control: bad length");
		memcpy(&t, imsg.data, sizeof(t));
		printf("%s\t%s\n", imsg.hdr.type == IMSG_CONTROL_FAIL ?
		    "fail" : "text", t.text);
		if (imsg.hdr.type == IMSG_CONTROL_FAIL) {
			imsg_free(&imsg);
			return;
		}
		imsg_free(&imsg);
	}
}

static void
cmd_event(char **f, int n)
{
	struct proto_crypt_event	ev;

	if (n != 5)
		errx(1, "event MSGID IDX EVENT TEXT");
	memset(&ev, 0, sizeof(ev));
	strlcpy(ev.msgid, f[1], sizeof(ev.msgid));
	ev.idx = (uint32_t)atoi(f[2]);
	ev.event = strcmp(f[3], "held") == 0 ? CRYPT_EV_HELD :
	    CRYPT_EV_NOTIFIED;
	strlcpy(ev.text, f[4], sizeof(ev.text));
	xsend(&queue, IMSG_CRYPT_EVENT, 0, -1, &ev, sizeof(ev));
}

static void
cmd_badportal(void)
{
	char	junk[10] = "short";
	int	status;

	xsend(&portal, IMSG_CRYPT_LOOKUP, 1, -1, junk, sizeof(junk));
	if (waitpid(child, &status, 0) == -1)
		err(1, "waitpid");
	child = 0;
	printf("exit\t%d\n", WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status));
}

int
main(int argc, char **argv)
{
	char	*line = NULL, *f[8];
	size_t	 sz = 0;
	ssize_t	 len;
	int	 n, status;

	if (argc != 4) {
		fprintf(stderr, "usage: cryptd_client CRYPTD CONFIG LOGFILE\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	imsg_type_name = proto_imsg_name;
	start(argv[1], argv[2], argv[3]);
	printf("ready\n");
	fflush(stdout);
	while ((len = getline(&line, &sz, stdin)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if ((n = split(line, f, 8)) == 0 || f[0][0] == '\0')
			continue;
		if (strcmp(f[0], "seal") == 0)
			cmd_seal(f, n);
		else if (strcmp(f[0], "lookup") == 0)
			cmd_lookup(f, n);
		else if (strcmp(f[0], "issue") == 0)
			cmd_issue(f, n);
		else if (strcmp(f[0], "check") == 0)
			cmd_check(f, n);
		else if (strcmp(f[0], "open") == 0)
			cmd_open(f, n);
		else if (strcmp(f[0], "reply") == 0)
			cmd_reply(f, n);
		else if (strcmp(f[0], "show") == 0 ||
		    strcmp(f[0], "log") == 0 || strcmp(f[0], "revoke") == 0)
			cmd_control(f, n);
		else if (strcmp(f[0], "event") == 0)
			cmd_event(f, n);
		else if (strcmp(f[0], "badportal") == 0)
			cmd_badportal();
		else if (strcmp(f[0], "sleep") == 0)
			sleep((unsigned int)atoi(f[1]));
		else
			errx(1, "unknown command %s", f[0]);
		fflush(stdout);
	}
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, &status, 0);
	}
	return 0;
}
