/*
 * queue_sched.c: the scheduler of the queue process: which recipient
 * goes where, and when.
 *
 * A committed message waits on the run queue (try now) or in the wait
 * tree (ordered by its next try).  Running a message groups its pending
 * recipients into batches, one per action, and for a relay action
 * without a host one per recipient domain; each batch goes to delivery
 * as IMSG_DELIVERY_MESSAGE (with a read-only descriptor of the message),
 * IMSG_DELIVERY_RCPT per recipient and IMSG_DELIVERY_GO.  delivery
 * answers IMSG_QUEUE_DELIVERY_RESULT per recipient and
 * IMSG_QUEUE_DELIVERY_DONE.  Final results are appended to the envelope
 * (made durable by the next group sync); 4xx results retry after a
 * delay of the message's age clamped to [retry-min, retry-max], with
 * jitter, until the message expires; 5xx and expiry make a DSN
 * (queue_bounce.c).  A destination whose batches fail with nothing but
 * 4xx QUEUE_DEST_DOWN_AFTER times in a row is left alone for a while.
 * Also answers smtpctl show queue, schedule, release (quarantine only;
 * never a secured recipient) and remove (via control).
 *
 * Invariant: a recipient is in at most one batch at a time, and a
 * message leaves the spool only when every recipient is final and every
 * DSN it owes is queued.
 */
#include <sys/tree.h>
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "defaults.h"
#include "log.h"
#include "queue.h"
#include "smtpd.h"
#include "util.h"


enum qmsg_where {
	QM_IDLE,		/* in flight, bouncing or held */
	QM_RUNQ,
	QM_WAIT,
};

struct qmsg {
	RB_ENTRY(qmsg)		 entry;		/* by id */
	RB_ENTRY(qmsg)		 wentry;	/* by next try */
	TAILQ_ENTRY(qmsg)	 rentry;
	struct qenv		*env;
	enum qmsg_where		 where;
	time_t			 next_try;
	int			 inflight;	/* batches at delivery */
	int			 bouncing;	/* a DSN is being queued */
	int			 sealing;	/* at cryptd (counts inflight) */
	unsigned int		 tries;
	char			*last_error;
};

struct qdest {
	TAILQ_ENTRY(qdest)	 entry;
	char			*key;
	unsigned int		 fails;
	time_t			 down_until;
};

struct qbatch {
	TAILQ_ENTRY(qbatch)	 entry;
	uint64_t		 id;
	struct qmsg		*msg;
	char			*dest;
	size_t			*idx;
	size_t			 n;
	int			 answered;	/* an OK or 5xx came back */
	struct qbuf		 records;	/* final results to append */
};

static int	msg_cmp(struct qmsg *, struct qmsg *);
static int	wait_cmp(struct qmsg *, struct qmsg *);
RB_HEAD(queue_msg_tree, qmsg);
RB_HEAD(queue_wait_tree, qmsg);
RB_PROTOTYPE(queue_msg_tree, qmsg, entry, msg_cmp);
RB_GENERATE(queue_msg_tree, qmsg, entry, msg_cmp)
RB_PROTOTYPE(queue_wait_tree, qmsg, wentry, wait_cmp);
RB_GENERATE(queue_wait_tree, qmsg, wentry, wait_cmp)

static struct queue_msg_tree		 msgs = RB_INITIALIZER(&msgs);
static struct queue_wait_tree		 waitq = RB_INITIALIZER(&waitq);
static TAILQ_HEAD(, qmsg)	 runq = TAILQ_HEAD_INITIALIZER(runq);
static TAILQ_HEAD(, qbatch)	 batches = TAILQ_HEAD_INITIALIZER(batches);
static TAILQ_HEAD(, qdest)	 dests = TAILQ_HEAD_INITIALIZER(dests);
static size_t			 nbatches, nmsgs;
static uint64_t			 batch_next = 1;
static struct event		 ev_kick, ev_wait;
static int			 kick_armed;
static struct config		*scfg;

static void	msg_update(struct qmsg *, time_t);
static void	msg_seal(struct qmsg *);
static time_t	retry_delay(const struct qmsg *, time_t);

static int
msg_cmp(struct qmsg *a, struct qmsg *b)
{
	return strcmp(a->env->id, b->env->id);
}

static int
wait_cmp(struct qmsg *a, struct qmsg *b)
{
	if (a->next_try != b->next_try)
		return a->next_try < b->next_try ? -1 : 1;
	return strcmp(a->env->id, b->env->id);
}

static struct qmsg *
msg_find(const char *id)
{
	struct qmsg	key;
	struct qenv	env;

	if (!queue_id_valid(id))
		return NULL;
	memset(&key, 0, sizeof(key));
	memset(&env, 0, sizeof(env));
	memcpy(env.id, id, QUEUE_ID_LEN + 1);
	key.env = &env;
	return RB_FIND(queue_msg_tree, &msgs, &key);
}

static void
msg_unlink(struct qmsg *m)
{
	switch (m->where) {
	case QM_RUNQ:
		TAILQ_REMOVE(&runq, m, rentry);
		break;
	case QM_WAIT:
		RB_REMOVE(queue_wait_tree, &waitq, m);
		break;
	case QM_IDLE:
		break;
	}
	m->where = QM_IDLE;
}

static void
wait_timer_arm(void)
{
	struct qmsg	*m;
	struct timeval	 tv = { 0, 0 };
	time_t		 now = time(NULL);

	evtimer_del(&ev_wait);
	if ((m = RB_MIN(queue_wait_tree, &waitq)) == NULL)
		return;
	if (m->next_try > now)
		tv.tv_sec = m->next_try - now;
	evtimer_add(&ev_wait, &tv);
}

static void
msg_run_now(struct qmsg *m)
{
	msg_unlink(m);
	m->next_try = time(NULL);
	TAILQ_INSERT_TAIL(&runq, m, rentry);
	m->where = QM_RUNQ;
}

static void
msg_wait_until(struct qmsg *m, time_t when)
{
	msg_unlink(m);
	m->next_try = when;
	RB_INSERT(queue_wait_tree, &waitq, m);
	m->where = QM_WAIT;
	if (RB_MIN(queue_wait_tree, &waitq) == m)
		wait_timer_arm();
}

static void
msg_free(struct qmsg *m)
{
	msg_unlink(m);
	RB_REMOVE(queue_msg_tree, &msgs, m);
	nmsgs--;
	queue_env_free(m->env);
	free(m->env);
	free(m->last_error);
	free(m);
}

static void
set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? xstrdup(src) : NULL;
}

void
queue_sched_add(struct qenv *env, int now)
{
	struct qmsg	*m;
	size_t		 i;
	time_t		 last;

	m = xcalloc(1, sizeof(*m));
	m->env = env;
	for (i = 0, last = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].state == QR_PENDING &&
		    env->rcpt[i].reply != NULL && env->rcpt[i].when >= last) {
			last = env->rcpt[i].when;
			set_str(&m->last_error, env->rcpt[i].reply);
		}
	if (RB_INSERT(queue_msg_tree, &msgs, m) != NULL)
		fatalx("message %s queued twice", env->id);
	nmsgs++;
	/* msg_run() sends it, bounces it or removes it. */
	msg_run_now(m);
	if (!now)
		msg_wait_until(m, time(NULL) + retry_delay(m, time(NULL)));
}

static time_t
retry_delay(const struct qmsg *m, time_t now)
{
	time_t	delay, age = now - (time_t)m->env->ctime;

	delay = age;
	if (delay < scfg->limits.retry_min)
		delay = scfg->limits.retry_min;
	if (delay > scfg->limits.retry_max)
		delay = scfg->limits.retry_max;
	/* Jitter of up to a tenth either way, so retries do not flock. */
	if (delay >= 10)
		delay += (time_t)arc4random_uniform((uint32_t)(delay / 5) + 1) -
		    delay / 10;
	return delay;
}

static struct qdest *
dest_find(const char *key, int create)
{
	struct qdest	*d;

	TAILQ_FOREACH(d, &dests, entry)
		if (strcmp(d->key, key) == 0)
			return d;
	if (!create)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	d->key = xstrdup(key);
	TAILQ_INSERT_TAIL(&dests, d, entry);
	return d;
}

static void
dest_free(struct qdest *d)
{
	TAILQ_REMOVE(&dests, d, entry);
	free(d->key);
	free(d);
}

/* Expire what still waits: it becomes a failure with its last error. */
static void
msg_expire(struct qmsg *m, time_t now)
{
	struct qbuf	 b;
	struct qrcpt	*r;
	char		*reply;
	size_t		 i;

	qbuf_init(&b);
	for (i = 0; i < m->env->nrcpt; i++) {
		r = &m->env->rcpt[i];
		if (r->state != QR_PENDING && r->state != QR_HELD)
			continue;
		(void)xasprintf(&reply, "4.4.7 Delivery time expired%s%s",
		    r->reply ? "; last error: " : "",
		    r->reply ? r->reply : "");
		log_info("%s: to=<%s>, expired: %s", m->env->id, r->rcpt,
		    reply);
		free(r->reply);
		r->reply = reply;
		r->state = QR_FAILED;
		r->when = now;
		queue_rec_result(&b, "fail", i, now, r->relay, r->reply);
	}
	if (b.len > 0 && queue_fs_append(m->env->id, &b) == 0)
		queue_sync_later();
	qbuf_free(&b);
}

/*
 * A message that was (to be) sealed, or a notice carrying a link or a
 * code: its spool copy is overwritten before it is unlinked.
 */
static int
msg_has_plaintext_secret(const struct qmsg *m)
{
	size_t	i;

	if (m->env->flags & QMSG_NOTICE)
		return 1;
	for (i = 0; i < m->env->nrcpt; i++)
		if (m->env->rcpt[i].decision == DECISION_SECURE_1FA ||
		    m->env->rcpt[i].decision == DECISION_SECURE_2FA)
			return 1;
	return 0;
}

/*
 * Decide the next step of a message that has nothing in flight: queue
 * the DSN it owes, wait for a retry, or leave the spool.
 */
static void
msg_update(struct qmsg *m, time_t now)
{
	struct qrcpt	*r;
	size_t		*idx, n = 0, i, pending = 0, held = 0;
	time_t		 when;

	if (m->inflight > 0 || m->bouncing)
		return;
	if (now >= (time_t)m->env->ctime + scfg->limits.expire)
		msg_expire(m, now);
	idx = xreallocarray(NULL, m->env->nrcpt, sizeof(*idx));
	for (i = 0; i < m->env->nrcpt; i++) {
		r = &m->env->rcpt[i];
		if (r->state == QR_PENDING)
			pending++;
		if (r->state == QR_HELD)
			held++;
		if (r->state != QR_FAILED)
			continue;
		if (queue_bounce_wanted(m->env, r))
			idx[n++] = i;
		else {
			if (m->env->sender[0] == '\0')
				log_info("%s: to=<%s>, failed, no bounce to "
				    "the null sender", m->env->id, r->rcpt);
			r->state = QR_BOUNCED;
		}
	}
	if (n > 0) {
		msg_unlink(m);
		/* Set first: a failure may be reported before the return. */
		m->bouncing = 1;
		if (queue_bounce_create(m->env, idx, n) == -1) {
			m->bouncing = 0;
			msg_wait_until(m, now + scfg->limits.retry_min);
		}
		free(idx);
		return;
	}
	free(idx);
	if (pending == 0 && held > 0) {
		/* Only an operator or expiry moves it now. */
		msg_wait_until(m, (time_t)m->env->ctime + scfg->limits.expire);
		return;
	}
	if (pending > 0) {
		if (m->where == QM_RUNQ)
			return;
		when = now + retry_delay(m, now);
		if (when > (time_t)m->env->ctime + scfg->limits.expire)
			when = (time_t)m->env->ctime + scfg->limits.expire;
		msg_wait_until(m, when);
		return;
	}
	log_info("%s: done, removed from the queue", m->env->id);
	if (msg_has_plaintext_secret(m))
		queue_fs_shred(m->env->id);
	else
		queue_fs_remove(m->env->id);
	queue_fs_dirty = 1;
	queue_sync_later();
	msg_free(m);
}

void
queue_sched_bounced(const char *id, const size_t *idx, size_t n, int ok)
{
	struct qmsg	*m;
	struct qbuf	 b;
	time_t		 now = time(NULL);
	size_t		 i;

	if ((m = msg_find(id)) == NULL)
		return;
	m->bouncing = 0;
	if (!ok) {
		msg_wait_until(m, now + scfg->limits.retry_min);
		return;
	}
	qbuf_init(&b);
	for (i = 0; i < n; i++) {
		if (idx[i] >= m->env->nrcpt ||
		    m->env->rcpt[idx[i]].state != QR_FAILED)
			continue;
		m->env->rcpt[idx[i]].state = QR_BOUNCED;
		queue_rec_bounced(&b, idx[i], now);
	}
	if (b.len > 0)
		(void)queue_fs_append(m->env->id, &b);
	qbuf_free(&b);
	msg_update(m, now);
}

/* Which destination a recipient goes to: action, and domain for MX. */
static char *
rcpt_dest(const struct qrcpt *r, const struct action *a)
{
	const char	*at;
	char		*key;

	if (a->type == ACTION_RELAY && !a->has_host &&
	    (at = strrchr(r->rcpt, '@')) != NULL) {
		(void)xasprintf(&key, "%s@%s", a->name, at + 1);
		str_lower(key + strlen(a->name));
	} else
		key = xstrdup(a->name);
	return key;
}

static void
batch_send(struct qmsg *m, struct qbatch *bt, const struct action *a,
    uint32_t decision, int fd)
{
	struct proto_delivery		 d;
	struct proto_delivery_rcpt	 dr;
	struct proto_batch		 go;
	struct qrcpt			*r;
	size_t				 i;

	memset(&d, 0, sizeof(d));
	d.batch = bt->id;
	(void)strlcpy(d.msgid, m->env->id, sizeof(d.msgid));
	(void)strlcpy(d.action, a->name, sizeof(d.action));
	(void)strlcpy(d.sender, m->env->sender, sizeof(d.sender));
	if (a->type == ACTION_RELAY) {
		d.tls_level = a->tls;
		if (decision == DECISION_RELAY_VERIFY)
			d.tls_level = TLS_LEVEL_VERIFY;
	} else
		d.tls_level = TLS_LEVEL_NONE;
	d.body = m->env->body;
	d.smtputf8 = m->env->smtputf8;
	d.dsn_ret = m->env->dsn_ret;
	(void)strlcpy(d.dsn_envid, m->env->envid, sizeof(d.dsn_envid));
	d.nrcpt = (uint32_t)bt->n;
	proc_compose(PROC_DELIVERY, IMSG_DELIVERY_MESSAGE, 0, fd, &d,
	    sizeof(d));
	for (i = 0; i < bt->n; i++) {
		r = &m->env->rcpt[bt->idx[i]];
		memset(&dr, 0, sizeof(dr));
		dr.batch = bt->id;
		dr.idx = (uint32_t)bt->idx[i];
		(void)strlcpy(dr.rcpt, r->rcpt, sizeof(dr.rcpt));
		(void)strlcpy(dr.orcpt, r->orcpt, sizeof(dr.orcpt));
		dr.notify = r->notify;
		proc_compose(PROC_DELIVERY, IMSG_DELIVERY_RCPT, 0, -1, &dr,
		    sizeof(dr));
	}
	go.batch = bt->id;
	proc_compose(PROC_DELIVERY, IMSG_DELIVERY_GO, 0, -1, &go,
	    sizeof(go));
}

static int
is_secure(const struct qrcpt *r)
{
	return r->decision == DECISION_SECURE_1FA ||
	    r->decision == DECISION_SECURE_2FA;
}

/*
 * Seal m for its secured recipients if one of them is pending.  cryptd
 * keeps one sealed copy per message, and a second seal replaces the
 * first: so a seal names every secured recipient that is not held,
 * those sealed before included (they get a new link; their old one
 * stops working).
 */
static void
msg_seal(struct qmsg *m)
{
	struct qrcpt	*r;
	size_t		*idx, n = 0, i, pending = 0;

	if (m->sealing)
		return;
	for (i = 0; i < m->env->nrcpt; i++)
		if (is_secure(&m->env->rcpt[i]) &&
		    m->env->rcpt[i].state == QR_PENDING)
			pending++;
	if (pending == 0)
		return;
	idx = xreallocarray(NULL, m->env->nrcpt, sizeof(*idx));
	for (i = 0; i < m->env->nrcpt; i++) {
		r = &m->env->rcpt[i];
		if (is_secure(r) && (r->state == QR_PENDING ||
		    r->state == QR_SEALED))
			idx[n++] = i;
	}
	if (queue_secure_seal(m->env, idx, n) == -1) {
		set_str(&m->last_error, "cannot open message file to seal");
		free(idx);
		return;
	}
	for (i = 0; i < n; i++)
		m->env->rcpt[idx[i]].state = QR_SEALING;
	m->sealing = 1;
	m->inflight++;
	m->tries++;
	free(idx);
}

struct qenv *
queue_sched_env(const char *id)
{
	struct qmsg	*m;

	return (m = msg_find(id)) != NULL ? m->env : NULL;
}

void
queue_sched_sealed(const char *id, const struct seal_report *rep,
    size_t n)
{
	struct qmsg	*m;
	struct qrcpt	*r;
	struct qbuf	 b;
	size_t		*held, nheld = 0, i;
	time_t		 now = time(NULL);

	if ((m = msg_find(id)) == NULL || !m->sealing)
		fatalx("seal outcome for %s, which is not sealing", id);
	m->sealing = 0;
	m->inflight--;
	qbuf_init(&b);
	held = xreallocarray(NULL, n ? n : 1, sizeof(*held));
	for (i = 0; i < n; i++) {
		if (rep[i].idx >= m->env->nrcpt ||
		    m->env->rcpt[rep[i].idx].state != QR_SEALING)
			fatalx("seal outcome for a recipient not sealing");
		r = &m->env->rcpt[rep[i].idx];
		r->when = now;
		switch (rep[i].outcome) {
		case SEAL_SEALED:
			r->state = QR_SEALED;
			set_str(&r->reply, "sealed");
			queue_rec_sealed(&b, rep[i].idx, now, rep[i].notice);
			break;
		case SEAL_HELD:
			r->state = QR_HELD;
			set_str(&r->reply, rep[i].why);
			log_info("%s: to=<%s>, held: 2fa without a phone "
			    "number, sender told", m->env->id, r->rcpt);
			queue_rec_held(&b, rep[i].idx, now, rep[i].why);
			set_str(&m->last_error, rep[i].why);
			held[nheld++] = rep[i].idx;
			break;
		case SEAL_RETRY:
			r->state = QR_PENDING;
			set_str(&r->reply, rep[i].why);
			set_str(&m->last_error, rep[i].why);
			log_info("%s: to=<%s>, sealing deferred: %s",
			    m->env->id, r->rcpt, rep[i].why);
			break;
		}
	}
	if (b.len > 0 && queue_fs_append(m->env->id, &b) == 0)
		queue_sync_later();
	qbuf_free(&b);
	if (nheld > 0)
		queue_secure_held(m->env, held, nheld);
	free(held);
	msg_unlink(m);
	msg_update(m, now);
	queue_sched_kick();
}

/*
 * Send the pending recipients of m in batches.  Returns 0 when done
 * with m, -1 when the limit of batches in flight stopped it (m stays at
 * the head of the run queue).
 */
static int
msg_run(struct qmsg *m, time_t now)
{
	const struct action	*a;
	struct qrcpt		*r, *r2;
	struct qbatch		*bt;
	struct qdest		*dest;
	char			*key, *key2;
	uint8_t			*seen;
	size_t			 i, j;
	time_t			 down = 0;
	int			 fd;

	if (now >= (time_t)m->env->ctime + scfg->limits.expire) {
		msg_unlink(m);
		msg_update(m, now);
		return 0;
	}
	msg_seal(m);
	seen = xcalloc(m->env->nrcpt, 1);
	for (i = 0; i < m->env->nrcpt; i++) {
		r = &m->env->rcpt[i];
		if (r->state != QR_PENDING || seen[i])
			continue;
		if (r->decision == DECISION_SECURE_1FA ||
		    r->decision == DECISION_SECURE_2FA)
			continue;	/* msg_seal() could not send it */
		if (r->decision == DECISION_QUARANTINE) {
			log_info("%s: to=<%s>, quarantined: held for the "
			    "operator", m->env->id, r->rcpt);
			r->state = QR_HELD;
			set_str(&r->reply, "quarantined: held for the operator");
			set_str(&m->last_error, r->reply);
			continue;
		}
		if (r->decision != DECISION_RELAY &&
		    r->decision != DECISION_RELAY_VERIFY) {
			log_warnx("%s: to=<%s>, held: decision %u not "
			    "supported by this queue", m->env->id, r->rcpt,
			    r->decision);
			r->state = QR_HELD;
			continue;
		}
		if ((a = config_action(scfg, r->action)) == NULL) {
			set_str(&r->reply, "451 4.3.0 Action no longer "
			    "configured");
			continue;
		}
		if (nbatches >= QUEUE_MAX_BATCHES) {
			free(seen);
			return -1;
		}
		key = rcpt_dest(r, a);
		if ((dest = dest_find(key, 0)) != NULL &&
		    dest->down_until > now) {
			if (down == 0 || dest->down_until < down)
				down = dest->down_until;
			set_str(&r->reply, "451 4.4.1 Destination marked down "
			    "after repeated failures");
			free(key);
			continue;
		}
		bt = xcalloc(1, sizeof(*bt));
		bt->idx = xreallocarray(NULL, QUEUE_BATCH_MAX_RCPT,
		    sizeof(*bt->idx));
		for (j = i; j < m->env->nrcpt && bt->n < QUEUE_BATCH_MAX_RCPT;
		    j++) {
			r2 = &m->env->rcpt[j];
			if (seen[j] || r2->state != QR_PENDING ||
			    r2->decision != r->decision ||
			    strcmp(r2->action, r->action) != 0)
				continue;
			key2 = rcpt_dest(r2, a);
			if (strcmp(key, key2) == 0) {
				seen[j] = 1;
				bt->idx[bt->n++] = j;
			}
			free(key2);
		}
		if ((fd = queue_fs_open_body(m->env->id)) == -1) {
			free(bt->idx);
			free(bt);
			free(key);
			set_str(&m->last_error, "cannot open message file");
			break;
		}
		bt->id = batch_next++;
		bt->msg = m;
		bt->dest = key;
		qbuf_init(&bt->records);
		for (j = 0; j < bt->n; j++)
			m->env->rcpt[bt->idx[j]].state = QR_INFLIGHT;
		TAILQ_INSERT_TAIL(&batches, bt, entry);
		nbatches++;
		m->inflight++;
		m->tries++;
		batch_send(m, bt, a, r->decision, fd);
	}
	free(seen);
	msg_unlink(m);
	if (m->inflight == 0) {
		msg_update(m, now);
		/* Everything waits for a destination that is down. */
		if (down != 0 && m->where == QM_WAIT && down < m->next_try)
			msg_wait_until(m, down);
	}
	return 0;
}

static void
sched_run(int fd, short ev, void *arg)
{
	struct qmsg	*m;
	time_t		 now = time(NULL);

	kick_armed = 0;
	while ((m = RB_MIN(queue_wait_tree, &waitq)) != NULL && m->next_try <= now)
		msg_run_now(m);
	while (nbatches < QUEUE_MAX_BATCHES &&
	    (m = TAILQ_FIRST(&runq)) != NULL)
		if (msg_run(m, now) == -1)
			break;
	wait_timer_arm();
}

void
queue_sched_kick(void)
{
	struct timeval	tv = { 0, 0 };

	if (kick_armed)
		return;
	kick_armed = 1;
	evtimer_add(&ev_kick, &tv);
}

static void
sched_wait_fired(int fd, short ev, void *arg)
{
	queue_sched_kick();
}

void
queue_sched_init(struct config *cfg)
{
	scfg = cfg;
	evtimer_set(&ev_kick, sched_run, NULL);
	evtimer_set(&ev_wait, sched_wait_fired, NULL);
}

static struct qbatch *
batch_find(uint64_t id)
{
	struct qbatch	*bt;

	TAILQ_FOREACH(bt, &batches, entry)
		if (bt->id == id)
			return bt;
	return NULL;
}

static void
delivery_result(struct imsg *imsg)
{
	struct proto_dresult	 d;
	struct qbatch		*bt;
	struct qmsg		*m;
	struct qrcpt		*r;
	size_t			 i;
	time_t			 now = time(NULL);

	PROTO_CHECK_LEN(imsg, struct proto_dresult);
	memcpy(&d, imsg->data, sizeof(d));
	PROTO_CHECK_STR(d.reply);
	PROTO_CHECK_STR(d.relay);
	PROTO_CHECK_STR(d.tls);
	if ((bt = batch_find(d.batch)) == NULL)
		fatalx("result for unknown batch %llu",
		    (unsigned long long)d.batch);
	for (i = 0; i < bt->n; i++)
		if (bt->idx[i] == d.idx)
			break;
	m = bt->msg;
	if (i == bt->n || m->env->rcpt[d.idx].state != QR_INFLIGHT)
		fatalx("result for recipient %u not in batch %llu", d.idx,
		    (unsigned long long)d.batch);
	r = &m->env->rcpt[d.idx];
	r->when = now;
	set_str(&r->relay, d.relay);
	set_str(&r->reply, d.reply);
	switch (d.status) {
	case PROTO_OK:
		r->state = QR_DONE;
		bt->answered = 1;
		log_info("%s: to=<%s>, relay=%s, tls=%s, delivered: %s",
		    m->env->id, r->rcpt, d.relay[0] ? d.relay : "-",
		    d.tls[0] ? d.tls : "none", d.reply);
		if (m->env->flags & QMSG_NOTICE)
			queue_secure_notified(m->env, d.relay);
		queue_rec_result(&bt->records, "done", d.idx, now, d.relay,
		    d.reply);
		break;
	case PROTO_PERMFAIL:
		r->state = QR_FAILED;
		bt->answered = 1;
		log_info("%s: to=<%s>, relay=%s, failed: %s", m->env->id,
		    r->rcpt, d.relay[0] ? d.relay : "-", d.reply);
		queue_rec_result(&bt->records, "fail", d.idx, now, d.relay,
		    d.reply);
		break;
	case PROTO_TEMPFAIL:
		r->state = QR_PENDING;
		set_str(&m->last_error, d.reply);
		log_info("%s: to=<%s>, relay=%s, deferred: %s", m->env->id,
		    r->rcpt, d.relay[0] ? d.relay : "-", d.reply);
		/* Kept for show queue and the DSN after a restart. */
		queue_rec_result(&bt->records, "defer", d.idx, now, d.relay,
		    d.reply);
		break;
	default:
		fatalx("bad delivery status %d", d.status);
	}
}

static int
msg_all_final(const struct qmsg *m)
{
	size_t	i;

	for (i = 0; i < m->env->nrcpt; i++)
		switch (m->env->rcpt[i].state) {
		case QR_DONE:
		case QR_REJECTED:
		case QR_BOUNCED:
		case QR_SEALED:
			break;
		case QR_FAILED:
			if (queue_bounce_wanted(m->env, &m->env->rcpt[i]))
				return 0;
			break;
		default:
			return 0;
		}
	return 1;
}

static void
delivery_done(struct imsg *imsg)
{
	struct proto_batch	 b;
	struct qbatch		*bt;
	struct qmsg		*m;
	struct qrcpt		*r;
	struct qdest		*dest;
	size_t			 i;
	time_t			 now = time(NULL);

	PROTO_CHECK_LEN(imsg, struct proto_batch);
	memcpy(&b, imsg->data, sizeof(b));
	if ((bt = batch_find(b.batch)) == NULL)
		fatalx("done for unknown batch %llu",
		    (unsigned long long)b.batch);
	m = bt->msg;
	for (i = 0; i < bt->n; i++) {
		r = &m->env->rcpt[bt->idx[i]];
		if (r->state == QR_INFLIGHT) {
			r->state = QR_PENDING;
			set_str(&r->reply, "451 4.3.0 Delivery ended without "
			    "a result");
			set_str(&m->last_error, r->reply);
		}
	}
	if (bt->answered) {
		if ((dest = dest_find(bt->dest, 0)) != NULL)
			dest_free(dest);
	} else {
		dest = dest_find(bt->dest, 1);
		if (++dest->fails >= QUEUE_DEST_DOWN_AFTER) {
			dest->down_until = now + scfg->limits.retry_min;
			log_info("destination %s marked down for %ds after %u "
			    "failures", dest->key, scfg->limits.retry_min,
			    dest->fails);
		}
	}
	/*
	 * Results go to the envelope unless the message is finished and
	 * about to be removed anyway: a crash before the next sync may
	 * repeat a delivery (at least once), but never loses one.
	 */
	m->inflight--;
	if (bt->records.len > 0 && !(m->inflight == 0 && msg_all_final(m)))
		if (queue_fs_append(m->env->id, &bt->records) == 0)
			queue_sync_later();
	TAILQ_REMOVE(&batches, bt, entry);
	nbatches--;
	qbuf_free(&bt->records);
	free(bt->idx);
	free(bt->dest);
	free(bt);
	msg_update(m, now);
	queue_sched_kick();
}

void
queue_sched_delivery(struct imsg *imsg)
{
	if (imsg->hdr.type == IMSG_QUEUE_DELIVERY_RESULT)
		delivery_result(imsg);
	else
		delivery_done(imsg);
}

/* smtpctl */

static void
ctl_text(uint32_t peerid, uint32_t type, const char *text)
{
	struct proto_text	t;

	memset(&t, 0, sizeof(t));
	(void)strlcpy(t.text, text, sizeof(t.text));
	proc_compose(PROC_CONTROL, type, peerid, -1, &t, sizeof(t));
}

static void
fmt_duration(char *buf, size_t sz, time_t d)
{
	if (d < 0)
		d = 0;
	if (d < 120)
		(void)snprintf(buf, sz, "%llds", (long long)d);
	else if (d < 7200)
		(void)snprintf(buf, sz, "%lldm", (long long)d / 60);
	else if (d < 2 * 86400)
		(void)snprintf(buf, sz, "%lldh", (long long)d / 3600);
	else
		(void)snprintf(buf, sz, "%lldd", (long long)d / 86400);
}

static const char *
msg_state(const struct qmsg *m)
{
	size_t	i, held = 0, pending = 0;

	if (m->sealing)
		return "sealing";
	if (m->inflight > 0)
		return "running";
	if (m->bouncing)
		return "bouncing";
	for (i = 0; i < m->env->nrcpt; i++) {
		if (m->env->rcpt[i].state == QR_HELD)
			held++;
		if (m->env->rcpt[i].state == QR_PENDING)
			pending++;
	}
	if (held > 0 && pending == 0)
		return "held";
	switch (m->where) {
	case QM_RUNQ:
		return "queued";
	case QM_WAIT:
		return "waiting";
	case QM_IDLE:
		break;
	}
	for (i = 0; i < m->env->nrcpt; i++)
		if (m->env->rcpt[i].state == QR_HELD)
			return "held";
	return "idle";
}

void
queue_sched_show(uint32_t peerid)
{
	struct qmsg	*m;
	struct qbuf	 rc, line;
	struct qrcpt	*r;
	char		 age[32], next[32];
	char		 sender[PROTO_ADDR_MAX * 4], err[PROTO_REPLY_MAX * 4];
	time_t		 now = time(NULL);
	size_t		 i, pending;

	ctl_text(peerid, IMSG_CONTROL_TEXT,
	    "ID               AGE   STATE    NEXT  SENDER RECIPIENTS "
	    "LAST-ERROR");
	RB_FOREACH(m, queue_msg_tree, &msgs) {
		fmt_duration(age, sizeof(age), now - (time_t)m->env->ctime);
		if (m->where == QM_WAIT && m->next_try > now)
			fmt_duration(next, sizeof(next), m->next_try - now);
		else if (m->where == QM_RUNQ)
			(void)strlcpy(next, "now", sizeof(next));
		else
			(void)strlcpy(next, "-", sizeof(next));
		qbuf_init(&rc);
		for (i = 0, pending = 0; i < m->env->nrcpt; i++) {
			r = &m->env->rcpt[i];
			if (r->state != QR_PENDING && r->state != QR_INFLIGHT &&
			    r->state != QR_HELD && r->state != QR_SEALING)
				continue;
			qbuf_addf(&rc, "%s<%s>", pending ? "," : "", r->rcpt);
			pending++;
		}
		if (pending == 0)
			qbuf_addstr(&rc, "-");
		(void)log_escape(sender, sizeof(sender), m->env->sender,
		    strlen(m->env->sender));
		(void)log_escape(err, sizeof(err), m->last_error ?
		    m->last_error : "-", m->last_error ?
		    strlen(m->last_error) : 1);
		qbuf_init(&line);
		qbuf_addf(&line, "%s %-5s %-8s %-5s <%s> %zu/%zu:%s %s",
		    m->env->id, age, msg_state(m), next, sender, pending,
		    m->env->nrcpt, rc.buf, err);
		qbuf_free(&rc);
		/* A long line is cut at PROTO_TEXT_MAX by ctl_text(). */
		ctl_text(peerid, IMSG_CONTROL_TEXT, line.buf);
		qbuf_free(&line);
	}
	proc_compose(PROC_CONTROL, IMSG_CONTROL_END, peerid, -1, NULL, 0);
}

void
queue_sched_schedule(uint32_t peerid, const char *id)
{
	struct qmsg	*m, *next;
	struct qdest	*d;
	char		 text[64];
	size_t		 n = 0;

	if (strcmp(id, "all") == 0) {
		for (m = RB_MIN(queue_wait_tree, &waitq); m != NULL; m = next) {
			next = RB_NEXT(queue_wait_tree, &waitq, m);
			msg_run_now(m);
			n++;
		}
	} else if ((m = msg_find(id)) == NULL) {
		ctl_text(peerid, IMSG_CONTROL_FAIL, "no such message");
		return;
	} else if (m->where == QM_WAIT) {
		msg_run_now(m);
		n++;
	}
	/* Asked to try now: a destination marked down gets its chance. */
	while ((d = TAILQ_FIRST(&dests)) != NULL)
		dest_free(d);
	(void)snprintf(text, sizeof(text), "%zu message%s scheduled", n,
	    n == 1 ? "" : "s");
	log_info("control: schedule %s: %s", id, text);
	ctl_text(peerid, IMSG_CONTROL_TEXT, text);
	proc_compose(PROC_CONTROL, IMSG_CONTROL_END, peerid, -1, NULL, 0);
	queue_sched_kick();
}

/* Does rcpt ("" for every one) name r? */
static int
rcpt_named(const struct qrcpt *r, const char *rcpt)
{
	return rcpt[0] == '\0' || strcasecmp(r->rcpt, rcpt) == 0;
}

/* The message id names for an operator's change, or NULL (told why). */
static struct qmsg *
ctl_msg(uint32_t peerid, const char *id)
{
	struct qmsg	*m;

	if ((m = msg_find(id)) == NULL) {
		ctl_text(peerid, IMSG_CONTROL_FAIL, "no such message");
		return NULL;
	}
	if (m->inflight > 0 || m->bouncing) {
		ctl_text(peerid, IMSG_CONTROL_FAIL, "the message is being "
		    "delivered or sealed; try again in a moment");
		return NULL;
	}
	return m;
}

/*
 * Release: quarantined recipients are relayed as presented, with their
 * action.  A secured recipient held for a phone number is never
 * released: that would turn a secure decision into plain mail.
 */
void
queue_sched_release(uint32_t peerid, const char *id, const char *rcpt)
{
	struct qmsg	*m;
	struct qrcpt	*r;
	struct qbuf	 b;
	char		 text[256];
	size_t		*idx, n = 0, named = 0, secure = 0, i;
	time_t		 now = time(NULL);

	if ((m = ctl_msg(peerid, id)) == NULL)
		return;
	idx = xreallocarray(NULL, m->env->nrcpt, sizeof(*idx));
	qbuf_init(&b);
	for (i = 0; i < m->env->nrcpt; i++) {
		r = &m->env->rcpt[i];
		if (!rcpt_named(r, rcpt))
			continue;
		named++;
		if (is_secure(r) && r->state == QR_HELD)
			secure++;
		if (r->decision != DECISION_QUARANTINE ||
		    (r->state != QR_HELD && r->state != QR_PENDING))
			continue;
		queue_rec_released(&b, i, now);
		idx[n++] = i;
	}
	if (n > 0 && queue_fs_append(m->env->id, &b) == -1) {
		n = 0;
		(void)strlcpy(text, "cannot write the envelope",
		    sizeof(text));
	} else if (named == 0)
		(void)strlcpy(text, "no such recipient", sizeof(text));
	else
		(void)snprintf(text, sizeof(text), "%zu recipient%s released%s",
		    n, n == 1 ? "" : "s", secure ? "; secured recipients held "
		    "for a phone number are never released as plain mail "
		    "(resend with X-Seal-Phone, or remove them)" : "");
	qbuf_free(&b);
	for (i = 0; i < n; i++) {
		r = &m->env->rcpt[idx[i]];
		r->decision = DECISION_RELAY;
		r->state = QR_PENDING;
		r->when = now;
		set_str(&r->reply, NULL);
		log_info("%s: to=<%s>, released from quarantine by the "
		    "operator", m->env->id, r->rcpt);
	}
	free(idx);
	ctl_text(peerid, n > 0 ? IMSG_CONTROL_TEXT : IMSG_CONTROL_FAIL, text);
	if (n == 0)
		return;
	proc_compose(PROC_CONTROL, IMSG_CONTROL_END, peerid, -1, NULL, 0);
	queue_sync_later();
	msg_run_now(m);
	queue_sched_kick();
}

/*
 * Remove a message from the queue, or some of its recipients that still
 * wait (pending or held): final, without a DSN.  What is in the vault
 * stays there (smtpctl secure revoke).
 */
void
queue_sched_remove(uint32_t peerid, const char *id, const char *rcpt)
{
	struct qmsg	*m;
	struct qrcpt	*r;
	struct qbuf	 b;
	char		 text[128];
	size_t		*idx, n = 0, i;
	time_t		 now = time(NULL);

	if ((m = ctl_msg(peerid, id)) == NULL)
		return;
	if (rcpt[0] == '\0') {
		log_info("%s: removed from the queue by the operator",
		    m->env->id);
		if (msg_has_plaintext_secret(m))
			queue_fs_shred(m->env->id);
		else
			queue_fs_remove(m->env->id);
		queue_fs_dirty = 1;
		queue_sync_later();
		msg_free(m);
		ctl_text(peerid, IMSG_CONTROL_TEXT, "message removed");
		proc_compose(PROC_CONTROL, IMSG_CONTROL_END, peerid, -1, NULL,
		    0);
		return;
	}
	idx = xreallocarray(NULL, m->env->nrcpt, sizeof(*idx));
	qbuf_init(&b);
	for (i = 0; i < m->env->nrcpt; i++) {
		r = &m->env->rcpt[i];
		if (!rcpt_named(r, rcpt) ||
		    (r->state != QR_PENDING && r->state != QR_HELD))
			continue;
		queue_rec_removed(&b, i, now);
		idx[n++] = i;
	}
	if (n == 0 || queue_fs_append(m->env->id, &b) == -1) {
		ctl_text(peerid, IMSG_CONTROL_FAIL, n == 0 ? "no such "
		    "recipient waiting in the queue" : "cannot write the "
		    "envelope");
		qbuf_free(&b);
		free(idx);
		return;
	}
	qbuf_free(&b);
	for (i = 0; i < n; i++) {
		r = &m->env->rcpt[idx[i]];
		r->state = QR_BOUNCED;
		r->when = now;
		set_str(&r->reply, "removed by the operator");
		log_info("%s: to=<%s>, removed by the operator", m->env->id,
		    r->rcpt);
	}
	free(idx);
	(void)snprintf(text, sizeof(text), "%zu recipient%s removed", n,
	    n == 1 ? "" : "s");
	ctl_text(peerid, IMSG_CONTROL_TEXT, text);
	proc_compose(PROC_CONTROL, IMSG_CONTROL_END, peerid, -1, NULL, 0);
	queue_sync_later();
	msg_unlink(m);
	msg_update(m, now);
}
