/*
 * parse_object.c: the named objects of smtpd.conf(5) that other
 * statements refer to: table (inline or "file:"), pki and ca; the
 * loading of pki certificates and keys (config_load_pki); and the
 * config_* lookups every process uses on a parsed configuration.
 *
 * Parsing runs in every process that calls config_parse(); only the
 * parent calls config_load_pki().  No messages.
 * Invariant: a name is defined once; a pki key readable by group or
 * others is refused.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"
#include "parse_int.h"

static int	parse_table_braces(struct parser *, struct table *, int);

/* pki NAME cert PATH | pki NAME key PATH */
int
parse_pki(struct parser *p, int line)
{
	struct pki	*pki;
	char		*name, *path, **dst;
	const char	*what;

	if (get_name(p, "pki name", &name) == -1)
		return -1;
	if (tok_accept(p, "cert"))
		what = "cert";
	else if (tok_accept(p, "key"))
		what = "key";
	else {
		unexpected(p, "\"cert\" or \"key\"");
		free(name);
		return -1;
	}
	if (get_value(p, "a file name", &path) == -1) {
		free(name);
		return -1;
	}
	TAILQ_FOREACH(pki, &p->conf->pkis, entry)
		if (strcmp(pki->name, name) == 0)
			break;
	if (pki == NULL) {
		pki = xcalloc(1, sizeof(*pki));
		pki->name = name;
		pki->file = p->lx->file;
		pki->line = line;
		TAILQ_INSERT_TAIL(&p->conf->pkis, pki, entry);
	} else
		free(name);
	dst = what[0] == 'c' ? &pki->cert_file : &pki->key_file;
	if (*dst != NULL) {
		perr(p, line, "pki \"%s\" has its %s set twice", pki->name,
		    what);
		free(path);
		return -1;
	}
	*dst = path_relative(p->lx->file, path);
	free(path);
	return 0;
}

/* ca NAME cafile PATH */
int
parse_ca(struct parser *p, int line)
{
	struct ca	*ca;
	char		*name, *path;

	if (get_name(p, "ca name", &name) == -1)
		return -1;
	if (!tok_accept(p, "cafile")) {
		unexpected(p, "\"cafile\"");
		free(name);
		return -1;
	}
	if (get_value(p, "a file name", &path) == -1) {
		free(name);
		return -1;
	}
	if (config_ca(p->conf, name) != NULL) {
		perr(p, line, "ca \"%s\" is defined twice", name);
		free(name);
		free(path);
		return -1;
	}
	ca = xcalloc(1, sizeof(*ca));
	ca->name = name;
	ca->cafile = path_relative(p->lx->file, path);
	ca->file = p->lx->file;
	ca->line = line;
	free(path);
	TAILQ_INSERT_TAIL(&p->conf->cas, ca, entry);
	return 0;
}

/* table NAME { ... } | table NAME file:PATH */
int
parse_table(struct parser *p, int line)
{
	struct table	*t;
	const struct table_entry *dup;
	char		*name, *src;
	int		 r;

	if (get_name(p, "table name", &name) == -1)
		return -1;
	if (config_table(p->conf, name) != NULL) {
		perr(p, line, "table \"%s\" is defined twice", name);
		free(name);
		return -1;
	}
	t = table_new(name);
	free(name);
	if (peek(p)->type == T_LBRACE) {
		advance(p);
		r = parse_table_braces(p, t, line);
	} else if (get_value(p, "\"{\" or file:PATH", &src) == 0) {
		if (strncmp(src, "file:", 5) != 0 || src[5] == '\0') {
			perr(p, line, "unsupported table source \"%s\" "
			    "(expected { ... } or file:PATH)", src);
			free(src);
			table_free(t);
			return -1;
		}
		t->path = path_relative(p->lx->file, src + 5);
		free(src);
		r = table_load_file(t, t->path, p->errfp);
		if (r == -2) {
			/* Could not open: report where it was named. */
			perr(p, line, "cannot open \"%s\": %s", t->path,
			    strerror(errno));
			r = -1;
		} else if (r == -1)
			p->errors++;
	} else
		r = -1;
	if (r == 0 && t->path == NULL && (dup = table_finish(t)) != NULL) {
		perr(p, dup->line, "table \"%s\": duplicate key \"%s\"",
		    t->name, dup->key);
		r = -1;
	}
	if (r == -1) {
		table_free(t);
		return -1;
	}
	TAILQ_INSERT_TAIL(&p->conf->tables, t, entry);
	return 0;
}

/* After "{": entries "key" or "key = value", by commas or newlines. */
static int
parse_table_braces(struct parser *p, struct table *t, int line)
{
	struct token	*tk;
	char		*key, *value;
	int		 kline, kind = -1;

	for (;;) {
		tk = peek(p);
		if (tk->type == T_NL || tk->type == T_COMMA) {
			advance(p);
			continue;
		}
		if (tk->type == T_RBRACE) {
			advance(p);
			break;
		}
		if (tk->type == T_EOF) {
			perr(p, line, "table \"%s\": missing \"}\"", t->name);
			return -1;
		}
		kline = tk->line;
		if (get_value(p, "a table entry or \"}\"", &key) == -1)
			return -1;
		value = NULL;
		if (peek(p)->type == T_EQ) {
			advance(p);
			if (get_value(p, "a value after \"=\"", &value) ==
			    -1) {
				free(key);
				return -1;
			}
		}
		if (kind == -1)
			kind = value != NULL;
		else if (kind != (value != NULL)) {
			perr(p, kline, "table \"%s\" mixes list entries and "
			    "key = value entries", t->name);
			free(key);
			free(value);
			return -1;
		}
		table_add(t, key, value, kline);
		free(key);
		free(value);
		tk = peek(p);
		if (tk->type != T_COMMA && tk->type != T_NL &&
		    tk->type != T_RBRACE) {
			unexpected(p, "\",\" or \"}\"");
			return -1;
		}
	}
	return 0;
}

/*
 * Read every pki's certificate and key.  The key file must not be
 * readable by group or others: a key anyone can read is no secret.
 */
int
config_load_pki(struct config *conf, FILE *errfp)
{
	struct pki	*pki;
	struct stat	 st;
	char		*buf;
	size_t		 len;
	int		 errors = 0;

	TAILQ_FOREACH(pki, &conf->pkis, entry) {
		if (pki->cert_file == NULL || pki->key_file == NULL) {
			fprintf(errfp, "%s:%d: pki \"%s\" has no %s\n",
			    pki->file, pki->line, pki->name,
			    pki->cert_file == NULL ? "cert" : "key");
			errors++;
			continue;
		}
		if (pki->cert == NULL) {
			if (read_file(pki->cert_file, PKI_FILE_MAX, &buf, &len,
			    &st) == -1) {
				fprintf(errfp, "%s:%d: pki \"%s\": cannot "
				    "open \"%s\": %s\n", pki->file, pki->line,
				    pki->name, pki->cert_file,
				    strerror(errno));
				errors++;
				continue;
			}
			pki->cert = (uint8_t *)buf;
			pki->cert_len = len;
		}
		if (pki->key != NULL)
			continue;
		if (read_file(pki->key_file, PKI_FILE_MAX, &buf, &len,
		    &st) == -1) {
			fprintf(errfp, "%s:%d: pki \"%s\": cannot open "
			    "\"%s\": %s\n", pki->file, pki->line, pki->name,
			    pki->key_file, strerror(errno));
			errors++;
			continue;
		}
		if (st.st_mode & (S_IRWXG | S_IRWXO)) {
			fprintf(errfp, "%s:%d: pki \"%s\": key file \"%s\" "
			    "is accessible by group or others (mode %04o)\n",
			    pki->file, pki->line, pki->name, pki->key_file,
			    (unsigned int)(st.st_mode & 07777));
			freezero(buf, len + 1);
			errors++;
			continue;
		}
		pki->key = (uint8_t *)buf;
		pki->key_len = len;
	}
	fflush(errfp);
	return errors ? -1 : 0;
}

struct table *
config_table(struct config *conf, const char *name)
{
	struct table	*t;

	TAILQ_FOREACH(t, &conf->tables, entry)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

int
config_secure_lifetime(const struct config *conf, const struct action *a,
    unsigned int days, int *clamped)
{
	long long	life, max;

	life = a != NULL && a->secure_expire ? a->secure_expire :
	    conf->limits.secure_expire;
	max = a != NULL && a->secure_expire_max ? a->secure_expire_max :
	    conf->limits.secure_expire_max;
	if (days > 0)
		life = (long long)days * 86400;
	*clamped = life > max;
	return (int)(life > max ? max : life);
}

int
config_secure_lifetime_max(const struct config *conf)
{
	const struct action	*a;
	int			 max = conf->limits.secure_expire_max;

	TAILQ_FOREACH(a, &conf->actions, entry)
		if (a->secure_expire_max > max)
			max = a->secure_expire_max;
	return max;
}

struct action *
config_action(struct config *conf, const char *name)
{
	struct action	*a;

	TAILQ_FOREACH(a, &conf->actions, entry)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

struct policy *
config_policy(struct config *conf, const char *name)
{
	struct policy	*pol;

	TAILQ_FOREACH(pol, &conf->policies, entry)
		if (strcmp(pol->name, name) == 0)
			return pol;
	return NULL;
}

struct ca *
config_ca(struct config *conf, const char *name)
{
	struct ca	*ca;

	TAILQ_FOREACH(ca, &conf->cas, entry)
		if (strcmp(ca->name, name) == 0)
			return ca;
	return NULL;
}

int
config_tls_level(const char *s)
{
	static const char	*names[] = {
		[TLS_LEVEL_NONE] = "none",
		[TLS_LEVEL_MAY] = "may",
		[TLS_LEVEL_ENCRYPT] = "encrypt",
		[TLS_LEVEL_VERIFY] = "verify",
	};
	size_t			 i;

	for (i = 0; i < nitems(names); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}
