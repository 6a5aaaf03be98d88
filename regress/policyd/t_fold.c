/*
 * t_fold.c: rules_fold() (policyd/rules.c), whose ASCII runs go through
 * a vector loop, against a byte-at-a-time reference of the same rules,
 * on random texts of ASCII letters, white space runs, UTF-8 that folds
 * and UTF-8 that does not, cut at every alignment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "../../policyd/policy.h"
#include "../lib/tap.h"

/* The reference: one byte (or one UTF-8 sequence) at a time. */
static void
ref_fold(struct mbuf *out, const char *src, size_t len)
{
	const unsigned char	*s = (const unsigned char *)src;
	const unsigned char	*end = s + len;
	const char		*f;
	uint32_t		 cp;
	int			 space = 0;

	while (s < end) {
		if (*s == ' ' || (*s >= '\t' && *s <= '\r')) {
			if (!space)
				mbuf_addc(out, ' ');
			space = 1;
			s++;
			continue;
		}
		if (*s < 0x80) {
			mbuf_addc(out, *s >= 'A' && *s <= 'Z' ? *s | 0x20 : *s);
			s++;
			space = 0;
			continue;
		}
		if (s + 1 < end && *s >= 0xc2 && *s <= 0xc5 &&
		    (s[1] & 0xc0) == 0x80) {
			cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
			if (cp == 0xa0) {
				if (!space)
					mbuf_addc(out, ' ');
				space = 1;
				s += 2;
				continue;
			}
			if (cp == 0xad) {
				s += 2;
				continue;
			}
			if (cp >= 0xc0 && (f = rules_latin_fold[cp - 0xc0]) != NULL) {
				mbuf_add(out, f, strlen(f));
				s += 2;
				space = 0;
				continue;
			}
		} else if (s + 2 < end && s[0] == 0xe2 && s[1] == 0x80 &&
		    (s[2] <= 0x8a || s[2] == 0xaf)) {
			if (!space)
				mbuf_addc(out, ' ');
			space = 1;
			s += 3;
			continue;
		} else if (s + 2 < end && ((s[0] == 0xe2 && s[1] == 0x80 &&
		    s[2] >= 0x8b && s[2] <= 0x8d) || (s[0] == 0xe2 &&
		    s[1] == 0x81 && s[2] == 0xa0) || (s[0] == 0xef &&
		    s[1] == 0xbb && s[2] == 0xbf))) {
			s += 3;
			continue;
		} else if (s + 2 < end && s[0] == 0xe2 && s[1] == 0x80 &&
		    (s[2] == 0x98 || s[2] == 0x99)) {
			mbuf_addc(out, '\'');
			s += 3;
			space = 0;
			continue;
		}
		mbuf_addc(out, *s++);
		space = 0;
	}
}

static const char *pieces[] = {
	"a", "B", "z", "Z", "@", "[", "`", "{", "0", "9", " ", " ", "  ",
	"\t", "\r\n", "\n", "\v", "\f", "\x08", "\x0e", "\x1f", "\x7f",
	"\xc2\xa0", "\xc2\xad", "\xc3\xab", "\xc3\x8b", "\xc3\x9f",
	"\xc5\x93", "\xc3", "\xab", "\xe2\x80\x8b", "\xe2\x80\x83",
	"\xe2\x80\x99", "\xef\xbb\xbf", "\xd0\x9f", "Patient", "LAB RESULT",
	"the quick brown fox jumps over the lazy dog ",
	"THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.\r\n",
};

int
main(void)
{
	struct mbuf	 a = { 0 }, b = { 0 };
	char		 text[600];
	unsigned int	 seed = 7;
	size_t		 n, k, off, bad = 0, rounds = 0;
	int		 r;

	for (r = 0; r < 20000; r++) {
		n = 0;
		while (n < 400) {
			const char *p = pieces[rand_r(&seed) %
			    (sizeof(pieces) / sizeof(pieces[0]))];

			memcpy(text + n, p, strlen(p));
			n += strlen(p);
		}
		for (off = 0; off < 17; off += 1 + rand_r(&seed) % 8) {
			k = n - off - rand_r(&seed) % 40;
			a.len = 0;
			b.len = 0;
			/* Appending after what is there, as the engine does. */
			if (r % 2)
				mbuf_add(&a, "x ", 2), mbuf_add(&b, "x ", 2);
			rules_fold(&a, text + off, k);
			ref_fold(&b, text + off, k);
			rounds++;
			if ((a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0)
			    && bad++ < 3)
			{
				size_t	i;

				ok(0, "fold of %zu bytes at offset %zu", k,
				    off);
				for (i = 0; i < a.len && i < b.len &&
				    a.buf[i] == b.buf[i]; i++)
					;
				printf("# differ at %zu: got \"%.20s\" want "
				    "\"%.20s\"\n", i, a.buf + i, b.buf + i);
			}
		}
	}
	is_int(bad, 0, "fold: %zu random texts fold as the reference does",
	    rounds);
	mbuf_free(&a);
	mbuf_free(&b);
	return done_testing();
}
