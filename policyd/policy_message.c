/*
 * policy_message.c: the policy process's decision for each recipient of
 * a received message, asked by the queue at commit.
 *
 * Receives from queue IMSG_POLICY_MESSAGE (with a read-only descriptor of
 * the message), IMSG_POLICY_MESSAGE_RCPT per recipient and
 * IMSG_POLICY_MESSAGE_END; answers IMSG_QUEUE_DECISION per recipient and
 * then IMSG_QUEUE_DECISION_END.  The ruleset (ruleset_match() for the
 * envelope's listener, source and authenticated user) gives each
 * recipient its action and policy; at the end the message, mapped
 * read-only from the descriptor, is evaluated once per policy
 * (policy_evaluate(), policy.c) and every decision is logged on one line
 * with the rules that made it.
 *
 * Invariant: exactly one decision per announced recipient, then one END;
 * a recipient no rule allows is rejected (never an open relay); a message
 * that cannot be read gets a temporary failure, one that cannot be
 * scanned the strongest decision its policy allows (fail closed).
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "policy.h"
#include "policyd.h"
#include "proc.h"
#include "proto.h"
#include "ruleset.h"
#include "util.h"

#define POLICY_REJECT_TEXT	"550 5.7.1 Relaying denied"
#define POLICY_SLOW_MS		1000	/* log scans slower than this */

struct mrcpt {
	char			 rcpt[PROTO_ADDR_MAX];
	const struct match	*match;		/* NULL: rejected */
	int			 done;
};

/* Compiled policies, built on first use and kept for the process. */
struct engine_cache {
	const struct policy	*pol;
	struct policy_engine	*eng;
};
static struct engine_cache	*engines;
static size_t			 nengines;

/* The message being decided: the queue sends its parts in a row. */
static struct {
	int			 active;
	struct proto_policy_msg	 msg;
	uint32_t		 nseen;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*tag;
	int			 trust;		/* listener trusts headers */
	uint8_t			*map;		/* the message, read-only */
	size_t			 maplen;
	int			 unreadable;
	struct mrcpt		*rcpts;
} cur;

static struct policy_engine *
engine_for(const struct policy *pol)
{
	char	err[512];
	size_t	i;

	for (i = 0; i < nengines; i++)
		if (engines[i].pol == pol)
			return engines[i].eng;
	engines = xreallocarray(engines, nengines + 1, sizeof(*engines));
	engines[nengines].pol = pol;
	/* The parser compiled every regex already: a failure is a bug. */
	if ((engines[nengines].eng = policy_engine_new(pol, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	return engines[nengines++].eng;
}

static void
message_map(int fd)
{
	struct stat	st;
	void		*p;

	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warnx("%s: no readable message descriptor", cur.msg.msgid);
		cur.unreadable = 1;
		return;
	}
	if (st.st_size == 0)
		return;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		log_warn("%s: mmap", cur.msg.msgid);
		cur.unreadable = 1;
		return;
	}
	cur.map = p;
	cur.maplen = (size_t)st.st_size;
}

static void
message_unmap(void)
{
	if (cur.map != NULL)
		(void)munmap(cur.map, cur.maplen);
	free(cur.rcpts);
	cur.map = NULL;
	cur.rcpts = NULL;
}

static void
policy_message_start(struct imsg *imsg)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&cur.ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&cur.ss;
	struct listener		*l;

	PROTO_CHECK_LEN(imsg, struct proto_policy_msg);
	if (cur.active)
		fatalx("message before the end of the previous one");
	memset(&cur, 0, sizeof(cur));
	memcpy(&cur.msg, imsg->data, sizeof(cur.msg));
	PROTO_CHECK_STR(cur.msg.msgid);
	PROTO_CHECK_STR(cur.msg.src);
	PROTO_CHECK_STR(cur.msg.auth_user);
	PROTO_CHECK_STR(cur.msg.sender);
	if (cur.msg.nrcpt == 0 || cur.msg.local > 1)
		fatalx("bad message %s", cur.msg.msgid);
	if (inet_pton(AF_INET, cur.msg.src, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		cur.sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, cur.msg.src, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		cur.sslen = sizeof(*sin6);
	}
	TAILQ_FOREACH(l, &policy_cfg->listeners, entry)
		if (l->id == cur.msg.listener) {
			cur.tag = l->tag;
			cur.trust = (l->flags & LISTENER_TRUST_HEADERS) != 0;
			break;
		}
	cur.rcpts = xcalloc(cur.msg.nrcpt, sizeof(*cur.rcpts));
	/* The mapping outlives the descriptor, which imsg_free() closes. */
	message_map(imsg->fd);
	cur.active = 1;
}

static void
policy_message_rcpt(struct imsgev *iev, struct imsg *imsg)
{
	struct proto_policy_rcpt	 r;
	struct proto_decision		 d;
	struct ruleset_query		 q;
	const struct match		*m;
	char				 esc[PROTO_ADDR_MAX * 4];

	PROTO_CHECK_LEN(imsg, struct proto_policy_rcpt);
	memcpy(&r, imsg->data, sizeof(r));
	PROTO_CHECK_STR(r.msgid);
	PROTO_CHECK_STR(r.rcpt);
	if (!cur.active || strcmp(r.msgid, cur.msg.msgid) != 0 ||
	    r.idx != cur.nseen || r.idx >= cur.msg.nrcpt)
		fatalx("recipient out of sequence for %s", r.msgid);
	cur.nseen++;

	memset(&q, 0, sizeof(q));
	q.src = cur.sslen ? (struct sockaddr *)&cur.ss : NULL;
	q.srclen = cur.sslen;
	q.local = cur.msg.local;
	q.tag = cur.tag;
	q.auth_user = cur.msg.auth_user[0] ? cur.msg.auth_user : NULL;
	q.rcpt = r.rcpt;
	m = ruleset_match(policy_cfg, &q);
	(void)strlcpy(cur.rcpts[r.idx].rcpt, r.rcpt,
	    sizeof(cur.rcpts[r.idx].rcpt));
	cur.rcpts[r.idx].match = m;
	if (m != NULL)
		return;		/* decided with the others at the end */

	memset(&d, 0, sizeof(d));
	memcpy(d.msgid, r.msgid, sizeof(d.msgid));
	d.idx = r.idx;
	(void)log_escape(esc, sizeof(esc), r.rcpt, strlen(r.rcpt));
	d.decision = DECISION_REJECT;
	(void)strlcpy(d.text, POLICY_REJECT_TEXT, sizeof(d.text));
	log_info("%s: to=<%s>, rejected: no rule matches", r.msgid, esc);
	cur.rcpts[r.idx].done = 1;
	imsgev_compose(iev, IMSG_QUEUE_DECISION, 0, 0, -1, &d, sizeof(d));
}

static void
decision_send(struct imsgev *iev, uint32_t idx, const struct match *m,
    const struct policy_verdict *v)
{
	struct proto_decision	d;
	char			esc[PROTO_ADDR_MAX * 4];

	memset(&d, 0, sizeof(d));
	memcpy(d.msgid, cur.msg.msgid, sizeof(d.msgid));
	d.idx = idx;
	(void)strlcpy(d.action, m->action->name, sizeof(d.action));
	(void)log_escape(esc, sizeof(esc), cur.rcpts[idx].rcpt,
	    strlen(cur.rcpts[idx].rcpt));
	if (v == NULL) {
		d.decision = DECISION_RELAY;
		(void)snprintf(d.rules, sizeof(d.rules), "match@%s:%d",
		    m->file ? m->file : "-", m->line);
		log_info("%s: to=<%s>, decision relay, action %s, no policy",
		    cur.msg.msgid, esc, d.action);
	} else {
		/* enum policy_level has the order of the decision kinds. */
		d.decision = (uint32_t)v->level;
		(void)strlcpy(d.rules, v->rules, sizeof(d.rules));
		(void)strlcpy(d.phone, v->phone, sizeof(d.phone));
		(void)strlcpy(d.lang, v->language, sizeof(d.lang));
		d.expire_days = v->expires > 0 ? (uint32_t)v->expires : 0;
		d.flags = v->notify_read == 1 ? SEAL_RCPT_READ_NOTIFY : 0;
		if (v->level == POLICY_REJECT)
			(void)strlcpy(d.text, v->text, sizeof(d.text));
		log_info("%s: to=<%s>, decision %s, action %s, policy %s, "
		    "score %d, rules %s%s%s", cur.msg.msgid, esc,
		    policy_level_name(v->level), d.action, m->policy->name,
		    v->score, v->rules[0] ? v->rules : "-",
		    v->notes[0] ? ", " : "", v->notes);
	}
	cur.rcpts[idx].done = 1;
	imsgev_compose(iev, IMSG_QUEUE_DECISION, 0, 0, -1, &d, sizeof(d));
}

/* Evaluate the message once per policy, for that policy's recipients. */
static void
policy_message_decide(struct imsgev *iev)
{
	struct policy_input	 in;
	struct policy_verdict	*v;
	struct timespec		 t0, t1;
	const struct policy	*pol;
	const char		**rl;
	uint32_t		*idx, i, j, n;
	long			 ms;

	memset(&in, 0, sizeof(in));
	in.auth_user = cur.msg.auth_user[0] ? cur.msg.auth_user : NULL;
	in.sender = cur.msg.sender;
	in.trust_headers = cur.trust;
	rl = xcalloc(cur.msg.nrcpt, sizeof(*rl));
	idx = xcalloc(cur.msg.nrcpt, sizeof(*idx));
	v = xcalloc(cur.msg.nrcpt, sizeof(*v));
	for (i = 0; i < cur.msg.nrcpt; i++) {
		if (cur.rcpts[i].done)
			continue;
		if ((pol = cur.rcpts[i].match->policy) == NULL) {
			decision_send(iev, i, cur.rcpts[i].match, NULL);
			continue;
		}
		for (j = i, n = 0; j < cur.msg.nrcpt; j++)
			if (!cur.rcpts[j].done &&
			    cur.rcpts[j].match->policy == pol) {
				rl[n] = cur.rcpts[j].rcpt;
				idx[n++] = j;
			}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (policy_evaluate(engine_for(pol), &in, cur.map ? cur.map :
		    (const uint8_t *)"", cur.maplen, rl, v, n) == -1)
			log_warnx("%s: policy %s: message not scannable, "
			    "failing closed: %s", cur.msg.msgid, pol->name,
			    v[0].notes);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > POLICY_SLOW_MS)
			log_warnx("%s: policy %s took %ld ms for %zu bytes",
			    cur.msg.msgid, pol->name, ms, cur.maplen);
		for (j = 0; j < n; j++)
			decision_send(iev, idx[j], cur.rcpts[idx[j]].match,
			    &v[j]);
	}
	free(rl);
	free(idx);
	free(v);
}

static void
policy_message_end(struct imsgev *iev, struct imsg *imsg)
{
	struct proto_msgref	ref;
	struct proto_commit	c;

	PROTO_CHECK_LEN(imsg, struct proto_msgref);
	memcpy(&ref, imsg->data, sizeof(ref));
	PROTO_CHECK_STR(ref.msgid);
	if (!cur.active || strcmp(ref.msgid, cur.msg.msgid) != 0 ||
	    cur.nseen != cur.msg.nrcpt)
		fatalx("end out of sequence for %s", ref.msgid);
	memset(&c, 0, sizeof(c));
	c.reqid = ref.reqid;
	c.status = PROTO_OK;
	memcpy(c.msgid, ref.msgid, sizeof(c.msgid));
	if (cur.unreadable) {
		/* Nothing is decided blind: the client tries again. */
		c.status = PROTO_TEMPFAIL;
		(void)strlcpy(c.text, "451 4.3.0 Policy could not read the "
		    "message, try again later", sizeof(c.text));
	} else
		policy_message_decide(iev);
	imsgev_compose(iev, IMSG_QUEUE_DECISION_END, 0, 0, -1, &c,
	    sizeof(c));
	message_unmap();
	cur.active = 0;
}

void
policy_message_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_POLICY_MESSAGE:
		policy_message_start(imsg);
		break;
	case IMSG_POLICY_MESSAGE_RCPT:
		policy_message_rcpt(iev, imsg);
		break;
	case IMSG_POLICY_MESSAGE_END:
		policy_message_end(iev, imsg);
		break;
	default:
		fatalx("unexpected %s from queue",
		    proto_imsg_name(imsg->hdr.type));
	}
}
