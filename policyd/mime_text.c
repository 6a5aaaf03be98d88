/*
 * mime_text.c: the text building blocks of the MIME decoder: byte
 * buffers, base64 and quoted-printable, charsets to UTF-8, RFC 2047
 * encoded-words, RFC 2231 parameters and HTML to text.
 *
 * Run by policyd (and smtpctl policy test); no I/O.  Every decoder is
 * tolerant: garbage is skipped or copied, never fatal, and the output
 * never grows beyond a small multiple of the input.  The charsets most
 * mail uses (UTF-8, US-ASCII, ISO-8859-1/15, windows-1252, UTF-16) are
 * converted here, because policyd runs chrooted where iconv(3) cannot
 * load its modules; iconv is tried for the others, and a charset it does
 * not know is copied byte for byte.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "util.h"

#define ICONV_CACHE	8

void
mbuf_reserve(struct mbuf *b, size_t n)
{
	size_t	cap;

	if (b->cap - b->len >= n && b->buf != NULL)
		return;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2)
			abort();
		cap *= 2;
	}
	b->buf = xreallocarray(b->buf, 1, cap);
	b->cap = cap;
}

void
mbuf_add(struct mbuf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	mbuf_reserve(b, n);
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

void
mbuf_addc(struct mbuf *b, int c)
{
	if (b->cap == b->len || b->buf == NULL)
		mbuf_reserve(b, 1);
	b->buf[b->len++] = (char)c;
}

void
mbuf_free(struct mbuf *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

static void
utf8_put(struct mbuf *b, uint32_t c)
{
	char	u[4];

	if (c >= 0xd800 && c <= 0xdfff)
		c = 0xfffd;
	if (c < 0x80) {
		mbuf_addc(b, (int)c);
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3f));
		mbuf_add(b, u, 2);
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | (c >> 12));
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		mbuf_add(b, u, 3);
	} else if (c < 0x110000) {
		u[0] = (char)(0xf0 | (c >> 18));
		u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		mbuf_add(b, u, 4);
	} else
		utf8_put(b, 0xfffd);
}

static const signed char b64val[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
	['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26,
	['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31,
	['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41,
	['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46,
	['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51,
	['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61,
	['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/*
 * Characters outside the alphabet (line ends, garbage, padding) are
 * skipped, so a body that concatenates encoded blocks still decodes.
 */
void
mime_base64_decode(struct mbuf *out, const char *src, size_t len)
{
	const unsigned char	*s = (const unsigned char *)src;
	unsigned char		*o;
	uint32_t		 acc = 0;
	size_t			 i = 0;
	int			 n = 0, v0, v1, v2, v3;

	mbuf_reserve(out, len / 4 * 3 + 3);
	o = (unsigned char *)out->buf + out->len;
	while (i < len) {
		/* Fast path: four alphabet characters in a row. */
		if (n == 0 && i + 4 <= len &&
		    (v0 = b64val[s[i]]) && (v1 = b64val[s[i + 1]]) &&
		    (v2 = b64val[s[i + 2]]) && (v3 = b64val[s[i + 3]])) {
			acc = (uint32_t)(v0 - 1) << 18 |
			    (uint32_t)(v1 - 1) << 12 |
			    (uint32_t)(v2 - 1) << 6 | (uint32_t)(v3 - 1);
			*o++ = (unsigned char)(acc >> 16);
			*o++ = (unsigned char)(acc >> 8);
			*o++ = (unsigned char)acc;
			i += 4;
			continue;
		}
		if (s[i] == '=') {
			/* Padding ends a group; another may follow. */
			if (n == 2)
				*o++ = (unsigned char)(acc >> 4);
			else if (n == 3) {
				*o++ = (unsigned char)(acc >> 10);
				*o++ = (unsigned char)(acc >> 2);
			}
			n = 0;
			acc = 0;
			i++;
			continue;
		}
		if ((v0 = b64val[s[i++]]) == 0)
			continue;
		acc = acc << 6 | (uint32_t)(v0 - 1);
		if (++n == 4) {
			*o++ = (unsigned char)(acc >> 16);
			*o++ = (unsigned char)(acc >> 8);
			*o++ = (unsigned char)acc;
			n = 0;
			acc = 0;
		}
	}
	if (n == 2)
		*o++ = (unsigned char)(acc >> 4);
	else if (n == 3) {
		*o++ = (unsigned char)(acc >> 10);
		*o++ = (unsigned char)(acc >> 2);
	}
	out->len = (char *)o - out->buf;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 2045 6.7; a "=" not followed by two hex digits or a line end stays. */
void
mime_qp_decode(struct mbuf *out, const char *src, size_t len)
{
	const char	*s = src, *end = src + len, *eq;
	char		*o;
	size_t		 j;
	int		 h, l;

	mbuf_reserve(out, len);
	o = out->buf + out->len;
	while (s < end) {
		if ((eq = memchr(s, '=', end - s)) == NULL)
			eq = end;
		memcpy(o, s, eq - s);
		o += eq - s;
		s = eq;
		if (s == end)
			break;
		s++;
		if (s + 1 < end && (h = hexval(s[0])) >= 0 &&
		    (l = hexval(s[1])) >= 0) {
			*o++ = (char)(h << 4 | l);
			s += 2;
			continue;
		}
		/* Soft line break, maybe after trailing white space. */
		for (j = 0; s + j < end && (s[j] == ' ' || s[j] == '\t'); j++)
			;
		if (s + j < end && s[j] == '\r' && s + j + 1 < end &&
		    s[j + 1] == '\n') {
			s += j + 2;
			continue;
		}
		if (s + j < end && s[j] == '\n') {
			s += j + 1;
			continue;
		}
		if (s + j == end) {
			s = end;
			continue;
		}
		*o++ = '=';
	}
	out->len = o - out->buf;
}

static const uint16_t cp1252_80[32] = {
	0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
	0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
};

enum cs_kind {
	CS_UTF8,
	CS_LATIN1,
	CS_LATIN9,
	CS_CP1252,
	CS_UTF16,
	CS_UTF16LE,
	CS_UTF16BE,
	CS_OTHER,
};

static enum cs_kind
charset_kind(const char *cs)
{
	static const struct {
		const char	*name;
		enum cs_kind	 kind;
	} names[] = {
		{ "utf-8", CS_UTF8 }, { "utf8", CS_UTF8 },
		{ "us-ascii", CS_UTF8 }, { "ascii", CS_UTF8 },
		{ "ansi_x3.4-1968", CS_UTF8 },
		{ "iso-8859-1", CS_LATIN1 }, { "iso8859-1", CS_LATIN1 },
		{ "iso_8859-1", CS_LATIN1 }, { "latin1", CS_LATIN1 },
		{ "l1", CS_LATIN1 },
		{ "iso-8859-15", CS_LATIN9 }, { "iso8859-15", CS_LATIN9 },
		{ "iso_8859-15", CS_LATIN9 }, { "latin-9", CS_LATIN9 },
		{ "latin9", CS_LATIN9 },
		{ "windows-1252", CS_CP1252 }, { "cp1252", CS_CP1252 },
		{ "x-cp1252", CS_CP1252 },
		{ "utf-16", CS_UTF16 }, { "utf-16le", CS_UTF16LE },
		{ "utf-16be", CS_UTF16BE },
	};
	size_t	i;

	if (cs == NULL || *cs == '\0')
		return CS_UTF8;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(cs, names[i].name) == 0)
			return names[i].kind;
	return CS_OTHER;
}

static void
utf16_to_utf8(struct mbuf *out, const unsigned char *s, size_t len, int le)
{
	uint32_t	c, c2;
	size_t		i = 0;

	if (le < 0) {
		/* RFC 2781 4.3: a BOM decides; without one, big-endian. */
		le = 0;
		if (len >= 2 && s[0] == 0xff && s[1] == 0xfe) {
			le = 1;
			i = 2;
		} else if (len >= 2 && s[0] == 0xfe && s[1] == 0xff)
			i = 2;
	}
	for (; i + 1 < len; i += 2) {
		c = le ? (uint32_t)(s[i] | s[i + 1] << 8) :
		    (uint32_t)(s[i] << 8 | s[i + 1]);
		if (c >= 0xd800 && c <= 0xdbff && i + 3 < len) {
			c2 = le ? (uint32_t)(s[i + 2] | s[i + 3] << 8) :
			    (uint32_t)(s[i + 2] << 8 | s[i + 3]);
			if (c2 >= 0xdc00 && c2 <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (c2 - 0xdc00);
				i += 2;
			}
		}
		utf8_put(out, c);
	}
}

static struct {
	char	 name[40];
	iconv_t	 cd;
} icache[ICONV_CACHE];
static int	icache_next;

static iconv_t
iconv_get(const char *cs)
{
	iconv_t	cd;
	int	i;

	for (i = 0; i < ICONV_CACHE; i++)
		if (icache[i].name[0] != '\0' &&
		    strcasecmp(icache[i].name, cs) == 0)
			return icache[i].cd;
	if (strlen(cs) >= sizeof(icache[0].name))
		return (iconv_t)-1;
	cd = iconv_open("UTF-8", cs);
	i = icache_next;
	icache_next = (icache_next + 1) % ICONV_CACHE;
	if (icache[i].name[0] != '\0' && icache[i].cd != (iconv_t)-1)
		iconv_close(icache[i].cd);
	(void)strlcpy(icache[i].name, cs, sizeof(icache[i].name));
	icache[i].cd = cd;
	return cd;
}

static int
iconv_to_utf8(struct mbuf *out, const char *cs, const char *src,
    size_t len)
{
	iconv_t	 cd;
	char	*in = (char *)src, *o;
	size_t	 inleft = len, oleft, r;

	if ((cd = iconv_get(cs)) == (iconv_t)-1)
		return -1;
	(void)iconv(cd, NULL, NULL, NULL, NULL);
	while (inleft > 0) {
		mbuf_reserve(out, inleft * 4 + 16);
		o = out->buf + out->len;
		oleft = out->cap - out->len;
		r = iconv(cd, &in, &inleft, &o, &oleft);
		out->len = o - out->buf;
		if (r == (size_t)-1) {
			if (errno == E2BIG)
				continue;
			/* Invalid or truncated input: skip one byte. */
			utf8_put(out, 0xfffd);
			in++;
			inleft--;
			(void)iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	return 0;
}

int
mime_charset_to_utf8(struct mbuf *out, const char *cs, const char *src,
    size_t len)
{
	const unsigned char	*s = (const unsigned char *)src;
	enum cs_kind		 kind = charset_kind(cs);
	size_t			 i, j;
	uint32_t		 c;

	switch (kind) {
	case CS_UTF8:
		mbuf_add(out, src, len);
		return 0;
	case CS_UTF16:
	case CS_UTF16LE:
	case CS_UTF16BE:
		utf16_to_utf8(out, s, len, kind == CS_UTF16 ? -1 :
		    kind == CS_UTF16LE);
		return 0;
	case CS_LATIN1:
	case CS_LATIN9:
	case CS_CP1252:
		mbuf_reserve(out, len * 3);
		for (i = 0; i < len; i = j) {
			/* Copy ASCII runs at once. */
			for (j = i; j < len && s[j] < 0x80; j++)
				;
			mbuf_add(out, s + i, j - i);
			if (j == len)
				break;
			c = s[j++];
			if (kind == CS_CP1252 && c < 0xa0)
				c = cp1252_80[c - 0x80];
			else if (kind == CS_LATIN9) {
				switch (c) {
				case 0xa4: c = 0x20ac; break;
				case 0xa6: c = 0x0160; break;
				case 0xa8: c = 0x0161; break;
				case 0xb4: c = 0x017d; break;
				case 0xb8: c = 0x017e; break;
				case 0xbc: c = 0x0152; break;
				case 0xbd: c = 0x0153; break;
				case 0xbe: c = 0x0178; break;
				}
			}
			utf8_put(out, c);
		}
		return 0;
	case CS_OTHER:
		break;
	}
	if (iconv_to_utf8(out, cs, src, len) == 0)
		return 0;
	mbuf_add(out, src, len);
	return -1;
}

/* One encoded-word at s: "=?cs?X?text?=".  Returns its length, or 0. */
static size_t
encoded_word(struct mbuf *out, struct mbuf *tmp, const char *s,
    const char *end)
{
	const char	*cs, *q1, *q2, *text, *te;
	char		 csname[64], *star;
	size_t		 n;
	int		 enc, h, l;

	if (end - s < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	cs = s + 2;
	if ((q1 = memchr(cs, '?', end - cs)) == NULL || q1 + 3 > end ||
	    q1 - cs == 0 || q1 - cs >= (ptrdiff_t)sizeof(csname))
		return 0;
	enc = toupper((unsigned char)q1[1]);
	q2 = q1 + 2;
	if ((enc != 'B' && enc != 'Q') || *q2 != '?')
		return 0;
	text = q2 + 1;
	for (te = text; te + 1 < end; te++)
		if (te[0] == '?' && te[1] == '=')
			break;
	if (te + 1 >= end)
		return 0;
	memcpy(csname, cs, q1 - cs);
	csname[q1 - cs] = '\0';
	if ((star = strchr(csname, '*')) != NULL)	/* RFC 2231 5 */
		*star = '\0';
	tmp->len = 0;
	if (enc == 'B')
		mime_base64_decode(tmp, text, te - text);
	else {
		for (n = 0; text + n < te; n++) {
			if (text[n] == '_')
				mbuf_addc(tmp, ' ');
			else if (text[n] == '=' && text + n + 2 < te + 1 &&
			    (h = hexval(text[n + 1])) >= 0 &&
			    (l = hexval(text[n + 2])) >= 0) {
				mbuf_addc(tmp, h << 4 | l);
				n += 2;
			} else
				mbuf_addc(tmp, text[n]);
		}
	}
	(void)mime_charset_to_utf8(out, csname, tmp->buf, tmp->len);
	return te + 2 - s;
}

/* RFC 2047; white space between two encoded-words is dropped (6.2). */
void
mime_header_decode(struct mbuf *out, const char *s, size_t len)
{
	struct mbuf	 tmp = { 0 };
	const char	*end = s + len, *p = s, *ws;
	size_t		 n;

	while (p < end) {
		if (p[0] == '=' && p + 1 < end && p[1] == '?' &&
		    (n = encoded_word(out, &tmp, p, end)) > 0) {
			p += n;
			/* Look past white space for another encoded-word. */
			for (ws = p; ws < end && (*ws == ' ' || *ws == '\t' ||
			    *ws == '\r' || *ws == '\n'); ws++)
				;
			if (ws > p && ws + 1 < end && ws[0] == '=' &&
			    ws[1] == '?')
				p = ws;
			continue;
		}
		mbuf_addc(out, *p++);
	}
	mbuf_free(&tmp);
}

/* Named entities mail actually uses; numeric ones are decoded in full. */
static const struct {
	const char	*name;
	uint16_t	 cp;
} entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' }, { "nbsp", 0xa0 }, { "euro", 0x20ac },
	{ "copy", 0xa9 }, { "reg", 0xae }, { "shy", 0xad },
	{ "ndash", 0x2013 }, { "mdash", 0x2014 }, { "hellip", 0x2026 },
	{ "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "ldquo", 0x201c },
	{ "rdquo", 0x201d }, { "bull", 0x2022 }, { "middot", 0xb7 },
	{ "zwnj", 0x200c }, { "zwj", 0x200d },
	{ "auml", 0xe4 }, { "euml", 0xeb }, { "iuml", 0xef },
	{ "ouml", 0xf6 }, { "uuml", 0xfc }, { "Auml", 0xc4 },
	{ "Euml", 0xcb }, { "Iuml", 0xcf }, { "Ouml", 0xd6 },
	{ "Uuml", 0xdc }, { "aacute", 0xe1 }, { "eacute", 0xe9 },
	{ "iacute", 0xed }, { "oacute", 0xf3 }, { "uacute", 0xfa },
	{ "Eacute", 0xc9 }, { "agrave", 0xe0 }, { "egrave", 0xe8 },
	{ "Egrave", 0xc8 }, { "ecirc", 0xea }, { "ccedil", 0xe7 },
	{ "szlig", 0xdf }, { "ntilde", 0xf1 }, { "oslash", 0xf8 },
	{ "aring", 0xe5 }, { "ordm", 0xba }, { "deg", 0xb0 },
};

/* s points after "&"; returns the bytes consumed, 0 if not an entity. */
static size_t
html_entity(struct mbuf *out, const char *s, const char *end)
{
	const char	*p = s;
	uint32_t	 c = 0;
	size_t		 i, n;
	int		 d, digits = 0;

	if (p < end && *p == '#') {
		p++;
		if (p < end && (*p == 'x' || *p == 'X')) {
			for (p++; p < end && (d = hexval(*p)) >= 0 &&
			    digits < 8; p++, digits++)
				c = c << 4 | (uint32_t)d;
		} else {
			for (; p < end && *p >= '0' && *p <= '9' &&
			    digits < 8; p++, digits++)
				c = c * 10 + (uint32_t)(*p - '0');
		}
		if (digits == 0)
			return 0;
		if (p < end && *p == ';')
			p++;
		utf8_put(out, c == 0 ? 0xfffd : c);
		return p - s;
	}
	for (n = 0; s + n < end && n < 8 && isalnum((unsigned char)s[n]); n++)
		;
	if (n == 0 || s + n >= end || s[n] != ';')
		return 0;
	for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
		if (strlen(entities[i].name) == n &&
		    memcmp(entities[i].name, s, n) == 0) {
			utf8_put(out, entities[i].cp);
			return n + 1;
		}
	return 0;
}

static int
tag_is(const char *s, const char *end, const char *name)
{
	size_t	n = strlen(name);

	return (size_t)(end - s) >= n && strncasecmp(s, name, n) == 0 &&
	    (s + n == end || !isalnum((unsigned char)s[n]));
}

/*
 * Tags become a space (so words on both sides stay apart), comments,
 * <script> and <style> disappear, entities are decoded.  Unclosed
 * constructs end the text; nothing is ever read past end.
 */
void
mime_html_to_text(struct mbuf *out, const char *src, size_t len)
{
	const char	*s = src, *end = src + len, *lt, *gt, *name;
	const char	*skip;
	size_t		 n;

	mbuf_reserve(out, len);
	while (s < end) {
		for (lt = s; lt < end && *lt != '<' && *lt != '&'; lt++)
			;
		mbuf_add(out, s, lt - s);
		s = lt;
		if (s == end)
			break;
		if (*s == '&') {
			if ((n = html_entity(out, s + 1, end)) > 0)
				s += n + 1;
			else
				mbuf_addc(out, *s++);
			continue;
		}
		if (end - s >= 4 && memcmp(s, "<!--", 4) == 0) {
			if ((gt = memmem(s + 4, end - s - 4, "-->", 3)) ==
			    NULL)
				break;
			s = gt + 3;
			continue;
		}
		name = s + 1;
		if (name < end && *name == '/')
			name++;
		skip = NULL;
		if (name == s + 1 && tag_is(name, end, "script"))
			skip = "</script";
		else if (name == s + 1 && tag_is(name, end, "style"))
			skip = "</style";
		if ((gt = memchr(s, '>', end - s)) == NULL)
			break;
		s = gt + 1;
		if (skip != NULL) {
			n = strlen(skip);
			while (s < end && (lt = memchr(s, '<', end - s)) !=
			    NULL && !(end - lt >= (ptrdiff_t)n &&
			    strncasecmp(lt, skip, n) == 0))
				s = lt + 1;
			if (s >= end || lt == NULL)
				break;
			if ((gt = memchr(lt, '>', end - lt)) == NULL)
				break;
			s = gt + 1;
		}
		mbuf_addc(out, ' ');
	}
}

static void
pct_decode(struct mbuf *out, const char *s, size_t len)
{
	size_t	i;
	int	h, l;

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    (h = hexval(s[i + 1])) >= 0 &&
		    (l = hexval(s[i + 2])) >= 0) {
			mbuf_addc(out, h << 4 | l);
			i += 2;
		} else
			mbuf_addc(out, s[i]);
	}
}

#define PARAM_SECTIONS	64

/*
 * RFC 2045 5.1 parameters, with RFC 2231 continuations (name*0, name*1)
 * and charsets (name*=utf-8''%C3%AB).  Parameters whose plain value
 * holds RFC 2047 encoded-words (common, though not allowed) are decoded
 * too.
 */
int
mime_header_param(struct mbuf *out, const char *value, size_t len,
    const char *want)
{
	struct {
		const char	*v;
		size_t		 n;
		int		 ext;
		int		 quoted;
	} sec[PARAM_SECTIONS];
	struct mbuf	 raw = { 0 }, qs = { 0 };
	const char	*s = value, *end = value + len, *a, *ae, *v, *ve;
	const char	*tick1, *tick2, *star;
	char		 cs[64];
	size_t		 wl = strlen(want), nsec = 0, i, an;
	int		 found = 0, plain = 0, idx, ext, quoted;
	long		 l;
	char		*ep;

	memset(sec, 0, sizeof(sec));
	cs[0] = '\0';
	/* Skip the main value. */
	while (s < end && *s != ';')
		s++;
	while (s < end) {
		while (s < end && (*s == ';' || isspace((unsigned char)*s)))
			s++;
		a = s;
		while (s < end && *s != '=' && *s != ';' &&
		    !isspace((unsigned char)*s))
			s++;
		ae = s;
		while (s < end && isspace((unsigned char)*s))
			s++;
		if (s >= end || *s != '=') {
			while (s < end && *s != ';')
				s++;
			continue;
		}
		s++;
		while (s < end && isspace((unsigned char)*s))
			s++;
		quoted = 0;
		if (s < end && *s == '"') {
			quoted = 1;
			v = ++s;
			while (s < end && *s != '"') {
				if (*s == '\\' && s + 1 < end)
					s++;
				s++;
			}
			ve = s;
			if (s < end)
				s++;
		} else {
			v = s;
			while (s < end && *s != ';' &&
			    !isspace((unsigned char)*s))
				s++;
			ve = s;
		}
		an = ae - a;
		if (an < wl || strncasecmp(a, want, wl) != 0)
			continue;
		if (an == wl) {
			sec[0].v = v;
			sec[0].n = ve - v;
			sec[0].quoted = quoted;
			sec[0].ext = 0;
			plain = 1;
			found = 1;
			continue;
		}
		if (a[wl] != '*')
			continue;
		star = a + wl + 1;
		ext = 0;
		idx = 0;
		if (star == ae) {
			ext = 1;
		} else {
			l = strtol(star, &ep, 10);
			if (ep == star || l < 0 || l >= PARAM_SECTIONS)
				continue;
			idx = (int)l;
			if (ep < ae && *ep == '*')
				ext = 1, ep++;
			if (ep != ae)
				continue;
		}
		if (plain && idx == 0)
			plain = 0;
		sec[idx].v = v;
		sec[idx].n = ve - v;
		sec[idx].ext = ext;
		sec[idx].quoted = quoted;
		if ((size_t)idx + 1 > nsec)
			nsec = idx + 1;
		found = 1;
	}
	if (!found)
		return 0;
	if (plain) {
		for (i = 0; i < sec[0].n; i++) {
			if (sec[0].quoted && sec[0].v[i] == '\\' &&
			    i + 1 < sec[0].n)
				i++;
			mbuf_addc(&qs, sec[0].v[i]);
		}
		mime_header_decode(out, qs.buf ? qs.buf : "", qs.len);
		mbuf_free(&qs);
		return 1;
	}
	for (i = 0; i < nsec && sec[i].v != NULL; i++) {
		v = sec[i].v;
		ve = v + sec[i].n;
		if (i == 0 && sec[i].ext &&
		    (tick1 = memchr(v, '\'', ve - v)) != NULL &&
		    (tick2 = memchr(tick1 + 1, '\'', ve - tick1 - 1)) !=
		    NULL) {
			if ((size_t)(tick1 - v) < sizeof(cs)) {
				memcpy(cs, v, tick1 - v);
				cs[tick1 - v] = '\0';
			}
			v = tick2 + 1;
		}
		if (sec[i].ext)
			pct_decode(&raw, v, ve - v);
		else
			mbuf_add(&raw, v, ve - v);
	}
	(void)mime_charset_to_utf8(out, cs, raw.buf ? raw.buf : "", raw.len);
	mbuf_free(&raw);
	return 1;
}
