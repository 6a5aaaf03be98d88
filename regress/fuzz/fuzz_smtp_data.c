/*
 * fuzz_smtp_data.c: the DATA parser of the smtp front end
 * (smtp_dataparse, smtpd/smtp_data.c), fed in pieces of random sizes.
 *
 * Input: three bytes of settings (line limit, size limit, the seed of
 * the piece sizes), then what a client sends after 354.  Invariants
 * checked: the parser ends exactly at the first CRLF "." CRLF that starts
 * a line (the start of DATA is a line start), and never elsewhere; when
 * it reports no fault, what it gave is the input up to that end,
 * dot-unstuffed, with no bare CR or LF; the pieces do not change the
 * result (the same input fed whole gives the same end, output, and
 * fault or none).
 */
#include <string.h>

#include "../../smtpd/smtp.h"
#include "fuzz.h"

struct out {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

static void
emit(void *arg, const char *p, size_t n)
{
	struct out	*o = arg;

	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		if ((o->buf = realloc(o->buf, o->cap)) == NULL)
			abort();
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* Where the data ends: past the first CRLF.CRLF at a line start, or 0. */
static size_t
ref_end(const uint8_t *in, size_t len)
{
	size_t	i;

	if (len >= 3 && memcmp(in, ".\r\n", 3) == 0)
		return 3;
	for (i = 0; i + 5 <= len; i++)
		if (memcmp(in + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	return 0;
}

/* The stored form of in[0..len): a dot at a line start dropped. */
static void
ref_unstuff(const uint8_t *in, size_t len, struct out *o)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (in[i] == '.' && (i == 0 ||
		    (i >= 2 && in[i - 1] == '\n' && in[i - 2] == '\r')))
			continue;
		emit(o, (const char *)in + i, 1);
	}
}

static size_t
run(const uint8_t *in, size_t len, size_t maxline, uint64_t maxsize,
    uint32_t seed, struct smtp_dataparse *dp, struct out *o)
{
	size_t	off = 0, k, n;

	smtp_dataparse_init(dp, maxsize, maxline, emit, o);
	while (off < len && !dp->done) {
		if (seed == 0)
			k = len - off;
		else {
			seed = seed * 1103515245 + 12345;
			k = 1 + (seed >> 16) % 17;
			if (k > len - off)
				k = len - off;
		}
		n = smtp_dataparse(dp, (const char *)in + off, k);
		if (n > k)
			fuzz_fail("consumed %zu of %zu", n, k);
		if (n < k && !dp->done)
			fuzz_fail("stopped early without the end");
		off += n;
	}
	return off;
}

FUZZ_TARGET(smtp_data)
{
	struct smtp_dataparse	 dp, whole;
	struct out		 o, ow, ref;
	const uint8_t		*in;
	size_t			 len, maxline, used, usedw, end, i;
	uint64_t		 maxsize;
	uint32_t		 seed;

	if (size < 3)
		return 0;
	maxline = (data[0] & 0x80) ? 1000 : 1 + (data[0] & 0x7f);
	maxsize = (data[1] & 0x80) ? (uint64_t)1 << 30 :
	    1 + (uint64_t)data[1] * 16;
	seed = data[2] | 1;
	in = data + 3;
	len = size - 3;
	memset(&o, 0, sizeof(o));
	memset(&ow, 0, sizeof(ow));
	memset(&ref, 0, sizeof(ref));

	used = run(in, len, maxline, maxsize, seed, &dp, &o);
	usedw = run(in, len, maxline, maxsize, 0, &whole, &ow);
	/*
	 * Which fault is named may depend on the pieces (the size is
	 * counted as output is given, a NUL as it is seen); whether there
	 * is one may not.
	 */
	if (used != usedw || dp.done != whole.done ||
	    (dp.err == SMTP_DATA_OK) != (whole.err == SMTP_DATA_OK))
		fuzz_fail("pieces change the result: used %zu/%zu done %d/%d "
		    "err %d/%d", used, usedw, dp.done, whole.done, dp.err,
		    whole.err);
	if (dp.err == SMTP_DATA_OK && (o.len != ow.len ||
	    (o.len > 0 && memcmp(o.buf, ow.buf, o.len) != 0)))
		fuzz_fail("pieces change the output");

	end = ref_end(in, len);
	if (dp.done && used != end)
		fuzz_fail("end of data at %zu, CRLF.CRLF ends at %zu", used,
		    end);
	if (!dp.done && end != 0)
		fuzz_fail("CRLF.CRLF at %zu missed", end);
	if (!dp.done && used != len)
		fuzz_fail("not done but stopped at %zu of %zu", used, len);

	if (dp.err == SMTP_DATA_OK) {
		for (i = 0; i < o.len; i++) {
			if (o.buf[i] == '\n' && (i == 0 || o.buf[i - 1] != '\r'))
				fuzz_fail("bare LF at %zu of the output", i);
			if (o.buf[i] == '\r' && (i + 1 < o.len ?
			    o.buf[i + 1] != '\n' : dp.done))
				fuzz_fail("bare CR at %zu of the output", i);
			if (o.buf[i] == '\0')
				fuzz_fail("NUL in the output");
		}
		if (dp.done) {
			/* All of it but the final ".\r\n", unstuffed. */
			ref_unstuff(in, used - 3, &ref);
			if (ref.len != o.len || (o.len > 0 &&
			    memcmp(ref.buf, o.buf, o.len) != 0))
				fuzz_fail("output is not the unstuffed input");
			if (o.len > 0 && (o.len < 2 ||
			    memcmp(o.buf + o.len - 2, "\r\n", 2) != 0))
				fuzz_fail("output does not end with CRLF");
		} else {
			ref_unstuff(in, used, &ref);
			if (o.len > ref.len || (o.len > 0 &&
			    memcmp(ref.buf, o.buf, o.len) != 0))
				fuzz_fail("output is not a prefix of the "
				    "unstuffed input");
		}
		if (dp.size != o.len || dp.size > maxsize)
			fuzz_fail("size %llu, output %zu, limit %llu",
			    (unsigned long long)dp.size, o.len,
			    (unsigned long long)maxsize);
	}
	free(o.buf);
	free(ow.buf);
	free(ref.buf);
	return 0;
}
