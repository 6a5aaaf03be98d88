/*
 * mta_body.c: the form in which a message leaves (deliveryd; pure, no
 * I/O), and the byte buffer the delivery code uses.
 *
 * A spooled message is CRLF text, dot-unstuffed.  On its way out it goes
 * through the filter of common/hdrfilter.c (the control headers,
 * X-Seal-*, which steer the policy, are removed from the top-level
 * header with their continuation lines, and the subject triggers from
 * the Subject, so that they never reach the recipient), then every line
 * is normalised (bare CR and bare LF are line ends too, so sealrelay
 * never sends a bare CR or LF and cannot be the sender of an SMTP
 * smuggling payload) and dot-stuffed for SMTP.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery.h"
#include "hdrfilter.h"
#include "util.h"

static const char *const	*body_triggers;
static size_t			 body_ntriggers;

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

void
mta_body_triggers(const char *const *triggers, size_t n)
{
	body_triggers = triggers;
	body_ntriggers = n;
}

int
mta_body_is_control(const char *line, size_t len)
{
	return hdrfilter_is_control(line, len);
}

static void
enc_eol(struct mta_body_enc *e)
{
	if (e->mode == BODY_SMTP)
		mta_buf_add(e->out, "\r\n", 2);
	else
		mta_buf_add(e->out, "\n", 1);
}

/* What passed the filter: lines normalised, dots stuffed. */
static void
enc_lines(void *arg, const char *in, size_t len)
{
	struct mta_body_enc	*e = arg;
	size_t			 i = 0, start;
	char			 c;

	while (i < len) {
		c = in[i];
		if (e->cr) {
			/* The LF of a CRLF: its line has ended already. */
			e->cr = 0;
			if (c == '\n' && e->cr_drops == e->filter.drops) {
				i++;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			enc_eol(e);
			e->bol = 1;
			e->cr = c == '\r';
			e->cr_drops = e->filter.drops;
			i++;
			continue;
		}
		if (e->bol && c == '.' && e->mode == BODY_SMTP) {
			mta_buf_add(e->out, ".", 1);
			e->stuffed++;
		}
		e->bol = 0;
		start = i;
		while (i < len && in[i] != '\r' && in[i] != '\n')
			i++;
		mta_buf_add(e->out, in + start, i - start);
	}
}

void
mta_body_enc_init(struct mta_body_enc *e, enum mta_body_mode mode)
{
	e->mode = mode;
	e->bol = 1;
	e->cr = 0;
	e->cr_drops = 0;
	e->stuffed = 0;
	e->out = NULL;
	hdrfilter_init(&e->filter, body_triggers, body_ntriggers, enc_lines,
	    e);
}

void
mta_body_enc_add(struct mta_body_enc *e, const char *in, size_t len,
    struct mta_buf *out)
{
	e->out = out;
	hdrfilter_add(&e->filter, in, len);
}

void
mta_body_enc_finish(struct mta_body_enc *e, struct mta_buf *out)
{
	e->out = out;
	hdrfilter_finish(&e->filter);
	/* A missing final line end is added. */
	if (!e->bol)
		enc_eol(e);
	if (e->mode == BODY_SMTP)
		mta_buf_add(out, ".\r\n", 3);
}

void
mta_body_encode(const char *in, size_t len, enum mta_body_mode mode,
    struct mta_buf *out)
{
	struct mta_body_enc	*e;

	/* Room for the message and a little stuffing: one allocation. */
	if (out->cap < out->len + len + len / 64 + 8) {
		out->cap = out->len + len + len / 64 + 8;
		out->data = xreallocarray(out->data, 1, out->cap);
	}
	e = xmalloc(sizeof(*e));
	mta_body_enc_init(e, mode);
	mta_body_enc_add(e, in, len, out);
	mta_body_enc_finish(e, out);
	free(e);
}
