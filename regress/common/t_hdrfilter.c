/*
 * t_hdrfilter.c: the filter of what never leaves (common/hdrfilter.c):
 * X-Seal-* fields dropped whole (any case, folded, repeated, top-level
 * header only), subject triggers taken out of the Subject without ever
 * leaving a blank line in the header, everything else byte for byte,
 * and the same result whatever the chunks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdrfilter.h"
#include "../lib/tap.h"

static const char *const trig[] = { "[secure]", "[2fa]" };

static char out[65536];

static const char *
filt(const char *in, size_t ntrig)
{
	char	*b;
	size_t	 n;

	b = hdrfilter_buf(in, strlen(in), trig, ntrig, &n);
	memcpy(out, b, n);
	out[n] = '\0';
	free(b);
	return out;
}

struct acc {
	char	buf[65536];
	size_t	len;
};

static void
acc_emit(void *arg, const char *p, size_t n)
{
	struct acc	*a = arg;

	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

/* Every way of cutting in gives what the whole gives. */
static int
chunked_same(const char *in)
{
	static struct hdrfilter	 f;
	static struct acc	 a;
	size_t			 len = strlen(in), first, step, off, n;
	const char		*whole;

	whole = filt(in, 2);
	for (first = 0; first <= len; first++)
		for (step = 1; step <= 9; step++) {
			a.len = 0;
			hdrfilter_init(&f, trig, 2, acc_emit, &a);
			n = first;
			hdrfilter_add(&f, in, n);
			for (off = n; off < len; off += n) {
				n = len - off < step ? len - off : step;
				hdrfilter_add(&f, in + off, n);
			}
			hdrfilter_finish(&f);
			if (a.len != strlen(whole) ||
			    memcmp(a.buf, whole, a.len) != 0) {
				printf("# first %zu step %zu\n", first, step);
				return 0;
			}
		}
	return 1;
}

int
main(void)
{
	char	s[128];
	size_t	i;
	static const char *const cases[] = {
		"X-Seal-Security: 2fa\r\nSubject: [secure] Lab\r\n\r\nb\r\n",
		"Subject: Lab\r\n [2fa]\r\nX-SEAL-x: 1\r\n\t2\r\nA: b\r\n\r\n",
		"subject : [SECURE]\r\n\r\nSubject: [secure]\r\n",
		"X-Seal-",
		"Subject: [secu",
		"",
	};

	is_str(filt("X-Seal-Security: 2fa\r\nSubject: s\r\n\r\nbody\r\n",
	    2), "Subject: s\r\n\r\nbody\r\n", "a control field dropped");
	is_str(filt("A: 1\r\nx-sEaL-Phone: a@b +31\r\n  c@d +32\r\n"
	    "\tmore\r\nB: 2\r\n\r\n", 2), "A: 1\r\nB: 2\r\n\r\n",
	    "odd case, folded: the whole field");
	is_str(filt("X-Seal-Phone: 1\r\nX-Seal-Phone: 2\r\nX-Seal-Expires: "
	    "3\r\nC: 3\r\n\r\n", 2), "C: 3\r\n\r\n", "repeated");
	is_str(filt("A: 1\r\n\r\nX-Seal-Security: none\r\n", 2),
	    "A: 1\r\n\r\nX-Seal-Security: none\r\n",
	    "the body is not the header");
	is_str(filt("X-Sealed: 1\r\nX-Seal: 2\r\n\r\n", 2),
	    "X-Sealed: 1\r\nX-Seal: 2\r\n\r\n", "not the prefix: kept");
	is_str(filt("Subject: [secure] Lab results\r\n\r\nb [secure]\r\n",
	    2), "Subject: Lab results\r\n\r\nb [secure]\r\n",
	    "trigger at the start, body untouched");
	is_str(filt("Subject: Lab [2FA] results\r\n\r\n", 2),
	    "Subject: Lab results\r\n\r\n", "in the middle, any case");
	is_str(filt("Subject: Lab [secure]\r\n\r\n", 2),
	    "Subject: Lab\r\n\r\n", "at the end");
	is_str(filt("Subject: [secure][2fa] x [secure]\r\n\r\n", 2),
	    "Subject: x\r\n\r\n", "several");
	is_str(filt("Subject: [secure]\r\n\r\n", 2), "Subject:\r\n\r\n",
	    "nothing left");
	is_str(filt("Subject: Lab\r\n [secure]\r\nA: b\r\n\r\nbody\r\n", 2),
	    "Subject: Lab\r\nA: b\r\n\r\nbody\r\n",
	    "a folded line left blank goes: the header does not end early");
	is_str(filt("Subject: Lab\r\n \r\nA: b\r\n\r\n", 2),
	    "Subject: Lab\r\n \r\nA: b\r\n\r\n",
	    "no trigger: a blank line that was there stays");
	is_str(filt("Subject: [secure] x\r\n\r\n", 0),
	    "Subject: [secure] x\r\n\r\n", "no triggers configured");
	is_str(filt("X-Other: [secure]\r\n\r\n", 2),
	    "X-Other: [secure]\r\n\r\n", "other fields keep the text");
	is_str(filt("Subject: [secure] a\r\nX-Seal-A: 1", 2),
	    "Subject: a\r\n", "no header end, no final line end");
	is_str(filt("Subject: [secure] a", 2), "Subject: a",
	    "a Subject without a line end");
	ok(strcmp(filt("Subject: [secure] a\r\n\r\nb", 2),
	    "Subject: a\r\n\r\nb") == 0, "then the body");

	{
		static char	 big[HDRFILTER_SUBJECT_MAX + 64];
		size_t		 n;
		char		*b;

		memset(big, 'a', sizeof(big));
		memcpy(big, "Subject: [secure] ", 18);
		memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
		b = hdrfilter_buf(big, sizeof(big), trig, 2, &n);
		ok(n == sizeof(big) && memcmp(b, big, n) == 0,
		    "an overlong Subject passes as it is");
		free(b);
	}

	(void)strlcpy(s, "[secure] Uitslag [2fa]", sizeof(s));
	is_int(hdrfilter_strip_triggers(s, trig, 2), 2, "strip: count");
	is_str(s, "Uitslag", "strip: text");

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(chunked_same(cases[i]), "chunked = whole: case %zu", i);
	ok(hdrfilter_is_control("x-seal-a", 8) &&
	    !hdrfilter_is_control("X-Sea", 5), "is_control");
	return done_testing();
}
