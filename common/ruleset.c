/*
 * ruleset.c: which match line of smtpd.conf(5) applies to a recipient.
 *
 * Run by the smtp process for every RCPT TO, on the config it parsed
 * before chrooting.  No I/O and no allocation: a query is answered from
 * the config alone.  Invariant: the first matching line wins, and no
 * match at all means the recipient is refused; nothing is relayed by
 * default.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "ruleset.h"

#define DOMAIN_MAX	255

static int	ruleset_sockaddr_net(const struct sockaddr *, socklen_t,
		    struct ruleset_net *);
static int	ruleset_from(const struct match *,
		    const struct ruleset_query *);
static int	ruleset_for(const struct match *,
		    const struct ruleset_query *);
static int	ruleset_src_value(const char *, const struct ruleset_query *);
static int	ruleset_domain_value(const char *, const char *);
static int	ruleset_domain_table(const struct table *, const char *);

int
ruleset_net_parse(const char *s, struct ruleset_net *net)
{
	char		 buf[INET6_ADDRSTRLEN + 8], *slash;
	const char	*errstr;
	long long	 bits;
	size_t		 len;

	memset(net, 0, sizeof(*net));
	len = strlen(s);
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len + 1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, net->addr) == 1) {
		net->af = AF_INET;
		net->bits = 32;
	} else if (inet_pton(AF_INET6, buf, net->addr) == 1) {
		net->af = AF_INET6;
		net->bits = 128;
	} else
		return -1;
	if (slash != NULL) {
		/* strtonum accepts "+1" and " 1": keep the prefix plain. */
		if (*slash < '0' || *slash > '9')
			return -1;
		bits = strtonum(slash, 0, net->bits, &errstr);
		if (errstr != NULL)
			return -1;
		net->bits = (int)bits;
	}
	return 0;
}

/* The address of a socket as a host net; v4-mapped IPv6 becomes IPv4. */
static int
ruleset_sockaddr_net(const struct sockaddr *sa, socklen_t salen,
    struct ruleset_net *net)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	memset(net, 0, sizeof(*net));
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET && salen >= sizeof(*sin)) {
		sin = (const struct sockaddr_in *)sa;
		net->af = AF_INET;
		net->bits = 32;
		memcpy(net->addr, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			net->af = AF_INET;
			net->bits = 32;
			memcpy(net->addr, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			net->af = AF_INET6;
			net->bits = 128;
			memcpy(net->addr, &sin6->sin6_addr, 16);
		}
		return 0;
	}
	return -1;
}

int
ruleset_net_contains(const struct ruleset_net *net,
    const struct sockaddr *sa, socklen_t salen)
{
	struct ruleset_net	 a;
	const uint8_t		*x, *y;
	int			 bits, mask;

	if (ruleset_sockaddr_net(sa, salen, &a) == -1)
		return 0;
	if (a.af != net->af) {
		/* "::ffff:192.0.2.0/120" written for a v4 client. */
		if (net->af == AF_INET6 && a.af == AF_INET &&
		    net->bits >= 96 &&
		    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)
		    (const void *)net->addr)) {
			x = net->addr + 12;
			bits = net->bits - 96;
		} else
			return 0;
	} else {
		x = net->addr;
		bits = net->bits;
	}
	y = a.addr;
	for (; bits >= 8; bits -= 8)
		if (*x++ != *y++)
			return 0;
	if (bits == 0)
		return 1;
	mask = (0xff00 >> bits) & 0xff;
	return (*x & mask) == (*y & mask);
}

int
ruleset_addr_is_loopback(const struct sockaddr *sa, socklen_t salen)
{
	struct ruleset_net	a;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_UNIX)
		return 1;
	if (ruleset_sockaddr_net(sa, salen, &a) == -1)
		return 0;
	if (a.af == AF_INET)
		return a.addr[0] == 127;
	return IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)
	    (const void *)a.addr);
}

static int
ruleset_src_value(const char *value, const struct ruleset_query *q)
{
	struct ruleset_net	net;

	if (ruleset_net_parse(value, &net) == -1)
		return 0;
	return ruleset_net_contains(&net, q->src, q->srclen);
}

static int
ruleset_from(const struct match *m, const struct ruleset_query *q)
{
	size_t	i;

	switch (m->from) {
	case MATCH_FROM_ANY:
		return 1;
	case MATCH_FROM_LOCAL:
		return q->local || ruleset_addr_is_loopback(q->src, q->srclen);
	case MATCH_FROM_SRC:
		if (q->src == NULL)
			return 0;
		if (m->from_table == NULL)
			return m->from_value != NULL &&
			    ruleset_src_value(m->from_value, q);
		for (i = 0; i < m->from_table->nent; i++)
			if (ruleset_src_value(m->from_table->ent[i].key, q))
				return 1;
		return 0;
	case MATCH_FROM_AUTH:
		if (q->auth_user == NULL)
			return 0;
		if (m->from_table == NULL)
			return 1;
		return table_has(m->from_table, q->auth_user);
	case MATCH_FROM_TAG:
		return q->tag != NULL && m->from_value != NULL &&
		    strcmp(q->tag, m->from_value) == 0;
	}
	return 0;
}

/* "example.org" or "*.example.org" (subdomains only), ignoring case. */
static int
ruleset_domain_value(const char *pattern, const char *domain)
{
	size_t	plen, dlen;

	if (pattern[0] == '*' && pattern[1] == '.') {
		plen = strlen(pattern + 1);		/* ".example.org" */
		dlen = strlen(domain);
		return dlen > plen &&
		    strcasecmp(domain + dlen - plen, pattern + 1) == 0;
	}
	return strcasecmp(pattern, domain) == 0;
}

static int
ruleset_domain_table(const struct table *t, const char *domain)
{
	char		 buf[DOMAIN_MAX + 3];
	const char	*p;
	int		 n;

	if (table_has_nocase(t, domain))
		return 1;
	/* a.b.example.org: try *.b.example.org, *.example.org, *.org. */
	for (p = strchr(domain, '.'); p != NULL; p = strchr(p + 1, '.')) {
		n = snprintf(buf, sizeof(buf), "*%s", p);
		if (n < 0 || (size_t)n >= sizeof(buf))
			return 0;
		if (table_has_nocase(t, buf))
			return 1;
	}
	return 0;
}

static int
ruleset_for(const struct match *m, const struct ruleset_query *q)
{
	const char	*domain;

	switch (m->for_) {
	case MATCH_FOR_ANY:
		return 1;
	case MATCH_FOR_DOMAIN:
		if (q->rcpt == NULL ||
		    (domain = strrchr(q->rcpt, '@')) == NULL ||
		    *++domain == '\0')
			return 0;
		if (m->for_table != NULL)
			return ruleset_domain_table(m->for_table, domain);
		return m->for_value != NULL &&
		    ruleset_domain_value(m->for_value, domain);
	case MATCH_FOR_RCPT:
		if (q->rcpt == NULL)
			return 0;
		if (m->for_table != NULL)
			return table_has_address(m->for_table, q->rcpt);
		return m->for_value != NULL &&
		    table_address_equal(m->for_value, q->rcpt);
	}
	return 0;
}

const struct match *
ruleset_match(const struct config *conf, const struct ruleset_query *q)
{
	const struct match	*m;

	TAILQ_FOREACH(m, &conf->matches, entry) {
		if (ruleset_from(m, q) == m->from_negate)
			continue;
		if (ruleset_for(m, q) == m->for_negate)
			continue;
		return m;
	}
	return NULL;
}
