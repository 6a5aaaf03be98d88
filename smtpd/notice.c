/*
 * notice.c: templates and messages of the notices of secured delivery
 * (see notice.h): loading the template files (the parent, as root,
 * before the queue forks), rendering them, and building the MIME
 * message the queue puts in its spool.
 *
 * Invariant: a notice is 7-bit clean and every header line it gets from
 * a value (subject, names, addresses) is free of CR, LF and other
 * controls, so nothing a sender wrote can add a header or a part; the
 * only parts of the original message a notice may carry are its
 * sender's name and address and, unless hidden, its subject.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "defaults.h"
#include "notice.h"
#include "util.h"

#define SECTION_DEPTH	4

struct notice_set {
	char	*subject[NOTICE_MAX][NOTICE_NLANG];
	char	*text[NOTICE_MAX][NOTICE_NLANG];
	char	*html[NOTICE_MAX][NOTICE_NLANG];	/* or NULL */
};

static const char *const kind_names[NOTICE_MAX] = {
	"notify", "held", "code"
};
static const char *const lang_names[NOTICE_NLANG] = { "nl", "en" };

/* Every name a template may use. */
static const char *const var_names[] = {
	"organisation", "logo", "colour", "portal", "sender", "sender_name",
	"sender_display",
	"subject", "link", "expires", "recipient", "recipients", "code",
	"code_expires", "msgid",
};

/* Loading */

static char *
read_small(const char *path, int must, FILE *errfp, int *failed)
{
	struct stat	 sb;
	char		*buf;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (must || errno != ENOENT) {
			fprintf(errfp, "%s: %s\n", path, strerror(errno));
			*failed = 1;
		}
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > NOTICE_TMPL_MAX) {
		fprintf(errfp, "%s: not a regular file of at most %d bytes\n",
		    path, NOTICE_TMPL_MAX);
		close(fd);
		*failed = 1;
		return NULL;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (off < (size_t)sb.st_size) {
		if ((n = read(fd, buf + off, (size_t)sb.st_size - off)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			fprintf(errfp, "%s: read error\n", path);
			free(buf);
			close(fd);
			*failed = 1;
			return NULL;
		}
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	if (memchr(buf, '\0', off) != NULL) {
		fprintf(errfp, "%s: NUL byte\n", path);
		free(buf);
		*failed = 1;
		return NULL;
	}
	return buf;
}

/* "Subject: ..." line, an empty line, the body. */
static int
split_subject(char *all, char **subject, char **body)
{
	char	*nl, *s;

	if (strncasecmp(all, "Subject:", 8) != 0 ||
	    (nl = strchr(all, '\n')) == NULL)
		return -1;
	for (s = all + 8; *s == ' ' || *s == '\t'; s++)
		;
	*subject = xstrndup(s, (size_t)(nl - s));
	if ((s = strchr(*subject, '\r')) != NULL)
		*s = '\0';
	s = nl + 1;
	if (*s == '\r')
		s++;
	if (*s != '\n') {
		free(*subject);
		return -1;
	}
	*body = xstrdup(s + 1);
	return 0;
}

static int
check(const char *path, const char *tmpl, int html, FILE *errfp)
{
	struct notice_var	 v[sizeof(var_names) / sizeof(var_names[0])];
	struct qbuf		 b;
	char			 err[128];
	size_t			 i;
	int			 r;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		v[i].name = var_names[i];
		v[i].value = "x";
	}
	qbuf_init(&b);
	r = notice_render(&b, tmpl, v, sizeof(v) / sizeof(v[0]), html, err,
	    sizeof(err));
	qbuf_free(&b);
	if (r == -1)
		fprintf(errfp, "%s: %s\n", path, err);
	return r;
}

int
notice_load(struct config *cfg, const char *tree, FILE *errfp)
{
	struct notice_set	*ns;
	char			 dir[1024], path[1200], *all;
	int			 k, l, failed = 0;

	if (cfg->secure.templates != NULL)
		(void)strlcpy(dir, cfg->secure.templates, sizeof(dir));
	else if (tree != NULL) {
		/* O=build-asan builds into a folder of the source tree. */
		(void)snprintf(dir, sizeof(dir), "%s/etc/templates", tree);
		if (access(dir, F_OK) == -1)
			(void)snprintf(dir, sizeof(dir), "%s/../etc/templates",
			    tree);
	}
	else
		(void)strlcpy(dir, DEF_SECURE_TEMPLATES, sizeof(dir));
	ns = xcalloc(1, sizeof(*ns));
	for (k = 0; k < NOTICE_MAX; k++)
		for (l = 0; l < NOTICE_NLANG; l++) {
			(void)snprintf(path, sizeof(path), "%s/%s.%s.txt", dir,
			    kind_names[k], lang_names[l]);
			if ((all = read_small(path, 1, errfp, &failed)) ==
			    NULL)
				continue;
			if (split_subject(all, &ns->subject[k][l],
			    &ns->text[k][l]) == -1) {
				fprintf(errfp, "%s: must start with a "
				    "\"Subject:\" line and an empty line\n",
				    path);
				failed = 1;
				free(all);
				continue;
			}
			free(all);
			if (check(path, ns->subject[k][l], 0, errfp) == -1 ||
			    check(path, ns->text[k][l], 0, errfp) == -1)
				failed = 1;
			(void)snprintf(path, sizeof(path), "%s/%s.%s.html", dir,
			    kind_names[k], lang_names[l]);
			ns->html[k][l] = read_small(path, 0, errfp, &failed);
			if (ns->html[k][l] != NULL &&
			    check(path, ns->html[k][l], 1, errfp) == -1)
				failed = 1;
		}
	if (failed) {
		for (k = 0; k < NOTICE_MAX; k++)
			for (l = 0; l < NOTICE_NLANG; l++) {
				free(ns->subject[k][l]);
				free(ns->text[k][l]);
				free(ns->html[k][l]);
			}
		free(ns);
		return -1;
	}
	cfg->secure.notify_tmpl = ns;
	return 0;
}

void
notice_free(struct config *cfg)
{
	struct notice_set	*ns = cfg->secure.notify_tmpl;
	int			 k, l;

	if (ns == NULL)
		return;
	for (k = 0; k < NOTICE_MAX; k++)
		for (l = 0; l < NOTICE_NLANG; l++) {
			free(ns->subject[k][l]);
			free(ns->text[k][l]);
			free(ns->html[k][l]);
		}
	free(ns);
	cfg->secure.notify_tmpl = NULL;
}

enum notice_lang
notice_lang(const struct config *cfg, const char *lang)
{
	if (lang == NULL || lang[0] == '\0')
		lang = cfg->secure.language;
	return strcmp(lang, "en") == 0 ? NOTICE_EN : NOTICE_NL;
}

/* Rendering */

static const char *
var_get(const struct notice_var *vars, size_t n, const char *name,
    size_t len, int *known)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strlen(vars[i].name) == len &&
		    strncmp(vars[i].name, name, len) == 0) {
			*known = 1;
			return vars[i].value ? vars[i].value : "";
		}
	/* A name of another kind of notice is empty here. */
	for (i = 0; i < sizeof(var_names) / sizeof(var_names[0]); i++)
		if (strlen(var_names[i]) == len &&
		    strncmp(var_names[i], name, len) == 0) {
			*known = 1;
			return "";
		}
	*known = 0;
	return "";
}

static void
add_html(struct qbuf *b, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&':
			qbuf_addstr(b, "&amp;");
			break;
		case '<':
			qbuf_addstr(b, "&lt;");
			break;
		case '>':
			qbuf_addstr(b, "&gt;");
			break;
		case '"':
			qbuf_addstr(b, "&quot;");
			break;
		case '\'':
			qbuf_addstr(b, "&#39;");
			break;
		default:
			qbuf_add(b, s, 1);
		}
}

static int
render(struct qbuf *out, const char *t, size_t len,
    const struct notice_var *vars, size_t nvars, int html, int depth,
    char *err, size_t errsz)
{
	const char	*p = t, *end = t + len, *o, *c, *close;
	const char	*name, *v;
	char		 tag[80];
	size_t		 nl;
	int		 known, inv;

	while (p < end) {
		if ((o = strstr(p, "{{")) == NULL || o >= end) {
			qbuf_add(out, p, (size_t)(end - p));
			break;
		}
		qbuf_add(out, p, (size_t)(o - p));
		if ((c = strstr(o + 2, "}}")) == NULL || c >= end) {
			(void)snprintf(err, errsz, "unclosed \"{{\"");
			return -1;
		}
		name = o + 2;
		nl = (size_t)(c - name);
		p = c + 2;
		if (nl > 0 && (name[0] == '#' || name[0] == '^')) {
			inv = name[0] == '^';
			name++;
			nl--;
			v = var_get(vars, nvars, name, nl, &known);
			if (!known || nl + 6 > sizeof(tag)) {
				(void)snprintf(err, errsz, "unknown name "
				    "\"%.*s\"", (int)(nl > 40 ? 40 : nl), name);
				return -1;
			}
			(void)snprintf(tag, sizeof(tag), "{{/%.*s}}", (int)nl,
			    name);
			if ((close = strstr(p, tag)) == NULL || close >= end) {
				(void)snprintf(err, errsz, "section \"%.*s\" "
				    "not closed", (int)nl, name);
				return -1;
			}
			if (depth >= SECTION_DEPTH) {
				(void)snprintf(err, errsz, "sections nested "
				    "too deep");
				return -1;
			}
			/* Check the inside either way, render it if wanted. */
			if ((v[0] != '\0') != inv) {
				if (render(out, p, (size_t)(close - p), vars,
				    nvars, html, depth + 1, err, errsz) == -1)
					return -1;
			} else {
				struct qbuf	skip;
				int		r;

				qbuf_init(&skip);
				r = render(&skip, p, (size_t)(close - p), vars,
				    nvars, html, depth + 1, err, errsz);
				qbuf_free(&skip);
				if (r == -1)
					return -1;
			}
			p = close + strlen(tag);
			continue;
		}
		if (nl > 0 && name[0] == '/') {
			(void)snprintf(err, errsz, "\"{{%.*s}}\" without its "
			    "section", (int)(nl > 40 ? 40 : nl), name);
			return -1;
		}
		v = var_get(vars, nvars, name, nl, &known);
		if (!known) {
			(void)snprintf(err, errsz, "unknown name \"%.*s\"",
			    (int)(nl > 40 ? 40 : nl), name);
			return -1;
		}
		if (html)
			add_html(out, v);
		else
			qbuf_addstr(out, v);
	}
	return 0;
}

int
notice_render(struct qbuf *out, const char *tmpl,
    const struct notice_var *vars, size_t nvars, int html, char *err,
    size_t errsz)
{
	return render(out, tmpl, strlen(tmpl), vars, nvars, html, 0, err,
	    errsz);
}

/* Encodings */

static void
add_base64(struct qbuf *b, const unsigned char *p, size_t n)
{
	static const char	 tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char			 q[4];
	unsigned int		 v;
	size_t			 i;

	for (i = 0; i < n; i += 3) {
		v = (unsigned int)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned int)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		qbuf_add(b, q, 4);
	}
}

static int
is_ascii_text(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* A header value: as is if printable ASCII, else RFC 2047 words. */
static void
add_encoded(struct qbuf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n, len = strlen(s), chunk;

	if (is_ascii_text(s)) {
		qbuf_addstr(b, s);
		return;
	}
	for (n = 0; n < len; n += chunk) {
		chunk = len - n > 36 ? 36 : len - n;
		/* Never split a UTF-8 sequence between two words. */
		while (n + chunk < len && chunk > 1 &&
		    (p[n + chunk] & 0xc0) == 0x80)
			chunk--;
		if (n > 0)
			qbuf_addstr(b, "\r\n ");
		qbuf_addstr(b, "=?UTF-8?B?");
		add_base64(b, p + n, chunk);
		qbuf_addstr(b, "?=");
	}
}

/* Text with LF or CRLF line ends, as quoted-printable with CRLF. */
static void
add_qp(struct qbuf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 col = 0;
	char			 e[3];
	int			 enc;

	for (; *p != '\0'; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (*p == '\n') {
			qbuf_addstr(b, "\r\n");
			col = 0;
			continue;
		}
		enc = *p == '=' || *p > 0x7e || (*p < 0x20 && *p != '\t') ||
		    ((*p == ' ' || *p == '\t') && (p[1] == '\n' ||
		    p[1] == '\r' || p[1] == '\0')) ||
		    (*p == '.' && col == 0);
		if (col + (enc ? 3 : 1) > 75) {
			qbuf_addstr(b, "=\r\n");
			col = 0;
		}
		if (enc) {
			e[0] = '=';
			e[1] = hex[*p >> 4];
			e[2] = hex[*p & 0xf];
			qbuf_add(b, e, 3);
			col += 3;
		} else {
			qbuf_add(b, p, 1);
			col++;
		}
	}
	if (col > 0)
		qbuf_addstr(b, "\r\n");
}

static void
add_date(struct qbuf *b, time_t t)
{
	struct tm	tm;
	char		buf[64];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000",
	    &tm) == 0)
		(void)strlcpy(buf, "Thu, 01 Jan 1970 00:00:00 +0000",
		    sizeof(buf));
	qbuf_addstr(b, buf);
}

/* "Name <addr>" or "addr": the name encoded if need be. */
static void
add_mailbox(struct qbuf *b, const char *v)
{
	const char	*lt;
	char		*name;

	if ((lt = strchr(v, '<')) == NULL || lt == v || is_ascii_text(v)) {
		qbuf_addstr(b, v);
		return;
	}
	name = xstrndup(v, (size_t)(lt - v));
	while (name[0] != '\0' && name[strlen(name) - 1] == ' ')
		name[strlen(name) - 1] = '\0';
	add_encoded(b, name);
	qbuf_addstr(b, " ");
	qbuf_addstr(b, lt);
	free(name);
}

static void
flatten(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\r' || *s == '\n' || *s == '\t')
			*s = ' ';
}

int
notice_build(struct qbuf *out, const struct config *cfg,
    enum notice_kind kind, enum notice_lang lang,
    const struct notice_hdrs *h, const struct notice_var *vars,
    size_t nvars, char *err, size_t errsz)
{
	const struct notice_set	*ns = cfg->secure.notify_tmpl;
	struct qbuf		 subj, text, html;
	char			 boundary[96], *from = NULL;
	const char		*org;
	int			 r = -1;

	if (ns == NULL || ns->text[kind][lang] == NULL) {
		(void)snprintf(err, errsz, "no %s template loaded",
		    kind_names[kind]);
		return -1;
	}
	qbuf_init(&subj);
	qbuf_init(&text);
	qbuf_init(&html);
	if (notice_render(&subj, ns->subject[kind][lang], vars, nvars, 0,
	    err, errsz) == -1 || notice_render(&text, ns->text[kind][lang],
	    vars, nvars, 0, err, errsz) == -1 ||
	    (ns->html[kind][lang] != NULL && notice_render(&html,
	    ns->html[kind][lang], vars, nvars, 1, err, errsz) == -1))
		goto done;
	flatten(subj.buf ? subj.buf : (char *)"");
	(void)snprintf(boundary, sizeof(boundary), "=_%s.%s", h->id,
	    h->hostname);

	qbuf_addstr(out, "Date: ");
	add_date(out, h->date);
	qbuf_addstr(out, "\r\nFrom: ");
	if (h->from != NULL)
		add_mailbox(out, h->from);
	else {
		org = cfg->secure.organisation ? cfg->secure.organisation :
		    h->hostname;
		(void)xasprintf(&from, "%s <noreply@%s>", org, h->hostname);
		if (!is_ascii_text(org) || strpbrk(org, "\"(),.:;<>@[\\]") ==
		    NULL)
			add_mailbox(out, from);
		else {
			/* A phrase with specials: quote it. */
			qbuf_addstr(out, "\"");
			for (; *org != '\0'; org++) {
				if (*org == '"' || *org == '\\')
					qbuf_addstr(out, "\\");
				qbuf_add(out, org, 1);
			}
			qbuf_addf(out, "\" <noreply@%s>", h->hostname);
		}
	}
	qbuf_addf(out, "\r\nTo: <%s>\r\n", h->to);
	if (h->reply_to != NULL && h->reply_to[0] != '\0')
		qbuf_addf(out, "Reply-To: <%s>\r\n", h->reply_to);
	qbuf_addstr(out, "Subject: ");
	add_encoded(out, subj.buf ? subj.buf : "");
	qbuf_addf(out, "\r\nMessage-ID: <%s.%s@%s>\r\n", h->id,
	    kind_names[kind], h->hostname);
	qbuf_addstr(out, "Auto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\n");
	if (html.len > 0) {
		qbuf_addf(out, "Content-Type: multipart/alternative;\r\n"
		    "\tboundary=\"%s\"\r\n\r\n", boundary);
		qbuf_addf(out, "--%s\r\n", boundary);
	}
	qbuf_addstr(out, "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	add_qp(out, text.buf ? text.buf : "");
	if (html.len > 0) {
		qbuf_addf(out, "--%s\r\n", boundary);
		qbuf_addstr(out, "Content-Type: text/html; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		add_qp(out, html.buf);
		qbuf_addf(out, "--%s--\r\n", boundary);
	}
	r = 0;
done:
	free(from);
	qbuf_free(&subj);
	qbuf_free(&text);
	qbuf_free(&html);
	return r;
}

void
notice_date(char *buf, size_t sz, time_t t, enum notice_lang lang)
{
	static const char *const nl[] = { "januari", "februari", "maart",
	    "april", "mei", "juni", "juli", "augustus", "september",
	    "oktober", "november", "december" };
	static const char *const en[] = { "January", "February", "March",
	    "April", "May", "June", "July", "August", "September",
	    "October", "November", "December" };
	struct tm	tm;
	char		zone[16];

	if (localtime_r(&t, &tm) == NULL) {
		(void)strlcpy(buf, "?", sz);
		return;
	}
	if (strftime(zone, sizeof(zone), "%Z", &tm) == 0)
		zone[0] = '\0';
	if (lang == NOTICE_NL)
		(void)snprintf(buf, sz, "%d %s %d, %02d:%02d %s", tm.tm_mday,
		    nl[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		    zone);
	else
		(void)snprintf(buf, sz, "%s %d, %d, %02d:%02d %s",
		    en[tm.tm_mon], tm.tm_mday, tm.tm_year + 1900, tm.tm_hour,
		    tm.tm_min, zone);
}

/* Headers of the original message */

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int
hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Append byte c of charset latin1 (or else UTF-8/ASCII) as UTF-8. */
static void
add_byte(struct qbuf *b, unsigned char c, int latin1)
{
	char	u[2];

	if (latin1 && c >= 0x80) {
		u[0] = (char)(0xc0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3f));
		qbuf_add(b, u, 2);
	} else
		qbuf_add(b, &c, 1);
}

/* One encoded word at p ("=?cs?e?text?="); its length, or 0 if none. */
static size_t
encoded_word(struct qbuf *b, const char *p)
{
	const char	*cs, *q1, *q2, *txt, *end;
	unsigned int	 acc = 0;
	int		 bits = 0, v, h, l, latin1;
	char		 enc;

	if (p[0] != '=' || p[1] != '?')
		return 0;
	cs = p + 2;
	if ((q1 = strchr(cs, '?')) == NULL || q1[1] == '\0' || q1[2] != '?')
		return 0;
	enc = q1[1];
	txt = q1 + 3;
	if ((q2 = strstr(txt, "?=")) == NULL)
		return 0;
	end = q2 + 2;
	if (strncasecmp(cs, "utf-8", 5) == 0 || strncasecmp(cs,
	    "us-ascii", 8) == 0)
		latin1 = 0;
	else if (strncasecmp(cs, "iso-8859-1", 10) == 0 ||
	    strncasecmp(cs, "iso-8859-15", 11) == 0 ||
	    strncasecmp(cs, "windows-1252", 12) == 0)
		latin1 = 1;
	else
		return 0;
	if (enc == 'B' || enc == 'b') {
		for (; txt < q2; txt++) {
			if (*txt == '=')
				break;
			if ((v = b64val((unsigned char)*txt)) == -1)
				return 0;
			acc = (acc << 6) | (unsigned int)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				add_byte(b, (unsigned char)(acc >> bits),
				    latin1);
				acc &= (1U << bits) - 1;
			}
		}
	} else if (enc == 'Q' || enc == 'q') {
		for (; txt < q2; txt++) {
			if (*txt == '_')
				add_byte(b, ' ', 0);
			else if (*txt == '=' && txt + 2 < q2 + 1 &&
			    (h = hexv((unsigned char)txt[1])) != -1 &&
			    (l = hexv((unsigned char)txt[2])) != -1) {
				add_byte(b, (unsigned char)(h << 4 | l),
				    latin1);
				txt += 2;
			} else
				add_byte(b, (unsigned char)*txt, latin1);
		}
	} else
		return 0;
	return (size_t)(end - p);
}

/* Copy UTF-8 s into out: controls dropped, bad bytes '?', cut whole. */
static void
copy_clean(char *out, size_t outsz, const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, o = 0, n, k;

	while (i < len) {
		if (p[i] < 0x80) {
			n = 1;
		} else if ((p[i] & 0xe0) == 0xc0 && p[i] >= 0xc2)
			n = 2;
		else if ((p[i] & 0xf0) == 0xe0)
			n = 3;
		else if ((p[i] & 0xf8) == 0xf0 && p[i] <= 0xf4)
			n = 4;
		else
			n = 0;
		for (k = 1; n > 1 && k < n; k++)
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				n = 0;
		if (n == 0) {
			if (o + 2 > outsz)
				break;
			out[o++] = '?';
			i++;
			continue;
		}
		if (n == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
			if (p[i] == '\t' && o + 2 <= outsz)
				out[o++] = ' ';
			i++;
			continue;
		}
		if (o + n + 1 > outsz)
			break;
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
}

void
notice_header(const char *msg, size_t len, const char *name, char *out,
    size_t outsz)
{
	struct qbuf	 raw, dec;
	const char	*p = msg, *end = msg + len, *nl, *v;
	size_t		 nlen = strlen(name), n, ws;
	int		 found = 0, last_word = 0;

	out[0] = '\0';
	qbuf_init(&raw);
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl == p || (nl == p + 1 && *p == '\r'))
			break;			/* end of the header section */
		if (found && (*p == ' ' || *p == '\t'))
			qbuf_add(&raw, p, (size_t)(nl - p));	/* unfold */
		else if (found)
			break;
		else if ((size_t)(nl - p) > nlen && strncasecmp(p, name,
		    nlen) == 0 && p[nlen] == ':') {
			found = 1;
			v = p + nlen + 1;
			qbuf_add(&raw, v, (size_t)(nl - v));
		}
		p = nl + 1;
	}
	if (!found) {
		qbuf_free(&raw);
		return;
	}
	qbuf_init(&dec);
	for (p = raw.buf; *p != '\0';) {
		if (*p == '\r') {
			p++;
			continue;
		}
		if ((n = encoded_word(&dec, p)) > 0) {
			p += n;
			last_word = 1;
			/* Blanks between two encoded words vanish. */
			ws = strspn(p, " \t\r");
			if (p[ws] == '=' && p[ws + 1] == '?') {
				struct qbuf	probe;

				qbuf_init(&probe);
				if (encoded_word(&probe, p + ws) > 0)
					p += ws;
				qbuf_free(&probe);
			}
			continue;
		}
		last_word = 0;
		qbuf_add(&dec, p, 1);
		p++;
	}
	(void)last_word;
	v = dec.buf ? dec.buf : "";
	while (*v == ' ' || *v == '\t')
		v++;
	copy_clean(out, outsz, v, strlen(v));
	n = strlen(out);
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
	qbuf_free(&raw);
	qbuf_free(&dec);
}

void
notice_display_name(const char *from, char *out, size_t outsz)
{
	const char	*lt;
	char		*s, *d;
	size_t		 n;

	out[0] = '\0';
	if ((lt = strchr(from, '<')) == NULL || lt == from)
		return;
	n = (size_t)(lt - from);
	s = xstrndup(from, n);
	for (d = s; *d != '\0'; d++)
		if (*d == '"')
			*d = ' ';
	for (d = s; *d == ' '; d++)
		;
	(void)strlcpy(out, d, outsz);
	n = strlen(out);
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
	free(s);
}
