/*
 * mta_body.c: the form in which a message leaves (deliveryd; pure, no
 * I/O), and the byte buffer the delivery code uses.
 *
 * A spooled message is CRLF text, dot-unstuffed.  On its way out every
 * line is normalised (bare CR and bare LF are line ends too, so
 * sealrelay never sends a bare CR or LF and cannot be the sender of an
 * SMTP smuggling payload), dot-stuffed for SMTP, and the control headers
 * (X-Seal-*, which steer the policy) are removed from the top-level
 * header with their continuation lines, so that they never reach the
 * recipient.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery.h"
#include "util.h"

#define CONTROL_PREFIX		"X-Seal-"
#define CONTROL_PREFIX_LEN	(sizeof(CONTROL_PREFIX) - 1)

void
mta_buf_add(struct mta_buf *b, const void *p, size_t n)
{
	size_t	ncap;

	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n)
			ncap *= 2;
		b->data = xreallocarray(b->data, 1, ncap);
		b->cap = ncap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
mta_buf_addstr(struct mta_buf *b, const char *s)
{
	mta_buf_add(b, s, strlen(s));
}

void
mta_buf_drop(struct mta_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void
mta_buf_free(struct mta_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void
mta_fmt(char *dst, size_t sz, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(dst, sz, fmt, ap);
	va_end(ap);
}

int
mta_body_is_control(const char *line, size_t len)
{
	return len >= CONTROL_PREFIX_LEN &&
	    strncasecmp(line, CONTROL_PREFIX, CONTROL_PREFIX_LEN) == 0;
}

void
mta_body_encode(const char *in, size_t len, enum mta_body_mode mode,
    struct mta_buf *out)
{
	const char	*eol = mode == BODY_SMTP ? "\r\n" : "\n";
	size_t		 eollen = mode == BODY_SMTP ? 2 : 1;
	size_t		 i, start, n;
	int		 in_header = 1, skipping = 0;

	/* Room for the message and a little stuffing: one allocation. */
	if (out->cap < out->len + len + len / 64 + 8) {
		out->cap = out->len + len + len / 64 + 8;
		out->data = xreallocarray(out->data, 1, out->cap);
	}
	i = 0;
	while (i < len) {
		start = i;
		while (i < len && in[i] != '\r' && in[i] != '\n')
			i++;
		n = i - start;
		/* A line end is CRLF, a bare LF or a bare CR. */
		if (i < len) {
			if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
				i += 2;
			else
				i++;
		}
		if (in_header) {
			if (n == 0)
				in_header = skipping = 0;
			else if (in[start] == ' ' || in[start] == '\t') {
				if (skipping)
					continue;
			} else if (mta_body_is_control(in + start, n)) {
				skipping = 1;
				continue;
			} else
				skipping = 0;
		}
		if (mode == BODY_SMTP && n > 0 && in[start] == '.')
			mta_buf_add(out, ".", 1);
		mta_buf_add(out, in + start, n);
		mta_buf_add(out, eol, eollen);
	}
	if (mode == BODY_SMTP)
		mta_buf_add(out, ".\r\n", 3);
}
