/*
 * rules.c: the compiled rules of a policy and the scan of a decoded
 * message (see policy.h).
 *
 * Run by policyd (and smtpctl policy test).  Speed is the design: the
 * keywords of all rules form one Aho-Corasick automaton over a small
 * alphabet, run once per region over text folded for case, diacritics
 * and spacing; regexes are PCRE2 compiled once with JIT and matched with
 * one reused match data and a match limit; detectors walk digit runs
 * without regexes.  No allocation per byte: buffers live in the engine
 * and are reused between messages.  Invariant: a regex that hits its
 * limit makes the scan fail (the caller fails closed), never pass.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define PCRE2_CODE_UNIT_WIDTH	8
#include <pcre2.h>

#include "detect.h"
#include "policy.h"
#include "util.h"

#define AC_STATES_MAX	(1 << 20)
#define AC_OUT		0x80000000U	/* in delta: the state reports */
#define AC_LIT		4		/* pword: prefilter literal */

struct ac {
	uint8_t		 cls[256];	/* byte -> alphabet class */
	uint32_t	 ncls;
	uint32_t	*delta;		/* nstates * ncls */
	uint32_t	*out_start;	/* per state, into outs; nstates + 1 */
	uint32_t	*outs;		/* pattern ids */
	uint32_t	 nstates;
	/* Patterns. */
	uint32_t	*plen;
	uint32_t	*prule;
	uint8_t		*pword;		/* 1/2: starts/ends with a word byte,
					   AC_LIT: a regex's literal */
	uint32_t	 npat;
	size_t		 maxlen;	/* longest keyword */
};

struct policy_engine {
	const struct policy	*pol;
	struct ac		 ac;
	pcre2_code		**re;		/* per rule, or NULL */
	pcre2_match_data	*md;
	pcre2_match_context	*mctx;
	unsigned int		 detect[4];	/* DETECT_* per region */
	char			***lits;	/* per regex rule: literals */
	size_t			*nlits;		/* 0: no prefilter */
	unsigned int		*lithit;	/* per rule: regions seen */
	int			 prefilter;	/* 0: run every regex */
	struct mime_result	 mime;
	struct mbuf		 folded;
	size_t			*count;		/* per rule */
	struct rules_hit	*hits;
};

static const int regions[4] = { POLICY_IN_SUBJECT, POLICY_IN_BODY,
	POLICY_IN_ATTACHMENTS, POLICY_IN_HEADERS };

/*
 * Folding of the two-byte UTF-8 sequences of U+00C0..U+017F to ASCII:
 * "patiënt" and "PATIENT" fold alike.  NULL: keep the character.
 */
const char *const rules_latin_fold[RULES_LATIN_FOLD_N] = {
	/* U+00C0 */ "a", "a", "a", "a", "a", "a", "ae", "c",
	"e", "e", "e", "e", "i", "i", "i", "i",
	/* U+00D0 */ "d", "n", "o", "o", "o", "o", "o", NULL,
	"o", "u", "u", "u", "u", "y", NULL, "ss",
	/* U+00E0 */ "a", "a", "a", "a", "a", "a", "ae", "c",
	"e", "e", "e", "e", "i", "i", "i", "i",
	/* U+00F0 */ "d", "n", "o", "o", "o", "o", "o", NULL,
	"o", "u", "u", "u", "u", "y", NULL, "y",
	/* U+0100 */ "a", "a", "a", "a", "a", "a", "c", "c",
	"c", "c", "c", "c", "c", "c", "d", "d",
	/* U+0110 */ "d", "d", "e", "e", "e", "e", "e", "e",
	"e", "e", "e", "e", "g", "g", "g", "g",
	/* U+0120 */ "g", "g", "g", "g", "h", "h", "h", "h",
	"i", "i", "i", "i", "i", "i", "i", "i",
	/* U+0130 */ "i", "i", "ij", "ij", "j", "j", "k", "k",
	"k", "l", "l", "l", "l", "l", "l", "l",
	/* U+0140 */ "l", "l", "l", "n", "n", "n", "n", "n",
	"n", "n", "n", "n", "o", "o", "o", "o",
	/* U+0150 */ "o", "o", "oe", "oe", "r", "r", "r", "r",
	"r", "r", "s", "s", "s", "s", "s", "s",
	/* U+0160 */ "s", "s", "t", "t", "t", "t", "t", "t",
	"u", "u", "u", "u", "u", "u", "u", "u",
	/* U+0170 */ "u", "u", "u", "u", "w", "w", "y", "y",
	"y", "z", "z", "z", "z", "z", "z", "s",
};

enum { F_COPY, F_LOWER, F_SPACE, F_UTF8 };
static uint8_t	fold_kind[256];
static uint8_t	fold_lower[256];	/* ASCII lower case, others as is */
static uint8_t	fold_special[256];	/* white space and non-ASCII */
static uint8_t	word_byte[256];

static void
fold_init(void)
{
	int	c;

	if (fold_kind['A'] == F_LOWER)
		return;
	for (c = 0; c < 256; c++) {
		fold_lower[c] = (uint8_t)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
		if (c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
		    c == '\v')
			fold_lower[c] = ' ';
		fold_special[c] = c >= 0x80;
	}
	for (c = 'A'; c <= 'Z'; c++)
		fold_kind[c] = F_LOWER;
	fold_kind[' '] = fold_kind['\t'] = fold_kind['\r'] =
	    fold_kind['\n'] = fold_kind['\f'] = fold_kind['\v'] = F_SPACE;
	for (c = 0x80; c < 0x100; c++)
		fold_kind[c] = F_UTF8;
	for (c = '0'; c <= '9'; c++)
		word_byte[c] = 1;
	for (c = 'a'; c <= 'z'; c++)
		word_byte[c] = word_byte[c - 'a' + 'A'] = 1;
	for (c = 0x80; c < 0x100; c++)
		word_byte[c] = 1;
}

/*
 * Lower case, Latin diacritics removed, runs of white space (including
 * no-break and typographic spaces) as one space, invisible characters
 * (soft hyphen, zero-width) dropped so they cannot split a word.
 */
void
rules_fold(struct mbuf *out, const char *src, size_t len)
{
	const unsigned char	*s = (const unsigned char *)src;
	const unsigned char	*end = s + len;
	const char		*f;
	char			*o;
	uint32_t		 cp;
	int			 space = 0;

	fold_init();
	mbuf_reserve(out, len + 1);
	o = out->buf + out->len;
	while (s < end) {
#ifdef __SSE2__
		/*
		 * Sixteen ASCII bytes at a time: upper case and white space
		 * folded with masks, stored as they are unless a space
		 * follows a space.  The output never outgrows the input, so
		 * the store stays inside the buffer.
		 */
		while (end - s >= 16) {
			__m128i		v, w, up, ws;
			unsigned int	sp;

			v = _mm_loadu_si128((const __m128i *)(const void *)s);
			if (_mm_movemask_epi8(v) != 0)
				break;
			up = _mm_and_si128(_mm_cmpgt_epi8(v,
			    _mm_set1_epi8('A' - 1)), _mm_cmplt_epi8(v,
			    _mm_set1_epi8('Z' + 1)));
			ws = _mm_and_si128(_mm_cmpgt_epi8(v,
			    _mm_set1_epi8('\t' - 1)), _mm_cmplt_epi8(v,
			    _mm_set1_epi8('\r' + 1)));
			w = _mm_or_si128(v, _mm_and_si128(up,
			    _mm_set1_epi8(0x20)));
			w = _mm_or_si128(_mm_andnot_si128(ws, w),
			    _mm_and_si128(ws, _mm_set1_epi8(' ')));
			sp = (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(w,
			    _mm_set1_epi8(' ')));
			if (sp & (sp << 1 | (unsigned int)space))
				break;
			_mm_storeu_si128((__m128i *)(void *)o, w);
			o += 16;
			s += 16;
			space = sp >> 15;
		}
		if (s == end)
			break;
#endif
		/*
		 * A run of ASCII (up to 16 bytes, then the vector loop may
		 * take over again), without branches: a space after a space
		 * is written and then overwritten.
		 */
		if (!fold_special[*s]) {
			const unsigned char	*lim = end - s > 16 ? s + 16 :
						    end;
			uint8_t			 m;

			do {
				m = fold_lower[*s++];
				*o = (char)m;
				o += !(m == ' ' && space);
				space = m == ' ';
			} while (s < lim && !fold_special[*s]);
			continue;
		}
		switch (fold_kind[*s]) {
		case F_COPY:
			*o++ = (char)*s++;
			space = 0;
			continue;
		case F_LOWER:
			*o++ = (char)(*s++ | 0x20);
			space = 0;
			continue;
		case F_SPACE:
			if (!space)
				*o++ = ' ';
			space = 1;
			s++;
			continue;
		}
		/* UTF-8: the sequences that fold; others are copied. */
		if (s + 1 < end && (s[0] == 0xc2 || s[0] == 0xc3 ||
		    s[0] == 0xc4 || s[0] == 0xc5) && (s[1] & 0xc0) == 0x80) {
			cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
			if (cp == 0xa0) {		/* no-break space */
				if (!space)
					*o++ = ' ';
				space = 1;
				s += 2;
				continue;
			}
			if (cp == 0xad) {		/* soft hyphen */
				s += 2;
				continue;
			}
			if (cp >= 0xc0 && (f = rules_latin_fold[cp - 0xc0]) !=
			    NULL) {
				/* Never longer than the two input bytes. */
				while (*f)
					*o++ = *f++;
				s += 2;
				space = 0;
				continue;
			}
		} else if (s + 2 < end && s[0] == 0xe2 && s[1] == 0x80 &&
		    (s[2] <= 0x8a || s[2] == 0xaf)) {
			/* U+2000..U+200A, U+202F: spaces. */
			if (!space)
				*o++ = ' ';
			space = 1;
			s += 3;
			continue;
		} else if (s + 2 < end && ((s[0] == 0xe2 && s[1] == 0x80 &&
		    s[2] >= 0x8b && s[2] <= 0x8d) || (s[0] == 0xe2 &&
		    s[1] == 0x81 && s[2] == 0xa0) || (s[0] == 0xef &&
		    s[1] == 0xbb && s[2] == 0xbf))) {
			/* Zero-width space, joiners, BOM. */
			s += 3;
			continue;
		} else if (s + 2 < end && s[0] == 0xe2 && s[1] == 0x80 &&
		    (s[2] == 0x98 || s[2] == 0x99)) {
			*o++ = '\'';
			s += 3;
			space = 0;
			continue;
		}
		*o++ = (char)*s++;
		space = 0;
	}
	out->len = o - out->buf;
}

static void
fold_word(struct mbuf *b, const char *w)
{
	size_t	s, e;

	b->len = 0;
	rules_fold(b, w, strlen(w));
	for (s = 0; s < b->len && b->buf[s] == ' '; s++)
		;
	for (e = b->len; e > s && b->buf[e - 1] == ' '; e--)
		;
	memmove(b->buf, b->buf + s, e - s);
	b->len = e - s;
}

/* Build the automaton: a trie, then failure links breadth first. */
static int
ac_build(struct ac *ac, const struct policy *pol, char ***lits,
    const size_t *nlits)
{
	struct mbuf	  w = { 0 };
	uint32_t	 *trie = NULL, *fail = NULL, *queue = NULL;
	uint32_t	**olist = NULL, *ocount = NULL;
	uint32_t	  nst = 1, cap = 64, st, c, nxt, qh, qt, i, j, k;
	size_t		  r, wi;

	memset(ac, 0, sizeof(*ac));
	/* Alphabet: every byte used by a keyword or literal gets a class. */
	ac->ncls = 1;
	for (r = 0; r < pol->nrules; r++) {
		size_t	nw = pol->rules[r].type == POLICY_RULE_KEYWORDS ?
			    pol->rules[r].nwords : 0;

		for (wi = 0; wi < nw; wi++) {
			fold_word(&w, pol->rules[r].words[wi]);
			for (i = 0; i < w.len; i++)
				if (ac->cls[(uint8_t)w.buf[i]] == 0)
					ac->cls[(uint8_t)w.buf[i]] =
					    (uint8_t)ac->ncls++;
			if (w.len > 0)
				ac->npat++;
			if (ac->ncls > 255)
				goto toobig;
		}
		for (wi = 0; wi < nlits[r]; wi++) {
			for (i = 0; lits[r][wi][i] != '\0'; i++)
				if (ac->cls[(uint8_t)lits[r][wi][i]] == 0)
					ac->cls[(uint8_t)lits[r][wi][i]] =
					    (uint8_t)ac->ncls++;
			ac->npat++;
			if (ac->ncls > 255)
				goto toobig;
		}
	}
	ac->plen = xcalloc(ac->npat + 1, sizeof(*ac->plen));
	ac->prule = xcalloc(ac->npat + 1, sizeof(*ac->prule));
	ac->pword = xcalloc(ac->npat + 1, sizeof(*ac->pword));
	trie = xcalloc((size_t)cap * ac->ncls, sizeof(*trie));
	olist = xcalloc(cap, sizeof(*olist));
	ocount = xcalloc(cap, sizeof(*ocount));
	k = 0;
	for (r = 0; r < pol->nrules; r++) {
		size_t	nw = pol->rules[r].type == POLICY_RULE_KEYWORDS ?
			    pol->rules[r].nwords : 0;

		for (wi = 0; wi < nw + nlits[r]; wi++) {
			w.len = 0;
			if (wi < nw)
				fold_word(&w, pol->rules[r].words[wi]);
			else
				mbuf_add(&w, lits[r][wi - nw],
				    strlen(lits[r][wi - nw]));
			if (w.len == 0)
				continue;
			st = 0;
			for (i = 0; i < w.len; i++) {
				c = ac->cls[(uint8_t)w.buf[i]];
				if (trie[st * ac->ncls + c] == 0) {
					if (nst == cap) {
						if (cap >= AC_STATES_MAX)
							goto toobig;
						trie = xreallocarray(trie,
						    (size_t)cap * 2 * ac->ncls,
						    sizeof(*trie));
						memset(trie + (size_t)cap *
						    ac->ncls, 0, (size_t)cap *
						    ac->ncls * sizeof(*trie));
						olist = xreallocarray(olist,
						    cap * 2, sizeof(*olist));
						ocount = xreallocarray(ocount,
						    cap * 2, sizeof(*ocount));
						memset(olist + cap, 0, cap *
						    sizeof(*olist));
						memset(ocount + cap, 0, cap *
						    sizeof(*ocount));
						cap *= 2;
					}
					trie[st * ac->ncls + c] = nst++;
				}
				st = trie[st * ac->ncls + c];
			}
			ac->plen[k] = (uint32_t)w.len;
			ac->prule[k] = (uint32_t)r;
			if (wi < nw)
				ac->pword[k] = (word_byte[(uint8_t)w.buf[0]] ?
				    1 : 0) | (word_byte[(uint8_t)w.buf[w.len -
				    1]] ? 2 : 0);
			else
				ac->pword[k] = AC_LIT;
			if (w.len > ac->maxlen)
				ac->maxlen = w.len;
			olist[st] = xreallocarray(olist[st], ocount[st] + 1,
			    sizeof(**olist));
			olist[st][ocount[st]++] = k++;
		}
	}
	/* Breadth first: failure links, full transitions, merged outputs. */
	fail = xcalloc(nst, sizeof(*fail));
	queue = xcalloc(nst, sizeof(*queue));
	qh = qt = 0;
	for (c = 0; c < ac->ncls; c++)
		if ((nxt = trie[c]) != 0) {
			fail[nxt] = 0;
			queue[qt++] = nxt;
		}
	while (qh < qt) {
		st = queue[qh++];
		for (j = 0; j < ocount[fail[st]]; j++) {
			olist[st] = xreallocarray(olist[st], ocount[st] + 1,
			    sizeof(**olist));
			olist[st][ocount[st]++] = olist[fail[st]][j];
		}
		for (c = 0; c < ac->ncls; c++) {
			nxt = trie[st * ac->ncls + c];
			if (nxt != 0) {
				fail[nxt] = trie[fail[st] * ac->ncls + c];
				queue[qt++] = nxt;
			} else
				trie[st * ac->ncls + c] =
				    trie[fail[st] * ac->ncls + c];
		}
	}
	/* Class 0 (bytes in no keyword) always leads back to the root. */
	for (st = 0; st < nst; st++)
		trie[st * ac->ncls] = 0;
	/* Entries: next state premultiplied by ncls, AC_OUT if it reports. */
	for (i = 0; i < nst * ac->ncls; i++)
		trie[i] = trie[i] * ac->ncls | (ocount[trie[i]] ? AC_OUT : 0);
	ac->delta = trie;
	ac->nstates = nst;

	ac->out_start = xcalloc(nst + 1, sizeof(*ac->out_start));
	for (st = 0, k = 0; st < nst; st++) {
		ac->out_start[st] = k;
		k += ocount[st];
	}
	ac->out_start[nst] = k;
	ac->outs = xcalloc(k + 1, sizeof(*ac->outs));
	for (st = 0; st < nst; st++) {
		if (ocount[st] > 0)
			memcpy(ac->outs + ac->out_start[st], olist[st],
			    ocount[st] * sizeof(**olist));
		free(olist[st]);
	}
	free(olist);
	free(ocount);
	free(fail);
	free(queue);
	mbuf_free(&w);
	return 0;
toobig:
	if (olist != NULL)
		for (st = 0; st < cap; st++)
			free(olist[st]);
	free(olist);
	free(ocount);
	free(trie);
	mbuf_free(&w);
	return -1;
}

static void
ac_free(struct ac *ac)
{
	free(ac->delta);
	free(ac->out_start);
	free(ac->outs);
	free(ac->plen);
	free(ac->prule);
	free(ac->pword);
	memset(ac, 0, sizeof(*ac));
}

/* A match of the state's patterns ending at i: whole words only. */
static void
ac_report(const struct ac *ac, const struct policy *pol, const uint8_t *s,
    size_t len, size_t i, uint32_t st, int region, size_t *count,
    unsigned int *lithit)
{
	uint32_t	k, p;
	size_t		start;

	for (k = ac->out_start[st]; k < ac->out_start[st + 1]; k++) {
		p = ac->outs[k];
		if (!(pol->rules[ac->prule[p]].in & region))
			continue;
		if (ac->pword[p] & AC_LIT) {
			lithit[ac->prule[p]] |= (unsigned int)region;
			continue;
		}
		start = i + 1 - ac->plen[p];
		if ((ac->pword[p] & 1) && start > 0 && word_byte[s[start - 1]])
			continue;
		if ((ac->pword[p] & 2) && i + 1 < len && word_byte[s[i + 1]])
			continue;
		count[ac->prule[p]]++;
	}
}

#define AC_LANES	4

/*
 * The automaton is one chain of dependent loads per byte; four parts of
 * the text run interleaved so the processor overlaps their chains.  A
 * part starts (from the root) the longest keyword's length early and
 * reports only matches ending inside it, so none is lost or counted
 * twice.
 */
static void
ac_run(const struct ac *ac, const struct policy *pol, const char *text,
    size_t len, int region, size_t *count, unsigned int *lithit)
{
	const uint8_t	*s = (const uint8_t *)text;
	const uint32_t	*delta = ac->delta;
	const uint8_t	*cls = ac->cls;
	uint32_t	 x, st[AC_LANES], ncls = ac->ncls;
	size_t		 pos[AC_LANES], lim[AC_LANES], from[AC_LANES];
	size_t		 part, i, l, n;

	if (ac->npat == 0)
		return;
	part = len / AC_LANES;
	for (l = 0; l < AC_LANES; l++) {
		from[l] = l * part;
		lim[l] = l + 1 == AC_LANES ? len : (l + 1) * part;
		pos[l] = from[l] > ac->maxlen ? from[l] - ac->maxlen : 0;
		if (l == 0)
			pos[l] = 0;
		st[l] = 0;
	}
	/* All lanes step together while each has bytes left. */
	n = part + ac->maxlen;
	for (i = 0; i < n && part > 0; i++) {
		for (l = 0; l < AC_LANES; l++) {
			if (pos[l] >= lim[l])
				continue;
			x = delta[st[l] + cls[s[pos[l]]]];
			st[l] = x & ~AC_OUT;
			if ((x & AC_OUT) && pos[l] >= from[l])
				ac_report(ac, pol, s, len, pos[l],
				    st[l] / ncls, region, count, lithit);
			pos[l]++;
		}
	}
	/* What is left (the last lane's remainder, or a short text). */
	for (l = 0; l < AC_LANES; l++) {
		for (; pos[l] < lim[l]; pos[l]++) {
			x = delta[st[l] + cls[s[pos[l]]]];
			st[l] = x & ~AC_OUT;
			if ((x & AC_OUT) && pos[l] >= from[l])
				ac_report(ac, pol, s, len, pos[l],
				    st[l] / ncls, region, count, lithit);
		}
	}
}

struct policy_engine *
policy_engine_new(const struct policy *pol, char *err, size_t errsz)
{
	struct policy_engine	*e;
	const struct policy_rule *r;
	PCRE2_UCHAR		 msg[256];
	PCRE2_SIZE		 off;
	size_t			 i, j;
	int			 rc;
	unsigned int		 d;

	fold_init();
	e = xcalloc(1, sizeof(*e));
	e->pol = pol;
	e->prefilter = 1;
	e->lits = xcalloc(pol->nrules + 1, sizeof(*e->lits));
	e->nlits = xcalloc(pol->nrules + 1, sizeof(*e->nlits));
	e->lithit = xcalloc(pol->nrules + 1, sizeof(*e->lithit));
	/* A regex runs only where one of its literals is (prefilter.c). */
	for (i = 0; i < pol->nrules; i++)
		if (pol->rules[i].type == POLICY_RULE_REGEX)
			(void)rules_regex_literals(pol->rules[i].pattern,
			    &e->lits[i], &e->nlits[i]);
	if (ac_build(&e->ac, pol, e->lits, e->nlits) == -1) {
		snprintf(err, errsz, "policy %s: too many keywords", pol->name);
		policy_engine_free(e);
		return NULL;
	}
	e->re = xcalloc(pol->nrules + 1, sizeof(*e->re));
	e->count = xcalloc(pol->nrules + 1, sizeof(*e->count));
	e->hits = xcalloc(pol->nrules + 1, sizeof(*e->hits));
	e->md = pcre2_match_data_create(1, NULL);
	e->mctx = pcre2_match_context_create(NULL);
	if (e->md == NULL || e->mctx == NULL) {
		snprintf(err, errsz, "policy %s: out of memory", pol->name);
		policy_engine_free(e);
		return NULL;
	}
	(void)pcre2_set_match_limit(e->mctx, POLICY_MATCH_LIMIT);
	for (i = 0; i < pol->nrules; i++) {
		r = &pol->rules[i];
		if (r->type == POLICY_RULE_DETECT) {
			d = r->detector == POLICY_DETECT_BSN ? DETECT_BSN :
			    r->detector == POLICY_DETECT_IBAN ? DETECT_IBAN :
			    DETECT_CARD;
			for (j = 0; j < 4; j++)
				if (r->in & regions[j])
					e->detect[j] |= d;
		}
		if (r->type != POLICY_RULE_REGEX)
			continue;
		e->re[i] = pcre2_compile((PCRE2_SPTR)r->pattern,
		    PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
		    &rc, &off, NULL);
		if (e->re[i] == NULL) {
			(void)pcre2_get_error_message(rc, msg, sizeof(msg));
			snprintf(err, errsz, "%s:%d: regex \"%s\": %s", r->file,
			    r->line, r->name, (char *)msg);
			policy_engine_free(e);
			return NULL;
		}
		/* Without JIT (some platforms), the interpreter still works. */
		(void)pcre2_jit_compile(e->re[i], PCRE2_JIT_COMPLETE);
	}
	return e;
}

void
policy_engine_free(struct policy_engine *e)
{
	size_t	i, j;

	if (e == NULL)
		return;
	ac_free(&e->ac);
	if (e->lits != NULL)
		for (i = 0; i < e->pol->nrules; i++) {
			for (j = 0; j < e->nlits[i]; j++)
				free(e->lits[i][j]);
			free(e->lits[i]);
		}
	free(e->lits);
	free(e->nlits);
	free(e->lithit);
	if (e->re != NULL)
		for (i = 0; i < e->pol->nrules; i++)
			pcre2_code_free(e->re[i]);
	free(e->re);
	pcre2_match_data_free(e->md);
	pcre2_match_context_free(e->mctx);
	mime_result_free(&e->mime);
	mbuf_free(&e->folded);
	free(e->count);
	free(e->hits);
	free(e);
}

void
rules_prefilter(struct policy_engine *e, int on)
{
	e->prefilter = on;
}

const struct policy *
policy_engine_policy(const struct policy_engine *e)
{
	return e->pol;
}

struct mime_result *
policy_engine_mime(struct policy_engine *e)
{
	return &e->mime;
}

void
rules_name(const struct policy_rule *r, char *buf, size_t sz)
{
	static const char	*det[] = { "bsn", "iban", "card" };

	switch (r->type) {
	case POLICY_RULE_KEYWORDS:
		snprintf(buf, sz, "keyword:%s", r->name);
		break;
	case POLICY_RULE_REGEX:
		snprintf(buf, sz, "regex:%s", r->name);
		break;
	case POLICY_RULE_DETECT:
		snprintf(buf, sz, "%s", det[r->detector]);
		break;
	}
}

/* Count matches of rule i's regex, up to what the rule needs. */
static int
regex_run(struct policy_engine *e, size_t i, const char *s, size_t len)
{
	const struct policy_rule *r = &e->pol->rules[i];
	PCRE2_SIZE		*ov;
	PCRE2_SIZE		 off = 0;
	int			 rc;

	while (e->count[i] < (size_t)r->min && off <= len) {
		rc = pcre2_match(e->re[i], (PCRE2_SPTR)s, len, off, 0, e->md,
		    e->mctx);
		if (rc == PCRE2_ERROR_NOMATCH)
			return 0;
		if (rc < 0)
			return -1;	/* limits: fail closed */
		e->count[i]++;
		ov = pcre2_get_ovector_pointer(e->md);
		off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
	}
	return 0;
}

static int
hit_cmp(const void *a, const void *b)
{
	const struct rules_hit	*x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

int
rules_scan(struct policy_engine *e, const struct mime_result *m,
    struct rules_result *res)
{
	const struct policy	*pol = e->pol;
	const struct mbuf	*text[4] = { &m->subject, &m->body, &m->names,
				    &m->headers };
	struct detect_counts	 dc[4];
	size_t			 i, j, n;

	memset(res, 0, sizeof(*res));
	memset(e->count, 0, pol->nrules * sizeof(*e->count));
	memset(e->lithit, 0, pol->nrules * sizeof(*e->lithit));
	memset(dc, 0, sizeof(dc));
	for (j = 0; j < 4; j++) {
		if (text[j]->len == 0)
			continue;
		if (e->ac.npat > 0) {
			e->folded.len = 0;
			rules_fold(&e->folded, text[j]->buf, text[j]->len);
			ac_run(&e->ac, pol, e->folded.buf, e->folded.len,
			    regions[j], e->count, e->lithit);
		}
		if (e->detect[j])
			detect_scan(text[j]->buf, text[j]->len, e->detect[j],
			    &dc[j]);
		for (i = 0; i < pol->nrules; i++) {
			if (e->re[i] == NULL || !(pol->rules[i].in &
			    regions[j]))
				continue;
			/* None of its literals here: it cannot match. */
			if (e->prefilter && e->nlits[i] > 0 &&
			    !(e->lithit[i] & (unsigned int)regions[j]))
				continue;
			if (regex_run(e, i, text[j]->buf, text[j]->len) == -1)
				res->failed = 1;
		}
	}
	for (i = 0; i < pol->nrules; i++) {
		const struct policy_rule *r = &pol->rules[i];

		if (r->type == POLICY_RULE_DETECT) {
			for (j = 0; j < 4; j++) {
				if (!(r->in & regions[j]))
					continue;
				e->count[i] += r->detector ==
				    POLICY_DETECT_BSN ? dc[j].bsn :
				    r->detector == POLICY_DETECT_IBAN ?
				    dc[j].iban : dc[j].card;
			}
		}
	}
	for (i = 0, n = 0; i < pol->nrules; i++)
		if (e->count[i] >= (size_t)pol->rules[i].min) {
			e->hits[n].rule = i;
			e->hits[n].score = pol->rules[i].score;
			res->score += pol->rules[i].score;
			n++;
		}
	qsort(e->hits, n, sizeof(*e->hits), hit_cmp);
	res->hits = e->hits;
	res->nhits = n;
	return res->failed ? -1 : 0;
}
