/*
 * prefilter.c: the literals a PCRE2 pattern cannot match without, so the
 * policy engine runs a regex only on text that holds one of them.
 *
 * Run by policyd (and smtpctl policy test) when a policy is compiled; no
 * I/O.  rules_regex_literals() parses the pattern (a conservative subset
 * of PCRE2 syntax: anything it does not know makes it give up) and
 * returns a set of ASCII strings, lower case, such that every match of
 * the pattern contains at least one of them, case aside.  The keyword
 * automaton looks for them in the folded text (rules.c).
 *
 * Invariant: the set is a necessary condition, never a guess: groups,
 * alternatives, optional and repeated parts, classes and escapes are
 * followed exactly or treated as "anything"; each literal survives
 * rules_fold() unchanged (no control bytes, no double spaces, nothing
 * outside ASCII), so its presence in the raw text implies its presence
 * in the folded text; in a caseless pattern "k" is not a literal
 * (U+212A KELVIN SIGN matches it and does not fold to "k").
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

#define LIT_SET_MAX	16	/* strings in one set */
#define LIT_LEN_MAX	64	/* bytes in one string */
#define LIT_DEPTH_MAX	32	/* nested groups */
#define LIT_MIN		3	/* shorter literals are no filter */

struct sset {
	int	 known;			/* 0: too many or unknown */
	int	 n;
	char	 s[LIT_SET_MAX][LIT_LEN_MAX];
	uint8_t	 len[LIT_SET_MAX];
};

/*
 * What a piece of pattern matches: exact, the complete set of strings it
 * can match (when small and known); suf, strings one of which ends every
 * match; req, strings one of which is in every match (known == 0: none
 * known).
 */
struct info {
	struct sset	exact;
	struct sset	suf;
	struct sset	req;
};

struct lparse {
	const char	*p;
	const char	*end;
	int		 caseless;
	int		 fail;
	int		 depth;
};

static void	parse_alt(struct lparse *, struct info *);

static void
set_none(struct sset *s)
{
	s->known = 0;
	s->n = 0;
}

static void
set_empty_string(struct sset *s)
{
	s->known = 1;
	s->n = 1;
	s->len[0] = 0;
	s->s[0][0] = '\0';
}

static int
set_add(struct sset *s, const char *str, size_t len)
{
	int	i;

	for (i = 0; i < s->n; i++)
		if (s->len[i] == len && memcmp(s->s[i], str, len) == 0)
			return 0;
	if (s->n == LIT_SET_MAX || len >= LIT_LEN_MAX)
		return -1;
	memcpy(s->s[s->n], str, len);
	s->s[s->n][len] = '\0';
	s->len[s->n++] = (uint8_t)len;
	return 0;
}

static int
set_has_empty(const struct sset *s)
{
	int	i;

	for (i = 0; i < s->n; i++)
		if (s->len[i] == 0)
			return 1;
	return 0;
}

/* A disjunction needs no string that contains another of the set. */
static void
set_minimize(struct sset *s)
{
	int	i, j, k;

	for (i = 0; i < s->n; i++)
		for (j = 0; j < s->n; j++) {
			if (i == j || s->len[j] > s->len[i] ||
			    memmem(s->s[i], s->len[i], s->s[j],
			    s->len[j]) == NULL)
				continue;
			/* s[i] holds s[j]: drop s[i]. */
			for (k = i; k + 1 < s->n; k++) {
				memcpy(s->s[k], s->s[k + 1], LIT_LEN_MAX);
				s->len[k] = s->len[k + 1];
			}
			s->n--;
			i--;
			break;
		}
}

/* The requirement a piece gives: its exact set if known, else req. */
static void
req_of(const struct info *in, struct sset *out)
{
	if (in->exact.known && !set_has_empty(&in->exact)) {
		*out = in->exact;
		set_minimize(out);
	} else if (in->req.known)
		*out = in->req;
	else
		set_none(out);
}

static int
set_score(const struct sset *s)
{
	int	i, m = 1000;

	if (!s->known || s->n == 0)
		return -1;
	for (i = 0; i < s->n; i++)
		if (s->len[i] < m)
			m = s->len[i];
	/* The shortest string decides; fewer strings break ties. */
	return m * 64 - s->n;
}

static void
set_better(struct sset *best, const struct sset *cand)
{
	if (set_score(cand) > set_score(best))
		*best = *cand;
}

static void
info_char(struct info *in, int c)
{
	set_none(&in->req);
	in->exact.known = 1;
	in->exact.n = 1;
	in->exact.len[0] = 1;
	in->exact.s[0][0] = (char)tolower(c);
	in->exact.s[0][1] = '\0';
	in->suf = in->exact;
}

static void
info_any(struct info *in)
{
	set_none(&in->exact);
	set_none(&in->suf);
	set_none(&in->req);
}

static void
info_empty(struct info *in)
{
	set_empty_string(&in->exact);
	in->suf = in->exact;
	set_none(&in->req);
}

/* Every string of a followed by every string of b, if it fits. */
static void
set_product(struct sset *x, const struct sset *a, const struct sset *b)
{
	char	buf[LIT_LEN_MAX * 2];
	size_t	la, lb;
	int	i, j;

	set_none(x);
	if (!a->known || !b->known || a->n * b->n > LIT_SET_MAX)
		return;
	x->known = 1;
	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++) {
			la = a->len[i];
			lb = b->len[j];
			memcpy(buf, a->s[i], la);
			memcpy(buf + la, b->s[j], lb);
			if (set_add(x, buf, la + lb) == -1) {
				set_none(x);
				return;
			}
		}
}

/* a followed by b, into a. */
static void
info_concat(struct info *a, const struct info *b)
{
	struct sset	best, t, x, suf;

	req_of(a, &best);
	if (a->req.known)
		set_better(&best, &a->req);
	req_of(b, &t);
	set_better(&best, &t);
	/* What a ends with, followed by all b can be, is in the match. */
	set_product(&suf, &a->suf, &b->exact);
	if (suf.known && !set_has_empty(&suf)) {
		t = suf;
		set_minimize(&t);
		set_better(&best, &t);
	}
	set_product(&x, &a->exact, &b->exact);
	a->exact = x;
	if (!b->exact.known)
		a->suf = b->suf;
	else
		a->suf = suf.known ? suf : b->exact;
	a->req = best;
}

/* a or b, into a. */
static void
info_alt(struct info *a, const struct info *b)
{
	struct sset	ra, rb;
	int		i;

	if (a->exact.known && b->exact.known) {
		for (i = 0; i < b->exact.n; i++)
			if (set_add(&a->exact, b->exact.s[i],
			    b->exact.len[i]) == -1) {
				set_none(&a->exact);
				break;
			}
	} else
		set_none(&a->exact);
	if (a->suf.known && b->suf.known) {
		for (i = 0; i < b->suf.n; i++)
			if (set_add(&a->suf, b->suf.s[i],
			    b->suf.len[i]) == -1) {
				set_none(&a->suf);
				break;
			}
	} else
		set_none(&a->suf);
	req_of(a, &ra);
	req_of(b, &rb);
	if (!ra.known || !rb.known) {
		set_none(&a->req);
		return;
	}
	for (i = 0; i < rb.n; i++)
		if (set_add(&ra, rb.s[i], rb.len[i]) == -1) {
			set_none(&a->req);
			return;
		}
	set_minimize(&ra);
	a->req = ra;
}

/* A character class "[...]", p after "[": skipped, matches "anything". */
static void
parse_class(struct lparse *lp)
{
	const char	*p = lp->p;

	if (p < lp->end && *p == '^')
		p++;
	if (p < lp->end && *p == ']')
		p++;
	while (p < lp->end && *p != ']') {
		if (*p == '\\') {
			if (p + 1 >= lp->end || p[1] == 'Q' || p[1] == 'E') {
				lp->fail = 1;
				return;
			}
			p += 2;
			continue;
		}
		if (*p == '[' && p + 1 < lp->end && p[1] == ':') {
			/* [:alpha:] */
			for (p += 2; p < lp->end && *p != ']'; p++)
				;
			if (p < lp->end)
				p++;
			continue;
		}
		p++;
	}
	if (p >= lp->end) {
		lp->fail = 1;
		return;
	}
	lp->p = p + 1;
}

/* An escape, p after "\\". */
static void
parse_escape(struct lparse *lp, struct info *in)
{
	int	c;

	if (lp->p >= lp->end) {
		lp->fail = 1;
		return;
	}
	c = (unsigned char)*lp->p++;
	if (strchr("bBAzZG", c) != NULL) {
		info_empty(in);
		return;
	}
	if (strchr("dDwWsShHvVRNXC", c) != NULL) {
		info_any(in);
		return;
	}
	if (c == 'p' || c == 'P') {
		if (lp->p < lp->end && *lp->p == '{') {
			while (lp->p < lp->end && *lp->p != '}')
				lp->p++;
			if (lp->p >= lp->end) {
				lp->fail = 1;
				return;
			}
		}
		lp->p++;
		info_any(in);
		return;
	}
	if (strchr("ntrfea", c) != NULL) {
		info_any(in);
		return;
	}
	if (c < 0x80 && !isalnum(c) && c > ' ' && c != 0x7f) {
		info_char(in, c);
		return;
	}
	/* Back references, octal, \x, \Q, \K, \g, ...: give up. */
	lp->fail = 1;
}

/* A group, p after "(". */
static void
parse_group(struct lparse *lp, struct info *in)
{
	const char	*p = lp->p;
	struct info	 inner;
	int		 look = 0;

	if (++lp->depth > LIT_DEPTH_MAX) {
		lp->fail = 1;
		return;
	}
	if (p < lp->end && *p == '*') {
		lp->fail = 1;		/* (*VERB) */
		return;
	}
	if (p < lp->end && *p == '?') {
		p++;
		if (p < lp->end && (*p == ':' || *p == '|' || *p == '>'))
			p++;
		else if (p < lp->end && (*p == '=' || *p == '!')) {
			p++;
			look = 1;
		} else if (p + 1 < lp->end && *p == '<' &&
		    (p[1] == '=' || p[1] == '!')) {
			p += 2;
			look = 1;
		} else if (p < lp->end && (*p == '<' || *p == '\'' ||
		    (*p == 'P' && p + 1 < lp->end && p[1] == '<'))) {
			/* A named group. */
			int	close = *p == '\'' ? '\'' : '>';

			while (p < lp->end && *p != close)
				p++;
			if (p >= lp->end) {
				lp->fail = 1;
				return;
			}
			p++;
		} else if (p < lp->end && *p == '#') {
			while (p < lp->end && *p != ')')
				p++;
			if (p >= lp->end) {
				lp->fail = 1;
				return;
			}
			lp->p = p + 1;
			lp->depth--;
			info_empty(in);
			return;
		} else {
			/* Option settings: (?i) (?-i) (?i:...). */
			while (p < lp->end && strchr("imnsUJ-^", *p) != NULL &&
			    *p != '\0')
				p++;
			if (p < lp->end && *p == ')') {
				lp->p = p + 1;
				lp->depth--;
				info_empty(in);
				return;
			}
			if (p >= lp->end || *p != ':') {
				lp->fail = 1;	/* (?x), (?R), (?(, ... */
				return;
			}
			p++;
		}
	}
	lp->p = p;
	parse_alt(lp, &inner);
	if (lp->fail)
		return;
	if (lp->p >= lp->end || *lp->p != ')') {
		lp->fail = 1;
		return;
	}
	lp->p++;
	lp->depth--;
	if (look)
		info_empty(in);		/* zero width: a superset */
	else
		*in = inner;
}

/* A quantifier after an atom, if there is one. */
static void
parse_quant(struct lparse *lp, struct info *in)
{
	const char	*p = lp->p;
	long		 min;
	struct sset	 r;
	char		*ep;

	if (p >= lp->end)
		return;
	if (*p == '*' || *p == '+' || *p == '?') {
		min = *p == '+' ? 1 : 0;
		if (*p == '?' && in->exact.known) {
			/* Optional: the set plus the empty string. */
			if (set_add(&in->exact, "", 0) == -1)
				set_none(&in->exact);
			in->suf = in->exact;
			set_none(&in->req);
			lp->p = p + 1;
			goto suffix;
		}
		p++;
	} else if (*p == '{') {
		if (p + 1 < lp->end && p[1] == ',')
			min = 0, ep = (char *)p + 1;
		else if (p + 1 < lp->end && isdigit((unsigned char)p[1]))
			min = strtol(p + 1, &ep, 10);
		else {
			lp->fail = 1;	/* a literal "{": give up */
			return;
		}
		if (ep < lp->end && *ep == ',') {
			ep++;
			while (ep < lp->end && isdigit((unsigned char)*ep))
				ep++;
		}
		if (ep >= lp->end || *ep != '}') {
			lp->fail = 1;
			return;
		}
		p = ep + 1;
	} else
		return;
	if (min >= 1) {
		/* At least once: what it needs, and how it ends. */
		req_of(in, &r);
		set_none(&in->exact);
		in->req = r;
	} else
		info_any(in);
	lp->p = p;
suffix:
	/* Lazy or possessive: the same strings can match, or fewer. */
	if (lp->p < lp->end && (*lp->p == '?' || *lp->p == '+'))
		lp->p++;
	if (lp->p < lp->end && strchr("*+?{", *lp->p) != NULL)
		lp->fail = 1;
}

static void
parse_seq(struct lparse *lp, struct info *seq)
{
	struct info	atom;
	int		c;

	info_empty(seq);
	while (!lp->fail && lp->p < lp->end && *lp->p != '|' &&
	    *lp->p != ')') {
		c = (unsigned char)*lp->p++;
		switch (c) {
		case '(':
			parse_group(lp, &atom);
			break;
		case '[':
			parse_class(lp);
			info_any(&atom);
			break;
		case '\\':
			parse_escape(lp, &atom);
			break;
		case '.':
			info_any(&atom);
			break;
		case '^':
		case '$':
			info_empty(&atom);
			break;
		case '*':
		case '+':
		case '?':
		case '{':
			lp->fail = 1;
			break;
		default:
			if (c >= 0x80 || c < ' ' || c == 0x7f ||
			    (lp->caseless && (c == 'k' || c == 'K')))
				info_any(&atom);
			else
				info_char(&atom, c);
			break;
		}
		if (lp->fail)
			return;
		parse_quant(lp, &atom);
		if (lp->fail)
			return;
		info_concat(seq, &atom);
	}
}

static void
parse_alt(struct lparse *lp, struct info *alt)
{
	struct info	b;

	parse_seq(lp, alt);
	while (!lp->fail && lp->p < lp->end && *lp->p == '|') {
		lp->p++;
		parse_seq(lp, &b);
		info_alt(alt, &b);
	}
}

/* Does the pattern ever switch caseless matching on? */
static int
pattern_caseless(const char *pat)
{
	const char	*p;

	for (p = pat; (p = strstr(p, "(?")) != NULL; p += 2) {
		const char	*q = p + 2;

		while (*q != '\0' && strchr("imnsxUJ-^", *q) != NULL) {
			if (*q == 'i')
				return 1;
			q++;
		}
	}
	return 0;
}

int
rules_regex_literals(const char *pat, char ***lits, size_t *nlits)
{
	struct lparse	 lp;
	struct info	*top;
	struct sset	 r;
	struct mbuf	 f = { 0 };
	int		 i, ok = 1;

	*lits = NULL;
	*nlits = 0;
	memset(&lp, 0, sizeof(lp));
	lp.p = pat;
	lp.end = pat + strlen(pat);
	lp.caseless = pattern_caseless(pat);
	top = xcalloc(1, sizeof(*top));
	parse_alt(&lp, top);
	if (lp.fail || lp.p != lp.end) {
		free(top);
		return 0;
	}
	req_of(top, &r);
	free(top);
	if (!r.known || r.n == 0)
		return 0;
	for (i = 0; i < r.n && ok; i++) {
		/* Each must come through folding as it is. */
		if (r.len[i] < LIT_MIN)
			ok = 0;
		f.len = 0;
		rules_fold(&f, r.s[i], r.len[i]);
		if (f.len != r.len[i] || memcmp(f.buf, r.s[i], f.len) != 0)
			ok = 0;
	}
	mbuf_free(&f);
	if (!ok)
		return 0;
	*lits = xcalloc(r.n, sizeof(**lits));
	for (i = 0; i < r.n; i++)
		(*lits)[i] = xstrdup(r.s[i]);
	*nlits = r.n;
	return 1;
}
