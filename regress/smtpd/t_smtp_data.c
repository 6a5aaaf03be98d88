/*
 * t_smtp_data.c: unit tests of the DATA parser (smtpd/smtp_data.c):
 * dot-unstuffing, the end only at CRLF.CRLF, the smuggling cases, NUL,
 * long lines and the size limit, each fed whole and one byte at a time.
 */
#include <stdint.h>
#include <string.h>

#include "../lib/tap.h"
#include "../../smtpd/smtp.h"

static char	outbuf[1 << 21];
static size_t	outlen;

static void
emit(void *arg, const char *p, size_t n)
{
	if (outlen + n <= sizeof(outbuf)) {
		memcpy(outbuf + outlen, p, n);
		outlen += n;
	}
}

/* Feed in in pieces of step bytes; returns bytes consumed. */
static size_t
feed(const char *in, size_t len, size_t step, uint64_t max, size_t maxline,
    struct smtp_dataparse *dp)
{
	size_t	off = 0, n, k;

	outlen = 0;
	smtp_dataparse_init(dp, max, maxline, emit, NULL);
	while (off < len && !dp->done) {
		k = len - off < step ? len - off : step;
		n = smtp_dataparse(dp, in + off, k);
		off += n;
		if (n < k)
			break;
	}
	return off;
}

static void
check(const char *name, const char *in, size_t len, const char *want,
    int werr, size_t wconsumed)
{
	struct smtp_dataparse	dp;
	size_t			steps[] = { 1000000, 1, 2, 3, 7 }, i, c;
	int			good = 1;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		c = feed(in, len, steps[i], 1 << 20, 1000, &dp);
		if (c != wconsumed || dp.err != werr || !dp.done ||
		    (werr == SMTP_DATA_OK && (outlen != strlen(want) ||
		    memcmp(outbuf, want, outlen) != 0))) {
			good = 0;
			printf("# step %zu: consumed %zu (want %zu) err %d "
			    "(want %d) done %d out \"%.*s\"\n", steps[i], c,
			    wconsumed, dp.err, werr, dp.done, (int)outlen,
			    outbuf);
		}
	}
	ok(good, "%s", name);
}

#define S(x)	x, sizeof(x) - 1

int
main(void)
{
	struct smtp_dataparse	dp;
	static char		big[3 << 20];
	size_t			n;

	check("empty message", S(".\r\n"), "", SMTP_DATA_OK, 3);
	check("one line", S("a\r\n.\r\n"), "a\r\n", SMTP_DATA_OK, 6);
	check("stops after the end", S("a\r\n.\r\nQUIT\r\n"), "a\r\n",
	    SMTP_DATA_OK, 6);
	check("dot-unstuffing", S("..a\r\n..\r\n.\r\n"), ".a\r\n.\r\n",
	    SMTP_DATA_OK, 12);
	check("dot inside a line kept", S("a.b\r\n.\r\n"), "a.b\r\n",
	    SMTP_DATA_OK, 8);
	check("dot then space", S(". \r\n.\r\n"), " \r\n", SMTP_DATA_OK, 7);
	check("empty lines", S("\r\n\r\n.\r\n"), "\r\n\r\n", SMTP_DATA_OK, 7);
	check("headers and body", S("Subject: x\r\n\r\nbody\r\n.\r\n"),
	    "Subject: x\r\n\r\nbody\r\n", SMTP_DATA_OK, 23);

	/* Smuggling: none of these ends the message. */
	check("bare LF dot bare LF", S("a\n.\nMAIL FROM:<x@y>\r\n.\r\n"), "",
	    SMTP_DATA_BARE_LF, 24);
	check("CRLF dot bare LF", S("a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n"), "",
	    SMTP_DATA_BARE_LF, 25);
	check("bare LF dot CRLF", S("a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n"), "",
	    SMTP_DATA_BARE_LF, 25);
	check("bare CR dot CRLF", S("a\r.\r\nMAIL FROM:<x@y>\r\n.\r\n"), "",
	    SMTP_DATA_BARE_CR, 25);
	check("CRLF dot bare CR", S("a\r\n.\rMAIL\r\n.\r\n"), "",
	    SMTP_DATA_BARE_CR, 14);
	check("bare CR then CRLF", S("a\r\r\n.\r\n"), "", SMTP_DATA_BARE_CR, 7);
	check("bare LF alone", S("a\nb\r\n.\r\n"), "", SMTP_DATA_BARE_LF, 8);
	check("NUL", S("a\0b\r\n.\r\n"), "", SMTP_DATA_NUL, 8);

	/* Line length: 1000 allowed, 1001 not (test limit 1000). */
	memset(big, 'x', 1000);
	memcpy(big + 1000, "\r\n.\r\n", 5);
	n = feed(big, 1005, 1 << 20, 1 << 20, 1000, &dp);
	ok(n == 1005 && dp.done && dp.err == SMTP_DATA_OK && outlen == 1002,
	    "line at the limit");
	memset(big, 'x', 1001);
	memcpy(big + 1001, "\r\n.\r\n", 5);
	n = feed(big, 1006, 1 << 20, 1 << 20, 1000, &dp);
	ok(n == 1006 && dp.done && dp.err == SMTP_DATA_LINE,
	    "line over the limit");

	/* Size: counted on what is stored. */
	memset(big, 'y', 98);
	memcpy(big + 98, "\r\n.\r\n", 5);
	n = feed(big, 103, 1 << 20, 100, 1000, &dp);
	ok(dp.done && dp.err == SMTP_DATA_OK && outlen == 100,
	    "size at the limit");
	n = feed(big, 103, 1 << 20, 99, 1000, &dp);
	ok(dp.done && dp.err == SMTP_DATA_SIZE, "size over the limit");

	/* A long stream in one go, lines of 1000. */
	{
		size_t	i, off = 0;

		for (i = 0; i < 2000; i++) {
			memset(big + off, 'z', 998);
			big[off] = '.';
			memcpy(big + off + 998, "\r\n", 2);
			off += 1000;
		}
		memcpy(big + off, ".\r\n", 3);
		n = feed(big, off + 3, 65536, 1 << 22, 1000, &dp);
		ok(dp.done && dp.err == SMTP_DATA_OK && n == off + 3 &&
		    outlen == off - 2000, "2 MB stream, stuffed dots dropped");
	}
	/* Not finished: no end seen. */
	outlen = 0;
	smtp_dataparse_init(&dp, 1000, 1000, emit, NULL);
	n = smtp_dataparse(&dp, S("a\r\n.\r"));
	ok(!dp.done && n == 5 && outlen == 3, "partial end is held back");
	n = smtp_dataparse(&dp, S("\nX"));
	ok(dp.done && n == 1, "end completes across calls");
	is_str(smtp_data_strerr(SMTP_DATA_BARE_LF), "bare LF", "strerr");
	return done_testing();
}
