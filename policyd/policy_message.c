/*
 * policy_message.c: the policy process's decision for each recipient of
 * a received message, asked by the queue at commit.
 *
 * Receives from queue IMSG_POLICY_MESSAGE (with a read-only descriptor of
 * the message), IMSG_POLICY_MESSAGE_RCPT per recipient and
 * IMSG_POLICY_MESSAGE_END; answers IMSG_QUEUE_DECISION per recipient and
 * then IMSG_QUEUE_DECISION_END.  For now the decision is the ruleset's
 * (ruleset_match() for the envelope's listener, source and authenticated
 * user): the matching action, or a reject when nothing matches.  The
 * content policy will read the descriptor; until then it is closed.
 *
 * Invariant: exactly one decision per announced recipient, then one END;
 * a recipient no rule allows is rejected (never an open relay).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "policyd.h"
#include "proc.h"
#include "proto.h"
#include "ruleset.h"

#define POLICY_REJECT_TEXT	"550 5.7.1 Relaying denied"

/* The message being decided: the queue sends its parts in a row. */
static struct {
	int			 active;
	struct proto_policy_msg	 msg;
	uint32_t		 nseen;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const char		*tag;
} cur;

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
			break;
		}
	cur.active = 1;
	/* The content policy reads imsg->fd; imsg_free() closes it. */
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

	memset(&d, 0, sizeof(d));
	memcpy(d.msgid, r.msgid, sizeof(d.msgid));
	d.idx = r.idx;
	(void)log_escape(esc, sizeof(esc), r.rcpt, strlen(r.rcpt));
	if (m == NULL) {
		d.decision = DECISION_REJECT;
		(void)strlcpy(d.text, POLICY_REJECT_TEXT, sizeof(d.text));
		log_info("%s: to=<%s>, rejected: no rule matches", r.msgid,
		    esc);
	} else {
		d.decision = DECISION_RELAY;
		(void)strlcpy(d.action, m->action->name, sizeof(d.action));
		(void)snprintf(d.rules, sizeof(d.rules), "match@%s:%d",
		    m->file ? m->file : "-", m->line);
		log_debug("%s: to=<%s>, action %s (%s)", r.msgid, esc,
		    d.action, d.rules);
	}
	imsgev_compose(iev, IMSG_QUEUE_DECISION, 0, 0, -1, &d, sizeof(d));
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
	imsgev_compose(iev, IMSG_QUEUE_DECISION_END, 0, 0, -1, &c,
	    sizeof(c));
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
