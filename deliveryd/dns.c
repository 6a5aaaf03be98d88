/*
 * dns.c: asynchronous DNS for the delivery process (deliveryd).
 *
 * libunbound resolves in its own thread; its descriptor (ub_fd) is
 * watched by the libevent loop and ub_process() hands results to our
 * callbacks, in the loop's thread.  Everything libunbound reads from the
 * file system (resolv.conf, hosts, the trust anchor) is read in
 * dns_init(), before the process chroots.  With "resolver ADDRESS" in
 * smtpd.conf every query is forwarded there instead (tests use their own
 * server).  Answers say whether they were DNSSEC-validated, for DANE.
 *
 * Invariant: rdata from the network is parsed with bounds checks and
 * never trusted to be a valid name; a malformed answer is a temporary
 * failure.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>
#include <unistd.h>

#include "delivery.h"
#include "log.h"
#include "util.h"

#define DNS_TYPE_A	1
#define DNS_TYPE_MX	15
#define DNS_TYPE_AAAA	28
#define DNS_CLASS_IN	1
#define ROOT_KEY	"/usr/share/dns/root.key"

struct dns_query {
	dns_cb			 cb;
	void			*arg;
	int			 type;		/* MX, or A for a host */
	int			 pending;
	struct dns_result	 res;
	struct dns_result	 res6;
};

static struct ub_ctx	*dns_ctx;
static struct event	 dns_ev;

static void
dns_event(int fd, short ev, void *arg)
{
	if (ub_process(dns_ctx) != 0)
		log_warnx("dns: ub_process failed");
}

void
dns_init(const char *resolver, int port)
{
	char	fwd[PROTO_IP_MAX + 8];
	int	r;

	if ((dns_ctx = ub_ctx_create()) == NULL)
		fatalx("dns: cannot create the resolver");
	/* Our own resolver may be on loopback (tests, a local unbound). */
	ub_ctx_set_option(dns_ctx, "do-not-query-localhost:", "no");
	if ((r = ub_ctx_async(dns_ctx, 1)) != 0)
		fatalx("dns: async: %s", ub_strerror(r));
	if (resolver != NULL) {
		if (snprintf(fwd, sizeof(fwd), "%s@%d", resolver,
		    port ? port : 53) >= (int)sizeof(fwd))
			fatalx("dns: resolver address too long");
		if ((r = ub_ctx_set_fwd(dns_ctx, fwd)) != 0)
			fatalx("dns: resolver %s: %s", fwd, ub_strerror(r));
	} else {
		if ((r = ub_ctx_resolvconf(dns_ctx, NULL)) != 0)
			log_warnx("dns: resolv.conf: %s", ub_strerror(r));
		/*
		 * Validate when the system has a root trust anchor; with a
		 * configured resolver (tests) the zones are not signed.
		 */
		if (access(ROOT_KEY, R_OK) == 0 &&
		    (r = ub_ctx_add_ta_file(dns_ctx, ROOT_KEY)) != 0)
			log_warnx("dns: trust anchor: %s", ub_strerror(r));
	}
	if ((r = ub_ctx_hosts(dns_ctx, NULL)) != 0)
		log_warnx("dns: hosts: %s", ub_strerror(r));
	event_set(&dns_ev, ub_fd(dns_ctx), EV_READ | EV_PERSIST, dns_event,
	    NULL);
	event_add(&dns_ev, NULL);
}

/* A wire-format name (uncompressed, as libunbound returns rdata). */
static int
dns_name(const unsigned char *p, size_t len, char *dst, size_t dstsz)
{
	size_t	off = 0, o = 0, n, i;

	for (;;) {
		if (off >= len)
			return -1;
		n = p[off++];
		if (n == 0)
			break;
		if (n > 63 || off + n > len)
			return -1;
		if (o > 0) {
			if (o + 1 >= dstsz)
				return -1;
			dst[o++] = '.';
		}
		for (i = 0; i < n; i++) {
			unsigned char c = p[off + i];

			/* Host names only: letters, digits, '-', '_'. */
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' &&
			    c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '_'))
				return -1;
			if (o + 1 >= dstsz)
				return -1;
			dst[o++] = c;
		}
		off += n;
	}
	if (o >= dstsz)
		return -1;
	dst[o] = '\0';
	return 0;
}

static int
dns_mx_cmp(const void *a, const void *b)
{
	const struct dns_mx	*x = a, *y = b;

	return x->pref - y->pref;
}

/* Status of an answer; fills res->why. */
static enum dns_status
dns_status_of(int err, struct ub_result *ur, struct dns_result *res)
{
	if (err != 0) {
		mta_fmt(res->why, sizeof(res->why), "%s", ub_strerror(err));
		return DNS_TEMPFAIL;
	}
	res->secure = ur->secure;
	if (ur->bogus) {
		mta_fmt(res->why, sizeof(res->why), "DNSSEC bogus answer");
		return DNS_TEMPFAIL;
	}
	if (ur->rcode == 3) {
		mta_fmt(res->why, sizeof(res->why), "no such domain");
		return DNS_NXDOMAIN;
	}
	if (ur->rcode != 0) {
		mta_fmt(res->why, sizeof(res->why), "DNS error rcode %d",
		    ur->rcode);
		return DNS_TEMPFAIL;
	}
	if (!ur->havedata) {
		mta_fmt(res->why, sizeof(res->why), "no record");
		return DNS_NODATA;
	}
	return DNS_OK;
}

static void
dns_mx_done(void *arg, int err, struct ub_result *ur)
{
	struct dns_query	*q = arg;
	struct dns_result	*res = &q->res;
	struct dns_mx		*mx;
	size_t			 i;

	res->status = dns_status_of(err, ur, res);
	if (res->status == DNS_OK) {
		for (i = 0; ur->data[i] != NULL && res->nmx < DNS_MX_MAX;
		    i++) {
			const unsigned char *p = (unsigned char *)ur->data[i];

			mx = &res->mx[res->nmx];
			if (ur->len[i] < 3 || dns_name(p + 2,
			    (size_t)ur->len[i] - 2, mx->host,
			    sizeof(mx->host)) == -1) {
				log_warnx("dns: malformed MX for %s",
				    ur->qname);
				continue;
			}
			mx->pref = p[0] << 8 | p[1];
			res->nmx++;
		}
		if (res->nmx == 0) {
			res->status = DNS_TEMPFAIL;
			mta_fmt(res->why, sizeof(res->why), "malformed MX");
		}
		qsort(res->mx, res->nmx, sizeof(res->mx[0]), dns_mx_cmp);
	}
	if (ur != NULL)
		ub_resolve_free(ur);
	q->cb(q->arg, res);
	free(q);
}

static void
dns_addr_one(struct dns_query *q, int v6, int err, struct ub_result *ur)
{
	struct dns_result	*res;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	size_t			 i;

	res = v6 ? &q->res6 : &q->res;
	res->status = dns_status_of(err, ur, res);
	if (res->status == DNS_OK) {
		for (i = 0; ur->data[i] != NULL && res->naddr < DNS_ADDR_MAX;
		    i++) {
			memset(&res->addr[res->naddr], 0,
			    sizeof(res->addr[0]));
			if (!v6 && ur->len[i] == 4) {
				sin = (struct sockaddr_in *)
				    &res->addr[res->naddr++];
				sin->sin_family = AF_INET;
				memcpy(&sin->sin_addr, ur->data[i], 4);
			} else if (v6 && ur->len[i] == 16) {
				sin6 = (struct sockaddr_in6 *)
				    &res->addr[res->naddr++];
				sin6->sin6_family = AF_INET6;
				memcpy(&sin6->sin6_addr, ur->data[i], 16);
			}
		}
	}
	if (ur != NULL)
		ub_resolve_free(ur);
	if (--q->pending > 0)
		return;
	/* Both answers: IPv4 first, then IPv6. */
	res = &q->res;
	for (i = 0; i < q->res6.naddr && res->naddr < DNS_ADDR_MAX; i++)
		res->addr[res->naddr++] = q->res6.addr[i];
	res->secure = q->res.secure && q->res6.secure;
	if (res->naddr > 0)
		res->status = DNS_OK;
	else if (q->res.status == DNS_TEMPFAIL ||
	    q->res6.status == DNS_TEMPFAIL) {
		if (q->res.status != DNS_TEMPFAIL)
			memcpy(res->why, q->res6.why, sizeof(res->why));
		res->status = DNS_TEMPFAIL;
	} else if (q->res.status == DNS_NXDOMAIN)
		res->status = DNS_NXDOMAIN;
	else
		res->status = DNS_NODATA;
	q->cb(q->arg, res);
	free(q);
}

static void
dns_a_done(void *arg, int err, struct ub_result *ur)
{
	dns_addr_one(arg, 0, err, ur);
}

static void
dns_aaaa_done(void *arg, int err, struct ub_result *ur)
{
	dns_addr_one(arg, 1, err, ur);
}

void
dns_mx(const char *domain, dns_cb cb, void *arg)
{
	struct dns_query	*q;
	int			 r;

	q = xcalloc(1, sizeof(*q));
	q->cb = cb;
	q->arg = arg;
	q->type = DNS_TYPE_MX;
	q->pending = 1;
	if ((r = ub_resolve_async(dns_ctx, domain, DNS_TYPE_MX, DNS_CLASS_IN,
	    q, dns_mx_done, NULL)) != 0)
		dns_mx_done(q, r, NULL);
}

void
dns_host(const char *host, dns_cb cb, void *arg)
{
	struct dns_query	*q;
	int			 r;

	q = xcalloc(1, sizeof(*q));
	q->cb = cb;
	q->arg = arg;
	q->type = DNS_TYPE_A;
	q->pending = 2;
	/* A failure to ask counts as an answer (q lives until both). */
	if ((r = ub_resolve_async(dns_ctx, host, DNS_TYPE_A, DNS_CLASS_IN,
	    q, dns_a_done, NULL)) != 0)
		dns_a_done(q, r, NULL);
	if ((r = ub_resolve_async(dns_ctx, host, DNS_TYPE_AAAA, DNS_CLASS_IN,
	    q, dns_aaaa_done, NULL)) != 0)
		dns_aaaa_done(q, r, NULL);
}
