/*
 * parse.c: the smtpd.conf(5) parser: the statement table, the statement
 * loop over the file and its includes, listen statements, the end-of-file
 * resolution of names used before their definition, and config_parse(),
 * config_free().  The lexer is parse_lex.c; the other statements are in
 * parse_settings.c, parse_object.c, parse_action.c and parse_policy.c,
 * sharing parse_int.h.
 *
 * Every process calls config_parse() before it chroots; the parent alone
 * calls config_load_pki().  No messages.  The only I/O is reading the
 * file, its includes, "file:" tables and (config_load_pki) the pki files.
 * Invariant: an error is reported as "FILE:LINE: message", the rest of
 * its statement is skipped and parsing goes on, so one run reports every
 * error; a config with any error is never returned.  Names used before
 * their definition (actions, tables, pkis) are resolved at the end of the
 * top-level file and reported at the line that used them.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "defaults.h"
#include "ruleset.h"
#include "util.h"
#include "parse_int.h"

static const struct keyword *keyword_find(const struct keyword *, size_t,
		    const char *);
static void	parse_file(struct parser *);
static int	parse_include(struct parser *, int);
static void	listener_name(const struct listener *, char *, size_t);
static const char *listen_tls_name(enum listen_tls);
static int	parse_listen(struct parser *, int);
static void	resolve(struct parser *);
static void	config_defaults(struct config *, const char *);

/*
 * Statements, by first keyword.  New statements (policy blocks, secure
 * actions) are new rows here.
 */
static const struct keyword keywords[] = {
	{ "action",	parse_action },
	{ "ca",		parse_ca },
	{ "chroot",	parse_chroot },
	{ "control",	parse_control },
	{ "hostname",	parse_hostname },
	{ "include",	parse_include },
	{ "limit",	parse_limit },
	{ "listen",	parse_listen },
	{ "match",	parse_match },
	{ "pki",	parse_pki },
	{ "policy",	parse_policy },
	{ "resolver",	parse_resolver },
	{ "secure",	parse_secure },
	{ "spool",	parse_spool },
	{ "table",	parse_table },
	{ "vault",	parse_vault },
};

void
add_fixup(struct parser *p, enum fixup_kind kind, void *obj,
    const char *name, int line)
{
	struct fixup	*f;

	f = xcalloc(1, sizeof(*f));
	f->kind = kind;
	f->obj = obj;
	f->name = xstrdup(name);
	f->file = p->lx->file;
	f->line = line;
	TAILQ_INSERT_TAIL(&p->fixups, f, entry);
}

static const struct keyword *
keyword_find(const struct keyword *tab, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(tab[i].name, name) == 0)
			return &tab[i];
	return NULL;
}

/*
 * The statement loop, over the top-level file and every include it
 * pulls in.
 */
static void
parse_file(struct parser *p)
{
	const struct keyword	*kw;
	struct token		*t;
	char			*word, buf[128], *path;
	int			 line, r;

	for (;;) {
		t = peek(p);
		if (t->type == T_EOF) {
			if (p->lx->parent == NULL)
				break;
			lexer_pop(p);
			p->depth--;
			continue;
		}
		if (t->type == T_NL) {
			advance(p);
			continue;
		}
		line = t->line;
		if (t->type != T_WORD) {
			if (t->type != T_ERR)
				perr(p, line, "expected a keyword, got %s",
				    tok_desc(t, buf, sizeof(buf)));
			skip_statement(p);
			continue;
		}
		word = take(p);
		if (peek(p)->type == T_ERR) {
			/* Reported by the lexer: one error a statement. */
			free(word);
			r = -1;
		} else if (peek(p)->type == T_EQ) {
			advance(p);
			r = parse_macro(p, word, line);
		} else if ((kw = keyword_find(keywords, nitems(keywords),
		    word)) != NULL) {
			free(word);
			r = kw->parse(p, line);
		} else {
			perr(p, line, "unknown keyword \"%s\"", word);
			free(word);
			r = -1;
		}
		if (r == 0 && !at_end(p)) {
			t = peek(p);
			if (t->type != T_ERR)
				perr(p, t->line, "unexpected %s",
				    tok_desc(t, buf, sizeof(buf)));
			r = -1;
		}
		if (r == -1) {
			free(p->include);
			p->include = NULL;
			skip_statement(p);
			continue;
		}
		if (peek(p)->type == T_NL)
			advance(p);
		if ((path = p->include) != NULL) {
			p->include = NULL;
			if (p->depth >= CONFIG_INCLUDE_MAX)
				perr(p, line, "includes nested too deep "
				    "(limit %d)", CONFIG_INCLUDE_MAX);
			else if (lexer_push(p, path, line) == 0)
				p->depth++;
			free(path);
		}
	}
}

static int
parse_include(struct parser *p, int line)
{
	char	*path;

	if (get_value(p, "a file name after \"include\"", &path) == -1)
		return -1;
	p->include = path_relative(p->lx->file, path);
	free(path);
	return 0;
}

static void
listener_name(const struct listener *l, char *buf, size_t sz)
{
	char	a[INET6_ADDRSTRLEN];

	if (l->ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)&l->ss)->sin6_addr,
		    a, sizeof(a));
		snprintf(buf, sz, "[%s]:%d", a, l->port);
	} else {
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)&l->ss)->sin_addr,
		    a, sizeof(a));
		snprintf(buf, sz, "%s:%d", a, l->port);
	}
}

static const char *
listen_tls_name(enum listen_tls tls)
{
	switch (tls) {
	case LISTEN_STARTTLS:
		return "tls";
	case LISTEN_STARTTLS_REQUIRE:
		return "tls-require";
	case LISTEN_SMTPS:
		return "smtps";
	case LISTEN_PLAIN:
		break;
	}
	return "plain";
}

/*
 * listen on ADDRESS [port N] [tls | tls-require | smtps] [pki NAME]
 *     [auth <TABLE>] [tag NAME] [hostname NAME] [trust-headers]
 */
static int
parse_listen(struct parser *p, int line)
{
	struct listener		*l, *o;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	struct token		*t;
	char			*addr = NULL, *pki = NULL, *auth = NULL;
	char			*tag = NULL, *hostname = NULL, *v, *a;
	char			 name[INET6_ADDRSTRLEN + 16];
	char			 abuf[INET6_ADDRSTRLEN];
	const char		*errstr;
	size_t			 alen;
	int			 port = 0, tls = -1, trust = 0, seen = 0;
	int			 r = -1;

	if (!tok_accept(p, "on")) {
		unexpected(p, "\"on\" after \"listen\"");
		return -1;
	}
	if (get_value(p, "an address after \"listen on\"", &addr) == -1)
		return -1;
	while (!at_end(p)) {
		t = peek(p);
		if (t->type != T_WORD) {
			unexpected(p, "a listen option");
			goto out;
		}
		if (strcmp(t->s, "port") == 0) {
			if (seen & 0x01) {
				perr(p, t->line, "port is given twice");
				goto out;
			}
			seen |= 0x01;
			advance(p);
			if (get_value(p, "a number after \"port\"", &v) == -1)
				goto out;
			port = (int)strtonum(v, 1, 65535, &errstr);
			if (errstr != NULL || !isdigit((unsigned char)v[0])) {
				perr(p, line, "bad port \"%s\"", v);
				free(v);
				goto out;
			}
			free(v);
		} else if (strcmp(t->s, "tls") == 0 ||
		    strcmp(t->s, "tls-require") == 0 ||
		    strcmp(t->s, "smtps") == 0) {
			if (tls != -1) {
				perr(p, t->line, "\"%s\" after \"%s\": "
				    "choose one of tls, tls-require or "
				    "smtps", t->s,
				    listen_tls_name((enum listen_tls)tls));
				goto out;
			}
			if (strcmp(t->s, "tls") == 0)
				tls = LISTEN_STARTTLS;
			else if (strcmp(t->s, "tls-require") == 0)
				tls = LISTEN_STARTTLS_REQUIRE;
			else
				tls = LISTEN_SMTPS;
			advance(p);
		} else if (strcmp(t->s, "pki") == 0) {
			if (pki != NULL) {
				perr(p, t->line, "pki is given twice");
				goto out;
			}
			advance(p);
			if (get_name(p, "pki name", &pki) == -1)
				goto out;
		} else if (strcmp(t->s, "auth") == 0) {
			if (auth != NULL) {
				perr(p, t->line, "auth is given twice");
				goto out;
			}
			advance(p);
			if (get_tableref(p, "auth", &auth) == -1)
				goto out;
		} else if (strcmp(t->s, "tag") == 0) {
			if (tag != NULL) {
				perr(p, t->line, "tag is given twice");
				goto out;
			}
			advance(p);
			if (get_name(p, "tag", &tag) == -1)
				goto out;
		} else if (strcmp(t->s, "hostname") == 0) {
			if (hostname != NULL) {
				perr(p, t->line, "hostname is given twice");
				goto out;
			}
			advance(p);
			if (get_value(p, "a host name", &hostname) == -1)
				goto out;
			if (!valid_hostname(hostname)) {
				perr(p, line, "bad host name \"%s\"",
				    hostname);
				goto out;
			}
		} else if (strcmp(t->s, "trust-headers") == 0) {
			advance(p);
			trust = 1;
		} else {
			perr(p, t->line, "unknown listen option \"%s\"",
			    t->s);
			goto out;
		}
	}

	l = xcalloc(1, sizeof(*l));
	l->fd = -1;
	l->file = p->lx->file;
	l->line = line;
	l->tls = tls == -1 ? LISTEN_PLAIN : (enum listen_tls)tls;
	l->port = port != 0 ? port :
	    (l->tls == LISTEN_SMTPS ? DEF_SMTPS_PORT : DEF_SMTP_PORT);
	if (strcmp(addr, "localhost") == 0)
		(void)strlcpy(abuf, "127.0.0.1", sizeof(abuf));
	else if ((alen = strlen(addr)) > 2 && addr[0] == '[' &&
	    addr[alen - 1] == ']' && alen - 2 < sizeof(abuf)) {
		memcpy(abuf, addr + 1, alen - 2);
		abuf[alen - 2] = '\0';
	} else if (strlcpy(abuf, addr, sizeof(abuf)) >= sizeof(abuf))
		abuf[0] = '\0';	/* too long for any address */
	a = abuf;
	sin = (struct sockaddr_in *)&l->ss;
	sin6 = (struct sockaddr_in6 *)&l->ss;
	if (inet_pton(AF_INET, a, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(l->port);
		l->sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, a, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(l->port);
		l->sslen = sizeof(*sin6);
	} else {
		perr(p, line, "bad listen address \"%s\": an IPv4 or IPv6 "
		    "address, or localhost", addr);
		free(l);
		goto out;
	}
	l->addr = xstrdup(a);
	listener_name(l, name, sizeof(name));
	if (l->tls != LISTEN_PLAIN && pki == NULL) {
		perr(p, line, "%s needs a pki", listen_tls_name(l->tls));
		goto bad;
	}
	if (l->tls == LISTEN_PLAIN && pki != NULL) {
		perr(p, line, "listener %s has a pki but no tls, "
		    "tls-require or smtps", name);
		goto bad;
	}
	if (auth != NULL && l->tls == LISTEN_PLAIN) {
		perr(p, line, "auth requires tls, tls-require or smtps");
		goto bad;
	}
	TAILQ_FOREACH(o, &p->conf->listeners, entry) {
		if (o->sslen == l->sslen && o->port == l->port &&
		    memcmp(&o->ss, &l->ss, l->sslen) == 0) {
			perr(p, line, "listener %s is already defined at "
			    "%s:%d", name, o->file, o->line);
			goto bad;
		}
	}
	l->id = p->nlisteners++;
	l->tag = tag;
	l->hostname = hostname;
	tag = hostname = NULL;
	l->flags = trust ? LISTENER_TRUST_HEADERS : 0;
	if (pki != NULL)
		add_fixup(p, FIX_LISTEN_PKI, l, pki, line);
	if (auth != NULL)
		add_fixup(p, FIX_LISTEN_AUTH, l, auth, line);
	TAILQ_INSERT_TAIL(&p->conf->listeners, l, entry);
	r = 0;
	goto out;
bad:
	free(l->addr);
	free(l);
out:
	free(addr);
	free(pki);
	free(auth);
	free(tag);
	free(hostname);
	return r;
}

/* Names used before their definition, and checks needing the whole file. */
static void
resolve(struct parser *p)
{
	struct fixup	*f;
	struct listener	*l;
	struct action	*a;
	struct match	*m;
	struct table	*t;
	struct pki	*pki;
	struct limits	*lim;
	struct ruleset_net net;
	char		 name[INET6_ADDRSTRLEN + 16];
	size_t		 i;

	while ((f = TAILQ_FIRST(&p->fixups)) != NULL) {
		TAILQ_REMOVE(&p->fixups, f, entry);
		switch (f->kind) {
		case FIX_LISTEN_PKI:
			l = f->obj;
			listener_name(l, name, sizeof(name));
			TAILQ_FOREACH(pki, &p->conf->pkis, entry)
				if (strcmp(pki->name, f->name) == 0)
					break;
			if (pki == NULL)
				perr_at(p, f->file, f->line, "listener %s uses "
				    "pki \"%s\" which is not defined", name,
				    f->name);
			else if (pki->cert_file == NULL)
				perr_at(p, f->file, f->line, "listener %s uses "
				    "pki \"%s\" which has no cert", name,
				    f->name);
			else if (pki->key_file == NULL)
				perr_at(p, f->file, f->line, "listener %s uses "
				    "pki \"%s\" which has no key", name,
				    f->name);
			l->pki = pki;
			break;
		case FIX_LISTEN_AUTH:
		case FIX_ACTION_AUTH:
			if ((t = config_table(p->conf, f->name)) == NULL)
				perr_at(p, f->file, f->line, "table \"%s\" is "
				    "not defined", f->name);
			else if (f->kind == FIX_LISTEN_AUTH &&
			    t->kind != TABLE_MAP && t->nent > 0)
				perr_at(p, f->file, f->line, "auth table "
				    "\"%s\" must map users to password "
				    "hashes", f->name);
			if (f->kind == FIX_LISTEN_AUTH)
				((struct listener *)f->obj)->auth = t;
			else
				((struct action *)f->obj)->auth = t;
			break;
		case FIX_ACTION_CA:
			a = f->obj;
			if ((a->ca = config_ca(p->conf, f->name)) == NULL)
				perr_at(p, f->file, f->line, "ca \"%s\" is not "
				    "defined", f->name);
			break;
		case FIX_ACTION_TLS_POLICY:
			a = f->obj;
			if ((t = config_table(p->conf, f->name)) == NULL) {
				perr_at(p, f->file, f->line, "table \"%s\" is "
				    "not defined", f->name);
				break;
			}
			a->tls_policy = t;
			for (i = 0; i < t->nent; i++) {
				const char	*v = t->ent[i].value;

				if (v == NULL || config_tls_level(v) == -1) {
					perr_at(p, f->file, f->line, "tls-policy "
					    "table \"%s\": \"%s\" needs a tls "
					    "level (none, may, encrypt or "
					    "verify)", t->name, t->ent[i].key);
					break;
				}
				/* It raises the level, never lowers it. */
				if (config_tls_level(v) < (int)a->tls) {
					perr_at(p, f->file, f->line, "tls-policy "
					    "table \"%s\": \"%s\" = %s is below "
					    "the tls level of action \"%s\"",
					    t->name, t->ent[i].key, v, a->name);
					break;
				}
			}
			break;
		case FIX_MATCH_ACTION:
			m = f->obj;
			if ((a = config_action(p->conf, f->name)) == NULL)
				perr_at(p, f->file, f->line, "action \"%s\" is "
				    "not defined", f->name);
			m->action = a;
			break;
		case FIX_MATCH_POLICY:
			m = f->obj;
			if ((m->policy = config_policy(p->conf, f->name)) ==
			    NULL)
				perr_at(p, f->file, f->line, "policy \"%s\" is "
				    "not defined", f->name);
			break;
		case FIX_POLICY_TABLE:
		case FIX_POLICY_MAP:
		case FIX_POLICY_WORDS:
			resolve_policy(p, f);
			break;
		case FIX_MATCH_FROM_TABLE:
		case FIX_MATCH_FOR_TABLE:
			m = f->obj;
			if ((t = config_table(p->conf, f->name)) == NULL) {
				perr_at(p, f->file, f->line, "table \"%s\" is "
				    "not defined", f->name);
				break;
			}
			if (f->kind == FIX_MATCH_FROM_TABLE)
				m->from_table = t;
			else
				m->for_table = t;
			for (i = 0; i < t->nent; i++) {
				if (f->kind == FIX_MATCH_FROM_TABLE &&
				    m->from == MATCH_FROM_SRC &&
				    ruleset_net_parse(t->ent[i].key,
				    &net) == -1) {
					perr_at(p, f->file, f->line, "table "
					    "\"%s\": \"%s\" is not an address "
					    "or ADDRESS/PREFIX", t->name,
					    t->ent[i].key);
					break;
				}
				if (f->kind == FIX_MATCH_FOR_TABLE &&
				    m->for_ == MATCH_FOR_RCPT &&
				    strchr(t->ent[i].key, '@') == NULL) {
					perr_at(p, f->file, f->line, "table "
					    "\"%s\": \"%s\" is not an address",
					    t->name, t->ent[i].key);
					break;
				}
			}
			break;
		}
		free(f->name);
		free(f);
	}
	if (p->conf->limits.retry_min > p->conf->limits.retry_max)
		perr_at(p, p->retry_file, p->retry_line, "limit retry-min "
		    "(%ds) is larger than retry-max (%ds)",
		    p->conf->limits.retry_min, p->conf->limits.retry_max);
	TAILQ_FOREACH(a, &p->conf->actions, entry) {
		lim = &p->conf->limits;
		if ((a->secure_expire != 0 || a->secure_expire_max != 0) &&
		    (a->secure_expire ? a->secure_expire :
		    lim->secure_expire) > (a->secure_expire_max ?
		    a->secure_expire_max : lim->secure_expire_max))
			perr_at(p, a->file, a->line, "action \"%s\": "
			    "secure-expire (%ds) is longer than "
			    "secure-expire-max (%ds)", a->name,
			    a->secure_expire ? a->secure_expire :
			    lim->secure_expire, a->secure_expire_max ?
			    a->secure_expire_max : lim->secure_expire_max);
	}
}

static void
config_defaults(struct config *conf, const char *path)
{
	char	host[256];

	conf->path = xstrdup(path);
	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		(void)strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	conf->hostname = xstrdup(host);
	conf->spool = xstrdup(SEAL_SPOOL);
	conf->vault = xstrdup(SEAL_VAULT);
	conf->empty = xstrdup(SEAL_EMPTY);
	conf->control_socket = xstrdup(SEAL_CONTROL_SOCKET);
	conf->limits.max_line = DEF_MAX_LINE;
	conf->limits.max_message_size = DEF_MAX_MESSAGE_SIZE;
	conf->limits.max_rcpt = DEF_MAX_RCPT;
	conf->limits.max_sessions = DEF_MAX_SESSIONS;
	conf->limits.max_sessions_per_ip = DEF_MAX_SESSIONS_PER_IP;
	conf->limits.max_bad_commands = DEF_MAX_BAD_COMMANDS;
	conf->limits.max_mails_per_session = DEF_MAX_MAILS_PER_SESSION;
	conf->limits.timeout_command = DEF_TIMEOUT_COMMAND;
	conf->limits.timeout_data = DEF_TIMEOUT_DATA;
	conf->limits.expire = DEF_EXPIRE;
	conf->limits.retry_min = DEF_RETRY_MIN;
	conf->limits.retry_max = DEF_RETRY_MAX;
	conf->limits.timeout_delivery = DEF_TIMEOUT_DELIVERY;
	conf->limits.timeout_policy = DEF_TIMEOUT_POLICY;
	conf->limits.secure_expire = DEF_SECURE_EXPIRE;
	conf->limits.secure_expire_max = DEF_SECURE_EXPIRE_MAX;
	conf->limits.secure_sweep = DEF_SECURE_SWEEP;
	conf->limits.secure_session = DEF_SECURE_SESSION;
	conf->limits.code_lifetime = DEF_CODE_LIFETIME;
	conf->limits.code_attempts = DEF_CODE_ATTEMPTS;
	(void)strlcpy(conf->secure.language, DEF_SECURE_LANGUAGE,
	    sizeof(conf->secure.language));
	TAILQ_INIT(&conf->tables);
	TAILQ_INIT(&conf->pkis);
	TAILQ_INIT(&conf->cas);
	TAILQ_INIT(&conf->listeners);
	TAILQ_INIT(&conf->actions);
	TAILQ_INIT(&conf->matches);
	TAILQ_INIT(&conf->policies);
}

struct config *
config_parse(const char *path, FILE *errfp)
{
	struct parser	 p;
	struct config	*conf;
	struct fixup	*f;

	memset(&p, 0, sizeof(p));
	macros_init(&p);
	TAILQ_INIT(&p.fixups);
	conf = xcalloc(1, sizeof(*conf));
	config_defaults(conf, path);
	p.conf = conf;
	p.errfp = errfp;
	p.retry_file = path;
	if (lexer_push(&p, path, 0) == 0) {
		parse_file(&p);
		free(p.tok.s);
		while (p.lx != NULL)
			lexer_pop(&p);
		resolve(&p);
	}
	macros_free(&p);
	while ((f = TAILQ_FIRST(&p.fixups)) != NULL) {
		TAILQ_REMOVE(&p.fixups, f, entry);
		free(f->name);
		free(f);
	}
	fflush(errfp);
	if (p.errors > 0) {
		config_free(conf);
		return NULL;
	}
	return conf;
}

void
config_free(struct config *conf)
{
	struct table	*t;
	struct pki	*pki;
	struct ca	*ca;
	struct listener	*l;
	struct action	*a;
	struct match	*m;
	struct policy	*pol;
	size_t		 i;

	if (conf == NULL)
		return;
	while ((t = TAILQ_FIRST(&conf->tables)) != NULL) {
		TAILQ_REMOVE(&conf->tables, t, entry);
		table_free(t);
	}
	while ((pki = TAILQ_FIRST(&conf->pkis)) != NULL) {
		TAILQ_REMOVE(&conf->pkis, pki, entry);
		free(pki->name);
		free(pki->cert_file);
		free(pki->key_file);
		free(pki->cert);
		if (pki->key != NULL)
			freezero(pki->key, pki->key_len);
		free(pki);
	}
	while ((ca = TAILQ_FIRST(&conf->cas)) != NULL) {
		TAILQ_REMOVE(&conf->cas, ca, entry);
		free(ca->name);
		free(ca->cafile);
		free(ca);
	}
	while ((l = TAILQ_FIRST(&conf->listeners)) != NULL) {
		TAILQ_REMOVE(&conf->listeners, l, entry);
		free(l->addr);
		free(l->tag);
		free(l->hostname);
		free(l);
	}
	while ((a = TAILQ_FIRST(&conf->actions)) != NULL) {
		TAILQ_REMOVE(&conf->actions, a, entry);
		free(a->name);
		free(a->host);
		free(a->maildir);
		free(a);
	}
	while ((m = TAILQ_FIRST(&conf->matches)) != NULL) {
		TAILQ_REMOVE(&conf->matches, m, entry);
		free(m->from_value);
		free(m->for_value);
		free(m);
	}
	while ((pol = TAILQ_FIRST(&conf->policies)) != NULL) {
		TAILQ_REMOVE(&conf->policies, pol, entry);
		policy_free(pol);
	}
	for (i = 0; i < conf->nfiles; i++)
		free(conf->files[i]);
	free(conf->files);
	free(conf->path);
	free(conf->hostname);
	free(conf->spool);
	free(conf->vault);
	free(conf->empty);
	free(conf->control_socket);
	free(conf->resolver);
	free(conf->secure.portal);
	free(conf->secure.organisation);
	free(conf->secure.logo);
	free(conf->secure.colour);
	free(conf->secure.from);
	free(conf->secure.reply_to);
	free(conf->secure.templates);
	free(conf);
}
