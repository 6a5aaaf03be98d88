/*
 * detect.c: BSN, IBAN and card number detectors (see detect.h).
 *
 * Run by policyd on the decoded text of every message.  One pass: a
 * number is a run of digit groups joined by single separators (space,
 * ".", "-") standing alone as a word; it counts only if its grouping is
 * one people write (BSN 123456782, 1234.56.782, 123 456 782; cards in
 * fours, Amex 4-6-5) and its check digits hold.  A run longer than any
 * detector's numbers (order numbers, tracking codes, binary junk) never
 * yields a match from a slice of itself, except where spaces split it
 * into separate numbers.  An IBAN is two letters, two check digits and
 * the country's length of letters and digits, spaces allowed.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "detect.h"

#define DIGIT_GROUPS_MAX	8
#define DIGITS_MAX		24

enum { C_OTHER, C_DIGIT, C_ALPHA };

static unsigned char	cclass[256];

static void
cclass_init(void)
{
	int	c;

	if (cclass['0'] == C_DIGIT)
		return;
	for (c = '0'; c <= '9'; c++)
		cclass[c] = C_DIGIT;
	for (c = 'a'; c <= 'z'; c++)
		cclass[c] = cclass[c - 'a' + 'A'] = C_ALPHA;
	/* UTF-8 letters: any byte of a multi-byte sequence is a word byte. */
	for (c = 0x80; c < 0x100; c++)
		cclass[c] = C_ALPHA;
}

int
detect_bsn_valid(const char *d, size_t n)
{
	int	sum = 0, i;

	if (n != 9 || (d[0] == '0' && d[1] == '0'))
		return 0;
	for (i = 0; i < 8; i++)
		sum += (9 - i) * (d[i] - '0');
	sum -= d[8] - '0';
	return sum > 0 && sum % 11 == 0;
}

static int
luhn(const char *d, size_t n)
{
	size_t	i;
	int	sum = 0, v, dbl = 0;

	for (i = n; i-- > 0; ) {
		v = d[i] - '0';
		if (dbl && (v *= 2) > 9)
			v -= 9;
		sum += v;
		dbl = !dbl;
	}
	return sum % 10 == 0;
}

static int
prefix(const char *d, int len)
{
	int	v = 0, i;

	for (i = 0; i < len; i++)
		v = v * 10 + (d[i] - '0');
	return v;
}

/* Issuer prefixes (ISO/IEC 7812 IINs of the big networks) and lengths. */
int
detect_card_valid(const char *d, size_t n)
{
	int	p2, p3, p4, ok = 0;

	if (n < 13 || n > 19)
		return 0;
	p2 = prefix(d, 2);
	p3 = prefix(d, 3);
	p4 = prefix(d, 4);
	if (d[0] == '4')
		ok = n == 13 || n == 16 || n == 19;		/* Visa */
	else if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
		ok = n == 16;					/* Mastercard */
	else if (p2 == 34 || p2 == 37)
		ok = n == 15;					/* Amex */
	else if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) ||
	    p2 == 62)
		ok = n >= 16;				/* Discover, UnionPay */
	else if (p4 >= 3528 && p4 <= 3589)
		ok = n >= 16;					/* JCB */
	else if (p2 == 36 || (p3 >= 300 && p3 <= 305) || p2 == 38 ||
	    p2 == 39)
		ok = n >= 14;					/* Diners */
	else if (p2 == 50 || (p2 >= 56 && p2 <= 69))
		ok = 1;						/* Maestro */
	return ok && luhn(d, n);
}

static const struct {
	char	cc[3];
	int	len;
} iban_lengths[] = {
	{ "AD", 24 }, { "AE", 23 }, { "AL", 28 }, { "AT", 20 }, { "AZ", 28 },
	{ "BA", 20 }, { "BE", 16 }, { "BG", 22 }, { "BH", 22 }, { "BR", 29 },
	{ "BY", 28 }, { "CH", 21 }, { "CR", 22 }, { "CY", 28 }, { "CZ", 24 },
	{ "DE", 22 }, { "DK", 18 }, { "DO", 28 }, { "EE", 20 }, { "EG", 29 },
	{ "ES", 24 }, { "FI", 18 }, { "FO", 18 }, { "FR", 27 }, { "GB", 22 },
	{ "GE", 22 }, { "GI", 23 }, { "GL", 18 }, { "GR", 27 }, { "GT", 28 },
	{ "HR", 21 }, { "HU", 28 }, { "IE", 22 }, { "IL", 23 }, { "IQ", 23 },
	{ "IS", 26 }, { "IT", 27 }, { "JO", 30 }, { "KW", 30 }, { "KZ", 20 },
	{ "LB", 28 }, { "LC", 32 }, { "LI", 21 }, { "LT", 20 }, { "LU", 20 },
	{ "LV", 21 }, { "MC", 27 }, { "MD", 24 }, { "ME", 22 }, { "MK", 19 },
	{ "MR", 27 }, { "MT", 31 }, { "MU", 30 }, { "NL", 18 }, { "NO", 15 },
	{ "PK", 24 }, { "PL", 28 }, { "PS", 29 }, { "PT", 25 }, { "QA", 29 },
	{ "RO", 24 }, { "RS", 22 }, { "SA", 24 }, { "SC", 31 }, { "SE", 24 },
	{ "SI", 19 }, { "SK", 24 }, { "SM", 27 }, { "ST", 25 }, { "SV", 28 },
	{ "TL", 23 }, { "TN", 24 }, { "TR", 26 }, { "UA", 29 }, { "VA", 22 },
	{ "VG", 24 }, { "XK", 20 },
};

static int
upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static int
iban_length(int a, int b)
{
	size_t	lo = 0, hi = sizeof(iban_lengths) / sizeof(iban_lengths[0]);
	size_t	mid;
	int	cmp;

	a = upper(a);
	b = upper(b);
	while (lo < hi) {
		mid = (lo + hi) / 2;
		cmp = a - iban_lengths[mid].cc[0];
		if (cmp == 0)
			cmp = b - iban_lengths[mid].cc[1];
		if (cmp == 0)
			return iban_lengths[mid].len;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* ISO 13616: country length, then mod 97 of the rearranged number is 1. */
int
detect_iban_valid(const char *s, size_t n)
{
	unsigned int	 rem = 0;
	size_t		 i, k;
	int		 c;

	cclass_init();
	if (n < 15 || n > 34 || (size_t)iban_length(s[0], s[1]) != n ||
	    cclass[(unsigned char)s[2]] != C_DIGIT ||
	    cclass[(unsigned char)s[3]] != C_DIGIT)
		return 0;
	for (k = 0; k < n; k++) {
		i = (k + 4) % n;
		c = upper((unsigned char)s[i]);
		if (c >= '0' && c <= '9')
			rem = (rem * 10 + (unsigned int)(c - '0')) % 97;
		else if (c >= 'A' && c <= 'Z')
			rem = (rem * 100 + (unsigned int)(c - 'A' + 10)) % 97;
		else
			return 0;
	}
	return rem == 1;
}

/* An IBAN starting at s (a word start); returns its length in text or 0. */
static size_t
iban_at(const char *s, const char *end)
{
	char		 buf[40];
	const char	*p = s;
	size_t		 n = 0;
	int		 want;

	if (end - s < 15 || cclass[(unsigned char)s[1]] != C_ALPHA ||
	    cclass[(unsigned char)s[2]] != C_DIGIT ||
	    cclass[(unsigned char)s[3]] != C_DIGIT ||
	    (want = iban_length((unsigned char)s[0],
	    (unsigned char)s[1])) == 0)
		return 0;
	while (p < end && n < (size_t)want) {
		if (cclass[(unsigned char)*p] == C_OTHER) {
			/* One space between groups, not after the end. */
			if (*p != ' ' || n < 4 || p + 1 >= end ||
			    cclass[(unsigned char)p[1]] == C_OTHER)
				return 0;
			p++;
			continue;
		}
		if ((unsigned char)*p >= 0x80)
			return 0;
		buf[n++] = *p++;
	}
	if (n != (size_t)want ||
	    (p < end && cclass[(unsigned char)*p] != C_OTHER))
		return 0;
	return detect_iban_valid(buf, n) ? (size_t)(p - s) : 0;
}

struct token {
	char	digits[DIGITS_MAX];
	size_t	ndigits;
	size_t	glen[DIGIT_GROUPS_MAX];
	char	gsep[DIGIT_GROUPS_MAX];	/* separator before group i */
	size_t	ngroups;
};

static int
groups_are(const size_t *g, size_t n, const size_t *want, size_t nwant)
{
	size_t	i;

	if (n != nwant)
		return 0;
	for (i = 0; i < n; i++)
		if (g[i] != want[i])
			return 0;
	return 1;
}

/* Groups a..b of t (inclusive): does it hold a BSN or a card? */
static void
token_check(const struct token *t, size_t a, size_t b, unsigned int which,
    struct detect_counts *c)
{
	static const size_t	bsn423[] = { 4, 2, 3 }, bsn333[] = { 3, 3, 3 };
	static const size_t	amex[] = { 4, 6, 5 }, diners[] = { 4, 6, 4 };
	const size_t		*g = t->glen + a;
	const char		*d = t->digits;
	size_t			 ng = b - a + 1, n = 0, i, off = 0;
	int			 fours;

	for (i = 0; i < a; i++)
		off += t->glen[i];
	for (i = a; i <= b; i++)
		n += t->glen[i];
	d += off;
	if ((which & DETECT_BSN) && n == 9 && (ng == 1 ||
	    groups_are(g, ng, bsn423, 3) || groups_are(g, ng, bsn333, 3)) &&
	    detect_bsn_valid(d, n)) {
		c->bsn++;
		return;
	}
	if (!(which & DETECT_CARD) || n < 13 || n > 19)
		return;
	fours = 1;
	for (i = 0; i + 1 < ng; i++)
		if (g[i] != 4)
			fours = 0;
	if (ng == 1 || (fours && g[ng - 1] >= 1 && g[ng - 1] <= 4) ||
	    groups_are(g, ng, amex, 3) || groups_are(g, ng, diners, 3))
		if (detect_card_valid(d, n))
			c->card++;
}

static void
token_add(struct token *t, const unsigned char *p, size_t g, int sep)
{
	size_t	i;

	if (t->ngroups < DIGIT_GROUPS_MAX) {
		t->glen[t->ngroups] = g;
		t->gsep[t->ngroups] = (char)sep;
	}
	t->ngroups++;
	for (i = 0; i < g; i++, t->ndigits++)
		if (t->ndigits < DIGITS_MAX)
			t->digits[t->ndigits] = (char)p[i];
}

static int
token_fits(const struct token *t)
{
	return t->ngroups > 0 && t->ngroups <= DIGIT_GROUPS_MAX &&
	    t->ndigits <= DIGITS_MAX;
}

/*
 * A number at s (at a word start): digit groups joined by single
 * separators.  The whole is tried first; if it is not one valid number,
 * each space-delimited unit is tried on its own ("BSN 123456782 0612").
 * Returns where the number ends.
 */
static const unsigned char *
number_at(const unsigned char *s, const unsigned char *end,
    unsigned int which, struct detect_counts *c)
{
	struct token		 whole, unit;
	struct detect_counts	 split = { 0 }, w = { 0 };
	const unsigned char	*p = s, *g0;
	int			 sep = 0, glued;

	memset(&whole, 0, sizeof(whole));
	memset(&unit, 0, sizeof(unit));
	for (;;) {
		g0 = p;
		while (p < end && cclass[*p] == C_DIGIT)
			p++;
		token_add(&whole, g0, p - g0, sep);
		token_add(&unit, g0, p - g0, sep == ' ' ? 0 : sep);
		if (p + 1 < end && (*p == ' ' || *p == '.' || *p == '-') &&
		    cclass[p[1]] == C_DIGIT) {
			sep = *p++;
			if (sep == ' ') {
				if (token_fits(&unit))
					token_check(&unit, 0,
					    unit.ngroups - 1, which, &split);
				memset(&unit, 0, sizeof(unit));
			}
			continue;
		}
		break;
	}
	/* A number glued to letters ("12345678a") is a code. */
	glued = p < end && cclass[*p] == C_ALPHA;
	if (!glued && token_fits(&unit) && whole.ngroups != unit.ngroups)
		token_check(&unit, 0, unit.ngroups - 1, which, &split);
	if (!glued && token_fits(&whole))
		token_check(&whole, 0, whole.ngroups - 1, which, &w);
	if (w.bsn + w.card > 0) {
		c->bsn += w.bsn;
		c->card += w.card;
	} else {
		c->bsn += split.bsn;
		c->card += split.card;
	}
	return p;
}

/* The next digit at or after s, or end. */
static const unsigned char *
next_digit(const unsigned char *s, const unsigned char *end)
{
#ifdef __SSE2__
	while (end - s >= 16) {
		__m128i		v, d;
		unsigned int	m;

		v = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)
		    s), _mm_set1_epi8('0'));
		/* v - '0' <= 9, unsigned. */
		d = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(9)), v);
		if ((m = (unsigned int)_mm_movemask_epi8(d)) != 0)
			return s + __builtin_ctz(m);
		s += 16;
	}
#endif
	while (s < end && cclass[*s] != C_DIGIT)
		s++;
	return s;
}

/*
 * Driven by digits: everything the detectors look for has one, so the
 * text between digits is skipped (sixteen bytes at a time).  An IBAN is
 * found from its check digits, two letters after a word start.
 */
void
detect_scan(const char *text, size_t len, unsigned int which,
    struct detect_counts *c)
{
	const unsigned char	*s = (const unsigned char *)text;
	const unsigned char	*start = s, *end = s + len, *p;
	struct detect_counts	 none;
	size_t			 n;

	cclass_init();
	while (s < end) {
		s = next_digit(s, end);
		if (s == end)
			break;
		if (s > start && cclass[s[-1]] != C_OTHER) {
			if ((which & DETECT_IBAN) && s - start >= 2 &&
			    s[-1] < 0x80 && s[-2] < 0x80 &&
			    cclass[s[-1]] == C_ALPHA &&
			    cclass[s[-2]] == C_ALPHA &&
			    (s - 2 == start || cclass[s[-3]] == C_OTHER) &&
			    (n = iban_at((const char *)s - 2,
			    (const char *)end)) > 0) {
				c->iban++;
				s += n - 2;
				continue;
			}
			/* Inside a word: a code, not a number. */
			while (s < end && cclass[*s] != C_OTHER)
				s++;
			continue;
		}
		if (!(which & (DETECT_BSN | DETECT_CARD))) {
			while (s < end && cclass[*s] != C_OTHER)
				s++;
			continue;
		}
		/*
		 * Most numbers are short and stand alone: fewer digits than
		 * any BSN or card and no separator joining another group.
		 */
		for (p = s; p < end && cclass[*p] == C_DIGIT; p++)
			;
		if (p - s < 9 && !(p + 1 < end && (*p == ' ' || *p == '.' ||
		    *p == '-') && cclass[p[1]] == C_DIGIT)) {
			s = p;
			while (s < end && cclass[*s] != C_OTHER)
				s++;
			continue;
		}
		if (s > start && s[-1] == '+') {
			/* "+31 6 1234 5678": a phone number. */
			memset(&none, 0, sizeof(none));
			p = number_at(s, end, which, &none);
		} else
			p = number_at(s, end, which, c);
		s = p;
		while (s < end && cclass[*s] != C_OTHER)
			s++;
	}
}
