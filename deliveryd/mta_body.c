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
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery.h"
#include "util.h"

#define CONTROL_PREFIX		"X-Seal-"
#define CONTROL_PREFIX_LEN	(sizeof(CONTROL_PREFIX) - 1)
_Static_assert(CONTROL_PREFIX_LEN == MTA_CONTROL_PREFIX_LEN,
    "the encoder holds the prefix");

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

/*
 * The encoder is a state machine over bytes, so that a message can be
 * fed in chunks of any size, cut anywhere (even between CR and LF, or
 * inside "X-Seal-"), and come out exactly as if it had been whole.
 */
enum {
	ENC_BOL,		/* at the start of a line */
	ENC_HOLD,		/* header line: is it a control header? */
	ENC_EMIT,		/* copying the line */
	ENC_DISCARD,		/* dropping it (control header) */
};

void
mta_body_enc_init(struct mta_body_enc *e, enum mta_body_mode mode)
{
	memset(e, 0, sizeof(*e));
	e->mode = mode;
	e->in_header = 1;
	e->state = ENC_BOL;
}

static void
enc_eol(struct mta_body_enc *e, struct mta_buf *out)
{
	if (e->mode == BODY_SMTP)
		mta_buf_add(out, "\r\n", 2);
	else
		mta_buf_add(out, "\n", 1);
}

/* The line is to be sent; first is its first byte. */
static void
enc_emit(struct mta_body_enc *e, char first, struct mta_buf *out)
{
	if (e->mode == BODY_SMTP && first == '.') {
		mta_buf_add(out, ".", 1);
		e->stuffed++;
	}
	mta_buf_add(out, e->hold, e->nhold);
	e->nhold = 0;
	e->state = ENC_EMIT;
}

/* A line end: CR, LF or CRLF. */
static void
enc_line_end(struct mta_body_enc *e, struct mta_buf *out)
{
	switch (e->state) {
	case ENC_BOL:
		/* An empty line: the end of the header. */
		e->in_header = e->skipping = 0;
		enc_eol(e, out);
		break;
	case ENC_HOLD:
		/* Shorter than the prefix: an ordinary header line. */
		e->skipping = 0;
		enc_emit(e, e->hold[0], out);
		enc_eol(e, out);
		break;
	case ENC_EMIT:
		enc_eol(e, out);
		break;
	case ENC_DISCARD:
		break;
	}
	e->state = ENC_BOL;
}

void
mta_body_enc_add(struct mta_body_enc *e, const char *in, size_t len,
    struct mta_buf *out)
{
	size_t	i = 0, start;
	char	c;

	while (i < len) {
		c = in[i];
		if (e->cr) {
			/* The LF of a CRLF: its line has ended already. */
			e->cr = 0;
			if (c == '\n') {
				i++;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			enc_line_end(e, out);
			e->cr = c == '\r';
			i++;
			continue;
		}
		switch (e->state) {
		case ENC_BOL:
			if (!e->in_header)
				enc_emit(e, c, out);
			else if (c == ' ' || c == '\t') {
				/* A continuation goes with its field. */
				if (e->skipping)
					e->state = ENC_DISCARD;
				else
					enc_emit(e, c, out);
			} else
				e->state = ENC_HOLD;
			break;
		case ENC_HOLD:
			if (tolower((unsigned char)c) == tolower((unsigned char)
			    CONTROL_PREFIX[e->nhold])) {
				e->hold[e->nhold++] = c;
				i++;
				if (e->nhold == CONTROL_PREFIX_LEN) {
					e->nhold = 0;
					e->skipping = 1;
					e->state = ENC_DISCARD;
				}
				break;
			}
			e->skipping = 0;
			enc_emit(e, e->nhold > 0 ? e->hold[0] : c, out);
			break;
		case ENC_EMIT:
		case ENC_DISCARD:
			start = i;
			while (i < len && in[i] != '\r' && in[i] != '\n')
				i++;
			if (e->state == ENC_EMIT)
				mta_buf_add(out, in + start, i - start);
			break;
		}
	}
}

void
mta_body_enc_finish(struct mta_body_enc *e, struct mta_buf *out)
{
	/* A missing final line end is added. */
	if (e->state == ENC_HOLD || e->state == ENC_EMIT)
		enc_line_end(e, out);
	if (e->mode == BODY_SMTP)
		mta_buf_add(out, ".\r\n", 3);
}

void
mta_body_encode(const char *in, size_t len, enum mta_body_mode mode,
    struct mta_buf *out)
{
	struct mta_body_enc	e;

	/* Room for the message and a little stuffing: one allocation. */
	if (out->cap < out->len + len + len / 64 + 8) {
		out->cap = out->len + len + len / 64 + 8;
		out->data = xreallocarray(out->data, 1, out->cap);
	}
	mta_body_enc_init(&e, mode);
	mta_body_enc_add(&e, in, len, out);
	mta_body_enc_finish(&e, out);
}
