/*
 * parse_lex.c: the smtpd.conf(5) lexer: reading the top-level file and
 * the stack of its includes, tokens, $macros (from the file and from -D
 * on the command line), error reports and the token-level helpers every
 * statement parser uses (get_value, get_name, unexpected, ...).
 *
 * Runs in every process that calls config_parse(), before it chroots; no
 * messages.  The only I/O is reading files (read_file).
 * Invariant: every error goes through perr()/perr_at() as "FILE:LINE:
 * message" and counts; a lexical error gives a T_ERR token that statement
 * parsers stay silent about, so each error is reported once.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util.h"
#include "parse_int.h"

#define CONFIG_MAX_DEFINES	32
static char	*cmdline_macros[CONFIG_MAX_DEFINES][2];
static size_t	 ncmdline_macros;

static const char *intern_file(struct config *, const char *);
static int	lex_getc(struct lexer *);
static int	is_word_char(int);
static void	lex(struct parser *, struct token *);
static int	valid_name(const char *);

void
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

void
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
char *
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
int
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
int
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

void
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

struct token *
peek(struct parser *p)
{
	if (!p->have) {
		lex(p, &p->tok);
		p->have = 1;
	}
	return &p->tok;
}

void
advance(struct parser *p)
{
	peek(p);
	free(p->tok.s);
	p->tok.s = NULL;
	p->have = 0;
}

/* Consume the current token and keep its string. */
char *
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
int
tok_accept(struct parser *p, const char *kw)
{
	struct token	*t = peek(p);

	if (t->type == T_WORD && strcmp(t->s, kw) == 0) {
		advance(p);
		return 1;
	}
	return 0;
}

int
at_end(struct parser *p)
{
	enum token_type	type = peek(p)->type;

	return type == T_NL || type == T_EOF;
}

const char *
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
void
unexpected(struct parser *p, const char *what)
{
	struct token	*t = peek(p);
	char		 buf[128];

	if (t->type == T_ERR)
		return;
	perr(p, t->line, "expected %s, got %s", what,
	    tok_desc(t, buf, sizeof(buf)));
}

int
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

int
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

int
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
void
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
int
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

/* NAME = value */
int
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

/* A parser's macros start as the -D definitions; its file can't change them. */
void
macros_init(struct parser *p)
{
	struct macro	*m;
	size_t		 i;

	TAILQ_INIT(&p->macros);
	for (i = 0; i < ncmdline_macros; i++) {
		m = xcalloc(1, sizeof(*m));
		m->name = xstrdup(cmdline_macros[i][0]);
		m->value = xstrdup(cmdline_macros[i][1]);
		m->persist = 1;
		TAILQ_INSERT_TAIL(&p->macros, m, entry);
	}
}

void
macros_free(struct parser *p)
{
	struct macro	*m;

	while ((m = TAILQ_FIRST(&p->macros)) != NULL) {
		TAILQ_REMOVE(&p->macros, m, entry);
		free(m->name);
		free(m->value);
		free(m);
	}
}
