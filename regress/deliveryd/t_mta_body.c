/*
 * t_mta_body.c: the outbound form of a message (mta_body.c): CRLF
 * normalisation (no bare CR or LF ever leaves), dot-stuffing, the final
 * dot, and the stripping of X-Seal-* control headers with their
 * continuation lines in the top-level header only.  The encoder fed in
 * chunks cut anywhere gives what it gives for the whole message, and
 * both agree with a line-based reference on many random messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../deliveryd/delivery.h"
#include "../lib/tap.h"

struct config	*delivery_cfg;

static char out[65536];

static const char *
enc(const char *in, enum mta_body_mode mode)
{
	struct mta_buf	b;

	memset(&b, 0, sizeof(b));
	mta_body_encode(in, strlen(in), mode, &b);
	memcpy(out, b.data, b.len);
	out[b.len] = '\0';
	mta_buf_free(&b);
	return out;
}

/*
 * The reference: the former line-based encoder (whole messages only).
 */
static void
ref_encode(const char *in, size_t len, enum mta_body_mode mode,
    struct mta_buf *ob)
{
	const char	*eol = mode == BODY_SMTP ? "\r\n" : "\n";
	size_t		 eollen = mode == BODY_SMTP ? 2 : 1;
	size_t		 i = 0, start, n;
	int		 in_header = 1, skipping = 0;

	while (i < len) {
		start = i;
		while (i < len && in[i] != '\r' && in[i] != '\n')
			i++;
		n = i - start;
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
			} else if (n >= 7 &&
			    strncasecmp(in + start, "X-Seal-", 7) == 0) {
				skipping = 1;
				continue;
			} else
				skipping = 0;
		}
		if (mode == BODY_SMTP && n > 0 && in[start] == '.')
			mta_buf_add(ob, ".", 1);
		mta_buf_add(ob, in + start, n);
		mta_buf_add(ob, eol, eollen);
	}
	if (mode == BODY_SMTP)
		mta_buf_add(ob, ".\r\n", 3);
}

/* in fed in pieces of step bytes (the first piece: first bytes). */
static void
enc_chunked(const char *in, size_t len, enum mta_body_mode mode,
    size_t first, size_t step, struct mta_buf *ob)
{
	struct mta_body_enc	e;
	size_t			off = 0, n;

	mta_body_enc_init(&e, mode);
	n = first < len ? first : len;
	mta_body_enc_add(&e, in, n, ob);
	for (off = n; off < len; off += n) {
		n = len - off < step ? len - off : step;
		mta_body_enc_add(&e, in + off, n, ob);
	}
	mta_body_enc_finish(&e, ob);
}

static int
buf_eq(const struct mta_buf *a, const struct mta_buf *b)
{
	return a->len == b->len &&
	    (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Whole, chunked every way, and the reference: all the same? */
static int
same_every_way(const char *in, size_t len, enum mta_body_mode mode)
{
	struct mta_buf	whole, ref, part;
	size_t		first, step;
	int		good = 1;

	memset(&whole, 0, sizeof(whole));
	memset(&ref, 0, sizeof(ref));
	mta_body_encode(in, len, mode, &whole);
	ref_encode(in, len, mode, &ref);
	if (!buf_eq(&whole, &ref))
		good = 0;
	for (first = 0; good && first <= len; first++)
		for (step = 1; good && step <= 8; step++) {
			memset(&part, 0, sizeof(part));
			enc_chunked(in, len, mode, first, step, &part);
			if (!buf_eq(&part, &whole))
				good = 0;
			mta_buf_free(&part);
		}
	mta_buf_free(&whole);
	mta_buf_free(&ref);
	return good;
}

/* No CR without LF after it, no LF without CR before it. */
static int
crlf_only(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '\r' && s[i + 1] != '\n')
			return 0;
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return 0;
	}
	return 1;
}

int
main(void)
{
	is_str(enc("Subject: x\r\n\r\nbody\r\n", BODY_SMTP),
	    "Subject: x\r\n\r\nbody\r\n.\r\n", "CRLF message unchanged + dot");
	is_str(enc("Subject: x\n\nbody\n", BODY_SMTP),
	    "Subject: x\r\n\r\nbody\r\n.\r\n", "bare LF becomes CRLF");
	is_str(enc("A: b\r\n\r\nx\ry\r\n", BODY_SMTP),
	    "A: b\r\n\r\nx\r\ny\r\n.\r\n", "bare CR becomes CRLF");
	is_str(enc("A: b\r\n\r\nsmuggle\n.\r\nMAIL FROM:<x>\r\n", BODY_SMTP),
	    "A: b\r\n\r\nsmuggle\r\n..\r\nMAIL FROM:<x>\r\n.\r\n",
	    "smuggling payload: bare LF dot is normalised and stuffed");
	ok(crlf_only(enc("a\rb\nc\r\rd\n\r\n\r", BODY_SMTP)),
	    "mixed line ends: CRLF only on the way out");
	is_str(enc("A: b\r\n\r\n.\r\n..x\r\n", BODY_SMTP),
	    "A: b\r\n\r\n..\r\n...x\r\n.\r\n", "dot-stuffing");
	is_str(enc("A: b\r\n\r\nno end", BODY_SMTP),
	    "A: b\r\n\r\nno end\r\n.\r\n", "missing final line end added");
	is_str(enc("", BODY_SMTP), ".\r\n", "empty message");

	is_str(enc("Received: r\r\nX-Seal-Secure: yes\r\nSubject: s\r\n"
	    "\r\nb\r\n", BODY_SMTP),
	    "Received: r\r\nSubject: s\r\n\r\nb\r\n.\r\n",
	    "X-Seal- header stripped");
	is_str(enc("x-seal-policy: a\r\n b\r\n\tc\r\nSubject: s\r\n\r\nb\r\n",
	    BODY_SMTP), "Subject: s\r\n\r\nb\r\n.\r\n",
	    "lower case, continuation lines stripped too");
	is_str(enc("Subject: s\r\n more\r\nX-SEAL-A: 1\r\nX-Other: 2\r\n\r\n",
	    BODY_SMTP), "Subject: s\r\n more\r\nX-Other: 2\r\n\r\n.\r\n",
	    "other continuation lines kept");
	is_str(enc("Subject: s\r\n\r\nX-Seal-Secure: in body\r\n", BODY_SMTP),
	    "Subject: s\r\n\r\nX-Seal-Secure: in body\r\n.\r\n",
	    "body lines untouched");
	is_str(enc("X-Sealed: keep\r\n\r\n", BODY_SMTP),
	    "X-Sealed: keep\r\n\r\n.\r\n", "X-Sealed is not a control header");
	is_str(enc("X-Seal-A: 1\nX-Seal-B: 2\rSubject: s\n\nb", BODY_SMTP),
	    "Subject: s\r\n\r\nb\r\n.\r\n",
	    "control headers with bare line ends stripped");

	is_str(enc("Subject: x\r\nX-Seal-A: 1\r\n\r\n.b\r\n", BODY_MAILDIR),
	    "Subject: x\n\n.b\n", "maildir: LF, no stuffing, no final dot");
	ok(mta_body_is_control("X-Seal-x: 1", 11), "is_control");

	{
		static const char *cases[] = {
			"Subject: x\r\n\r\nbody\r\n",
			"X-Seal-A: 1\nX-Seal-B: 2\rSubject: s\n\nb",
			"x-seal-policy: a\r\n b\r\n\tc\r\nS: s\r\n\r\n.b\r",
			"X-Seal-\r\nX-Seal\r\nX-Sea\r\n.X\r\n\r\n.\r\n..",
			"A: b\r\n\r\nsmuggle\n.\r\nMAIL FROM:<x>\r\n",
			"\r\n\r\n\n\r\r\n.",
			" lead\r\nX-Seal-Z\r\n\tz\r\n\r\n",
			"X-Seal-A",
			"X-Se",
			"",
		};
		static const char alpha[] = "\r\n.X-Sealx: \tb";
		char		 buf[64];
		size_t		 i, j, n;
		int		 good;
		unsigned int	 seed = 4242;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			ok(same_every_way(cases[i], strlen(cases[i]), BODY_SMTP)
			    && same_every_way(cases[i], strlen(cases[i]),
			    BODY_MAILDIR), "chunked = whole = reference: "
			    "case %zu", i);
		}
		/* Random messages from the bytes that matter. */
		good = 1;
		for (i = 0; good && i < 3000; i++) {
			n = rand_r(&seed) % 40;
			for (j = 0; j < n; j++) {
				/* Often a real prefix, to reach the hold. */
				if (rand_r(&seed) % 8 == 0 && j + 7 <= n) {
					memcpy(buf + j, rand_r(&seed) % 2 ?
					    "X-Seal-" : "x-sEAL-", 7);
					j += 6;
				} else
					buf[j] = alpha[rand_r(&seed) %
					    (sizeof(alpha) - 1)];
			}
			good = same_every_way(buf, n, i % 2 ? BODY_SMTP :
			    BODY_MAILDIR);
			if (!good) {
				printf("# differs for %zu bytes (run %zu): ",
				    n, i);
				for (j = 0; j < n; j++)
					printf(buf[j] == '\r' ? "\\r" :
					    buf[j] == '\n' ? "\\n" :
					    buf[j] == '\t' ? "\\t" : "%c",
					    buf[j]);
				printf("\n");
			}
		}
		ok(good, "3000 random messages: chunked = whole = reference");
	}
	ok(!mta_body_is_control("X-Sea", 5), "short is not control");
	{
		static const char *const trig[] = { "[secure]" };

		mta_body_triggers(trig, 1);
		is_str(enc("Subject: [SECURE] x\r\nX-Seal-A: 1\r\n\r\n.b",
		    BODY_SMTP), "Subject: x\r\n\r\n..b\r\n.\r\n",
		    "subject trigger removed, then stuffed");
		mta_body_triggers(NULL, 0);
	}
	return done_testing();
}
