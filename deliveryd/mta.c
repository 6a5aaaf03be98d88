/*
 * mta.c: batches and routing of the delivery process (deliveryd).
 *
 * Receives from the queue IMSG_DELIVERY_MESSAGE (with a read-only fd of
 * the message), IMSG_DELIVERY_RCPT and IMSG_DELIVERY_GO; sends back one
 * IMSG_QUEUE_DELIVERY_RESULT per recipient and IMSG_QUEUE_DELIVERY_DONE.
 *
 * A batch is split into transactions, one per destination: the relay
 * host of the action, or else the recipient's domain (MX in priority
 * order, the domain's own A/AAAA without MX, RFC 7505 null MX refused at
 * once).  A destination keeps its routes for a while, a queue of
 * transactions and up to DEF_MTA_SESSIONS_PER_DEST connections, which
 * carry one transaction after another.  The TLS level of a transaction
 * is the highest of the action's, the batch's and the action's
 * tls-policy entry for the recipient's domain: it is part of the
 * destination (as is the action's ca), so a connection never carries
 * mail that needs more than it offers.
 *
 * Invariant: every recipient gets exactly one result, then the batch
 * gets DONE; a batch is freed only after that.
 */
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "defaults.h"
#include "delivery.h"
#include "log.h"
#include "proc.h"
#include "util.h"

enum route_state {
	ROUTE_NONE,
	ROUTE_RESOLVING,
	ROUTE_READY,
};

struct mta_dest {
	TAILQ_ENTRY(mta_dest)	 entry;
	char			 key[PROTO_NAME_MAX + 128];
	int			 is_mx;
	char			 name[PROTO_NAME_MAX];	/* domain or host */
	enum relay_proto	 proto;
	int			 port;
	enum tls_level		 tls;
	const char		*auth;
	const struct ca		*ca;
	struct mta_txlist	 queue;
	size_t			 nqueued;
	struct mta_session	**idle;
	size_t			 nidle;
	int			 nsessions;
	int			 nconnecting;
	time_t			 lastuse;	/* for the sweep */
	/* Routes. */
	enum route_state	 rstate;
	time_t			 rexpire;
	struct mta_route	*routes;
	size_t			 nroutes;
	int			 rpending;	/* host queries out */
	size_t			 nmx;
	struct dns_mx		*mx;
	struct mta_route	**mxroutes;	/* per MX, its addresses */
	size_t			*mxnroutes;
	int			 rstatus;	/* PROTO_* of the resolution */
	char			 rwhy[PROTO_REPLY_MAX];
};

TAILQ_HEAD(, mta_batch)		 mta_batches = TAILQ_HEAD_INITIALIZER(
				    mta_batches);
TAILQ_HEAD(, mta_dest)		 mta_dests = TAILQ_HEAD_INITIALIZER(mta_dests);

static const char *status_name[] = { "Ok", "TempFail", "PermFail" };
static struct event	 mta_sweep_ev;

static void	mta_dest_run(struct mta_dest *);
static void	mta_result_send(struct mta_batch *, struct mta_rcpt *, int,
		    const char *, const char *, const char *);
static void	mta_dest_fail(struct mta_dest *, int, const char *);
static void	mta_dest_routes_clear(struct mta_dest *);

/*
 * Destinations are made per recipient domain: without a sweep every
 * domain ever mailed would stay in memory.  One with nothing queued, no
 * session and no DNS query out is freed once it has been idle for the
 * time its routes are cached anyway.
 */
static void
mta_dest_sweep(int fd, short ev, void *arg)
{
	struct mta_dest	*d, *next;
	struct timeval	 tv = { DEF_MTA_DEST_SWEEP, 0 };
	time_t		 now = time(NULL);
	size_t		 n = 0;

	for (d = TAILQ_FIRST(&mta_dests); d != NULL; d = next) {
		next = TAILQ_NEXT(d, entry);
		if (d->nqueued > 0 || d->nsessions > 0 || d->nconnecting > 0 ||
		    d->rstate == ROUTE_RESOLVING || d->rpending > 0 ||
		    now - d->lastuse < DEF_MTA_ROUTE_TTL)
			continue;
		TAILQ_REMOVE(&mta_dests, d, entry);
		mta_dest_routes_clear(d);
		free(d->idle);
		free(d);
		n++;
	}
	if (n > 0)
		log_debug("mta: %zu idle destination(s) freed", n);
	evtimer_add(&mta_sweep_ev, &tv);
}

void
mta_init(void)
{
	struct timeval	tv = { DEF_MTA_DEST_SWEEP, 0 };

	evtimer_set(&mta_sweep_ev, mta_dest_sweep, NULL);
	evtimer_add(&mta_sweep_ev, &tv);
}

static struct mta_batch *
mta_batch_find(uint64_t id)
{
	struct mta_batch	*b;

	TAILQ_FOREACH(b, &mta_batches, entry)
		if (b->d.batch == id)
			return b;
	return NULL;
}

static void
mta_batch_free(struct mta_batch *b)
{
	struct proto_batch	pb;

	memset(&pb, 0, sizeof(pb));
	pb.batch = b->d.batch;
	proc_compose(PROC_QUEUE, IMSG_QUEUE_DELIVERY_DONE, 0, -1, &pb,
	    sizeof(pb));
	TAILQ_REMOVE(&mta_batches, b, entry);
	if (b->fd != -1)
		close(b->fd);
	free(b->rcpts);
	free(b);
}

void
mta_result(struct mta_tx *tx, size_t i, int status, const char *reply,
    const char *relay, const char *tls)
{
	struct mta_batch	*b = tx->batch;
	struct mta_rcpt		*r = &b->rcpts[tx->rcpt[i]];

	if (r->done)
		return;
	r->done = 1;
	b->nresult++;
	log_info("msgid=%s batch=%016llx to=<%s> action=%s "
	    "relay=\"%s\" tls=\"%s\" status=%s reply=\"%s\"", b->d.msgid,
	    (unsigned long long)b->d.batch, r->rcpt, b->d.action,
	    relay ? relay : "", tls ? tls : "", status_name[status],
	    reply ? reply : "");
	mta_result_send(b, r, status, reply, relay, tls);
}

static void
mta_result_send(struct mta_batch *b, struct mta_rcpt *r, int status,
    const char *reply, const char *relay, const char *tls)
{
	struct proto_dresult	 res;

	memset(&res, 0, sizeof(res));
	res.batch = b->d.batch;
	res.idx = r->idx;
	res.status = status;
	if (reply != NULL)
		strlcpy(res.reply, reply, sizeof(res.reply));
	if (relay != NULL)
		strlcpy(res.relay, relay, sizeof(res.relay));
	if (tls != NULL)
		strlcpy(res.tls, tls, sizeof(res.tls));
	proc_compose(PROC_QUEUE, IMSG_QUEUE_DELIVERY_RESULT, 0, -1, &res,
	    sizeof(res));
}

void
mta_tx_done(struct mta_tx *tx)
{
	struct mta_batch	*b = tx->batch;
	size_t			 i;

	for (i = 0; i < tx->nrcpt; i++)
		mta_result(tx, i, PROTO_TEMPFAIL, "4.4.0 delivery not "
		    "finished", NULL, NULL);
	free(tx->rcpt);
	free(tx);
	if (--b->ntx == 0)
		mta_batch_free(b);
}

int
mta_batch_chunk(struct mta_batch *b, off_t *off, struct mta_body_enc *e,
    struct mta_buf *out, char *why, size_t whysz)
{
	static char	buf[DEF_MTA_BODY_CHUNK];
	size_t		want;
	ssize_t		n;

	want = b->size - *off < (off_t)sizeof(buf) ?
	    (size_t)(b->size - *off) : sizeof(buf);
	if (want > 0) {
		do
			n = pread(b->fd, buf, want, *off);
		while (n == -1 && errno == EINTR);
		if (n == -1) {
			mta_fmt(why, whysz, "4.3.0 message file: %s",
			    strerror(errno));
			return -1;
		}
		if (n == 0) {
			mta_fmt(why, whysz, "4.3.0 message file: shorter "
			    "than %lld bytes", (long long)b->size);
			return -1;
		}
		mta_body_enc_add(e, buf, n, out);
		*off += n;
	}
	if (*off < b->size)
		return 1;
	mta_body_enc_finish(e, out);
	return 0;
}

/*
 * The size of the message file, and (for SMTP) the RFC 1870 size of
 * what will be sent: one pass of the encoder, a piece at a time.
 */
static int
mta_batch_scan(struct mta_batch *b, char *why, size_t whysz)
{
	struct mta_body_enc	 e;
	struct mta_buf		 out;
	struct stat		 sb;
	size_t			 total = 0;
	off_t			 off = 0;
	int			 r;

	if (fstat(b->fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		mta_fmt(why, whysz, "4.3.0 message file: not a file");
		return -1;
	}
	b->size = sb.st_size;
	if (b->action->type != ACTION_RELAY)
		return 0;
	memset(&out, 0, sizeof(out));
	mta_body_enc_init(&e, BODY_SMTP);
	do {
		r = mta_batch_chunk(b, &off, &e, &out, why, whysz);
		total += out.len;
		out.len = 0;
	} while (r == 1);
	mta_buf_free(&out);
	if (r == -1)
		return -1;
	/* Without the stuffed dots and the final ".\r\n" (RFC 1870 3). */
	b->wiresize = total - e.stuffed - 3;
	return 0;
}

static int
is_ip_literal(const char *s)
{
	struct in6_addr	in6;

	return inet_pton(AF_INET, s, &in6) == 1 ||
	    inet_pton(AF_INET6, s, &in6) == 1;
}

/*
 * The level a tls-policy table asks for domain: its own entry, else the
 * entry ".parent" of the nearest parent domain; -1 if none.
 */
static int
mta_tls_policy(const struct table *t, const char *domain)
{
	const char	*v, *dot;

	if (t == NULL || domain[0] == '\0')
		return -1;
	if ((v = table_get_nocase(t, domain)) != NULL)
		return config_tls_level(v);
	for (dot = strchr(domain, '.'); dot != NULL;
	    dot = strchr(dot + 1, '.'))
		if ((v = table_get_nocase(t, dot)) != NULL)
			return config_tls_level(v);
	return -1;
}

static struct mta_dest *
mta_dest_get(struct mta_batch *b, const char *domain)
{
	struct action	*a = b->action;
	struct mta_dest	*d;
	enum tls_level	 tls;
	const char	*auth = NULL;
	char		 key[sizeof(d->key)];
	char		 name[PROTO_NAME_MAX];
	int		 port, ptls;

	/* The highest of the action's, the recipient's and the domain's. */
	tls = a->tls;
	if (b->d.tls_level > tls)
		tls = b->d.tls_level;
	if ((ptls = mta_tls_policy(a->tls_policy, domain)) > (int)tls)
		tls = (enum tls_level)ptls;
	if (a->has_host) {
		strlcpy(name, a->host, sizeof(name));
		port = a->port ? a->port : a->proto == RELAY_SMTPS ?
		    DEF_SMTPS_PORT : DEF_SMTP_PORT;
		if (a->auth != NULL)
			auth = table_get(a->auth, a->host);
	} else {
		strlcpy(name, domain, sizeof(name));
		str_lower(name);
		port = DEF_SMTP_PORT;
	}
	mta_fmt(key, sizeof(key), "%s:%s:%d:%d:tls%d:%s:%s",
	    a->has_host ? "host" : "mx", name, port, a->proto, tls,
	    auth ? a->name : "", a->ca ? a->ca->name : "");
	TAILQ_FOREACH(d, &mta_dests, entry)
		if (strcmp(d->key, key) == 0) {
			d->lastuse = time(NULL);
			return d;
		}
	d = xcalloc(1, sizeof(*d));
	d->lastuse = time(NULL);
	strlcpy(d->key, key, sizeof(d->key));
	strlcpy(d->name, name, sizeof(d->name));
	d->is_mx = !a->has_host;
	d->proto = a->has_host ? a->proto : RELAY_SMTP;
	d->port = port;
	d->tls = tls;
	d->auth = auth;
	d->ca = a->ca;
	TAILQ_INIT(&d->queue);
	TAILQ_INSERT_TAIL(&mta_dests, d, entry);
	return d;
}

static void
mta_dest_routes_clear(struct mta_dest *d)
{
	size_t	i;

	free(d->routes);
	d->routes = NULL;
	d->nroutes = 0;
	for (i = 0; i < d->nmx && d->mxroutes != NULL; i++)
		free(d->mxroutes[i]);
	free(d->mxroutes);
	free(d->mxnroutes);
	free(d->mx);
	d->mxroutes = NULL;
	d->mxnroutes = NULL;
	d->mx = NULL;
	d->nmx = 0;
}

static void
mta_dest_add_route(struct mta_dest *d, const char *name,
    const struct sockaddr_storage *ss)
{
	struct mta_route	*r;

	d->routes = xreallocarray(d->routes, d->nroutes + 1,
	    sizeof(*d->routes));
	r = &d->routes[d->nroutes++];
	memset(r, 0, sizeof(*r));
	strlcpy(r->name, name, sizeof(r->name));
	r->ss = *ss;
	if (r->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&r->ss)->sin_port = htons(d->port);
	else
		((struct sockaddr_in6 *)&r->ss)->sin6_port = htons(d->port);
}

static void
mta_dest_resolved(struct mta_dest *d, int status, const char *why)
{
	d->rstate = ROUTE_READY;
	d->rexpire = time(NULL) + DEF_MTA_ROUTE_TTL;
	d->rstatus = status;
	strlcpy(d->rwhy, why ? why : "", sizeof(d->rwhy));
	if (status == PROTO_OK && d->nroutes == 0) {
		d->rstatus = PROTO_TEMPFAIL;
		strlcpy(d->rwhy, "4.4.4 no address to deliver to",
		    sizeof(d->rwhy));
	}
	if (d->rstatus != PROTO_OK) {
		log_info("route to %s: %s", d->name, d->rwhy);
		/* Failures are not kept: the next try asks again. */
		d->rstate = ROUTE_NONE;
		mta_dest_fail(d, d->rstatus, d->rwhy);
		return;
	}
	mta_dest_run(d);
}

/* The A/AAAA of a relay host, or of a domain without MX. */
static void
mta_dest_host_done(void *arg, const struct dns_result *res)
{
	struct mta_dest	*d = arg;
	char		 why[PROTO_REPLY_MAX];
	size_t		 i;

	switch (res->status) {
	case DNS_OK:
		for (i = 0; i < res->naddr; i++)
			mta_dest_add_route(d, d->name, &res->addr[i]);
		mta_dest_resolved(d, PROTO_OK, NULL);
		return;
	case DNS_TEMPFAIL:
		mta_fmt(why, sizeof(why), "4.4.3 %s: %s", d->name, res->why);
		mta_dest_resolved(d, PROTO_TEMPFAIL, why);
		return;
	default:
		mta_fmt(why, sizeof(why), "5.1.2 %s: host or domain name "
		    "not found", d->name);
		/* A relay host that does not resolve is a config error. */
		mta_dest_resolved(d, d->is_mx ? PROTO_PERMFAIL :
		    PROTO_TEMPFAIL, why);
		return;
	}
}

struct mx_query {
	struct mta_dest	*dest;
	size_t		 i;
};

static void
mta_dest_mxhost_done(void *arg, const struct dns_result *res)
{
	struct mx_query		*q = arg;
	struct mta_dest		*d = q->dest;
	struct mta_route	*r;
	size_t			 i, j;

	if (res->status == DNS_OK) {
		d->mxroutes[q->i] = xcalloc(res->naddr, sizeof(*r));
		d->mxnroutes[q->i] = res->naddr;
		for (j = 0; j < res->naddr; j++) {
			r = &d->mxroutes[q->i][j];
			strlcpy(r->name, d->mx[q->i].host, sizeof(r->name));
			r->ss = res->addr[j];
		}
	} else
		log_info("MX %s of %s: %s", d->mx[q->i].host,
		    d->name, res->why);
	free(q);
	if (--d->rpending > 0)
		return;
	/* All answers are in: routes in MX order. */
	for (i = 0; i < d->nmx; i++)
		for (j = 0; j < d->mxnroutes[i]; j++)
			mta_dest_add_route(d, d->mxroutes[i][j].name,
			    &d->mxroutes[i][j].ss);
	mta_dest_resolved(d, PROTO_OK, NULL);
}

static void
mta_dest_mx_done(void *arg, const struct dns_result *res)
{
	struct mta_dest	*d = arg;
	struct mx_query	*q;
	char		 why[PROTO_REPLY_MAX];
	size_t		 i, n;

	switch (res->status) {
	case DNS_NXDOMAIN:
		mta_fmt(why, sizeof(why), "5.1.2 %s: domain not found",
		    d->name);
		mta_dest_resolved(d, PROTO_PERMFAIL, why);
		return;
	case DNS_TEMPFAIL:
		mta_fmt(why, sizeof(why), "4.4.3 %s: MX lookup: %s",
		    d->name, res->why);
		mta_dest_resolved(d, PROTO_TEMPFAIL, why);
		return;
	case DNS_NODATA:
		/* RFC 5321 5.1: the domain itself is the implicit MX. */
		dns_host(d->name, mta_dest_host_done, d);
		return;
	case DNS_OK:
		break;
	}
	/* RFC 7505: a single MX "." says the domain takes no mail. */
	for (i = 0, n = 0; i < res->nmx; i++)
		if (res->mx[i].host[0] != '\0')
			n++;
	if (n == 0) {
		mta_fmt(why, sizeof(why), "5.1.10 %s: domain does not "
		    "accept mail (null MX)", d->name);
		mta_dest_resolved(d, PROTO_PERMFAIL, why);
		return;
	}
	d->mx = xcalloc(n, sizeof(*d->mx));
	for (i = 0, d->nmx = 0; i < res->nmx; i++)
		if (res->mx[i].host[0] != '\0')
			d->mx[d->nmx++] = res->mx[i];
	d->mxroutes = xcalloc(d->nmx, sizeof(*d->mxroutes));
	d->mxnroutes = xcalloc(d->nmx, sizeof(*d->mxnroutes));
	d->rpending = (int)d->nmx;
	n = d->nmx;
	for (i = 0; i < n; i++) {
		q = xcalloc(1, sizeof(*q));
		q->dest = d;
		q->i = i;
		dns_host(d->mx[i].host, mta_dest_mxhost_done, q);
	}
}

static void
mta_dest_resolve(struct mta_dest *d)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	mta_dest_routes_clear(d);
	d->rstate = ROUTE_RESOLVING;
	memset(&ss, 0, sizeof(ss));
	if (!d->is_mx && inet_pton(AF_INET, d->name, &sin->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		mta_dest_add_route(d, d->name, &ss);
		mta_dest_resolved(d, PROTO_OK, NULL);
	} else if (!d->is_mx &&
	    inet_pton(AF_INET6, d->name, &sin6->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		mta_dest_add_route(d, d->name, &ss);
		mta_dest_resolved(d, PROTO_OK, NULL);
	} else if (d->is_mx && is_ip_literal(d->name)) {
		mta_dest_resolved(d, PROTO_PERMFAIL, "5.1.2 address literal "
		    "domains are not routed");
	} else if (d->is_mx)
		dns_mx(d->name, mta_dest_mx_done, d);
	else
		dns_host(d->name, mta_dest_host_done, d);
}

/* Fail every queued transaction of d. */
static void
mta_dest_fail(struct mta_dest *d, int status, const char *why)
{
	struct mta_tx	*tx;
	size_t		 i;

	while ((tx = TAILQ_FIRST(&d->queue)) != NULL) {
		TAILQ_REMOVE(&d->queue, tx, entry);
		d->nqueued--;
		for (i = 0; i < tx->nrcpt; i++)
			mta_result(tx, i, status, why, d->name, NULL);
		mta_tx_done(tx);
	}
}

static void
mta_dest_run(struct mta_dest *d)
{
	struct mta_dest_info	 info;
	struct mta_session	*s;
	struct mta_tx		*tx;

	while (d->nidle > 0 && (tx = TAILQ_FIRST(&d->queue)) != NULL) {
		TAILQ_REMOVE(&d->queue, tx, entry);
		d->nqueued--;
		s = d->idle[--d->nidle];
		mta_session_start(s, tx);
	}
	if (d->nqueued == 0)
		return;
	if (d->rstate == ROUTE_READY && time(NULL) >= d->rexpire &&
	    d->nsessions == 0)
		d->rstate = ROUTE_NONE;
	if (d->rstate == ROUTE_NONE)
		mta_dest_resolve(d);
	if (d->rstate != ROUTE_READY)
		return;
	memset(&info, 0, sizeof(info));
	info.key = d->name;
	info.proto = d->proto;
	info.tls = d->tls;
	info.port = d->port;
	info.auth = d->auth;
	info.ca = d->ca;
	info.routes = d->routes;
	info.nroutes = d->nroutes;
	while ((size_t)d->nconnecting < d->nqueued &&
	    d->nsessions < DEF_MTA_SESSIONS_PER_DEST) {
		d->nsessions++;
		d->nconnecting++;
		(void)mta_session_new(d, &info);
	}
}

struct mta_tx *
mta_dest_next(struct mta_dest *d, struct mta_session *s, int first)
{
	struct mta_tx	*tx;

	if (first)
		d->nconnecting--;
	if ((tx = TAILQ_FIRST(&d->queue)) != NULL) {
		TAILQ_REMOVE(&d->queue, tx, entry);
		d->nqueued--;
		return tx;
	}
	d->idle = xreallocarray(d->idle, d->nidle + 1, sizeof(*d->idle));
	d->idle[d->nidle++] = s;
	return NULL;
}

void
mta_dest_session_gone(struct mta_dest *d, struct mta_session *s,
    int connected, int failed, const char *why)
{
	size_t	i;

	d->lastuse = time(NULL);
	d->nsessions--;
	if (!connected)
		d->nconnecting--;
	for (i = 0; i < d->nidle; i++)
		if (d->idle[i] == s) {
			d->idle[i] = d->idle[--d->nidle];
			break;
		}
	/*
	 * Nowhere to connect to: everything waiting for this place fails
	 * now (the queue retries later) rather than hammering it.
	 */
	if (failed) {
		d->rstate = ROUTE_NONE;
		mta_dest_fail(d, PROTO_TEMPFAIL, why);
	}
	mta_dest_run(d);
}

/* The domain of an address; "" if none. */
static const char *
rcpt_domain(const char *addr)
{
	const char	*at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

static void
mta_batch_go(struct mta_batch *b)
{
	struct mta_tx	*tx, **txs = NULL;
	struct mta_dest	**dests;
	char		 why[PROTO_REPLY_MAX];
	size_t		 i, j, ntx = 0;

	if (b->action == NULL) {
		mta_fmt(why, sizeof(why), "4.3.5 unknown action %s",
		    b->d.action);
		goto fail;
	}
	if (mta_batch_scan(b, why, sizeof(why)) == -1)
		goto fail;
	if (b->action->type == ACTION_MAILDIR) {
		tx = xcalloc(1, sizeof(*tx));
		tx->batch = b;
		tx->rcpt = xcalloc(b->nrcpt, sizeof(*tx->rcpt));
		for (i = 0; i < b->nrcpt; i++)
			tx->rcpt[i] = i;
		tx->nrcpt = b->nrcpt;
		b->ntx = 1;
		for (i = 0; i < b->nrcpt; i++) {
			if (maildir_deliver(b, why, sizeof(why)) == -1)
				mta_result(tx, i, PROTO_TEMPFAIL, why,
				    b->action->maildir, NULL);
			else
				mta_result(tx, i, PROTO_OK, "2.0.0 delivered",
				    b->action->maildir, NULL);
		}
		mta_tx_done(tx);
		return;
	}
	/* One transaction per destination (and per 100 recipients). */
	for (i = 0; i < b->nrcpt; i++) {
		struct mta_dest	*d = mta_dest_get(b, rcpt_domain(
		    b->rcpts[i].rcpt));

		tx = NULL;
		for (j = 0; j < ntx; j++)
			if (txs[j]->dest == d &&
			    txs[j]->nrcpt < DEF_MTA_RCPT_PER_TX)
				tx = txs[j];
		if (tx == NULL) {
			tx = xcalloc(1, sizeof(*tx));
			tx->batch = b;
			tx->dest = d;
			tx->rcpt = xcalloc(b->nrcpt, sizeof(*tx->rcpt));
			txs = xreallocarray(txs, ntx + 1, sizeof(*txs));
			txs[ntx++] = tx;
		}
		tx->rcpt[tx->nrcpt++] = i;
	}
	b->ntx = (int)ntx;
	for (j = 0; j < ntx; j++) {
		TAILQ_INSERT_TAIL(&txs[j]->dest->queue, txs[j], entry);
		txs[j]->dest->nqueued++;
	}
	/*
	 * Run each destination once.  That may finish transactions (and
	 * free b and them): take the destinations first.
	 */
	dests = xcalloc(ntx, sizeof(*dests));
	for (j = 0; j < ntx; j++)
		dests[j] = txs[j]->dest;
	free(txs);
	for (j = 0; j < ntx; j++) {
		for (i = 0; i < j; i++)
			if (dests[i] == dests[j])
				break;
		if (i == j)
			mta_dest_run(dests[j]);
	}
	free(dests);
	return;
fail:
	log_warnx("msgid=%s batch=%016llx: %s", b->d.msgid,
	    (unsigned long long)b->d.batch, why);
	for (i = 0; i < b->nrcpt; i++)
		mta_result_send(b, &b->rcpts[i], PROTO_TEMPFAIL, why, NULL,
		    NULL);
	mta_batch_free(b);
}

void
mta_dispatch_queue(struct imsg *imsg)
{
	struct proto_delivery		 d;
	struct proto_delivery_rcpt	 r;
	struct proto_batch		 pb;
	struct mta_batch		*b;
	struct mta_rcpt			*mr;

	switch (imsg->hdr.type) {
	case IMSG_DELIVERY_MESSAGE:
		PROTO_CHECK_LEN(imsg, struct proto_delivery);
		memcpy(&d, imsg->data, sizeof(d));
		PROTO_CHECK_STR(d.msgid);
		PROTO_CHECK_STR(d.action);
		PROTO_CHECK_STR(d.sender);
		PROTO_CHECK_STR(d.dsn_envid);
		if (imsg->fd == -1)
			fatalx("message without a file");
		if (mta_batch_find(d.batch) != NULL)
			fatalx("batch %016llx twice",
			    (unsigned long long)d.batch);
		if (d.tls_level > TLS_LEVEL_VERIFY || d.nrcpt == 0 ||
		    d.nrcpt > 100000 || d.body > BODY_BINARYMIME)
			fatalx("bad batch %016llx",
			    (unsigned long long)d.batch);
		b = xcalloc(1, sizeof(*b));
		b->d = d;
		b->fd = imsg->fd;
		imsg->fd = -1;
		b->action = config_action(delivery_cfg, d.action);
		b->rcpts = xcalloc(d.nrcpt, sizeof(*b->rcpts));
		TAILQ_INSERT_TAIL(&mta_batches, b, entry);
		break;
	case IMSG_DELIVERY_RCPT:
		PROTO_CHECK_LEN(imsg, struct proto_delivery_rcpt);
		memcpy(&r, imsg->data, sizeof(r));
		PROTO_CHECK_STR(r.rcpt);
		PROTO_CHECK_STR(r.orcpt);
		if ((b = mta_batch_find(r.batch)) == NULL ||
		    b->nrcpt >= b->d.nrcpt)
			fatalx("unexpected recipient for batch "
			    "%016llx", (unsigned long long)r.batch);
		mr = &b->rcpts[b->nrcpt++];
		mr->idx = r.idx;
		strlcpy(mr->rcpt, r.rcpt, sizeof(mr->rcpt));
		strlcpy(mr->orcpt, r.orcpt, sizeof(mr->orcpt));
		mr->notify = r.notify;
		break;
	case IMSG_DELIVERY_GO:
		PROTO_CHECK_LEN(imsg, struct proto_batch);
		memcpy(&pb, imsg->data, sizeof(pb));
		if ((b = mta_batch_find(pb.batch)) == NULL ||
		    b->nrcpt != b->d.nrcpt)
			fatalx("bad GO for batch %016llx",
			    (unsigned long long)pb.batch);
		mta_batch_go(b);
		break;
	default:
		fatalx("unexpected %s from queue",
		    proto_imsg_name(imsg->hdr.type));
	}
}
