/*
 * fuzz_mta_body.c: the form in which deliveryd sends or stores a
 * message (mta_body_enc_*, deliveryd/mta_body.c).
 *
 * Input: one byte of settings (mode, the seed of the chunk sizes), then
 * a message file as it could lie in the spool (anything).  Invariants
 * checked, for SMTP: every line ends in CRLF, no bare CR or LF; the only
 * line "." is the final one and, with one dot removed from every line
 * that starts with one, the lines are the input's lines; for a Maildir:
 * LF line ends, no CR; for both: no X-Seal-* field in the top-level
 * header, and the output does not depend on where the input was cut.
 */
#include <string.h>
#include <strings.h>

#include "../../deliveryd/delivery.h"
#include "fuzz.h"

static void
encode(const uint8_t *in, size_t len, enum mta_body_mode mode,
    uint32_t seed, struct mta_buf *out)
{
	struct mta_body_enc	e;
	size_t			off = 0, k;

	if (seed == 0) {
		mta_body_encode((const char *)in, len, mode, out);
		return;
	}
	mta_body_enc_init(&e, mode);
	while (off < len) {
		seed = seed * 1103515245 + 12345;
		k = 1 + (seed >> 16) % 13;
		if (k > len - off)
			k = len - off;
		mta_body_enc_add(&e, (const char *)in + off, k, out);
		off += k;
	}
	mta_body_enc_finish(&e, out);
}

/* The lines of the input as the encoder must see them: CR, LF, CRLF. */
static size_t
next_line(const uint8_t *in, size_t len, size_t *off, size_t *start)
{
	size_t	i = *off, n;

	*start = i;
	while (i < len && in[i] != '\r' && in[i] != '\n')
		i++;
	n = i - *start;
	if (i < len)
		i += (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n') ? 2 : 1;
	*off = i;
	return n;
}

static void
check(const uint8_t *in, size_t len, enum mta_body_mode mode,
    const struct mta_buf *out)
{
	const char	*o = out->data, *eol = mode == BODY_SMTP ? "\r\n" : "\n";
	size_t		 ol = out->len, el = strlen(eol), op = 0, ip = 0;
	size_t		 is, il, os, oln;
	int		 in_header = 1, skipping = 0, control;

	if (mode == BODY_SMTP) {
		if (ol < 3 || memcmp(o + ol - 3, ".\r\n", 3) != 0)
			fuzz_fail("no final dot");
		ol -= 3;
	}
	for (size_t i = 0; i < ol; i++) {
		if (mode == BODY_MAILDIR && o[i] == '\r')
			fuzz_fail("CR in a Maildir message at %zu", i);
		if (mode == BODY_SMTP && o[i] == '\n' &&
		    (i == 0 || o[i - 1] != '\r'))
			fuzz_fail("bare LF at %zu", i);
		if (mode == BODY_SMTP && o[i] == '\r' &&
		    (i + 1 >= ol || o[i + 1] != '\n'))
			fuzz_fail("bare CR at %zu", i);
	}
	if (ol > 0 && (ol < el || memcmp(o + ol - el, eol, el) != 0))
		fuzz_fail("last line not ended");

	/* Walk input and output lines together. */
	while (op < ol) {
		os = op;
		while (memcmp(o + op, eol, el) != 0)
			op++;
		oln = op - os;
		op += el;
		if (mode == BODY_SMTP && oln > 0 && o[os] == '.') {
			if (oln == 1)
				fuzz_fail("a line \".\" before the end");
			if (o[os + 1] != '.')
				fuzz_fail("a dot line not stuffed");
			os++;
			oln--;
		}
		/* The next input line that is not dropped. */
		for (;;) {
			if (ip >= len)
				fuzz_fail("more output lines than input lines");
			il = next_line(in, len, &ip, &is);
			control = 0;
			if (in_header) {
				if (il == 0)
					in_header = skipping = 0;
				else if (in[is] == ' ' || in[is] == '\t')
					control = skipping;
				else
					control = skipping = il >= 7 &&
					    strncasecmp((const char *)in + is,
					    "X-Seal-", 7) == 0;
			}
			if (!control)
				break;
		}
		if (il != oln || (il > 0 && memcmp(in + is, o + os, il) != 0))
			fuzz_fail("output line differs from input line");
	}
	while (ip < len) {
		il = next_line(in, len, &ip, &is);
		if (!in_header)
			fuzz_fail("an input line lost");
		if (il == 0)
			fuzz_fail("the end of the header lost");
		if (in[is] == ' ' || in[is] == '\t') {
			if (!skipping)
				fuzz_fail("a continuation line lost");
		} else if (il >= 7 && strncasecmp((const char *)in + is,
		    "X-Seal-", 7) == 0)
			skipping = 1;
		else
			fuzz_fail("a header line lost");
	}
}

FUZZ_TARGET(mta_body)
{
	struct mta_buf		 whole, cut;
	enum mta_body_mode	 mode;
	uint32_t		 seed;

	if (size < 1)
		return 0;
	mode = (data[0] & 1) ? BODY_MAILDIR : BODY_SMTP;
	seed = data[0] | 1;
	memset(&whole, 0, sizeof(whole));
	memset(&cut, 0, sizeof(cut));
	encode(data + 1, size - 1, mode, 0, &whole);
	encode(data + 1, size - 1, mode, seed, &cut);
	if (whole.len != cut.len || (whole.len > 0 &&
	    memcmp(whole.data, cut.data, whole.len) != 0))
		fuzz_fail("chunked output differs from whole output");
	check(data + 1, size - 1, mode, &whole);
	mta_buf_free(&whole);
	mta_buf_free(&cut);
	return 0;
}
