/*
 * mta_reply.c: parser of the replies of a remote SMTP server (deliveryd;
 * pure, no I/O).
 *
 * A reply is one or more lines "DDD-text" ending with "DDD text" or
 * "DDD" (RFC 5321 4.2); every line of a multi-line reply carries the
 * same code.  Lines end in CRLF (a bare LF is tolerated).  Anything else
 * -- a short line, a bad code, mixed codes, an overlong line or reply --
 * is malformed and ends the connection.  The text handed out is always
 * escaped: a remote server must not be able to put CR, LF, NUL or
 * control bytes into our logs or the queue's records.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery.h"
#include "log.h"

static void
reply_append(struct mta_reply *r, size_t *tlen, const char *s, size_t n)
{
	char	esc[PROTO_REPLY_MAX];
	size_t	m;

	if (*tlen + 1 >= sizeof(r->text))
		return;
	if (n > sizeof(esc) / 4)
		n = sizeof(esc) / 4;	/* \xHH is 4 bytes */
	log_escape(esc, sizeof(esc), s, n);
	m = strlen(esc);
	if (*tlen + m >= sizeof(r->text))
		m = sizeof(r->text) - 1 - *tlen;
	memcpy(r->text + *tlen, esc, m);
	*tlen += m;
	r->text[*tlen] = '\0';
}

static ssize_t
reply_bad(struct mta_reply *r, const char *why, const char *line, size_t n)
{
	size_t	tlen;

	r->code = 0;
	if (strlcpy(r->text, why, sizeof(r->text)) >= sizeof(r->text))
		return -1;
	tlen = strlen(r->text);
	if (line != NULL) {
		reply_append(r, &tlen, ": \"", 3);
		reply_append(r, &tlen, line, n > 64 ? 64 : n);
		reply_append(r, &tlen, "\"", 1);
	}
	return -1;
}

ssize_t
mta_reply_parse(const char *buf, size_t len, struct mta_reply *r)
{
	const char	*line, *nl;
	size_t		 off = 0, n, tlen = 0;
	int		 code = 0, c;

	memset(r, 0, sizeof(*r));
	for (;;) {
		line = buf + off;
		if ((nl = memchr(line, '\n', len - off)) == NULL) {
			if (len - off > MTA_REPLY_LINE_MAX)
				return reply_bad(r, "reply line too long",
				    line, len - off);
			if (len > MTA_REPLY_MAX)
				return reply_bad(r, "reply too long", NULL, 0);
			return 0;
		}
		n = nl - line;
		off += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n > MTA_REPLY_LINE_MAX)
			return reply_bad(r, "reply line too long", line, n);
		if (off > MTA_REPLY_MAX)
			return reply_bad(r, "reply too long", NULL, 0);
		if (n < 3 || !isdigit((unsigned char)line[0]) ||
		    !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]) ||
		    line[0] < '2' || line[0] > '5')
			return reply_bad(r, "malformed reply", line, n);
		if (n > 3 && line[3] != ' ' && line[3] != '-')
			return reply_bad(r, "malformed reply", line, n);
		c = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		if (code == 0) {
			code = c;
			reply_append(r, &tlen, line, 3);
		} else if (c != code)
			return reply_bad(r, "reply codes differ in a "
			    "multi-line reply", line, n);
		if (n > 4) {
			reply_append(r, &tlen, " ", 1);
			reply_append(r, &tlen, line + 4, n - 4);
		}
		if (n == 3 || line[3] == ' ')
			break;
	}
	r->code = code;
	return (ssize_t)off;
}

/* The keyword of an EHLO line and its first parameter. */
int
mta_reply_ehlo(const char *buf, size_t len, uint64_t *maxsize)
{
	const char	*line, *nl, *kw, *p;
	size_t		 off = 0, n, kwlen;
	char		 num[24];
	int		 ext = 0, first = 1;

	*maxsize = 0;
	while (off < len) {
		line = buf + off;
		if ((nl = memchr(line, '\n', len - off)) == NULL)
			break;
		n = nl - line;
		off += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		/* The first line is the greeting of EHLO, not a keyword. */
		if (first) {
			first = 0;
			continue;
		}
		if (n < 5)
			continue;
		kw = line + 4;
		n -= 4;
		for (kwlen = 0; kwlen < n && kw[kwlen] != ' ' &&
		    kw[kwlen] != '='; kwlen++)
			;
#define KW(s)	(kwlen == sizeof(s) - 1 && strncasecmp(kw, s, kwlen) == 0)
		if (KW("PIPELINING"))
			ext |= EXT_PIPELINING;
		else if (KW("8BITMIME"))
			ext |= EXT_8BITMIME;
		else if (KW("STARTTLS"))
			ext |= EXT_STARTTLS;
		else if (KW("DSN"))
			ext |= EXT_DSN;
		else if (KW("SMTPUTF8"))
			ext |= EXT_SMTPUTF8;
		else if (KW("SIZE")) {
			ext |= EXT_SIZE;
			p = kw + kwlen;
			if (p < kw + n && (*p == ' ' || *p == '=')) {
				p++;
				kwlen = kw + n - p;
				if (kwlen > 0 && kwlen < sizeof(num) &&
				    strspn(p, "0123456789") >= kwlen) {
					memcpy(num, p, kwlen);
					num[kwlen] = '\0';
					*maxsize = strtoull(num, NULL, 10);
				}
			}
		} else if (KW("AUTH")) {
			ext |= EXT_AUTH;
			/* Mechanisms follow, space separated. */
			p = kw + kwlen;
			while (p < kw + n) {
				while (p < kw + n && (*p == ' ' || *p == '='))
					p++;
				kwlen = 0;
				while (p + kwlen < kw + n && p[kwlen] != ' ')
					kwlen++;
				if (kwlen == 5 && strncasecmp(p, "PLAIN", 5) == 0)
					ext |= EXT_AUTH_PLAIN;
				else if (kwlen == 5 &&
				    strncasecmp(p, "LOGIN", 5) == 0)
					ext |= EXT_AUTH_LOGIN;
				p += kwlen;
			}
		}
#undef KW
	}
	return ext;
}

int
mta_xtext(char *dst, size_t dstsz, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	size_t			o = 0;
	unsigned char		c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c >= 33 && c <= 126 && c != '+' && c != '=') {
			if (o + 1 >= dstsz)
				return -1;
			dst[o++] = c;
		} else {
			if (o + 3 >= dstsz)
				return -1;
			dst[o++] = '+';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	if (o >= dstsz)
		return -1;
	dst[o] = '\0';
	return 0;
}
