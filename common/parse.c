/*
 * parse.c: the smtpd.conf(5) parser: a hand-written lexer and a
 * recursive-descent parser, one statement a line.
 *
 * Every process calls config_parse() before it chroots; the parent alone
 * calls config_load_pki().  The only I/O is reading the file, its
 * includes, "file:" tables and (config_load_pki) the pki files.
 * Invariant: an error is reported as "FILE:LINE: message", the rest of
 * its statement is skipped and parsing goes on, so one run reports every
 * error; a config with any error is never returned.  Names used before
 * their definition (actions, tables, pkis) are resolved at the end of the
 * top-level file and reported at the line that used them.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH	8
#include <pcre2.h>

#include "config.h"
#include "defaults.h"
#include "ruleset.h"
#include "util.h"

#define CONFIG_INCLUDE_MAX	8		/* nested include depth */
#define CONFIG_FILE_MAX		(4 * 1024 * 1024)
#define CONFIG_TOKEN_MAX	8192
#define CONFIG_NAME_MAX		64		/* table, pki, action, tag */
#define PKI_FILE_MAX		(1024 * 1024)

enum token_type {
	T_EOF,
	T_NL,
	T_WORD,			/* bare word: keywords and values */
	T_STRING,		/* "quoted", or a $macro: a value only */
	T_TABLE,		/* <name> */
	T_LBRACE,
	T_RBRACE,
	T_COMMA,
	T_EQ,
	T_BANG,
	T_ERR,			/* already reported by the lexer */
};

struct token {
	enum token_type	 type;
	char		*s;
	int		 line;
};

/* One file being read; includes stack up. */
struct lexer {
	struct lexer	*parent;
	const char	*file;		/* interned in config.files */
	char		*buf;
	size_t		 len;
	size_t		 pos;
	int		 line;
	int		 braces;
	dev_t		 dev;
	ino_t		 ino;
};

struct macro {
	TAILQ_ENTRY(macro)	 entry;
	char			*name;
	char			*value;
	int			 persist;	/* from -D: the file can't change it */
};

#define CONFIG_MAX_DEFINES	32
static char	*cmdline_macros[CONFIG_MAX_DEFINES][2];
static size_t	 ncmdline_macros;

enum fixup_kind {
	FIX_LISTEN_PKI,
	FIX_LISTEN_AUTH,
	FIX_ACTION_AUTH,
	FIX_ACTION_CA,
	FIX_ACTION_TLS_POLICY,
	FIX_MATCH_ACTION,
	FIX_MATCH_FROM_TABLE,
	FIX_MATCH_FOR_TABLE,
	FIX_MATCH_POLICY,
	FIX_POLICY_TABLE,	/* obj: the struct table * to set */
	FIX_POLICY_MAP,		/* the same, and it must map keys */
	FIX_POLICY_WORDS,	/* obj: the policy; idx: its rule */
};

/* A name used before it may be defined: resolved at end of parse. */
struct fixup {
	TAILQ_ENTRY(fixup)	 entry;
	enum fixup_kind		 kind;
	void			*obj;
	char			*name;
	const char		*file;
	int			 line;
	size_t			 idx;		/* FIX_POLICY_WORDS: the rule */
};

/* Settings that may appear only once. */
#define SET_HOSTNAME	0x01
#define SET_SPOOL	0x02
#define SET_VAULT	0x04
#define SET_EMPTY	0x08
#define SET_CONTROL	0x10
#define SET_RESOLVER	0x20

struct parser {
	struct config		*conf;
	FILE			*errfp;
	int			 errors;
	struct lexer		*lx;
	int			 depth;		/* of includes */
	struct token		 tok;		/* lookahead */
	int			 have;
	int			 skipping;	/* no lexer errors while set */
	char			*include;	/* pending, pushed after NL */
	int			 include_line;
	int			 set;
	int			 nlisteners;
	const char		*retry_file;
	int			 retry_line;
	TAILQ_HEAD(, macro)	 macros;
	TAILQ_HEAD(fixuplist, fixup) fixups;
};

struct keyword {
	const char	*name;
	int		(*parse)(struct parser *, int);
};

static void	perr(struct parser *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	perr_at(struct parser *, const char *, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static const char *intern_file(struct config *, const char *);
static char	*path_relative(const char *, const char *);
static int	read_file(const char *, size_t, char **, size_t *,
		    struct stat *);
static int	lexer_push(struct parser *, const char *, int);
static void	lexer_pop(struct parser *);
static int	lex_getc(struct lexer *);
static int	is_word_char(int);
static void	lex(struct parser *, struct token *);
static struct token *peek(struct parser *);
static void	advance(struct parser *);
static char	*take(struct parser *);
static int	tok_accept(struct parser *, const char *);
static int	at_end(struct parser *);
static const char *tok_desc(const struct token *, char *, size_t);
static void	unexpected(struct parser *, const char *);
static int	get_value(struct parser *, const char *, char **);
static int	get_name(struct parser *, const char *, char **);
static int	get_tableref(struct parser *, const char *, char **);
static void	skip_statement(struct parser *);
static void	add_fixup(struct parser *, enum fixup_kind, void *,
		    const char *, int);
static int	valid_name(const char *);
static int	valid_hostname(const char *);
static const struct keyword *keyword_find(const struct keyword *, size_t,
		    const char *);
static void	parse_file(struct parser *);
static int	parse_macro(struct parser *, char *, int);
static int	parse_include(struct parser *, int);
static int	parse_hostname(struct parser *, int);
static int	parse_path(struct parser *, int, const char *, int, char **);
static int	parse_spool(struct parser *, int);
static int	parse_vault(struct parser *, int);
static int	parse_chroot(struct parser *, int);
static int	parse_ca(struct parser *, int);
static int	parse_control(struct parser *, int);
static int	parse_pki(struct parser *, int);
static int	parse_table(struct parser *, int);
static int	parse_table_braces(struct parser *, struct table *, int);
static int	parse_listen(struct parser *, int);
static int	parse_action(struct parser *, int);
static int	parse_action_relay(struct parser *, struct action *, int);
static int	parse_action_maildir(struct parser *, struct action *, int);
static int	parse_relay_url(const char *, struct action *, const char **);
static int	parse_match(struct parser *, int);
static int	parse_match_from(struct parser *, struct match *, int);
static int	parse_match_for(struct parser *, struct match *, int);
static int	parse_limit(struct parser *, int);
static int	parse_resolver(struct parser *, int);
static int	parse_policy(struct parser *, int);
static int	parse_secure(struct parser *, int);
static void	resolve_policy(struct parser *, struct fixup *);
static void	policy_free(struct policy *);
static int	parse_number(const char *, int, long long, long long,
		    long long *, const char **);
static void	resolve(struct parser *);
static void	listener_name(const struct listener *, char *, size_t);
static const char *listen_tls_name(enum listen_tls);
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

/* action NAME TYPE ...: one row per type of action. */
static const struct {
	const char	*name;
	int		(*parse)(struct parser *, struct action *, int);
} action_types[] = {
	{ "relay",	parse_action_relay },
	{ "maildir",	parse_action_maildir },
};

enum limit_kind {
	LIMIT_COUNT,
	LIMIT_SIZE,		/* bytes, with K, M or G */
	LIMIT_DURATION,		/* seconds, with s, m, h or d */
};

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

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

static void
perr_at(struct parser *p, const char *file, int line, const char *fmt, ...)
{
	va_list	ap;

	p->errors++;
	fprintf(p->errfp, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(p->errfp, fmt, ap);
	va_end(ap);
	fputc('\n', p->errfp);
}

static void
perr(struct parser *p, int line, const char *fmt, ...)
{
	va_list	ap;

	p->errors++;
	fprintf(p->errfp, "%s:%d: ", p->lx != NULL ? p->lx->file : "?", line);
	va_start(ap, fmt);
	vfprintf(p->errfp, fmt, ap);
	va_end(ap);
	fputc('\n', p->errfp);
}

static const char *
intern_file(struct config *conf, const char *path)
{
	size_t	i;

	for (i = 0; i < conf->nfiles; i++)
		if (strcmp(conf->files[i], path) == 0)
			return conf->files[i];
	conf->files = xreallocarray(conf->files, conf->nfiles + 1,
	    sizeof(*conf->files));
	conf->files[conf->nfiles] = xstrdup(path);
	return conf->files[conf->nfiles++];
}

/* path as seen from the directory of the file "from". */
static char *
path_relative(const char *from, const char *path)
{
	const char	*slash;
	char		*r;

	if (path[0] == '/' || (slash = strrchr(from, '/')) == NULL)
		return xstrdup(path);
	xasprintf(&r, "%.*s%s", (int)(slash - from + 1), from, path);
	return r;
}

/* Read a whole regular file.  Returns 0, or -1 with errno set. */
static int
read_file(const char *path, size_t max, char **bufp, size_t *lenp,
    struct stat *st)
{
	char	*buf;
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, st) == -1)
		goto fail;
	if (!S_ISREG(st->st_mode)) {
		errno = S_ISDIR(st->st_mode) ? EISDIR : EINVAL;
		goto fail;
	}
	if (st->st_size < 0 || (size_t)st->st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	buf = xmalloc((size_t)st->st_size + 1);
	while (len < (size_t)st->st_size) {
		n = read(fd, buf + len, (size_t)st->st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			free(buf);
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * Start reading path.  line is where the include was written (0 for the
 * top-level file); errors are reported there.
 */
static int
lexer_push(struct parser *p, const char *path, int line)
{
	struct lexer	*lx, *up;
	struct stat	 st;
	char		*buf;
	size_t		 len;

	if (read_file(path, CONFIG_FILE_MAX, &buf, &len, &st) == -1) {
		if (p->lx != NULL)
			perr(p, line, "cannot open \"%s\": %s", path,
			    strerror(errno));
		else
			perr_at(p, path, 0, "cannot open \"%s\": %s", path,
			    strerror(errno));
		return -1;
	}
	for (up = p->lx; up != NULL; up = up->parent) {
		if (up->dev == st.st_dev && up->ino == st.st_ino) {
			perr(p, line, "include cycle: \"%s\" is already "
			    "being read", path);
			free(buf);
			return -1;
		}
	}
	lx = xcalloc(1, sizeof(*lx));
	lx->parent = p->lx;
	lx->file = intern_file(p->conf, path);
	lx->buf = buf;
	lx->len = len;
	lx->line = 1;
	lx->dev = st.st_dev;
	lx->ino = st.st_ino;
	p->lx = lx;
	p->have = 0;
	return 0;
}

static void
lexer_pop(struct parser *p)
{
	struct lexer	*lx = p->lx;

	p->lx = lx->parent;
	p->have = 0;
	free(lx->buf);
	free(lx);
}

static int
lex_getc(struct lexer *lx)
{
	if (lx->pos >= lx->len)
		return EOF;
	return (unsigned char)lx->buf[lx->pos++];
}

#define lex_peekc(lx)	((lx)->pos < (lx)->len ? \
			    (unsigned char)(lx)->buf[(lx)->pos] : EOF)

static int
is_word_char(int c)
{
	if (c == EOF || c == ' ' || c == '\t' || c == '\r' || c == '\n')
		return 0;
	return strchr("\"{},=<>#", c) == NULL;
}

/* Read one token into t; lexical errors are reported and give T_ERR. */
static void
lex(struct parser *p, struct token *t)
{
	struct lexer	*lx = p->lx;
	struct macro	*m;
	char		*buf;
	size_t		 n = 0;
	int		 c;

	t->s = NULL;
	for (;;) {
		c = lex_getc(lx);
		if (c == ' ' || c == '\t' || c == '\r')
			continue;
		if (c == '\\' && lex_peekc(lx) == '\n') {
			lx->pos++;
			lx->line++;
			continue;
		}
		if (c == '\\' && lex_peekc(lx) == '\r' &&
		    lx->pos + 1 < lx->len && lx->buf[lx->pos + 1] == '\n') {
			lx->pos += 2;
			lx->line++;
			continue;
		}
		if (c == '#') {
			while ((c = lex_peekc(lx)) != EOF && c != '\n')
				lx->pos++;
			continue;
		}
		break;
	}
	t->line = lx->line;
	switch (c) {
	case EOF:
		t->type = T_EOF;
		return;
	case '\n':
		lx->line++;
		t->type = T_NL;
		return;
	case '{':
		lx->braces++;
		t->type = T_LBRACE;
		return;
	case '}':
		if (lx->braces > 0)
			lx->braces--;
		t->type = T_RBRACE;
		return;
	case ',':
		t->type = T_COMMA;
		return;
	case '=':
		t->type = T_EQ;
		return;
	case '!':
		t->type = T_BANG;
		return;
	}

	buf = xmalloc(CONFIG_TOKEN_MAX + 1);
	t->type = T_ERR;
	if (c == '"') {
		for (;;) {
			c = lex_getc(lx);
			if (c == EOF || c == '\n') {
				if (c == '\n')
					lx->pos--;
				if (!p->skipping)
					perr(p, t->line, "unterminated string");
				goto out;
			}
			if (c == '"')
				break;
			if (c == '\\') {
				c = lex_getc(lx);
				if (c == '\n') {
					lx->line++;
					continue;
				}
				if (c == EOF) {
					if (!p->skipping)
						perr(p, t->line,
						    "unterminated string");
					goto out;
				}
			}
			if (c == '\0' || (c < 0x20 && c != '\t')) {
				if (!p->skipping)
					perr(p, t->line, "invalid character "
					    "0x%02x in string", c);
				goto out;
			}
			if (n >= CONFIG_TOKEN_MAX) {
				if (!p->skipping)
					perr(p, t->line, "string too long "
					    "(limit %d bytes)",
					    CONFIG_TOKEN_MAX);
				goto out;
			}
			buf[n++] = (char)c;
		}
		buf[n] = '\0';
		t->type = T_STRING;
		t->s = buf;
		return;
	}
	if (c == '<') {
		while ((c = lex_peekc(lx)) != EOF && c != '>' &&
		    is_word_char(c) && n < CONFIG_TOKEN_MAX)
			buf[n++] = (char)lex_getc(lx);
		buf[n] = '\0';
		if (c != '>') {
			if (!p->skipping)
				perr(p, t->line, "unterminated table "
				    "reference \"<%s\": missing \">\"", buf);
			goto out;
		}
		lx->pos++;
		if (!valid_name(buf)) {
			if (!p->skipping)
				perr(p, t->line, "bad table name \"%s\"", buf);
			goto out;
		}
		t->type = T_TABLE;
		t->s = buf;
		return;
	}
	if (c == '>' && lex_peekc(lx) == '=') {
		/* "when score >= N" in policy blocks. */
		lx->pos++;
		(void)strlcpy(buf, ">=", CONFIG_TOKEN_MAX + 1);
		t->type = T_WORD;
		t->s = buf;
		return;
	}
	if (c == '>') {
		if (!p->skipping)
			perr(p, t->line, "unexpected \">\"");
		goto out;
	}
	if (c < 0x20 || c == 0x7f) {
		if (!p->skipping)
			perr(p, t->line, "invalid character 0x%02x", c);
		goto out;
	}
	buf[n++] = (char)c;
	while (is_word_char(lex_peekc(lx))) {
		c = lex_getc(lx);
		if (c < 0x20 || c == 0x7f) {
			if (!p->skipping)
				perr(p, t->line, "invalid character 0x%02x",
				    c);
			goto out;
		}
		if (n >= CONFIG_TOKEN_MAX) {
			if (!p->skipping)
				perr(p, t->line, "word too long (limit %d "
				    "bytes)", CONFIG_TOKEN_MAX);
			goto out;
		}
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	if (buf[0] == '$') {
		/* A macro is always a value, never a keyword. */
		TAILQ_FOREACH(m, &p->macros, entry)
			if (strcmp(m->name, buf + 1) == 0)
				break;
		if (m == NULL) {
			if (!p->skipping)
				perr(p, t->line, "macro \"%s\" is not defined",
				    buf + 1);
			goto out;
		}
		free(buf);
		t->type = T_STRING;
		t->s = xstrdup(m->value);
		return;
	}
	t->type = T_WORD;
	t->s = buf;
	return;
out:
	free(buf);
	t->type = T_ERR;
}

static struct token *
peek(struct parser *p)
{
	if (!p->have) {
		lex(p, &p->tok);
		p->have = 1;
	}
	return &p->tok;
}

static void
advance(struct parser *p)
{
	peek(p);
	free(p->tok.s);
	p->tok.s = NULL;
	p->have = 0;
}

/* Consume the current token and keep its string. */
static char *
take(struct parser *p)
{
	char	*s;

	peek(p);
	s = p->tok.s;
	p->tok.s = NULL;
	p->have = 0;
	return s;
}

/* Consume the bare word kw if it comes next. */
static int
tok_accept(struct parser *p, const char *kw)
{
	struct token	*t = peek(p);

	if (t->type == T_WORD && strcmp(t->s, kw) == 0) {
		advance(p);
		return 1;
	}
	return 0;
}

static int
at_end(struct parser *p)
{
	enum token_type	type = peek(p)->type;

	return type == T_NL || type == T_EOF;
}

static const char *
tok_desc(const struct token *t, char *buf, size_t sz)
{
	switch (t->type) {
	case T_EOF:
		return "end of file";
	case T_NL:
		return "end of line";
	case T_WORD:
	case T_STRING:
		snprintf(buf, sz, "\"%s\"", t->s);
		return buf;
	case T_TABLE:
		snprintf(buf, sz, "<%s>", t->s);
		return buf;
	case T_LBRACE:
		return "\"{\"";
	case T_RBRACE:
		return "\"}\"";
	case T_COMMA:
		return "\",\"";
	case T_EQ:
		return "\"=\"";
	case T_BANG:
		return "\"!\"";
	case T_ERR:
		break;
	}
	return "error";
}

/* "expected WHAT, got TOKEN"; silent if the lexer already complained. */
static void
unexpected(struct parser *p, const char *what)
{
	struct token	*t = peek(p);
	char		 buf[128];

	if (t->type == T_ERR)
		return;
	perr(p, t->line, "expected %s, got %s", what,
	    tok_desc(t, buf, sizeof(buf)));
}

static int
get_value(struct parser *p, const char *what, char **out)
{
	struct token	*t = peek(p);

	if (t->type != T_WORD && t->type != T_STRING) {
		unexpected(p, what);
		return -1;
	}
	*out = take(p);
	return 0;
}

static int
get_name(struct parser *p, const char *what, char **out)
{
	int	line = peek(p)->line;

	if (get_value(p, what, out) == -1)
		return -1;
	if (!valid_name(*out)) {
		perr(p, line, "bad %s \"%s\": letters, digits, \"_\", \"-\" "
		    "and \".\" only, at most %d", what, *out,
		    CONFIG_NAME_MAX);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static int
get_tableref(struct parser *p, const char *after, char **out)
{
	struct token	*t = peek(p);
	char		 buf[64];

	if (t->type != T_TABLE) {
		snprintf(buf, sizeof(buf), "a <table> after \"%s\"", after);
		unexpected(p, buf);
		return -1;
	}
	*out = take(p);
	return 0;
}

/* Skip to the end of the statement, over any { ... } it opened. */
static void
skip_statement(struct parser *p)
{
	struct token	*t;

	p->skipping = 1;
	for (;;) {
		t = peek(p);
		if (t->type == T_EOF)
			break;
		if (t->type == T_NL && p->lx->braces == 0) {
			advance(p);
			break;
		}
		advance(p);
	}
	p->skipping = 0;
}

static void
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

static int
valid_name(const char *s)
{
	size_t	n;

	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' &&
		    s[n] != '-' && s[n] != '.')
			return 0;
	return n > 0 && n <= CONFIG_NAME_MAX;
}

/* RFC 1123 host name: labels of letters, digits and '-', dot-separated. */
static int
valid_hostname(const char *s)
{
	size_t	n, label = 0;

	for (n = 0; s[n] != '\0'; n++) {
		if (s[n] == '.') {
			if (label == 0 || s[n - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[n]) &&
		    (s[n] != '-' || label == 0))
			return 0;
		if (++label > 63)
			return 0;
	}
	return n > 0 && n <= 253 && s[n - 1] != '-';
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

/* NAME = value */
static int
parse_macro(struct parser *p, char *name, int line)
{
	struct macro	*m;
	char		*value;
	size_t		 i;

	for (i = 0; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			break;
	if (name[i] != '\0' || isdigit((unsigned char)name[0])) {
		perr(p, line, "bad macro name \"%s\": letters, digits and "
		    "\"_\" only, not starting with a digit", name);
		free(name);
		return -1;
	}
	if (get_value(p, "a value after \"=\"", &value) == -1) {
		free(name);
		return -1;
	}
	TAILQ_FOREACH(m, &p->macros, entry) {
		if (strcmp(m->name, name) == 0) {
			if (m->persist) {
				/* Set with -D on the command line. */
				free(value);
				free(name);
				return 0;
			}
			/* Redefinition: the last one wins, as in a shell. */
			free(m->value);
			m->value = value;
			free(name);
			return 0;
		}
	}
	m = xcalloc(1, sizeof(*m));
	m->name = name;
	m->value = value;
	TAILQ_INSERT_TAIL(&p->macros, m, entry);
	return 0;
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

static int
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

static int
parse_spool(struct parser *p, int line)
{
	return parse_path(p, line, "spool", SET_SPOOL, &p->conf->spool);
}

static int
parse_vault(struct parser *p, int line)
{
	return parse_path(p, line, "vault", SET_VAULT, &p->conf->vault);
}

static int
parse_chroot(struct parser *p, int line)
{
	return parse_path(p, line, "chroot", SET_EMPTY, &p->conf->empty);
}

static int
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
static int
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

/* pki NAME cert PATH | pki NAME key PATH */
static int
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
static int
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
static int
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

/* action NAME TYPE ... */
static int
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
static int
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

/*
 * A count, a size (K, M, G) or a duration (s, m, h, d) in [min, max].
 * On error *why says what is wrong: -1 for the syntax, -2 for the range.
 */
static int
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
static int
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
static int
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

/*
 * policy NAME { ... }: one statement a line inside the braces.  An error
 * skips the rest of its line only, so every error of a block is
 * reported.
 */
static const struct {
	const char		*word;
	enum policy_level	 level;
} policy_levels[] = {
	{ "relay", POLICY_RELAY },
	{ "verify", POLICY_RELAY_VERIFY },
	{ "1fa", POLICY_SECURE_1FA },
	{ "2fa", POLICY_SECURE_2FA },
	{ "quarantine", POLICY_QUARANTINE },
	{ "reject", POLICY_REJECT },
};

static int
policy_at_eol(struct parser *p)
{
	enum token_type	type = peek(p)->type;

	return type == T_NL || type == T_EOF || type == T_RBRACE;
}

/* Skip to the end of the line, or to the "}" closing the block. */
static void
policy_skip_line(struct parser *p, int depth)
{
	struct token	*t;

	p->skipping = 1;
	for (;;) {
		t = peek(p);
		if (t->type == T_EOF)
			break;
		if (t->type == T_RBRACE && p->lx->braces < depth)
			break;
		if (t->type == T_NL && p->lx->braces == depth) {
			advance(p);
			break;
		}
		advance(p);
	}
	p->skipping = 0;
}

static int
policy_int(struct parser *p, const char *what, int min, int max, int *out)
{
	const char	*errstr;
	char		*v, buf[96];
	int		 line = peek(p)->line;

	snprintf(buf, sizeof(buf), "a number after \"%s\"", what);
	if (get_value(p, buf, &v) == -1)
		return -1;
	*out = (int)strtonum(v, min, max, &errstr);
	if (errstr != NULL) {
		perr(p, line, "%s \"%s\" is %s (must be %d to %d)", what, v,
		    errstr, min, max);
		free(v);
		return -1;
	}
	free(v);
	return 0;
}

/* secure 1fa|2fa, relay [verify], quarantine, reject */
static int
policy_level(struct parser *p, const char *first, enum policy_level *lv)
{
	struct token	*t;
	size_t		 i;

	if (strcmp(first, "quarantine") == 0) {
		*lv = POLICY_QUARANTINE;
		return 0;
	}
	if (strcmp(first, "reject") == 0) {
		*lv = POLICY_REJECT;
		return 0;
	}
	if (strcmp(first, "relay") == 0) {
		*lv = tok_accept(p, "verify") ? POLICY_RELAY_VERIFY :
		    POLICY_RELAY;
		return 0;
	}
	if (strcmp(first, "secure") != 0) {
		perr(p, peek(p)->line, "unknown decision \"%s\" (expected "
		    "relay, relay verify, secure 1fa, secure 2fa, "
		    "quarantine or reject)", first);
		return -1;
	}
	t = peek(p);
	for (i = 0; t->type == T_WORD && i < nitems(policy_levels); i++)
		if ((policy_levels[i].level == POLICY_SECURE_1FA ||
		    policy_levels[i].level == POLICY_SECURE_2FA) &&
		    strcmp(t->s, policy_levels[i].word) == 0) {
			*lv = policy_levels[i].level;
			advance(p);
			return 0;
		}
	unexpected(p, "1fa or 2fa after \"secure\"");
	return -1;
}

/* [in WHERE ...] [min N] score N, in any order. */
static int
policy_rule_opts(struct parser *p, struct policy_rule *r)
{
	struct token	*t;
	int		 seen_score = 0, n;

	r->in = POLICY_IN_SUBJECT | POLICY_IN_BODY;
	r->min = 1;
	while (!policy_at_eol(p)) {
		t = peek(p);
		if (t->type != T_WORD) {
			unexpected(p, "in, min or score");
			return -1;
		}
		if (tok_accept(p, "in")) {
			r->in = 0;
			for (n = 0;; n++) {
				if (tok_accept(p, "subject"))
					r->in |= POLICY_IN_SUBJECT;
				else if (tok_accept(p, "body"))
					r->in |= POLICY_IN_BODY;
				else if (tok_accept(p, "attachments"))
					r->in |= POLICY_IN_ATTACHMENTS;
				else if (tok_accept(p, "headers"))
					r->in |= POLICY_IN_HEADERS;
				else
					break;
				if (peek(p)->type == T_COMMA)
					advance(p);
			}
			if (n == 0) {
				unexpected(p, "subject, body, attachments or "
				    "headers after \"in\"");
				return -1;
			}
		} else if (tok_accept(p, "min")) {
			if (policy_int(p, "min", 1, 100000, &r->min) == -1)
				return -1;
		} else if (tok_accept(p, "score")) {
			if (policy_int(p, "score", 0, 1000000, &r->score) ==
			    -1)
				return -1;
			seen_score = 1;
		} else {
			perr(p, t->line, "unknown rule option \"%s\" "
			    "(expected in, min or score)", t->s);
			return -1;
		}
	}
	if (!seen_score) {
		perr(p, r->line, "rule needs a score");
		return -1;
	}
	return 0;
}

static struct policy_rule *
policy_rule_new(struct parser *p, struct policy *pol, enum policy_rule_type
    type, int line)
{
	struct policy_rule	*r;

	pol->rules = xreallocarray(pol->rules, pol->nrules + 1,
	    sizeof(*pol->rules));
	r = &pol->rules[pol->nrules++];
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->file = p->lx->file;
	r->line = line;
	return r;
}

static int
policy_rule_name(struct parser *p, struct policy *pol, const char *kw,
    struct policy_rule *r)
{
	size_t	i;
	char	buf[64];

	snprintf(buf, sizeof(buf), "%s name", kw);
	if (get_name(p, buf, &r->name) == -1)
		return -1;
	for (i = 0; i + 1 < pol->nrules; i++)
		if (pol->rules[i].type == r->type &&
		    pol->rules[i].name != NULL &&
		    strcmp(pol->rules[i].name, r->name) == 0) {
			perr(p, r->line, "%s \"%s\" is defined twice in "
			    "policy \"%s\"", kw, r->name, pol->name);
			return -1;
		}
	return 0;
}

/* keywords NAME { "word", "two words", ... } | keywords NAME <table> */
static int
policy_keywords(struct parser *p, struct policy *pol, int line)
{
	struct policy_rule	*r;
	struct token		*t;
	char			*w;

	r = policy_rule_new(p, pol, POLICY_RULE_KEYWORDS, line);
	if (policy_rule_name(p, pol, "keywords", r) == -1)
		return -1;
	t = peek(p);
	if (t->type == T_TABLE) {
		w = take(p);
		/* pol->rules moves as it grows: keep the index. */
		add_fixup(p, FIX_POLICY_WORDS, pol, w, line);
		TAILQ_LAST(&p->fixups, fixuplist)->idx = pol->nrules - 1;
		free(w);
		r->nwords = 0;
		return policy_rule_opts(p, r);
	}
	if (t->type != T_LBRACE) {
		unexpected(p, "\"{\" or <table> after the keywords name");
		return -1;
	}
	advance(p);
	for (;;) {
		t = peek(p);
		if (t->type == T_NL || t->type == T_COMMA) {
			advance(p);
			continue;
		}
		if (t->type == T_RBRACE) {
			advance(p);
			break;
		}
		if (t->type == T_EOF) {
			perr(p, line, "keywords \"%s\": missing \"}\"",
			    r->name);
			return -1;
		}
		if (get_value(p, "a keyword or \"}\"", &w) == -1)
			return -1;
		if (*w == '\0' || strspn(w, " \t") == strlen(w)) {
			perr(p, t->line, "keywords \"%s\": empty keyword",
			    r->name);
			free(w);
			return -1;
		}
		r->words = xreallocarray(r->words, r->nwords + 1,
		    sizeof(*r->words));
		r->words[r->nwords++] = w;
	}
	if (r->nwords == 0) {
		perr(p, line, "keywords \"%s\" is empty", r->name);
		return -1;
	}
	return policy_rule_opts(p, r);
}

/* regex NAME "PATTERN" ...: compiled here once, to report errors. */
static int
policy_regex(struct parser *p, struct policy *pol, int line)
{
	struct policy_rule	*r;
	pcre2_code		*re;
	PCRE2_UCHAR		 msg[256];
	PCRE2_SIZE		 off;
	int			 err;

	r = policy_rule_new(p, pol, POLICY_RULE_REGEX, line);
	if (policy_rule_name(p, pol, "regex", r) == -1)
		return -1;
	if (get_value(p, "a pattern after the regex name", &r->pattern) ==
	    -1)
		return -1;
	re = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);
	if (re == NULL) {
		if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
			(void)strlcpy((char *)msg, "error", sizeof(msg));
		perr(p, line, "regex \"%s\": %s at offset %zu", r->name,
		    (char *)msg, (size_t)off);
		return -1;
	}
	pcre2_code_free(re);
	return policy_rule_opts(p, r);
}

/* detect bsn|iban|card ... */
static int
policy_detect(struct parser *p, struct policy *pol, int line)
{
	static const char	*names[] = { "bsn", "iban", "card" };
	struct policy_rule	*r;
	struct token		*t;
	size_t			 i;

	r = policy_rule_new(p, pol, POLICY_RULE_DETECT, line);
	t = peek(p);
	for (i = 0; t->type == T_WORD && i < nitems(names); i++)
		if (strcmp(t->s, names[i]) == 0)
			break;
	if (t->type != T_WORD || i == nitems(names)) {
		pol->nrules--;
		if (t->type == T_WORD)
			perr(p, line, "unknown detector \"%s\" (expected "
			    "bsn, iban or card)", t->s);
		else
			unexpected(p, "bsn, iban or card after \"detect\"");
		return -1;
	}
	advance(p);
	r->detector = (enum policy_detector)i;
	for (i = 0; i + 1 < pol->nrules; i++)
		if (pol->rules[i].type == POLICY_RULE_DETECT &&
		    pol->rules[i].detector == r->detector) {
			perr(p, line, "detect %s is given twice in policy "
			    "\"%s\"", names[r->detector], pol->name);
			return -1;
		}
	return policy_rule_opts(p, r);
}

/* allow <T> | phones <T> | downgrade from <T> */
static int
policy_tableref(struct parser *p, struct policy *pol, const char *kw,
    int line)
{
	struct table	**dst;
	char		 *name;
	int		  map = 0;

	if (strcmp(kw, "allow") == 0)
		dst = &pol->allow;
	else if (strcmp(kw, "phones") == 0) {
		dst = &pol->phones;
		map = 1;
	} else {
		dst = &pol->downgrade;
		if (!tok_accept(p, "from")) {
			unexpected(p, "\"from\" after \"downgrade\"");
			return -1;
		}
	}
	if (get_tableref(p, kw, &name) == -1)
		return -1;
	add_fixup(p, map ? FIX_POLICY_MAP : FIX_POLICY_TABLE, dst, name,
	    line);
	free(name);
	return 0;
}

/* trigger "TEXT" DECISION */
static int
policy_trigger(struct parser *p, struct policy *pol, int line)
{
	struct policy_trigger	 tr;
	char			*w;

	memset(&tr, 0, sizeof(tr));
	if (get_value(p, "the trigger text", &tr.text) == -1)
		return -1;
	if (tr.text[0] == '\0') {
		perr(p, line, "empty trigger");
		free(tr.text);
		return -1;
	}
	if (get_value(p, "a decision after the trigger text", &w) == -1) {
		free(tr.text);
		return -1;
	}
	if (policy_level(p, w, &tr.level) == -1) {
		free(w);
		free(tr.text);
		return -1;
	}
	free(w);
	pol->triggers = xreallocarray(pol->triggers, pol->ntriggers + 1,
	    sizeof(*pol->triggers));
	pol->triggers[pol->ntriggers++] = tr;
	return 0;
}

/* DECISION ["reject text"] when score >= N */
static int
policy_threshold(struct parser *p, struct policy *pol, const char *kw,
    int line)
{
	struct policy_threshold	 th;
	struct token		*t;

	memset(&th, 0, sizeof(th));
	if (policy_level(p, kw, &th.level) == -1)
		return -1;
	t = peek(p);
	if (th.level == POLICY_REJECT && t->type == T_STRING)
		th.text = take(p);
	if (!tok_accept(p, "when") || !tok_accept(p, "score") ||
	    !tok_accept(p, ">=")) {
		unexpected(p, "\"when score >= N\"");
		free(th.text);
		return -1;
	}
	if (policy_int(p, "score", 0, 1000000, &th.score) == -1) {
		free(th.text);
		return -1;
	}
	pol->thresholds = xreallocarray(pol->thresholds,
	    pol->nthresholds + 1, sizeof(*pol->thresholds));
	pol->thresholds[pol->nthresholds++] = th;
	return 0;
}

static int
policy_statement(struct parser *p, struct policy *pol, const char *kw,
    int line)
{
	if (strcmp(kw, "keywords") == 0)
		return policy_keywords(p, pol, line);
	if (strcmp(kw, "regex") == 0)
		return policy_regex(p, pol, line);
	if (strcmp(kw, "detect") == 0)
		return policy_detect(p, pol, line);
	if (strcmp(kw, "allow") == 0 || strcmp(kw, "phones") == 0 ||
	    strcmp(kw, "downgrade") == 0)
		return policy_tableref(p, pol, kw, line);
	if (strcmp(kw, "trigger") == 0)
		return policy_trigger(p, pol, line);
	if (strcmp(kw, "secure") == 0 || strcmp(kw, "relay") == 0 ||
	    strcmp(kw, "quarantine") == 0 || strcmp(kw, "reject") == 0)
		return policy_threshold(p, pol, kw, line);
	perr(p, line, "unknown policy statement \"%s\" (expected keywords, "
	    "regex, detect, allow, phones, downgrade, trigger, secure, "
	    "relay, quarantine or reject)", kw);
	return -1;
}

static int
parse_policy(struct parser *p, int line)
{
	struct policy	*pol;
	struct token	*t;
	char		*name, *kw, buf[128];
	int		 depth, sline;

	if (get_name(p, "policy name", &name) == -1)
		return -1;
	if (config_policy(p->conf, name) != NULL) {
		perr(p, line, "policy \"%s\" is defined twice", name);
		free(name);
		return -1;
	}
	if (peek(p)->type != T_LBRACE) {
		unexpected(p, "\"{\" after the policy name");
		free(name);
		return -1;
	}
	advance(p);
	depth = p->lx->braces;
	pol = xcalloc(1, sizeof(*pol));
	pol->name = name;
	pol->file = p->lx->file;
	pol->line = line;
	/* Even with errors: later references must not fail again. */
	TAILQ_INSERT_TAIL(&p->conf->policies, pol, entry);
	for (;;) {
		t = peek(p);
		if (t->type == T_NL) {
			advance(p);
			continue;
		}
		if (t->type == T_RBRACE) {
			advance(p);
			return 0;
		}
		if (t->type == T_EOF) {
			perr(p, line, "policy \"%s\": missing \"}\"", name);
			return -1;
		}
		sline = t->line;
		if (t->type != T_WORD) {
			if (t->type != T_ERR)
				perr(p, sline, "expected a policy statement, "
				    "got %s", tok_desc(t, buf, sizeof(buf)));
			policy_skip_line(p, depth);
			continue;
		}
		kw = take(p);
		if (policy_statement(p, pol, kw, sline) == -1) {
			free(kw);
			policy_skip_line(p, depth);
			continue;
		}
		free(kw);
		if (!policy_at_eol(p)) {
			t = peek(p);
			if (t->type != T_ERR)
				perr(p, t->line, "unexpected %s",
				    tok_desc(t, buf, sizeof(buf)));
			policy_skip_line(p, depth);
		}
	}
}

static void
resolve_policy(struct parser *p, struct fixup *f)
{
	struct policy_rule	*r;
	struct table		*t;
	size_t			 i;

	if ((t = config_table(p->conf, f->name)) == NULL) {
		perr_at(p, f->file, f->line, "table \"%s\" is not defined",
		    f->name);
		return;
	}
	switch (f->kind) {
	case FIX_POLICY_MAP:
		if (t->kind != TABLE_MAP && t->nent > 0) {
			perr_at(p, f->file, f->line, "table \"%s\" must map "
			    "recipients to phone numbers", f->name);
			return;
		}
		*(struct table **)f->obj = t;
		break;
	case FIX_POLICY_TABLE:
		*(struct table **)f->obj = t;
		break;
	case FIX_POLICY_WORDS:
		r = &((struct policy *)f->obj)->rules[f->idx];
		if (t->nent == 0) {
			perr_at(p, f->file, f->line, "keywords \"%s\": table "
			    "\"%s\" is empty", r->name, f->name);
			return;
		}
		r->words = xreallocarray(NULL, t->nent, sizeof(*r->words));
		for (i = 0; i < t->nent; i++)
			r->words[i] = xstrdup(t->ent[i].key);
		r->nwords = t->nent;
		break;
	default:
		break;
	}
}

static void
policy_free(struct policy *pol)
{
	size_t	i, j;

	for (i = 0; i < pol->nrules; i++) {
		free(pol->rules[i].name);
		for (j = 0; j < pol->rules[i].nwords; j++)
			free(pol->rules[i].words[j]);
		free(pol->rules[i].words);
		free(pol->rules[i].pattern);
	}
	free(pol->rules);
	for (i = 0; i < pol->nthresholds; i++)
		free(pol->thresholds[i].text);
	free(pol->thresholds);
	for (i = 0; i < pol->ntriggers; i++)
		free(pol->triggers[i].text);
	free(pol->triggers);
	free(pol->name);
	free(pol);
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

int
config_define(const char *def)
{
	const char	*eq;
	size_t		 i;

	if ((eq = strchr(def, '=')) == NULL || eq == def ||
	    ncmdline_macros == CONFIG_MAX_DEFINES)
		return -1;
	for (i = 0; def + i < eq; i++)
		if (!isalnum((unsigned char)def[i]) && def[i] != '_')
			return -1;
	if (isdigit((unsigned char)def[0]))
		return -1;
	cmdline_macros[ncmdline_macros][0] = xstrndup(def, eq - def);
	cmdline_macros[ncmdline_macros][1] = xstrdup(eq + 1);
	ncmdline_macros++;
	return 0;
}

struct config *
config_parse(const char *path, FILE *errfp)
{
	struct parser	 p;
	struct config	*conf;
	struct macro	*m;
	struct fixup	*f;
	size_t		 i;

	memset(&p, 0, sizeof(p));
	TAILQ_INIT(&p.macros);
	for (i = 0; i < ncmdline_macros; i++) {
		m = xcalloc(1, sizeof(*m));
		m->name = xstrdup(cmdline_macros[i][0]);
		m->value = xstrdup(cmdline_macros[i][1]);
		m->persist = 1;
		TAILQ_INSERT_TAIL(&p.macros, m, entry);
	}
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
	while ((m = TAILQ_FIRST(&p.macros)) != NULL) {
		TAILQ_REMOVE(&p.macros, m, entry);
		free(m->name);
		free(m->value);
		free(m);
	}
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
