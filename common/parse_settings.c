/*
 * parse_settings.c: the smtpd.conf(5) statements that set one global
 * value: hostname, spool, vault, chroot, control, resolver, limit and
 * secure, and the count/size/duration parser (parse_number) that limits
 * and action options share.
 *
 * Runs in every process that calls config_parse(); no I/O, no messages.
 * Invariant: a value out of range or of the wrong form is an error
 * reported at its line, never clamped; settings that may appear only once
 * are refused the second time (parser.set).
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"
#include "parse_int.h"

static int	parse_path(struct parser *, int, const char *, int, char **);

static const struct {
	const char	*name;
	enum limit_kind	 kind;
	long long	 min;
	long long	 max;
	size_t		 off;		/* in struct limits */
} limit_kws[] = {
	{ "line-max", LIMIT_SIZE, 512, 65536,
	    offsetof(struct limits, max_line) },
	{ "message-size", LIMIT_SIZE, 1024, 4LL * 1024 * 1024 * 1024,
	    offsetof(struct limits, max_message_size) },
	{ "recipients", LIMIT_COUNT, 1, 100000,
	    offsetof(struct limits, max_rcpt) },
	{ "sessions", LIMIT_COUNT, 1, 100000,
	    offsetof(struct limits, max_sessions) },
	{ "sessions-per-address", LIMIT_COUNT, 1, 100000,
	    offsetof(struct limits, max_sessions_per_ip) },
	{ "bad-commands", LIMIT_COUNT, 1, 1000,
	    offsetof(struct limits, max_bad_commands) },
	{ "mails-per-session", LIMIT_COUNT, 1, 100000,
	    offsetof(struct limits, max_mails_per_session) },
	{ "timeout-command", LIMIT_DURATION, 1, 86400,
	    offsetof(struct limits, timeout_command) },
	{ "timeout-data", LIMIT_DURATION, 1, 86400,
	    offsetof(struct limits, timeout_data) },
	{ "expire", LIMIT_DURATION, 60, 30 * 86400,
	    offsetof(struct limits, expire) },
	{ "retry-min", LIMIT_DURATION, 1, 86400,
	    offsetof(struct limits, retry_min) },
	{ "retry-max", LIMIT_DURATION, 1, 7 * 86400,
	    offsetof(struct limits, retry_max) },
	{ "timeout-delivery", LIMIT_DURATION, 1, 86400,
	    offsetof(struct limits, timeout_delivery) },
	{ "timeout-policy", LIMIT_DURATION, 1, 600,
	    offsetof(struct limits, timeout_policy) },
	{ "secure-expire", LIMIT_DURATION, 1, 365 * 86400,
	    offsetof(struct limits, secure_expire) },
	{ "secure-expire-max", LIMIT_DURATION, 1, 365 * 86400,
	    offsetof(struct limits, secure_expire_max) },
	{ "secure-sweep", LIMIT_DURATION, 1, 86400,
	    offsetof(struct limits, secure_sweep) },
	{ "secure-session", LIMIT_DURATION, 60, 86400,
	    offsetof(struct limits, secure_session) },
	{ "code-lifetime", LIMIT_DURATION, 1, 86400,
	    offsetof(struct limits, code_lifetime) },
	{ "code-attempts", LIMIT_COUNT, 1, 100,
	    offsetof(struct limits, code_attempts) },
};

int
parse_hostname(struct parser *p, int line)
{
	char	*name;

	if (get_value(p, "a host name after \"hostname\"", &name) == -1)
		return -1;
	if (!valid_hostname(name)) {
		perr(p, line, "bad host name \"%s\"", name);
		free(name);
		return -1;
	}
	if (p->set & SET_HOSTNAME) {
		perr(p, line, "hostname is set twice");
		free(name);
		return -1;
	}
	p->set |= SET_HOSTNAME;
	free(p->conf->hostname);
	p->conf->hostname = name;
	return 0;
}

/* KEYWORD "/absolute/path", set at most once. */
static int
parse_path(struct parser *p, int line, const char *kw, int flag, char **dst)
{
	char	*path, what[64];

	snprintf(what, sizeof(what), "a path after \"%s\"", kw);
	if (get_value(p, what, &path) == -1)
		return -1;
	if (path[0] != '/') {
		perr(p, line, "%s \"%s\" is not an absolute path", kw, path);
		free(path);
		return -1;
	}
	if (p->set & flag) {
		perr(p, line, "%s is set twice", kw);
		free(path);
		return -1;
	}
	p->set |= flag;
	free(*dst);
	*dst = path;
	return 0;
}

int
parse_spool(struct parser *p, int line)
{
	return parse_path(p, line, "spool", SET_SPOOL, &p->conf->spool);
}

int
parse_vault(struct parser *p, int line)
{
	return parse_path(p, line, "vault", SET_VAULT, &p->conf->vault);
}

int
parse_chroot(struct parser *p, int line)
{
	return parse_path(p, line, "chroot", SET_EMPTY, &p->conf->empty);
}

int
parse_control(struct parser *p, int line)
{
	if (!tok_accept(p, "socket")) {
		unexpected(p, "\"socket\" after \"control\"");
		return -1;
	}
	return parse_path(p, line, "control socket", SET_CONTROL,
	    &p->conf->control_socket);
}

/* resolver ADDRESS [port N]: the DNS server deliveryd asks. */
int
parse_resolver(struct parser *p, int line)
{
	struct in6_addr	 in6;
	char		*addr, *v;
	const char	*errstr;
	int		 port = 0;

	if (get_value(p, "an address after \"resolver\"", &addr) == -1)
		return -1;
	if (inet_pton(AF_INET, addr, &in6) != 1 &&
	    inet_pton(AF_INET6, addr, &in6) != 1) {
		perr(p, line, "bad resolver address \"%s\": an IPv4 or IPv6 "
		    "address", addr);
		free(addr);
		return -1;
	}
	if (tok_accept(p, "port")) {
		if (get_value(p, "a number after \"port\"", &v) == -1) {
			free(addr);
			return -1;
		}
		port = (int)strtonum(v, 1, 65535, &errstr);
		if (errstr != NULL) {
			perr(p, line, "bad resolver port \"%s\"", v);
			free(v);
			free(addr);
			return -1;
		}
		free(v);
	}
	if (p->set & SET_RESOLVER) {
		perr(p, line, "resolver is set twice");
		free(addr);
		return -1;
	}
	p->set |= SET_RESOLVER;
	p->conf->resolver = addr;
	p->conf->resolver_port = port;
	return 0;
}

/*
 * A count, a size (K, M, G) or a duration (s, m, h, d) in [min, max].
 * On error *why says what is wrong: -1 for the syntax, -2 for the range.
 */
int
parse_number(const char *s, int kind, long long min, long long max,
    long long *res, const char **why)
{
	char		 buf[32];
	const char	*errstr;
	long long	 n, mult = 1;
	size_t		 len = strlen(s), digits;

	digits = strspn(s, "0123456789");
	if (digits == 0 || digits >= sizeof(buf) || len > digits + 1) {
		*why = "is not a number";
		return -1;
	}
	if (len == digits + 1) {
		mult = 0;
		if (kind == LIMIT_SIZE) {
			switch (s[digits]) {
			case 'K':
			case 'k':
				mult = 1024;
				break;
			case 'M':
			case 'm':
				mult = 1024 * 1024;
				break;
			case 'G':
			case 'g':
				mult = 1024 * 1024 * 1024;
				break;
			}
		} else if (kind == LIMIT_DURATION) {
			switch (s[digits]) {
			case 's':
				mult = 1;
				break;
			case 'm':
				mult = 60;
				break;
			case 'h':
				mult = 3600;
				break;
			case 'd':
				mult = 86400;
				break;
			}
		}
		if (mult == 0) {
			*why = kind == LIMIT_SIZE ? "has a bad suffix "
			    "(expected K, M or G)" : kind == LIMIT_DURATION ?
			    "has a bad suffix (expected s, m, h or d)" :
			    "is not a number";
			return -1;
		}
	}
	memcpy(buf, s, digits);
	buf[digits] = '\0';
	n = strtonum(buf, 0, LLONG_MAX / mult, &errstr);
	if (errstr != NULL) {
		*why = "is too large";
		return -2;
	}
	n *= mult;
	if (n == 0) {
		*why = "is zero";
		return -2;
	}
	if (n < min) {
		*why = "is too small";
		return -2;
	}
	if (n > max) {
		*why = "is too large";
		return -2;
	}
	*res = n;
	return 0;
}

/* A value that goes into a mail header: printable, one line. */
static int
secure_text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/*
 * secure portal URL | organisation NAME | logo URL | colour #RRGGBB |
 * from TEXT | reply-to ADDRESS|sender|none | templates PATH |
 * language nl|en | hide-subject | missing-phone hold|1fa
 */
int
parse_secure(struct parser *p, int line)
{
	struct secure_conf	*sc = &p->conf->secure;
	char			*kw, *v = NULL, **dst = NULL;
	size_t			 i;
	int			 r = -1;

	if (get_value(p, "a setting after \"secure\"", &kw) == -1)
		return -1;
	if (strcmp(kw, "hide-subject") == 0) {
		sc->hide_subject = 1;
		free(kw);
		return 0;
	}
	if (get_value(p, "a value", &v) == -1) {
		free(kw);
		return -1;
	}
	if (!secure_text_ok(v) || v[0] == '\0') {
		perr(p, line, "secure %s: empty value or control character",
		    kw);
		goto done;
	}
	if (strcmp(kw, "portal") == 0) {
		if (strncmp(v, "https://", 8) != 0 &&
		    strncmp(v, "http://", 7) != 0) {
			perr(p, line, "secure portal \"%s\": not an http or "
			    "https URL", v);
			goto done;
		}
		dst = &sc->portal;
	} else if (strcmp(kw, "organisation") == 0 ||
	    strcmp(kw, "organization") == 0)
		dst = &sc->organisation;
	else if (strcmp(kw, "logo") == 0)
		dst = &sc->logo;
	else if (strcmp(kw, "from") == 0)
		dst = &sc->from;
	else if (strcmp(kw, "reply-to") == 0) {
		if (strcmp(v, "sender") == 0) {
			free(v);
			v = NULL;
		} else if (strcmp(v, "none") == 0)
			v[0] = '\0';
		else if (strchr(v, '@') == NULL) {
			perr(p, line, "secure reply-to \"%s\": an address, "
			    "\"sender\" or \"none\"", v);
			goto done;
		}
		free(sc->reply_to);
		sc->reply_to = v;
		v = NULL;
		r = 0;
		goto done;
	} else if (strcmp(kw, "colour") == 0 || strcmp(kw, "color") == 0) {
		for (i = 1; i < 7 && v[0] == '#' &&
		    isxdigit((unsigned char)v[i]); i++)
			;
		if (i != 7 || v[7] != '\0') {
			perr(p, line, "secure colour \"%s\": want #rrggbb", v);
			goto done;
		}
		dst = &sc->colour;
	} else if (strcmp(kw, "templates") == 0) {
		free(sc->templates);
		sc->templates = path_relative(p->lx->file, v);
		r = 0;
		goto done;
	} else if (strcmp(kw, "language") == 0) {
		if (strcmp(v, "nl") != 0 && strcmp(v, "en") != 0) {
			perr(p, line, "secure language \"%s\": nl or en", v);
			goto done;
		}
		(void)strlcpy(sc->language, v, sizeof(sc->language));
		r = 0;
		goto done;
	} else if (strcmp(kw, "missing-phone") == 0) {
		if (strcmp(v, "hold") == 0)
			sc->missing_phone = MISSING_PHONE_HOLD;
		else if (strcmp(v, "1fa") == 0)
			sc->missing_phone = MISSING_PHONE_1FA;
		else {
			perr(p, line, "secure missing-phone \"%s\": hold or "
			    "1fa", v);
			goto done;
		}
		r = 0;
		goto done;
	} else {
		perr(p, line, "unknown secure setting \"%s\"", kw);
		goto done;
	}
	free(*dst);
	*dst = v;
	v = NULL;
	r = 0;
done:
	free(kw);
	free(v);
	return r;
}

/* limit NAME VALUE */
int
parse_limit(struct parser *p, int line)
{
	struct token	*t = peek(p);
	char		*v, *base;
	const char	*why;
	long long	 n;
	size_t		 i;
	int		 r;

	if (t->type != T_WORD) {
		unexpected(p, "a limit name after \"limit\"");
		return -1;
	}
	for (i = 0; i < nitems(limit_kws); i++)
		if (strcmp(t->s, limit_kws[i].name) == 0)
			break;
	if (i == nitems(limit_kws)) {
		perr(p, line, "unknown limit \"%s\"", t->s);
		return -1;
	}
	advance(p);
	if (get_value(p, "a value", &v) == -1)
		return -1;
	if ((r = parse_number(v, limit_kws[i].kind, limit_kws[i].min,
	    limit_kws[i].max, &n, &why)) == -1) {
		perr(p, line, "limit %s: \"%s\" %s", limit_kws[i].name, v,
		    why);
		free(v);
		return -1;
	} else if (r == -2) {
		perr(p, line, "limit %s: \"%s\" %s (must be %lld to %lld%s)",
		    limit_kws[i].name, v, why, limit_kws[i].min,
		    limit_kws[i].max, limit_kws[i].kind == LIMIT_COUNT ? "" :
		    limit_kws[i].kind == LIMIT_SIZE ? " bytes" : " seconds");
		free(v);
		return -1;
	}
	free(v);
	base = (char *)&p->conf->limits + limit_kws[i].off;
	if (limit_kws[i].kind == LIMIT_DURATION)
		*(int *)(void *)base = (int)n;
	else
		*(size_t *)(void *)base = (size_t)n;
	if (strncmp(limit_kws[i].name, "retry-", 6) == 0) {
		p->retry_file = p->lx->file;
		p->retry_line = line;
	}
	return 0;
}
