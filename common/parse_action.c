/*
 * parse_action.c: the action and match statements of smtpd.conf(5):
 * action types (relay with its URL, tls level, auth, ca and tls-policy;
 * maildir), their secure-expire options, and match rules (from, for,
 * tag, policy, action).
 *
 * Runs in every process that calls config_parse(); no I/O, no messages.
 * Invariant: names of tables, cas, policies and actions are recorded as
 * fixups (add_fixup) and checked once the whole file is read, so a rule
 * may use a name defined further down.
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ruleset.h"
#include "util.h"
#include "parse_int.h"

static int	parse_relay_url(const char *, struct action *, const char **);
static int	parse_action_relay(struct parser *, struct action *, int);
static int	parse_action_maildir(struct parser *, struct action *, int);
static int	parse_match_from(struct parser *, struct match *, int);
static int	parse_match_for(struct parser *, struct match *, int);

/* action NAME TYPE ...: one row per type of action. */
static const struct {
	const char	*name;
	int		(*parse)(struct parser *, struct action *, int);
} action_types[] = {
	{ "relay",	parse_action_relay },
	{ "maildir",	parse_action_maildir },
};

/* action NAME TYPE ... */
int
parse_action(struct parser *p, int line)
{
	struct action	*a;
	struct token	*t;
	char		*name;
	size_t		 i;

	if (get_name(p, "action name", &name) == -1)
		return -1;
	if (config_action(p->conf, name) != NULL) {
		perr(p, line, "action \"%s\" is defined twice", name);
		free(name);
		return -1;
	}
	t = peek(p);
	for (i = 0; t->type == T_WORD && i < nitems(action_types); i++)
		if (strcmp(t->s, action_types[i].name) == 0)
			break;
	if (t->type != T_WORD || i == nitems(action_types)) {
		if (t->type == T_WORD)
			perr(p, line, "unknown action type \"%s\" (expected "
			    "relay or maildir)", t->s);
		else
			unexpected(p, "relay or maildir");
		free(name);
		return -1;
	}
	advance(p);
	a = xcalloc(1, sizeof(*a));
	a->name = name;
	a->file = p->lx->file;
	a->line = line;
	if (action_types[i].parse(p, a, line) == -1) {
		free(a->name);
		free(a->host);
		free(a->maildir);
		free(a);
		return -1;
	}
	TAILQ_INSERT_TAIL(&p->conf->actions, a, entry);
	return 0;
}

/*
 * secure-expire DURATION, secure-expire-max DURATION: options of every
 * action type.  1: consumed, 0: not one of them, -1: error.
 */
static int
parse_action_secure_opt(struct parser *p, struct action *a)
{
	struct token	*t = peek(p);
	char		*v;
	const char	*why;
	long long	 n;
	int		*dst, r;

	if (t->type != T_WORD)
		return 0;
	if (strcmp(t->s, "secure-expire") == 0)
		dst = &a->secure_expire;
	else if (strcmp(t->s, "secure-expire-max") == 0)
		dst = &a->secure_expire_max;
	else
		return 0;
	if (*dst != 0) {
		perr(p, t->line, "%s is given twice", t->s);
		return -1;
	}
	advance(p);
	if (get_value(p, "a duration", &v) == -1)
		return -1;
	if ((r = parse_number(v, LIMIT_DURATION, 1, 365 * 86400, &n,
	    &why)) < 0) {
		perr(p, t->line, "%s: \"%s\" %s%s", dst == &a->secure_expire ?
		    "secure-expire" : "secure-expire-max", v, why, r == -2 ?
		    " (must be 1s to 365d)" : "");
		free(v);
		return -1;
	}
	free(v);
	*dst = (int)n;
	return 1;
}

/*
 * smtp://host[:port], smtp+tls://, smtps://, smtp+notls://; host a name,
 * an IPv4 literal or an [IPv6] literal.
 */
static int
parse_relay_url(const char *url, struct action *a, const char **why)
{
	static const struct {
		const char	*scheme;
		enum relay_proto proto;
	} schemes[] = {
		{ "smtp://", RELAY_SMTP },
		{ "smtp+tls://", RELAY_SMTP_TLS },
		{ "smtps://", RELAY_SMTPS },
		{ "smtp+notls://", RELAY_SMTP_NOTLS },
	};
	struct in6_addr	 in6;
	const char	*s, *end, *errstr;
	char		*host, pbuf[6];
	size_t		 i, n;

	for (i = 0; i < nitems(schemes); i++) {
		n = strlen(schemes[i].scheme);
		if (strncasecmp(url, schemes[i].scheme, n) == 0)
			break;
	}
	if (i == nitems(schemes)) {
		*why = "expected smtp://, smtp+tls://, smtps:// or "
		    "smtp+notls://";
		return -1;
	}
	s = url + n;
	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL) {
			*why = "missing \"]\"";
			return -1;
		}
		host = xstrndup(s + 1, end - s - 1);
		if (inet_pton(AF_INET6, host, &in6) != 1) {
			free(host);
			*why = "bad IPv6 address";
			return -1;
		}
		s = end + 1;
	} else {
		n = strcspn(s, ":/");
		host = xstrndup(s, n);
		if (!valid_hostname(host)) {
			free(host);
			*why = "bad host name";
			return -1;
		}
		s += n;
	}
	a->port = 0;
	if (*s == ':') {
		s++;
		n = strcspn(s, "/");
		if (n == 0 || n > 5 || strspn(s, "0123456789") < n) {
			free(host);
			*why = "bad port";
			return -1;
		}
		memcpy(pbuf, s, n);
		pbuf[n] = '\0';
		a->port = (int)strtonum(pbuf, 1, 65535, &errstr);
		if (errstr != NULL) {
			free(host);
			*why = "bad port";
			return -1;
		}
		s += n;
	}
	if (strcmp(s, "") != 0 && strcmp(s, "/") != 0) {
		free(host);
		*why = "unexpected path after the host";
		return -1;
	}
	a->proto = schemes[i].proto;
	a->host = host;
	a->has_host = 1;
	return 0;
}

/*
 * relay [host URL] [auth <TABLE>] [tls none|may|encrypt|verify]
 *     [ca NAME] [tls-policy <TABLE>]
 */
static int
parse_action_relay(struct parser *p, struct action *a, int line)
{
	struct token	*t;
	char		*v, *auth = NULL, *ca = NULL, *policy = NULL;
	const char	*why;
	int		 tls = -1, r;

	a->type = ACTION_RELAY;
	a->proto = RELAY_SMTP;
	while (!at_end(p)) {
		t = peek(p);
		if (t->type == T_WORD && strcmp(t->s, "host") == 0) {
			if (a->has_host) {
				perr(p, t->line, "host is given twice");
				goto bad;
			}
			advance(p);
			if (get_value(p, "a URL after \"host\"", &v) == -1)
				goto bad;
			if (parse_relay_url(v, a, &why) == -1) {
				perr(p, line, "bad relay URL \"%s\": %s", v,
				    why);
				free(v);
				goto bad;
			}
			free(v);
		} else if (t->type == T_WORD && strcmp(t->s, "auth") == 0) {
			if (auth != NULL) {
				perr(p, t->line, "auth is given twice");
				goto bad;
			}
			advance(p);
			if (get_tableref(p, "auth", &auth) == -1)
				goto bad;
		} else if (t->type == T_WORD && strcmp(t->s, "tls") == 0) {
			if (tls != -1) {
				perr(p, t->line, "tls is given twice");
				goto bad;
			}
			advance(p);
			if (get_value(p, "a tls level after \"tls\"", &v) ==
			    -1)
				goto bad;
			if ((tls = config_tls_level(v)) == -1) {
				perr(p, line, "bad tls level \"%s\" (expected "
				    "none, may, encrypt or verify)", v);
				free(v);
				goto bad;
			}
			free(v);
		} else if (t->type == T_WORD && strcmp(t->s, "ca") == 0) {
			if (ca != NULL) {
				perr(p, t->line, "ca is given twice");
				goto bad;
			}
			advance(p);
			if (get_name(p, "ca name", &ca) == -1)
				goto bad;
		} else if (t->type == T_WORD &&
		    strcmp(t->s, "tls-policy") == 0) {
			if (policy != NULL) {
				perr(p, t->line, "tls-policy is given twice");
				goto bad;
			}
			advance(p);
			if (get_tableref(p, "tls-policy", &policy) == -1)
				goto bad;
		} else if ((r = parse_action_secure_opt(p, a)) != 0) {
			if (r == -1)
				goto bad;
		} else {
			if (t->type == T_WORD)
				perr(p, t->line, "unknown relay option "
				    "\"%s\"", t->s);
			else
				unexpected(p, "a relay option");
			goto bad;
		}
	}
	if (auth != NULL && !a->has_host) {
		perr(p, line, "auth needs a host: the credentials are for "
		    "one relay host");
		goto bad;
	}
	/* The URL scheme sets the floor; "tls" may raise it. */
	if (tls == -1) {
		if (a->proto == RELAY_SMTP_NOTLS)
			tls = TLS_LEVEL_NONE;
		else if (a->proto == RELAY_SMTP_TLS || a->proto == RELAY_SMTPS)
			tls = TLS_LEVEL_ENCRYPT;
		else
			tls = TLS_LEVEL_MAY;
	} else if (a->proto == RELAY_SMTP_NOTLS && tls != TLS_LEVEL_NONE) {
		perr(p, line, "smtp+notls:// contradicts tls %s",
		    tls == TLS_LEVEL_MAY ? "may" : tls == TLS_LEVEL_ENCRYPT ?
		    "encrypt" : "verify");
		goto bad;
	} else if ((a->proto == RELAY_SMTP_TLS || a->proto == RELAY_SMTPS) &&
	    tls < TLS_LEVEL_ENCRYPT) {
		perr(p, line, "%s contradicts tls %s", a->proto ==
		    RELAY_SMTPS ? "smtps://" : "smtp+tls://",
		    tls == TLS_LEVEL_NONE ? "none" : "may");
		goto bad;
	}
	if (auth != NULL && tls == TLS_LEVEL_NONE) {
		perr(p, line, "auth would send credentials in the clear: "
		    "remove tls none or smtp+notls://");
		goto bad;
	}
	a->tls = (enum tls_level)tls;
	if (auth != NULL)
		add_fixup(p, FIX_ACTION_AUTH, a, auth, line);
	if (ca != NULL)
		add_fixup(p, FIX_ACTION_CA, a, ca, line);
	if (policy != NULL)
		add_fixup(p, FIX_ACTION_TLS_POLICY, a, policy, line);
	free(auth);
	free(ca);
	free(policy);
	return 0;
bad:
	free(auth);
	free(ca);
	free(policy);
	return -1;
}

/* maildir PATH: absolute, or "~/..." in the user's home. */
static int
parse_action_maildir(struct parser *p, struct action *a, int line)
{
	struct token	*t;
	char		*path;
	int		 r;

	a->type = ACTION_MAILDIR;
	if (get_value(p, "a path after \"maildir\"", &path) == -1)
		return -1;
	if (path[0] != '/' && strncmp(path, "~/", 2) != 0) {
		perr(p, line, "maildir \"%s\" is not an absolute path or "
		    "~/PATH", path);
		free(path);
		return -1;
	}
	a->maildir = path;
	while (!at_end(p)) {
		if ((r = parse_action_secure_opt(p, a)) == -1)
			return -1;
		if (r == 0) {
			t = peek(p);
			if (t->type == T_WORD)
				perr(p, t->line, "unknown maildir option "
				    "\"%s\"", t->s);
			else
				unexpected(p, "a maildir option");
			return -1;
		}
	}
	return 0;
}

/*
 * from (any | local | src ADDR[/PREFIX] | src <T> | auth [<T>] | tag NAME),
 * after "from" and an optional "!".
 */
static int
parse_match_from(struct parser *p, struct match *m, int line)
{
	struct ruleset_net	 net;
	struct token		*t = peek(p);
	char			*v;

	if (t->type != T_WORD) {
		unexpected(p, "any, local, src, auth or tag after \"from\"");
		return -1;
	}
	if (tok_accept(p, "any"))
		m->from = MATCH_FROM_ANY;
	else if (tok_accept(p, "local"))
		m->from = MATCH_FROM_LOCAL;
	else if (tok_accept(p, "src")) {
		m->from = MATCH_FROM_SRC;
		if (peek(p)->type == T_TABLE) {
			v = take(p);
			add_fixup(p, FIX_MATCH_FROM_TABLE, m, v, line);
			free(v);
			return 0;
		}
		if (get_value(p, "an address or <table> after \"src\"",
		    &m->from_value) == -1)
			return -1;
		if (ruleset_net_parse(m->from_value, &net) == -1) {
			perr(p, line, "bad address \"%s\": expected ADDRESS "
			    "or ADDRESS/PREFIX", m->from_value);
			return -1;
		}
	} else if (tok_accept(p, "auth")) {
		m->from = MATCH_FROM_AUTH;
		if (peek(p)->type == T_TABLE) {
			v = take(p);
			add_fixup(p, FIX_MATCH_FROM_TABLE, m, v, line);
			free(v);
		}
	} else if (tok_accept(p, "tag")) {
		m->from = MATCH_FROM_TAG;
		if (get_name(p, "tag", &m->from_value) == -1)
			return -1;
	} else {
		perr(p, t->line, "unknown \"from\" criterion \"%s\" "
		    "(expected any, local, src, auth or tag)", t->s);
		return -1;
	}
	return 0;
}

/* for (any | domain NAME | domain <T> | rcpt ADDRESS | rcpt <T>) */
static int
parse_match_for(struct parser *p, struct match *m, int line)
{
	struct token	*t = peek(p);
	char		*v;
	const char	*at;

	if (t->type != T_WORD) {
		unexpected(p, "any, domain or rcpt after \"for\"");
		return -1;
	}
	if (tok_accept(p, "any")) {
		m->for_ = MATCH_FOR_ANY;
		return 0;
	}
	if (tok_accept(p, "domain"))
		m->for_ = MATCH_FOR_DOMAIN;
	else if (tok_accept(p, "rcpt"))
		m->for_ = MATCH_FOR_RCPT;
	else {
		perr(p, t->line, "unknown \"for\" criterion \"%s\" "
		    "(expected any, domain or rcpt)", t->s);
		return -1;
	}
	if (peek(p)->type == T_TABLE) {
		v = take(p);
		add_fixup(p, FIX_MATCH_FOR_TABLE, m, v, line);
		free(v);
		return 0;
	}
	if (get_value(p, m->for_ == MATCH_FOR_DOMAIN ?
	    "a domain or <table> after \"domain\"" :
	    "an address or <table> after \"rcpt\"", &m->for_value) == -1)
		return -1;
	if (m->for_ == MATCH_FOR_DOMAIN) {
		v = m->for_value;
		if (!valid_hostname(v[0] == '*' && v[1] == '.' ? v + 2 : v)) {
			perr(p, line, "bad domain \"%s\"", v);
			return -1;
		}
	} else {
		at = strrchr(m->for_value, '@');
		if (at == NULL || at == m->for_value ||
		    !valid_hostname(at + 1)) {
			perr(p, line, "bad address \"%s\": expected "
			    "user@domain", m->for_value);
			return -1;
		}
	}
	return 0;
}

/* match [from [!] ...] [for [!] ...] action NAME, in any order. */
int
parse_match(struct parser *p, int line)
{
	struct match	*m;
	struct fixup	*f, *fn;
	struct token	*t;
	char		*action = NULL, *policy = NULL;
	int		 seen_from = 0, seen_for = 0;

	m = xcalloc(1, sizeof(*m));
	m->from = MATCH_FROM_LOCAL;
	m->for_ = MATCH_FOR_ANY;
	m->file = p->lx->file;
	m->line = line;
	while (!at_end(p)) {
		t = peek(p);
		if (t->type != T_WORD) {
			unexpected(p, "from, for or action");
			goto bad;
		}
		if (strcmp(t->s, "from") == 0) {
			if (seen_from++) {
				perr(p, t->line, "from is given twice");
				goto bad;
			}
			advance(p);
			if (peek(p)->type == T_BANG) {
				advance(p);
				m->from_negate = 1;
			}
			if (parse_match_from(p, m, line) == -1)
				goto bad;
		} else if (strcmp(t->s, "for") == 0) {
			if (seen_for++) {
				perr(p, t->line, "for is given twice");
				goto bad;
			}
			advance(p);
			if (peek(p)->type == T_BANG) {
				advance(p);
				m->for_negate = 1;
			}
			if (parse_match_for(p, m, line) == -1)
				goto bad;
		} else if (strcmp(t->s, "policy") == 0) {
			if (policy != NULL) {
				perr(p, t->line, "policy is given twice");
				goto bad;
			}
			advance(p);
			if (get_name(p, "policy name", &policy) == -1)
				goto bad;
		} else if (strcmp(t->s, "action") == 0) {
			if (action != NULL) {
				perr(p, t->line, "action is given twice");
				goto bad;
			}
			advance(p);
			if (get_name(p, "action name", &action) == -1)
				goto bad;
		} else {
			perr(p, t->line, "unknown match option \"%s\" "
			    "(expected from, for, action or policy)", t->s);
			goto bad;
		}
	}
	if (action == NULL) {
		perr(p, line, "match needs an action");
		goto bad;
	}
	add_fixup(p, FIX_MATCH_ACTION, m, action, line);
	free(action);
	if (policy != NULL) {
		add_fixup(p, FIX_MATCH_POLICY, m, policy, line);
		free(policy);
	}
	TAILQ_INSERT_TAIL(&p->conf->matches, m, entry);
	return 0;
bad:
	/* Drop the fixups this line registered before failing. */
	TAILQ_FOREACH_SAFE(f, &p->fixups, entry, fn) {
		if (f->obj == m) {
			TAILQ_REMOVE(&p->fixups, f, entry);
			free(f->name);
			free(f);
		}
	}
	free(action);
	free(policy);
	free(m->from_value);
	free(m->for_value);
	free(m);
	return -1;
}
