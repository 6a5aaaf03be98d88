/*
 * mime.c: the MIME tree walker of the policy engine (RFC 2045-2049).
 *
 * Run by policyd for every received message, and by smtpctl policy
 * test.  Takes the message bytes, walks headers and parts (multipart of
 * any depth up to MIME_DEPTH_MAX, message/rfc822 followed) and fills a
 * struct mime_result with the text the rules scan.  No I/O.
 *
 * Invariant: every read is bounded by the slice being parsed; malformed
 * structure (no boundary, no closing delimiter, garbage headers) is
 * decoded as far as it goes and marked MIME_PARTIAL; only what cannot be
 * scanned at all (beyond the bounds, or encrypted) is MIME_UNSCANNABLE.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"

enum cte {
	CTE_IDENTITY,		/* 7bit, 8bit, binary, or unknown */
	CTE_BASE64,
	CTE_QP,
};

struct part {
	char		 type[96];	/* "text/plain", lower case */
	char		 charset[64];
	char		 boundary[80];
	enum cte	 cte;
	int		 html;
	int		 has_name;
	int		 attachment;
};

static void	mime_entity(struct mime_result *, const char *, size_t, int,
		    const char *);

static void
partial(struct mime_result *r, const char *why)
{
	if (r->status == MIME_OK) {
		r->status = MIME_PARTIAL;
		(void)strlcpy(r->why, why, sizeof(r->why));
	}
}

static void
unscannable(struct mime_result *r, const char *why)
{
	if (r->status != MIME_UNSCANNABLE) {
		r->status = MIME_UNSCANNABLE;
		(void)strlcpy(r->why, why, sizeof(r->why));
	}
}

/* Copy the main value of a structured header ("text/plain"), lower case. */
static void
main_value(char *dst, size_t dsz, const char *v, size_t n)
{
	size_t	i, j = 0;

	for (i = 0; i < n && isspace((unsigned char)v[i]); i++)
		;
	for (; i < n && v[i] != ';' && !isspace((unsigned char)v[i]) &&
	    j + 1 < dsz; i++)
		dst[j++] = (char)tolower((unsigned char)v[i]);
	dst[j] = '\0';
}

static void
param_into(char *dst, size_t dsz, const char *v, size_t n, const char *name)
{
	struct mbuf	b = { 0 };

	dst[0] = '\0';
	if (mime_header_param(&b, v, n, name) && b.len > 0) {
		if (b.len >= dsz)
			b.len = dsz - 1;
		memcpy(dst, b.buf, b.len);
		dst[b.len] = '\0';
	}
	mbuf_free(&b);
}

/* A file name: scanned once, even if both headers give the same one. */
static void
add_name(struct mime_result *r, struct part *p, const char *v, size_t n,
    const char *param)
{
	size_t	before = r->names.len, nl;
	char	*prev;

	if (!mime_header_param(&r->names, v, n, param))
		return;
	nl = r->names.len - before;
	if (nl == 0)
		return;
	if (p->has_name && before > nl && r->names.buf[before - 1] == '\n') {
		prev = r->names.buf + before - 1 - nl;
		if ((prev == r->names.buf || prev[-1] == '\n') &&
		    memcmp(prev, r->names.buf + before, nl) == 0) {
			r->names.len = before;
			return;
		}
	}
	mbuf_addc(&r->names, '\n');
	if (!p->has_name) {
		p->has_name = 1;
		r->nattach++;
	}
}

/*
 * The header block of an entity: returns the offset of its body.  Lines
 * are unfolded into val; the headers that matter are interpreted.
 */
static size_t
mime_headers(struct mime_result *r, const char *s, size_t len, int top,
    struct part *p)
{
	struct mbuf	 val = { 0 };
	const char	*line = s, *end = s + len, *nl, *colon, *name;
	const char	*next;
	size_t		 namelen, n, i, body;
	char		 cte[32];

	for (;;) {
		if (line >= end) {
			body = len;
			break;
		}
		if (*line == '\n') {
			body = line + 1 - s;
			break;
		}
		if (*line == '\r' && line + 1 < end && line[1] == '\n') {
			body = line + 2 - s;
			break;
		}
		nl = memchr(line, '\n', end - line);
		next = nl ? nl + 1 : end;
		if (*line == ' ' || *line == '\t') {
			/* A continuation without a header: skip it. */
			partial(r, "continuation line without a header");
			line = next;
			continue;
		}
		colon = memchr(line, ':', next - line);
		if (colon == NULL) {
			/* Not a header: the body starts here. */
			partial(r, "header line without a colon");
			body = line - s;
			break;
		}
		name = line;
		namelen = colon - line;
		while (namelen > 0 && (name[namelen - 1] == ' ' ||
		    name[namelen - 1] == '\t'))
			namelen--;
		/* Unfold: the value and every continuation line. */
		val.len = 0;
		mbuf_add(&val, colon + 1, next - colon - 1);
		line = next;
		while (line < end && (*line == ' ' || *line == '\t')) {
			nl = memchr(line, '\n', end - line);
			next = nl ? nl + 1 : end;
			if (val.len < MIME_HEADER_MAX)
				mbuf_add(&val, line, next - line);
			line = next;
		}
		/* RFC 5322 2.2.3: unfolding removes the line ends only. */
		for (n = 0, i = 0; n < val.len; n++)
			if (val.buf[n] != '\r' && val.buf[n] != '\n')
				val.buf[i++] = val.buf[n];
		val.len = i;
		for (n = 0; n < val.len && (val.buf[n] == ' ' ||
		    val.buf[n] == '\t'); n++)
			;
		/* An empty value has no buffer yet: nothing to move. */
		if (n > 0) {
			memmove(val.buf, val.buf + n, val.len - n);
			val.len -= n;
		}
		while (val.len > 0 && val.buf[val.len - 1] == ' ')
			val.len--;
		mbuf_addc(&val, '\0');
		val.len--;

		if (top) {
			mbuf_add(&r->headers, name, namelen);
			mbuf_add(&r->headers, ": ", 2);
			mime_header_decode(&r->headers, val.buf, val.len);
			mbuf_addc(&r->headers, '\n');
		}
		if (namelen == 7 && strncasecmp(name, "subject", 7) == 0) {
			if (top && r->subject.len == 0)
				mime_header_decode(&r->subject, val.buf,
				    val.len);
			else if (!top) {
				/* A forwarded message's subject is text. */
				mime_header_decode(&r->body, val.buf, val.len);
				mbuf_addc(&r->body, '\n');
			}
		} else if (namelen == 12 &&
		    strncasecmp(name, "content-type", 12) == 0) {
			main_value(p->type, sizeof(p->type), val.buf, val.len);
			param_into(p->charset, sizeof(p->charset), val.buf,
			    val.len, "charset");
			param_into(p->boundary, sizeof(p->boundary), val.buf,
			    val.len, "boundary");
			add_name(r, p, val.buf, val.len, "name");
		} else if (namelen == 25 && strncasecmp(name,
		    "content-transfer-encoding", 25) == 0) {
			main_value(cte, sizeof(cte), val.buf, val.len);
			if (strcmp(cte, "base64") == 0)
				p->cte = CTE_BASE64;
			else if (strcmp(cte, "quoted-printable") == 0)
				p->cte = CTE_QP;
		} else if (namelen == 19 && strncasecmp(name,
		    "content-disposition", 19) == 0) {
			main_value(cte, sizeof(cte), val.buf, val.len);
			if (strcmp(cte, "attachment") == 0)
				p->attachment = 1;
			add_name(r, p, val.buf, val.len, "filename");
		}
	}
	mbuf_free(&val);
	return body;
}

/* Undo the transfer encoding of a leaf into dst; returns the bytes. */
static void
transfer_decode(const struct part *p, const char *s, size_t len,
    struct mbuf *dst, const char **out, size_t *outlen)
{
	switch (p->cte) {
	case CTE_BASE64:
		dst->len = 0;
		mime_base64_decode(dst, s, len);
		*out = dst->buf ? dst->buf : "";
		*outlen = dst->len;
		break;
	case CTE_QP:
		dst->len = 0;
		mime_qp_decode(dst, s, len);
		*out = dst->buf ? dst->buf : "";
		*outlen = dst->len;
		break;
	default:
		*out = s;
		*outlen = len;
	}
}

static void
mime_text(struct mime_result *r, const struct part *p, const char *s,
    size_t len)
{
	const char	*t;
	size_t		 tl;

	transfer_decode(p, s, len, &r->tmp[0], &t, &tl);
	if (p->html) {
		r->tmp[1].len = 0;
		(void)mime_charset_to_utf8(&r->tmp[1], p->charset, t, tl);
		mime_html_to_text(&r->body, r->tmp[1].buf ? r->tmp[1].buf :
		    "", r->tmp[1].len);
	} else
		(void)mime_charset_to_utf8(&r->body, p->charset, t, tl);
	mbuf_addc(&r->body, '\n');
}

/* Is there a delimiter line "--boundary" at line start p? */
static int
delimiter_at(const char *p, const char *end, const char *b, size_t bl,
    int *close, const char **after)
{
	const char	*q;

	if ((size_t)(end - p) < bl + 2 || p[0] != '-' || p[1] != '-' ||
	    memcmp(p + 2, b, bl) != 0)
		return 0;
	q = p + 2 + bl;
	*close = 0;
	if (end - q >= 2 && q[0] == '-' && q[1] == '-') {
		*close = 1;
		q += 2;
	}
	/* RFC 2046 5.1.1: only linear white space may follow. */
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if (q < end && *q == '\r')
		q++;
	if (q < end && *q != '\n')
		return 0;
	*after = q < end ? q + 1 : end;
	return 1;
}

static void
mime_multipart(struct mime_result *r, const struct part *p, const char *s,
    size_t len, int depth)
{
	const char	*end = s + len, *cur = s, *hit, *after, *start = NULL;
	const char	*pend;
	const char	*b = p->boundary;
	size_t		 bl = strlen(b);
	int		 close, closed = 0;
	const char	*deftype = strcmp(p->type, "multipart/digest") == 0 ?
			    "message/rfc822" : "text/plain";

	while (cur < end && r->status != MIME_UNSCANNABLE) {
		/* memchr is fast where no "-" is at all (base64). */
		hit = memchr(cur, '-', end - cur);
		if (hit == NULL || hit + 1 >= end)
			break;
		if (hit[1] != '-') {
			cur = hit + 1;
			continue;
		}
		cur = hit + 2;
		if (hit != s && hit[-1] != '\n')
			continue;
		if (!delimiter_at(hit, end, b, bl, &close, &after))
			continue;
		if (start != NULL) {
			/* The CRLF before the delimiter belongs to it. */
			pend = hit;
			if (pend > start && pend[-1] == '\n')
				pend--;
			if (pend > start && pend[-1] == '\r')
				pend--;
			mime_entity(r, start, pend - start, depth + 1,
			    deftype);
		}
		if (close) {
			closed = 1;
			break;
		}
		start = after;
		cur = after;
	}
	if (!closed) {
		partial(r, "multipart without its closing delimiter");
		if (start != NULL && start < end)
			mime_entity(r, start, end - start, depth + 1, deftype);
		else if (start == NULL) {
			/* No delimiter at all: scan it as text. */
			struct part	tp;

			memset(&tp, 0, sizeof(tp));
			mime_text(r, &tp, s, len);
		}
	}
}

static void
mime_entity(struct mime_result *r, const char *s, size_t len, int depth,
    const char *deftype)
{
	struct part	 p;
	struct mbuf	 inner = { 0 };
	const char	*t;
	size_t		 off, tl;

	if (r->status == MIME_UNSCANNABLE)
		return;
	if (depth > MIME_DEPTH_MAX) {
		unscannable(r, "MIME nesting too deep");
		return;
	}
	if (++r->nparts > MIME_PARTS_MAX) {
		unscannable(r, "too many MIME parts");
		return;
	}
	if (depth > r->depth)
		r->depth = depth;
	memset(&p, 0, sizeof(p));
	off = mime_headers(r, s, len, depth == 0, &p);
	s += off;
	len -= off;
	if (p.type[0] == '\0' || strchr(p.type, '/') == NULL)
		(void)strlcpy(p.type, deftype, sizeof(p.type));

	if (strcmp(p.type, "multipart/encrypted") == 0 ||
	    strcmp(p.type, "application/pkcs7-mime") == 0 ||
	    strcmp(p.type, "application/x-pkcs7-mime") == 0 ||
	    strcmp(p.type, "application/pgp-encrypted") == 0) {
		unscannable(r, "encrypted content");
		return;
	}
	if (strncmp(p.type, "multipart/", 10) == 0) {
		if (p.boundary[0] == '\0') {
			partial(r, "multipart without a boundary");
			mime_text(r, &p, s, len);
			return;
		}
		mime_multipart(r, &p, s, len, depth);
		return;
	}
	if (strcmp(p.type, "message/rfc822") == 0 ||
	    strcmp(p.type, "message/global") == 0) {
		transfer_decode(&p, s, len, &inner, &t, &tl);
		mime_entity(r, t, tl, depth + 1, "text/plain");
		mbuf_free(&inner);
		return;
	}
	if (strncmp(p.type, "text/", 5) == 0) {
		p.html = strcmp(p.type, "text/html") == 0;
		mime_text(r, &p, s, len);
		return;
	}
	/* Other content (images, PDFs, archives): only the name counts. */
}

enum mime_status
mime_decode(struct mime_result *r, const uint8_t *msg, size_t len)
{
	r->subject.len = 0;
	r->headers.len = 0;
	r->body.len = 0;
	r->names.len = 0;
	r->status = MIME_OK;
	r->why[0] = '\0';
	r->nparts = 0;
	r->nattach = 0;
	r->depth = 0;
	mime_entity(r, (const char *)msg, len, 0, "text/plain");
	/* Keep every buffer NUL-terminated for the scanners' convenience. */
	mbuf_addc(&r->subject, '\0');
	r->subject.len--;
	mbuf_addc(&r->headers, '\0');
	r->headers.len--;
	mbuf_addc(&r->body, '\0');
	r->body.len--;
	mbuf_addc(&r->names, '\0');
	r->names.len--;
	return r->status;
}

void
mime_result_free(struct mime_result *r)
{
	size_t	i;

	mbuf_free(&r->subject);
	mbuf_free(&r->headers);
	mbuf_free(&r->body);
	mbuf_free(&r->names);
	for (i = 0; i < sizeof(r->tmp) / sizeof(r->tmp[0]); i++)
		mbuf_free(&r->tmp[i]);
}
