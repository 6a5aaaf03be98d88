/*
 * queue_secure.c: the queue process's side of secured delivery (run by
 * the queue, chrooted into the spool).
 *
 * Sends cryptd IMSG_CRYPT_SEAL (with a read-only descriptor of the
 * message), IMSG_CRYPT_SEAL_RCPT per secured recipient and
 * IMSG_CRYPT_SEAL_END; reads IMSG_QUEUE_SEAL_RESULT per recipient and
 * IMSG_QUEUE_SEAL_DONE.  A recipient's link token exists only in its
 * SEAL_RESULT: the notification (notice.c) is built from it at once,
 * written to incoming/ and committed like any message (without policy,
 * with the secured recipient's action), and the token is wiped.  When
 * every notice of the seal is committed or failed, queue_sched.c hears
 * the outcome per recipient (queue_sched_sealed()).  Also: the mail to a
 * sender whose 2fa recipients have no phone number, IMSG_QUEUE_CODE_SEND
 * (a one-time code to mail; text messages have no notifier yet) and
 * IMSG_CRYPT_EVENT NOTIFIED when a notification was delivered.
 *
 * Invariants: a token or code is never logged and never written to the
 * spool but inside the one notice that carries it to its recipient; a
 * notice never carries any of the secured message but its sender and,
 * unless "secure hide-subject", its subject; a secure recipient is never
 * delivered as plain mail, and 2fa is never lowered here unless the
 * operator configured "secure missing-phone 1fa".
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "defaults.h"
#include "hdrfilter.h"
#include "log.h"
#include "notice.h"
#include "proc.h"
#include "queue.h"
#include "ruleset.h"
#include "util.h"

#define HEADERS_READ	(64 * 1024)	/* of the message, for Subject */

struct qseal {
	TAILQ_ENTRY(qseal)	 entry;
	uint64_t		 reqid;
	char			 id[QUEUE_ID_LEN + 1];
	struct seal_report	*rep;
	uint8_t			*answered;
	size_t			 n;
	int			 done;		/* SEAL_DONE came */
	size_t			 pending;	/* notices in the commit */
	char			 subject[PROTO_SUBJECT_MAX];
	char			 sender_name[PROTO_NAME_MAX];
};

struct notice_wait {
	struct qseal		*seal;
	size_t			 pos;
};

static TAILQ_HEAD(, qseal)	 seals = TAILQ_HEAD_INITIALIZER(seals);
static uint64_t			 seal_next = 1;

static struct qseal *
seal_find(uint64_t reqid)
{
	struct qseal	*s;

	TAILQ_FOREACH(s, &seals, entry)
		if (s->reqid == reqid)
			return s;
	return NULL;
}

static const char *
hostname(void)
{
	struct config	*cfg = queue_cfg();

	return cfg->hostname ? cfg->hostname : "localhost";
}

/* The first part of the message: enough for its header section. */
static void
read_headers(const char *id, char *subject, size_t ssz, char *name,
    size_t nsz)
{
	const char *const *trig;
	char		*buf, *clean, from[PROTO_ADDR_MAX * 2];
	size_t		 off = 0, ntrig, clen;
	ssize_t		 r;
	int		 fd;

	subject[0] = name[0] = '\0';
	if ((fd = queue_fs_open_body(id)) == -1)
		return;
	buf = xmalloc(HEADERS_READ);
	while (off < HEADERS_READ) {
		if ((r = read(fd, buf + off, HEADERS_READ - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	/* The Subject as it would leave: without its triggers. */
	trig = queue_triggers(&ntrig);
	clean = hdrfilter_buf(buf, off, trig, ntrig, &clen);
	explicit_bzero(buf, off);
	free(buf);
	notice_header(clean, clen, "Subject", subject, ssz);
	/* One in an encoded word shows only now, decoded. */
	(void)hdrfilter_strip_triggers(subject, trig, ntrig);
	notice_header(clean, clen, "From", from, sizeof(from));
	notice_display_name(from, name, nsz);
	explicit_bzero(clean, clen);
	free(clean);
}

int
queue_secure_seal(struct qenv *env, const size_t *idx, size_t n)
{
	struct config		*cfg = queue_cfg();
	struct proto_seal	 sm;
	struct proto_seal_rcpt	 sr;
	struct proto_msgref	 ref;
	struct qrcpt		*r;
	struct qseal		*s;
	size_t			 i;
	int			 fd, clamped;

	if ((fd = queue_fs_open_body(env->id)) == -1)
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->reqid = seal_next++;
	memcpy(s->id, env->id, sizeof(s->id));
	s->n = n;
	s->rep = xcalloc(n, sizeof(*s->rep));
	s->answered = xcalloc(n, 1);
	read_headers(env->id, s->subject, sizeof(s->subject),
	    s->sender_name, sizeof(s->sender_name));
	TAILQ_INSERT_TAIL(&seals, s, entry);

	memset(&sm, 0, sizeof(sm));
	sm.reqid = s->reqid;
	(void)strlcpy(sm.msgid, env->id, sizeof(sm.msgid));
	(void)strlcpy(sm.sender, env->sender, sizeof(sm.sender));
	(void)strlcpy(sm.subject, s->subject, sizeof(sm.subject));
	sm.hide_subject = cfg->secure.hide_subject ? 1 : 0;
	sm.nrcpt = (uint32_t)n;
	proc_compose(PROC_CRYPT, IMSG_CRYPT_SEAL, 0, fd, &sm, sizeof(sm));
	for (i = 0; i < n; i++) {
		r = &env->rcpt[idx[i]];
		s->rep[i].idx = idx[i];
		memset(&sr, 0, sizeof(sr));
		sr.reqid = s->reqid;
		sr.idx = (uint32_t)idx[i];
		sr.level = r->decision;
		(void)strlcpy(sr.rcpt, r->rcpt, sizeof(sr.rcpt));
		(void)strlcpy(sr.phone, r->phone, sizeof(sr.phone));
		(void)strlcpy(sr.lang, r->lang, sizeof(sr.lang));
		sr.lifetime = config_secure_lifetime(cfg,
		    config_action(cfg, r->action), r->expire_days, &clamped);
		if (clamped)
			log_info("%s: to=<%s>, X-Seal-Expires %u days is "
			    "longer than secure-expire-max: %lld seconds",
			    env->id, r->rcpt, r->expire_days,
			    (long long)sr.lifetime);
		sr.flags = r->sflags;
		if (sr.level == DECISION_SECURE_2FA && sr.phone[0] == '\0' &&
		    cfg->secure.missing_phone == MISSING_PHONE_1FA) {
			log_info("%s: to=<%s>, 2fa without a phone number: "
			    "sealed for 1fa (secure missing-phone 1fa)",
			    env->id, r->rcpt);
			sr.level = DECISION_SECURE_1FA;
		}
		proc_compose(PROC_CRYPT, IMSG_CRYPT_SEAL_RCPT, 0, -1, &sr,
		    sizeof(sr));
	}
	memset(&ref, 0, sizeof(ref));
	ref.reqid = s->reqid;
	(void)strlcpy(ref.msgid, env->id, sizeof(ref.msgid));
	proc_compose(PROC_CRYPT, IMSG_CRYPT_SEAL_END, 0, -1, &ref,
	    sizeof(ref));
	log_debug("%s: sealing for %zu recipient%s", env->id, n,
	    n == 1 ? "" : "s");
	return 0;
}

static void
seal_finish(struct qseal *s)
{
	if (!s->done || s->pending > 0)
		return;
	TAILQ_REMOVE(&seals, s, entry);
	queue_sched_sealed(s->id, s->rep, s->n);
	free(s->rep);
	free(s->answered);
	free(s);
}

static void
notice_committed(void *arg, const char *id, int ok)
{
	struct notice_wait	*w = arg;
	struct qseal		*s = w->seal;
	struct seal_report	*rep = &s->rep[w->pos];

	if (ok) {
		rep->outcome = SEAL_SEALED;
		(void)strlcpy(rep->notice, id, sizeof(rep->notice));
	} else {
		rep->outcome = SEAL_RETRY;
		(void)strlcpy(rep->why, "451 4.3.0 Notification could not be "
		    "queued", sizeof(rep->why));
	}
	free(w);
	s->pending--;
	seal_finish(s);
}

/* Write msg to incoming/ under env->id (new); 0 or -1. */
static int
notice_write(struct qenv *env, const struct qbuf *msg)
{
	size_t	off = 0;
	ssize_t	w;
	int	fd;

	if ((fd = queue_fs_create(env->id)) == -1)
		return -1;
	while (off < msg->len) {
		if ((w = write(fd, msg->buf + off, msg->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("write notice %s", env->id);
			close(fd);
			queue_fs_abort(env->id);
			return -1;
		}
		off += (size_t)w;
	}
	close(fd);
	env->size = msg->len;
	return 0;
}

static void
set(char **dst, const char *src)
{
	free(*dst);
	*dst = xstrdup(src);
}

/* The notification for one sealed recipient, built from its token. */
static int
notice_for(struct qseal *s, size_t pos, const struct qenv *env,
    const char *token, time_t expires)
{
	struct config		*cfg = queue_cfg();
	const struct qrcpt	*r = &env->rcpt[s->rep[pos].idx];
	struct notice_hdrs	 h;
	struct notice_var	 v[20];
	struct notice_wait	*w;
	struct qenv		 nenv;
	struct qbuf		 msg;
	enum notice_lang	 lang = notice_lang(cfg, r->lang);
	char			*portal = NULL, *link = NULL, date[64];
	char			*display;
	char			 err[128], tag[QUEUE_ID_LEN + 1];
	size_t			 nv = 0;
	int			 rv = -1;

	if (cfg->secure.portal != NULL)
		portal = xstrdup(cfg->secure.portal);
	else
		(void)xasprintf(&portal, "https://%s%s", hostname(),
		    DEF_SECURE_PORTAL_PATH);
	(void)xasprintf(&link, "%s%s", portal, token);
	notice_date(date, sizeof(date), expires, lang);
	if (s->sender_name[0] != '\0')
		(void)xasprintf(&display, "%s <%s>", s->sender_name,
		    env->sender);
	else
		display = xstrdup(env->sender);
	v[nv++] = (struct notice_var){ "organisation",
	    cfg->secure.organisation ? cfg->secure.organisation :
	    hostname() };
	v[nv++] = (struct notice_var){ "logo", cfg->secure.logo };
	v[nv++] = (struct notice_var){ "colour", cfg->secure.colour ?
	    cfg->secure.colour : DEF_SECURE_COLOUR };
	v[nv++] = (struct notice_var){ "portal", portal };
	v[nv++] = (struct notice_var){ "sender", env->sender };
	v[nv++] = (struct notice_var){ "sender_name", s->sender_name[0] ?
	    s->sender_name : env->sender };
	v[nv++] = (struct notice_var){ "sender_display", display };
	v[nv++] = (struct notice_var){ "subject", cfg->secure.hide_subject ?
	    "" : s->subject };
	v[nv++] = (struct notice_var){ "link", link };
	v[nv++] = (struct notice_var){ "expires", date };
	v[nv++] = (struct notice_var){ "recipient", r->rcpt };
	v[nv++] = (struct notice_var){ "msgid", env->id };

	queue_env_init(&nenv);
	qbuf_init(&msg);
	memset(&h, 0, sizeof(h));
	h.from = cfg->secure.from;
	h.to = r->rcpt;
	h.reply_to = cfg->secure.reply_to != NULL ? cfg->secure.reply_to :
	    env->sender;
	h.hostname = hostname();
	h.date = time(NULL);
	queue_id_new(tag);
	h.id = tag;
	if (notice_build(&msg, cfg, NOTICE_NOTIFY, lang, &h, v, nv, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: notification: %s", env->id, err);
		goto done;
	}
	if (notice_write(&nenv, &msg) == -1)
		goto done;

	nenv.listener = env->listener;
	nenv.local = 1;
	nenv.body = BODY_7BIT;
	nenv.smtputf8 = env->smtputf8;
	nenv.dsn_ret = DSN_RET_HDRS;
	nenv.flags = QMSG_NOTICE;
	set(&nenv.src, env->src);
	set(&nenv.helo, hostname());
	set(&nenv.auth_user, env->auth_user);
	set(&nenv.sender, env->sender);
	memcpy(nenv.parent, env->id, sizeof(nenv.parent));
	nenv.parent_idx = (uint32_t)s->rep[pos].idx;
	queue_env_add_rcpt(&nenv, r->rcpt, r->orcpt, r->notify);
	nenv.rcpt[0].decision = DECISION_RELAY;
	set(&nenv.rcpt[0].action, r->action);
	set(&nenv.rcpt[0].rules, "notice");
	log_info("%s: to=<%s>, sealed, notification %s, expires %lld",
	    env->id, r->rcpt, nenv.id, (long long)expires);
	w = xcalloc(1, sizeof(*w));
	w->seal = s;
	w->pos = pos;
	s->pending++;
	queue_submit_local(&nenv, notice_committed, w);
	rv = 0;
done:
	if (msg.buf != NULL)
		explicit_bzero(msg.buf, msg.len);
	qbuf_free(&msg);
	explicit_bzero(link, strlen(link));
	free(link);
	free(portal);
	free(display);
	queue_env_free(&nenv);
	return rv;
}

static void
seal_result(struct imsg *imsg)
{
	struct proto_seal_result res;
	struct qseal		*s;
	struct qenv		*env;
	size_t			 pos;

	PROTO_CHECK_LEN(imsg, struct proto_seal_result);
	memcpy(&res, imsg->data, sizeof(res));
	explicit_bzero(imsg->data, imsg->datalen);
	PROTO_CHECK_STR(res.token);
	PROTO_CHECK_STR(res.text);
	if ((s = seal_find(res.reqid)) == NULL || s->done)
		fatalx("seal result for an unknown request");
	for (pos = 0; pos < s->n; pos++)
		if (s->rep[pos].idx == res.idx)
			break;
	if (pos == s->n || s->answered[pos])
		fatalx("seal result for recipient %u not asked for", res.idx);
	s->answered[pos] = 1;
	switch (res.status) {
	case PROTO_OK:
		if (res.token[0] == '\0')
			fatalx("seal result without a token");
		s->rep[pos].outcome = SEAL_RETRY;
		(void)strlcpy(s->rep[pos].why, "451 4.3.0 Notification "
		    "could not be written", sizeof(s->rep[pos].why));
		if ((env = queue_sched_env(s->id)) != NULL)
			(void)notice_for(s, pos, env, res.token,
			    (time_t)res.expires);
		break;
	case PROTO_PERMFAIL:
		s->rep[pos].outcome = SEAL_HELD;
		(void)snprintf(s->rep[pos].why, sizeof(s->rep[pos].why),
		    "held: %.400s", res.text);
		break;
	default:
		s->rep[pos].outcome = SEAL_RETRY;
		(void)snprintf(s->rep[pos].why, sizeof(s->rep[pos].why),
		    "451 4.3.0 %.400s", res.text[0] ? res.text : "vault error");
		break;
	}
	explicit_bzero(&res, sizeof(res));
}

static void
seal_done(struct imsg *imsg)
{
	struct proto_commit	 c;
	struct qseal		*s;
	size_t			 i;

	PROTO_CHECK_LEN(imsg, struct proto_commit);
	memcpy(&c, imsg->data, sizeof(c));
	PROTO_CHECK_STR(c.msgid);
	PROTO_CHECK_STR(c.text);
	if ((s = seal_find(c.reqid)) == NULL || s->done ||
	    strcmp(c.msgid, s->id) != 0)
		fatalx("seal done for an unknown request");
	for (i = 0; i < s->n; i++)
		if (!s->answered[i]) {
			s->rep[i].outcome = SEAL_RETRY;
			(void)snprintf(s->rep[i].why, sizeof(s->rep[i].why),
			    "451 4.3.0 %.400s", c.text[0] ? c.text :
			    "vault error");
		}
	if (c.status != PROTO_OK)
		log_warnx("%s: sealing failed, tried again later: %s", s->id,
		    c.text);
	s->done = 1;
	seal_finish(s);
}

/* The action of a mail the queue sends itself, from the ruleset. */
static const char *
local_action(const struct qenv *env, const char *rcpt)
{
	struct config		*cfg = queue_cfg();
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct ruleset_query	 q;
	struct listener		*l;
	const struct match	*m;

	memset(&q, 0, sizeof(q));
	memset(&ss, 0, sizeof(ss));
	q.local = 1;
	q.rcpt = rcpt;
	if (env != NULL) {
		q.local = env->local;
		if (inet_pton(AF_INET, env->src, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			q.src = (struct sockaddr *)&ss;
			q.srclen = sizeof(*sin);
		} else if (inet_pton(AF_INET6, env->src,
		    &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			q.src = (struct sockaddr *)&ss;
			q.srclen = sizeof(*sin6);
		}
		TAILQ_FOREACH(l, &cfg->listeners, entry)
			if (l->id == env->listener)
				q.tag = l->tag;
		q.auth_user = env->auth_user[0] ? env->auth_user : NULL;
	}
	if ((m = ruleset_match(cfg, &q)) == NULL)
		return NULL;
	return m->action->name;
}

static void
local_committed(void *arg, const char *id, int ok)
{
	char	*what = arg;

	if (ok)
		log_info("%s: %s queued", id, what);
	else
		log_warnx("%s: %s could not be queued", id, what);
	free(what);
}

/* Queue a mail of the queue's own: from <>, no DSN, to one rcpt. */
static void
local_send(const struct qenv *orig, enum notice_kind kind,
    enum notice_lang lang, const char *rcpt, const struct notice_var *v,
    size_t nv, const char *what)
{
	struct config		*cfg = queue_cfg();
	struct notice_hdrs	 h;
	struct qenv		 nenv;
	struct qbuf		 msg;
	const char		*action;
	char			 err[128], tag[QUEUE_ID_LEN + 1];

	if ((action = local_action(orig, rcpt)) == NULL) {
		log_warnx("%s: no rule allows it to <%s>: not sent", what,
		    rcpt);
		return;
	}
	queue_env_init(&nenv);
	qbuf_init(&msg);
	queue_id_new(tag);
	memset(&h, 0, sizeof(h));
	h.from = cfg->secure.from;
	h.to = rcpt;
	h.reply_to = cfg->secure.reply_to != NULL &&
	    cfg->secure.reply_to[0] != '\0' ? cfg->secure.reply_to : NULL;
	h.hostname = hostname();
	h.id = tag;
	h.date = time(NULL);
	if (notice_build(&msg, cfg, kind, lang, &h, v, nv, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: %s", what, err);
		goto done;
	}
	if (notice_write(&nenv, &msg) == -1)
		goto done;
	if (orig != NULL) {
		nenv.listener = orig->listener;
		set(&nenv.src, orig->src);
		set(&nenv.auth_user, orig->auth_user);
	}
	nenv.local = 1;
	nenv.body = BODY_7BIT;
	nenv.flags = QMSG_NOTICE;
	set(&nenv.helo, hostname());
	queue_env_add_rcpt(&nenv, rcpt, "", DSN_NOTIFY_NEVER);
	nenv.rcpt[0].decision = DECISION_RELAY;
	set(&nenv.rcpt[0].action, action);
	set(&nenv.rcpt[0].rules, "notice");
	queue_submit_local(&nenv, local_committed, xstrdup(what));
done:
	if (msg.buf != NULL)
		explicit_bzero(msg.buf, msg.len);
	qbuf_free(&msg);
	queue_env_free(&nenv);
}

void
queue_secure_held(const struct qenv *env, const size_t *idx, size_t n)
{
	struct config		*cfg = queue_cfg();
	struct notice_var	 v[8];
	struct qbuf		 list;
	char			 subject[PROTO_SUBJECT_MAX], name[8];
	char			 what[64];
	size_t			 i, nv = 0;

	if (env->sender[0] == '\0' || (env->flags & (QMSG_BOUNCE |
	    QMSG_NOTICE)))
		return;
	read_headers(env->id, subject, sizeof(subject), name, sizeof(name));
	qbuf_init(&list);
	for (i = 0; i < n; i++)
		qbuf_addf(&list, "  <%s>\n", env->rcpt[idx[i]].rcpt);
	v[nv++] = (struct notice_var){ "organisation",
	    cfg->secure.organisation ? cfg->secure.organisation :
	    hostname() };
	v[nv++] = (struct notice_var){ "logo", cfg->secure.logo };
	v[nv++] = (struct notice_var){ "colour", cfg->secure.colour ?
	    cfg->secure.colour : DEF_SECURE_COLOUR };
	v[nv++] = (struct notice_var){ "sender", env->sender };
	v[nv++] = (struct notice_var){ "subject", subject };
	v[nv++] = (struct notice_var){ "recipients", list.buf };
	v[nv++] = (struct notice_var){ "msgid", env->id };
	(void)snprintf(what, sizeof(what), "missing-phone notice for %s",
	    env->id);
	local_send(env, NOTICE_HELD, notice_lang(cfg,
	    env->rcpt[idx[0]].lang), env->sender, v, nv, what);
	qbuf_free(&list);
}

void
queue_secure_notified(const struct qenv *notice, const char *relay)
{
	struct proto_crypt_event	ev;

	if (notice->parent[0] == '\0')
		return;
	memset(&ev, 0, sizeof(ev));
	memcpy(ev.msgid, notice->parent, sizeof(notice->parent));
	ev.idx = notice->parent_idx;
	ev.event = CRYPT_EV_NOTIFIED;
	(void)snprintf(ev.text, sizeof(ev.text), "notification %s, relay %s",
	    notice->id, relay[0] ? relay : "-");
	proc_compose(PROC_CRYPT, IMSG_CRYPT_EVENT, 0, -1, &ev, sizeof(ev));
}

static void
code_send(struct imsg *imsg)
{
	struct config		*cfg = queue_cfg();
	struct proto_code_send	 cs;
	struct notice_var	 v[8];
	enum notice_lang	 lang;
	char			 date[64], what[64];
	size_t			 nv = 0;

	PROTO_CHECK_LEN(imsg, struct proto_code_send);
	memcpy(&cs, imsg->data, sizeof(cs));
	explicit_bzero(imsg->data, imsg->datalen);
	PROTO_CHECK_STR(cs.msgid);
	PROTO_CHECK_STR(cs.rcpt);
	PROTO_CHECK_STR(cs.phone);
	PROTO_CHECK_STR(cs.lang);
	PROTO_CHECK_STR(cs.code);
	if (!queue_id_valid(cs.msgid) || cs.rcpt[0] == '\0' ||
	    cs.code[0] == '\0' || (cs.channel != CODE_MAIL &&
	    cs.channel != CODE_SMS))
		fatalx("bad code from crypt");
	if (cs.channel == CODE_SMS) {
		/*
		 * No process may run a program (seccomp) and none but
		 * deliveryd may reach the network: a text-message
		 * notifier needs its own helper, which does not exist
		 * yet.  See smtpd.conf(5), SECURED DELIVERY.
		 */
		log_warnx("%s: recipient %u: text-message code not sent: "
		    "no SMS notifier", cs.msgid, cs.idx);
		explicit_bzero(&cs, sizeof(cs));
		return;
	}
	lang = notice_lang(cfg, cs.lang);
	notice_date(date, sizeof(date), (time_t)cs.expires, lang);
	v[nv++] = (struct notice_var){ "organisation",
	    cfg->secure.organisation ? cfg->secure.organisation :
	    hostname() };
	v[nv++] = (struct notice_var){ "logo", cfg->secure.logo };
	v[nv++] = (struct notice_var){ "colour", cfg->secure.colour ?
	    cfg->secure.colour : DEF_SECURE_COLOUR };
	v[nv++] = (struct notice_var){ "recipient", cs.rcpt };
	v[nv++] = (struct notice_var){ "code", cs.code };
	v[nv++] = (struct notice_var){ "code_expires", date };
	v[nv++] = (struct notice_var){ "msgid", cs.msgid };
	(void)snprintf(what, sizeof(what), "code mail for %s", cs.msgid);
	local_send(NULL, NOTICE_CODE, lang, cs.rcpt, v, nv, what);
	explicit_bzero(&cs, sizeof(cs));
}

void
queue_secure_dispatch(struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_QUEUE_SEAL_RESULT:
		seal_result(imsg);
		break;
	case IMSG_QUEUE_SEAL_DONE:
		seal_done(imsg);
		break;
	case IMSG_QUEUE_CODE_SEND:
		code_send(imsg);
		break;
	default:
		fatalx("unexpected %s from crypt",
		    proto_imsg_name(imsg->hdr.type));
	}
}
