/*
 * ruleset.h: evaluation of the match lines of smtpd.conf(5).
 *
 * Pure functions over a parsed struct config: given who is sending and
 * to whom, say which match line (and so which action) applies.  Used by
 * the smtp process for each RCPT TO; no I/O, no allocation.
 */
#ifndef SEAL_RULESET_H
#define SEAL_RULESET_H

#include <sys/socket.h>

#include <stdint.h>

#include "config.h"

struct ruleset_query {
	const struct sockaddr	*src;		/* or NULL */
	socklen_t		 srclen;
	int			 local;		/* client on loopback/unix */
	const char		*tag;		/* listener tag or NULL */
	const char		*auth_user;	/* NULL if not authenticated */
	const char		*rcpt;		/* user@domain */
};

/* An address and prefix length, as in "from src 192.0.2.0/24". */
struct ruleset_net {
	int			 af;		/* AF_INET or AF_INET6 */
	uint8_t			 addr[16];
	int			 bits;
};

/*
 * First match wins.  NULL: no rule matches, and the caller refuses the
 * recipient (550 5.7.1, no open relay).
 */
const struct match	*ruleset_match(const struct config *,
			    const struct ruleset_query *);

/* "ADDR" or "ADDR/PREFIX", IPv4 or IPv6.  Returns 0, or -1 if invalid. */
int	ruleset_net_parse(const char *, struct ruleset_net *);
/* Is the socket address inside net?  v4-mapped IPv6 counts as IPv4. */
int	ruleset_net_contains(const struct ruleset_net *,
	    const struct sockaddr *, socklen_t);
/* Loopback: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104, or AF_UNIX. */
int	ruleset_addr_is_loopback(const struct sockaddr *, socklen_t);

#endif
