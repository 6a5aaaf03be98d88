/*
 * queue.c: the queue process (forked by the parent, chrooted into the
 * spool, user _sealqueue), the only writer of the spool.
 *
 * The way in: from smtp IMSG_QUEUE_MESSAGE_CREATE (answered with
 * IMSG_SMTP_MESSAGE_FILE and a write descriptor of incoming/ID),
 * IMSG_QUEUE_ENVELOPE, IMSG_QUEUE_RCPT, then IMSG_QUEUE_MESSAGE_COMMIT or
 * _ABORT.  At commit the message goes to policy (IMSG_POLICY_MESSAGE with
 * a read-only descriptor, _RCPT, _END), which answers IMSG_QUEUE_DECISION
 * per recipient and IMSG_QUEUE_DECISION_END.  The envelope with every
 * decision is written, and commits are made durable in groups: the
 * commits that are ready in one pass of the event loop share one
 * syncfs(2) of the spool, their renames into queue/ and one fsync of that
 * directory.  Only then does smtp get IMSG_SMTP_COMMIT_RESULT.  Bounces
 * (queue_bounce.c) take the same way from the policy step on.
 *
 * Also dispatched here: IMSG_QUEUE_DELIVERY_RESULT/_DONE from delivery
 * and IMSG_QUEUE_CTL_SHOW/_SCHEDULE from control (queue_sched.c).
 *
 * Invariant: no PROTO_OK commit result before the sync covering that
 * message; a policy that does not answer in limit timeout-policy gets the
 * client a 4xx and the message is never delivered.
 */
#include <sys/tree.h>
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "defaults.h"
#include "log.h"
#include "queue.h"
#include "smtpd.h"
#include "util.h"


enum tx_origin {
	TX_SMTP,		/* a client's message, smtp waits */
	TX_BOUNCE,		/* a DSN this process made */
	TX_LOCAL,		/* a notice: no policy, action given */
};

enum tx_state {
	TX_RECEIVING,		/* smtp writes the file */
	TX_POLICY,		/* waiting for the decisions */
	TX_SYNC,		/* envelope written, waiting for the sync */
};

struct qtx {
	RB_ENTRY(qtx)		 entry;
	TAILQ_ENTRY(qtx)	 sentry;
	enum tx_origin		 origin;
	enum tx_state		 state;
	uint64_t		 reqid;
	struct qenv		 env;
	uint32_t		 nrcpt_announced;
	int			 have_env;
	size_t			 ndecided;
	uint8_t			*decided;
	char			 reject[PROTO_REPLY_MAX];
	struct event		 timer;
	int			 timer_set;
	/* TX_BOUNCE: the message and recipients it reports on. */
	char			 parent[QUEUE_ID_LEN + 1];
	size_t			*pidx;
	size_t			 npidx;
	/* TX_LOCAL: told whether the commit happened. */
	void			(*local_done)(void *, const char *, int);
	void			*local_arg;
};

static int	tx_cmp(struct qtx *, struct qtx *);
RB_HEAD(queue_tx_tree, qtx);
RB_PROTOTYPE(queue_tx_tree, qtx, entry, tx_cmp);
RB_GENERATE(queue_tx_tree, qtx, entry, tx_cmp)

static struct queue_tx_tree		 txs = RB_INITIALIZER(&txs);
static TAILQ_HEAD(, qtx)	 sync_list = TAILQ_HEAD_INITIALIZER(sync_list);
static struct event		 ev_sync;
static int			 sync_armed;
static struct config		*cfg;

static void	queue_tx_fail(struct qtx *, int, const char *);
static void	queue_tx_write_env(struct qtx *, const char *);

static int
tx_cmp(struct qtx *a, struct qtx *b)
{
	return strcmp(a->env.id, b->env.id);
}

struct config *
queue_cfg(void)
{
	return cfg;
}

static struct qtx *
tx_find(const char *id)
{
	struct qtx	key;

	if (!queue_id_valid(id))
		return NULL;
	memset(&key, 0, sizeof(key));
	memcpy(key.env.id, id, QUEUE_ID_LEN + 1);
	return RB_FIND(queue_tx_tree, &txs, &key);
}

static struct qtx *
tx_new(enum tx_origin origin, uint64_t reqid)
{
	struct qtx	*tx;

	tx = xcalloc(1, sizeof(*tx));
	tx->origin = origin;
	tx->reqid = reqid;
	queue_env_init(&tx->env);
	return tx;
}

static void
tx_free(struct qtx *tx)
{
	if (RB_FIND(queue_tx_tree, &txs, tx) == tx)
		RB_REMOVE(queue_tx_tree, &txs, tx);
	if (tx->timer_set)
		evtimer_del(&tx->timer);
	queue_env_free(&tx->env);
	free(tx->decided);
	free(tx->pidx);
	free(tx);
}

static void
queue_commit_reply(struct qtx *tx, int status, const char *text)
{
	struct proto_commit	c;

	if (tx->origin != TX_SMTP)
		return;
	memset(&c, 0, sizeof(c));
	c.reqid = tx->reqid;
	c.status = status;
	(void)strlcpy(c.msgid, tx->env.id, sizeof(c.msgid));
	(void)strlcpy(c.text, text, sizeof(c.text));
	proc_compose(PROC_SMTP, IMSG_SMTP_COMMIT_RESULT, 0, -1, &c,
	    sizeof(c));
}

/* The commit did not happen: tell whoever waits, remove the files. */
static void
queue_tx_fail(struct qtx *tx, int status, const char *text)
{
	queue_commit_reply(tx, status, text);
	if (tx->origin == TX_BOUNCE)
		queue_sched_bounced(tx->parent, tx->pidx, tx->npidx, 0);
	if (tx->origin == TX_LOCAL)
		tx->local_done(tx->local_arg, tx->env.id, 0);
	queue_fs_abort(tx->env.id);
	tx_free(tx);
}

/* smtp side */

static void
queue_msg_create(struct imsg *imsg)
{
	struct proto_req	 req;
	struct proto_msgfile	 mf;
	struct qtx		*tx;
	int			 fd;

	PROTO_CHECK_LEN(imsg, struct proto_req);
	memcpy(&req, imsg->data, sizeof(req));
	memset(&mf, 0, sizeof(mf));
	mf.reqid = req.reqid;
	tx = tx_new(TX_SMTP, req.reqid);
	if ((fd = queue_fs_create(tx->env.id)) == -1) {
		tx_free(tx);
		mf.status = PROTO_TEMPFAIL;
		proc_compose(PROC_SMTP, IMSG_SMTP_MESSAGE_FILE, 0, -1, &mf,
		    sizeof(mf));
		return;
	}
	RB_INSERT(queue_tx_tree, &txs, tx);
	mf.status = PROTO_OK;
	(void)strlcpy(mf.msgid, tx->env.id, sizeof(mf.msgid));
	log_debug("%s: created for request %llu", tx->env.id,
	    (unsigned long long)req.reqid);
	proc_compose(PROC_SMTP, IMSG_SMTP_MESSAGE_FILE, 0, fd, &mf,
	    sizeof(mf));
}

static struct qtx *
tx_of_smtp(const char *msgid, uint64_t reqid, const char *what)
{
	struct qtx	*tx;

	if ((tx = tx_find(msgid)) == NULL || tx->origin != TX_SMTP ||
	    tx->reqid != reqid)
		fatalx("%s for unknown message %s", what, msgid);
	return tx;
}

static void
set(char **dst, const char *src)
{
	free(*dst);
	*dst = xstrdup(src);
}

static void
queue_msg_envelope(struct imsg *imsg)
{
	struct proto_envelope	 e;
	struct qtx		*tx;

	PROTO_CHECK_LEN(imsg, struct proto_envelope);
	memcpy(&e, imsg->data, sizeof(e));
	PROTO_CHECK_STR(e.msgid);
	PROTO_CHECK_STR(e.src);
	PROTO_CHECK_STR(e.helo);
	PROTO_CHECK_STR(e.auth_user);
	PROTO_CHECK_STR(e.sender);
	PROTO_CHECK_STR(e.dsn_envid);
	PROTO_CHECK_STR(e.tls);
	tx = tx_of_smtp(e.msgid, e.reqid, "envelope");
	if (tx->state != TX_RECEIVING || tx->have_env ||
	    e.body > BODY_BINARYMIME || e.smtputf8 > 1 || e.local > 1 ||
	    e.dsn_ret > DSN_RET_HDRS || e.nrcpt == 0 ||
	    e.nrcpt > cfg->limits.max_rcpt)
		fatalx("bad envelope for %s", e.msgid);
	tx->env.listener = e.listener;
	tx->env.local = e.local;
	tx->env.body = e.body;
	tx->env.smtputf8 = e.smtputf8;
	tx->env.dsn_ret = e.dsn_ret;
	set(&tx->env.src, e.src);
	set(&tx->env.helo, e.helo);
	set(&tx->env.auth_user, e.auth_user);
	set(&tx->env.sender, e.sender);
	set(&tx->env.envid, e.dsn_envid);
	set(&tx->env.tls, e.tls);
	tx->nrcpt_announced = e.nrcpt;
	tx->have_env = 1;
}

static void
queue_msg_rcpt(struct imsg *imsg)
{
	struct proto_envelope_rcpt	 r;
	struct qtx			*tx;

	PROTO_CHECK_LEN(imsg, struct proto_envelope_rcpt);
	memcpy(&r, imsg->data, sizeof(r));
	PROTO_CHECK_STR(r.msgid);
	PROTO_CHECK_STR(r.rcpt);
	PROTO_CHECK_STR(r.orcpt);
	tx = tx_of_smtp(r.msgid, r.reqid, "recipient");
	if (tx->state != TX_RECEIVING || !tx->have_env ||
	    tx->env.nrcpt >= tx->nrcpt_announced || r.rcpt[0] == '\0' ||
	    (r.notify & ~0x0fU) != 0)
		fatalx("bad recipient for %s", r.msgid);
	queue_env_add_rcpt(&tx->env, r.rcpt, r.orcpt, r.notify);
}

static void
queue_policy_timeout(int fd, short ev, void *arg)
{
	struct qtx	*tx = arg;

	tx->timer_set = 0;
	log_warnx("%s: no decision from policy in %d seconds", tx->env.id,
	    cfg->limits.timeout_policy);
	queue_tx_fail(tx, PROTO_TEMPFAIL,
	    "451 4.3.0 Policy not available, try again later");
}

/* Hand the message to policy; the decisions come back by msgid. */
static void
queue_policy_submit(struct qtx *tx)
{
	struct proto_policy_msg		 m;
	struct proto_policy_rcpt	 r;
	struct proto_msgref		 ref;
	struct timeval			 tv = { cfg->limits.timeout_policy, 0 };
	uint64_t			 size;
	size_t				 i;
	int				 fd;

	if ((fd = queue_fs_incoming_ro(tx->env.id, &size)) == -1) {
		queue_tx_fail(tx, PROTO_TEMPFAIL,
		    "451 4.3.0 Queue error, try again later");
		return;
	}
	tx->env.size = size;
	tx->env.ctime = time(NULL);
	tx->state = TX_POLICY;
	tx->decided = xcalloc(tx->env.nrcpt, 1);

	memset(&m, 0, sizeof(m));
	(void)strlcpy(m.msgid, tx->env.id, sizeof(m.msgid));
	m.listener = tx->env.listener;
	m.local = tx->env.local;
	(void)strlcpy(m.src, tx->env.src, sizeof(m.src));
	(void)strlcpy(m.auth_user, tx->env.auth_user, sizeof(m.auth_user));
	(void)strlcpy(m.sender, tx->env.sender, sizeof(m.sender));
	m.size = size;
	m.nrcpt = (uint32_t)tx->env.nrcpt;
	proc_compose(PROC_POLICY, IMSG_POLICY_MESSAGE, 0, fd, &m, sizeof(m));
	for (i = 0; i < tx->env.nrcpt; i++) {
		memset(&r, 0, sizeof(r));
		(void)strlcpy(r.msgid, tx->env.id, sizeof(r.msgid));
		r.idx = (uint32_t)i;
		(void)strlcpy(r.rcpt, tx->env.rcpt[i].rcpt, sizeof(r.rcpt));
		proc_compose(PROC_POLICY, IMSG_POLICY_MESSAGE_RCPT, 0, -1, &r,
		    sizeof(r));
	}
	memset(&ref, 0, sizeof(ref));
	ref.reqid = tx->reqid;
	(void)strlcpy(ref.msgid, tx->env.id, sizeof(ref.msgid));
	proc_compose(PROC_POLICY, IMSG_POLICY_MESSAGE_END, 0, -1, &ref,
	    sizeof(ref));
	evtimer_set(&tx->timer, queue_policy_timeout, tx);
	evtimer_add(&tx->timer, &tv);
	tx->timer_set = 1;
}

static void
queue_msg_commit(struct imsg *imsg)
{
	struct proto_msgref	 ref;
	struct qtx		*tx;

	PROTO_CHECK_LEN(imsg, struct proto_msgref);
	memcpy(&ref, imsg->data, sizeof(ref));
	PROTO_CHECK_STR(ref.msgid);
	tx = tx_of_smtp(ref.msgid, ref.reqid, "commit");
	if (tx->state != TX_RECEIVING || !tx->have_env ||
	    tx->env.nrcpt != tx->nrcpt_announced)
		fatalx("commit of incomplete message %s", ref.msgid);
	queue_policy_submit(tx);
}

static void
queue_msg_abort(struct imsg *imsg)
{
	struct proto_msgref	 ref;
	struct qtx		*tx;

	PROTO_CHECK_LEN(imsg, struct proto_msgref);
	memcpy(&ref, imsg->data, sizeof(ref));
	PROTO_CHECK_STR(ref.msgid);
	tx = tx_of_smtp(ref.msgid, ref.reqid, "abort");
	if (tx->state == TX_SYNC) {
		/* Too late to take back; the client did not hear 250. */
		log_debug("%s: abort after commit ignored", tx->env.id);
		return;
	}
	log_debug("%s: aborted", tx->env.id);
	queue_fs_abort(tx->env.id);
	tx_free(tx);
}

/* policy side */

static void
queue_decision(struct imsg *imsg)
{
	struct proto_decision	 d;
	struct qtx		*tx;
	struct qrcpt		*r;

	PROTO_CHECK_LEN(imsg, struct proto_decision);
	memcpy(&d, imsg->data, sizeof(d));
	PROTO_CHECK_STR(d.msgid);
	PROTO_CHECK_STR(d.action);
	PROTO_CHECK_STR(d.rules);
	PROTO_CHECK_STR(d.text);
	PROTO_CHECK_STR(d.phone);
	PROTO_CHECK_STR(d.lang);
	if ((tx = tx_find(d.msgid)) == NULL || tx->state != TX_POLICY) {
		log_debug("%s: late decision ignored", d.msgid);
		return;
	}
	if (d.idx >= tx->env.nrcpt || tx->decided[d.idx] ||
	    d.decision > DECISION_REJECT || d.expire_days > 3650 ||
	    (d.flags & ~SEAL_RCPT_READ_NOTIFY) != 0 ||
	    strspn(d.lang, "abcdefghijklmnopqrstuvwxyz") != strlen(d.lang) ||
	    strspn(d.phone, "+0123456789") != strlen(d.phone))
		fatalx("bad decision for %s", d.msgid);
	if (d.decision != DECISION_REJECT &&
	    config_action(cfg, d.action) == NULL)
		fatalx("decision for %s names unknown action", d.msgid);
	r = &tx->env.rcpt[d.idx];
	tx->decided[d.idx] = 1;
	tx->ndecided++;
	r->decision = d.decision;
	set(&r->action, d.decision == DECISION_REJECT ? "" : d.action);
	set(&r->rules, d.rules);
	set(&r->phone, d.phone);
	set(&r->lang, d.lang);
	r->expire_days = d.expire_days;
	r->sflags = d.flags;
	if (d.decision == DECISION_REJECT) {
		r->state = QR_REJECTED;
		set(&r->reply, d.text[0] ? d.text :
		    "550 5.7.1 Relaying denied");
		if (tx->reject[0] == '\0')
			(void)strlcpy(tx->reject, r->reply,
			    sizeof(tx->reject));
	}
}

void
queue_sync_later(void)
{
	struct timeval	tv = { 0, 0 };

	if (sync_armed)
		return;
	sync_armed = 1;
	evtimer_add(&ev_sync, &tv);
}

static void
queue_decision_end(struct imsg *imsg)
{
	struct proto_commit	 c;
	struct qtx		*tx;
	size_t			 i, ok = 0;

	PROTO_CHECK_LEN(imsg, struct proto_commit);
	memcpy(&c, imsg->data, sizeof(c));
	PROTO_CHECK_STR(c.msgid);
	PROTO_CHECK_STR(c.text);
	if ((tx = tx_find(c.msgid)) == NULL || tx->state != TX_POLICY) {
		log_debug("%s: late decisions ignored", c.msgid);
		return;
	}
	if (c.status != PROTO_OK) {
		queue_tx_fail(tx, c.status == PROTO_PERMFAIL ? PROTO_PERMFAIL :
		    PROTO_TEMPFAIL, c.text[0] ? c.text :
		    "451 4.3.0 Policy failure, try again later");
		return;
	}
	if (tx->ndecided != tx->env.nrcpt)
		fatalx("decisions for %s incomplete", c.msgid);
	for (i = 0; i < tx->env.nrcpt; i++)
		if (tx->env.rcpt[i].state != QR_REJECTED)
			ok++;
	if (ok == 0) {
		if (tx->origin == TX_BOUNCE)
			log_warnx("%s: bounce to <%s> dropped: no rule allows "
			    "it", tx->env.id, tx->env.rcpt[0].rcpt);
		else
			log_info("%s: rejected by policy: %s", tx->env.id,
			    tx->reject);
		if (tx->origin == TX_BOUNCE) {
			/* Nothing more can be done for it: count it sent. */
			queue_sched_bounced(tx->parent, tx->pidx, tx->npidx,
			    1);
			tx->npidx = 0;
		}
		queue_commit_reply(tx, PROTO_PERMFAIL, tx->reject);
		queue_fs_abort(tx->env.id);
		tx_free(tx);
		return;
	}
	evtimer_del(&tx->timer);
	tx->timer_set = 0;
	queue_tx_write_env(tx,
	    "451 4.3.0 Queue write error, try again later");
}

/* Write tx's envelope, then let it join the next group commit. */
static void
queue_tx_write_env(struct qtx *tx, const char *failtext)
{
	struct qbuf	b;

	qbuf_init(&b);
	queue_env_encode(&b, &tx->env);
	if (queue_fs_write_env(tx->env.id, &b) == -1) {
		qbuf_free(&b);
		queue_tx_fail(tx, PROTO_TEMPFAIL, failtext);
		return;
	}
	qbuf_free(&b);
	tx->state = TX_SYNC;
	TAILQ_INSERT_TAIL(&sync_list, tx, sentry);
	queue_sync_later();
}

/*
 * Group commit: everything that became ready since the last pass shares
 * one sync of the spool and one sync of the queue directory.
 */
static void
queue_sync_run(int fd, short ev, void *arg)
{
	TAILQ_HEAD(, qtx)	 done = TAILQ_HEAD_INITIALIZER(done);
	struct qtx		*tx;
	struct qenv		*env;
	size_t			 n = 0;
	int			 failed;

	sync_armed = 0;
	if (TAILQ_EMPTY(&sync_list)) {
		if (queue_fs_dirty)
			(void)queue_fs_sync();
		return;
	}
	failed = queue_fs_sync() == -1;
	while ((tx = TAILQ_FIRST(&sync_list)) != NULL) {
		TAILQ_REMOVE(&sync_list, tx, sentry);
		if (failed || queue_fs_commit(tx->env.id) == -1) {
			queue_tx_fail(tx, PROTO_TEMPFAIL,
			    "451 4.3.0 Queue write error, try again later");
			continue;
		}
		TAILQ_INSERT_TAIL(&done, tx, sentry);
		n++;
	}
	if (n == 0)
		return;
	failed = queue_fs_sync_dir() == -1;
	while ((tx = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, tx, sentry);
		if (failed) {
			queue_fs_remove(tx->env.id);
			queue_commit_reply(tx, PROTO_TEMPFAIL,
			    "451 4.3.0 Queue write error, try again later");
			if (tx->origin == TX_BOUNCE)
				queue_sched_bounced(tx->parent, tx->pidx,
				    tx->npidx, 0);
			if (tx->origin == TX_LOCAL)
				tx->local_done(tx->local_arg, tx->env.id, 0);
			tx_free(tx);
			continue;
		}
		if (tx->origin == TX_LOCAL)
			tx->local_done(tx->local_arg, tx->env.id, 1);
		else if (tx->origin == TX_SMTP)
			log_info("%s: queued, from=<%s>, %zu recipient%s, "
			    "size=%llu", tx->env.id, tx->env.sender,
			    tx->env.nrcpt, tx->env.nrcpt == 1 ? "" : "s",
			    (unsigned long long)tx->env.size);
		else {
			log_info("%s: bounce for %s queued, to=<%s>",
			    tx->env.id, tx->parent, tx->env.rcpt[0].rcpt);
			queue_sched_bounced(tx->parent, tx->pidx, tx->npidx,
			    1);
		}
		queue_commit_reply(tx, PROTO_OK, "");
		env = xmalloc(sizeof(*env));
		*env = tx->env;
		memset(&tx->env, 0, sizeof(tx->env));
		memcpy(tx->env.id, env->id, sizeof(tx->env.id));
		tx_free(tx);
		queue_sched_add(env, 1);
	}
	if (n > 1)
		log_debug("group commit of %zu messages", n);
	queue_sched_kick();
}

/*
 * A DSN whose message file queue_bounce.c wrote to incoming/: it takes
 * the way of any message from the policy step on.
 */
int
queue_submit_bounce(struct qenv *env, const char *parent, const size_t *idx,
    size_t n)
{
	struct qtx	*tx;

	tx = tx_new(TX_BOUNCE, 0);
	queue_env_free(&tx->env);
	tx->env = *env;
	memset(env, 0, sizeof(*env));
	tx->nrcpt_announced = (uint32_t)tx->env.nrcpt;
	tx->have_env = 1;
	(void)strlcpy(tx->parent, parent, sizeof(tx->parent));
	tx->pidx = xreallocarray(NULL, n ? n : 1, sizeof(*idx));
	memcpy(tx->pidx, idx, n * sizeof(*idx));
	tx->npidx = n;
	RB_INSERT(queue_tx_tree, &txs, tx);
	queue_policy_submit(tx);
	return 0;
}

/*
 * A message the queue wrote itself to incoming/ (env->id), whose
 * recipients already have their decision and action: its envelope is
 * written and it joins the next group commit, without policy.  done()
 * is called once, with ok 1 when it is in queue/ (before it is
 * scheduled), or 0 when it was dropped.
 */
void
queue_submit_local(struct qenv *env, void (*done)(void *, const char *,
    int), void *arg)
{
	struct qtx	*tx;

	tx = tx_new(TX_LOCAL, 0);
	queue_env_free(&tx->env);
	tx->env = *env;
	memset(env, 0, sizeof(*env));
	tx->nrcpt_announced = (uint32_t)tx->env.nrcpt;
	tx->have_env = 1;
	tx->local_done = done;
	tx->local_arg = arg;
	tx->env.ctime = time(NULL);
	RB_INSERT(queue_tx_tree, &txs, tx);
	queue_tx_write_env(tx, "");
}

static void
queue_ctl_show(struct imsg *imsg)
{
	if (imsg->datalen != 0)
		fatalx("bad show request");
	queue_sched_show(imsg->hdr.peerid);
}

static void
queue_ctl_schedule(struct imsg *imsg)
{
	struct proto_msgref	ref;

	PROTO_CHECK_LEN(imsg, struct proto_msgref);
	memcpy(&ref, imsg->data, sizeof(ref));
	PROTO_CHECK_STR(ref.msgid);
	queue_sched_schedule(imsg->hdr.peerid, ref.msgid);
}

static void
queue_ctl_held(struct imsg *imsg)
{
	struct proto_revoke	rv;

	PROTO_CHECK_LEN(imsg, struct proto_revoke);
	memcpy(&rv, imsg->data, sizeof(rv));
	PROTO_CHECK_STR(rv.msgid);
	PROTO_CHECK_STR(rv.rcpt);
	if (imsg->hdr.type == IMSG_QUEUE_CTL_RELEASE)
		queue_sched_release(imsg->hdr.peerid, rv.msgid, rv.rcpt);
	else
		queue_sched_remove(imsg->hdr.peerid, rv.msgid, rv.rcpt);
}

static void
queue_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	enum proc_id	from = proc_of(iev);

	switch (imsg->hdr.type) {
	case IMSG_QUEUE_MESSAGE_CREATE:
		if (from != PROC_SMTP)
			break;
		queue_msg_create(imsg);
		return;
	case IMSG_QUEUE_ENVELOPE:
		if (from != PROC_SMTP)
			break;
		queue_msg_envelope(imsg);
		return;
	case IMSG_QUEUE_RCPT:
		if (from != PROC_SMTP)
			break;
		queue_msg_rcpt(imsg);
		return;
	case IMSG_QUEUE_MESSAGE_COMMIT:
		if (from != PROC_SMTP)
			break;
		queue_msg_commit(imsg);
		return;
	case IMSG_QUEUE_MESSAGE_ABORT:
		if (from != PROC_SMTP)
			break;
		queue_msg_abort(imsg);
		return;
	case IMSG_QUEUE_DECISION:
		if (from != PROC_POLICY)
			break;
		queue_decision(imsg);
		return;
	case IMSG_QUEUE_DECISION_END:
		if (from != PROC_POLICY)
			break;
		queue_decision_end(imsg);
		return;
	case IMSG_QUEUE_DELIVERY_RESULT:
	case IMSG_QUEUE_DELIVERY_DONE:
		if (from != PROC_DELIVERY)
			break;
		queue_sched_delivery(imsg);
		return;
	case IMSG_QUEUE_SEAL_RESULT:
	case IMSG_QUEUE_SEAL_DONE:
	case IMSG_QUEUE_CODE_SEND:
		if (from != PROC_CRYPT)
			break;
		queue_secure_dispatch(imsg);
		return;
	case IMSG_QUEUE_CTL_SHOW:
		if (from != PROC_CONTROL)
			break;
		queue_ctl_show(imsg);
		return;
	case IMSG_QUEUE_CTL_SCHEDULE:
		if (from != PROC_CONTROL)
			break;
		queue_ctl_schedule(imsg);
		return;
	case IMSG_QUEUE_CTL_RELEASE:
	case IMSG_QUEUE_CTL_REMOVE:
		if (from != PROC_CONTROL)
			break;
		queue_ctl_held(imsg);
		return;
	default:
		break;
	}
	fatalx("unexpected %s from %s", proto_imsg_name(imsg->hdr.type),
	    proto_proc_name(from));
}

static void
queue_recovered(struct qenv *env)
{
	struct qenv	*e;

	e = xmalloc(sizeof(*e));
	*e = *env;
	memset(env, 0, sizeof(*env));
	queue_sched_add(e, 1);
}

static void
queue_ready(void)
{
	queue_fs_recover(queue_recovered);
	if (queue_fs_dirty)
		(void)queue_fs_sync();
	queue_sched_kick();
	log_debug("ready");
}

void
queue_main(struct config *c, int parentfd)
{
	cfg = c;
	log_procname("queue");
	setproctitle("queue");
	event_init();
	proc_child_init(PROC_QUEUE, parentfd, queue_dispatch, queue_ready);
	tzset();	/* notices give dates in local time; no zoneinfo later */
	proc_drop_privileges(PROC_QUEUE, cfg->spool);
	queue_fs_init();
	evtimer_set(&ev_sync, queue_sync_run, NULL);
	queue_sched_init(cfg);
	proc_child_run();
}
