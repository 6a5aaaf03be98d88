/*
 * hdrfilter.c: the headers that never leave sealrelay (see hdrfilter.h).
 * Pure, no I/O; run by deliveryd (SMTP and Maildir), the queue (DSNs
 * and the subject of notices) and cryptd (the sealed copy).
 *
 * Invariant: only the top-level header is changed, and only by dropping
 * X-Seal-* fields whole and taking triggers out of the Subject; a change
 * never leaves an empty or blank line inside the header (that would end
 * it early and turn the rest into body).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "hdrfilter.h"
#include "util.h"

#define PREFIX_LEN	(sizeof(HDRFILTER_PREFIX) - 1)

enum {
	HF_BOL,			/* at the start of a header line */
	HF_HOLD,		/* reading a field name */
	HF_EMIT,		/* passing the line on */
	HF_DISCARD,		/* dropping it (control field) */
	HF_SUBJ,		/* gathering the Subject field */
	HF_BODY,		/* after the header: everything passes */
};

enum {
	FATE_EMIT,
	FATE_DISCARD,
	FATE_SUBJ,
};

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_eol(char c)
{
	return c == '\r' || c == '\n';
}

int
hdrfilter_is_control(const char *line, size_t len)
{
	return len >= PREFIX_LEN &&
	    strncasecmp(line, HDRFILTER_PREFIX, PREFIX_LEN) == 0;
}

/* Case-insensitive (ASCII) search of n in h[0..hl). */
static char *
find_nocase(char *h, size_t hl, const char *n, size_t nl)
{
	size_t	i;

	if (nl == 0 || nl > hl)
		return NULL;
	for (i = 0; i + nl <= hl; i++)
		if (strncasecmp(h + i, n, nl) == 0)
			return h + i;
	return NULL;
}

/*
 * Remove the triggers from buf[start..*len), with a blank next to each;
 * then, if anything was removed, drop continuation lines left blank.
 */
static size_t
strip_mem(char *buf, size_t *len, size_t start, const char *const *trig,
    size_t ntrig)
{
	char	*p;
	size_t	 i, tl, pos, n = 0, rd, wr, le, ls, k;
	int	 first, blank;

	for (i = 0; i < ntrig; i++) {
		tl = strlen(trig[i]);
		while ((p = find_nocase(buf + start, *len - start, trig[i],
		    tl)) != NULL) {
			pos = (size_t)(p - buf);
			memmove(p, p + tl, *len - pos - tl);
			*len -= tl;
			n++;
			if (pos < *len && is_blank(buf[pos]) &&
			    (pos == start || is_blank(buf[pos - 1]) ||
			    buf[pos - 1] == ':')) {
				memmove(buf + pos, buf + pos + 1,
				    *len - pos - 1);
				(*len)--;
			} else if (pos > start && is_blank(buf[pos - 1]) &&
			    (pos == *len || is_eol(buf[pos]) ||
			    is_blank(buf[pos]))) {
				memmove(buf + pos - 1, buf + pos, *len - pos);
				(*len)--;
			}
		}
	}
	if (n == 0)
		return 0;
	/* Lines of the field after the first: keep those with text. */
	rd = wr = 0;
	first = 1;
	while (rd < *len) {
		ls = rd;
		while (rd < *len && !is_eol(buf[rd]))
			rd++;
		le = rd;
		if (rd < *len && buf[rd] == '\r')
			rd++;
		if (rd < *len && buf[rd] == '\n' && (rd == le ||
		    buf[rd - 1] == '\r'))
			rd++;
		blank = 1;
		for (k = ls; k < le; k++)
			if (!is_blank(buf[k]))
				blank = 0;
		if (first || !blank) {
			memmove(buf + wr, buf + ls, rd - ls);
			wr += rd - ls;
		}
		first = 0;
	}
	*len = wr;
	return n;
}

size_t
hdrfilter_strip_triggers(char *s, const char *const *triggers,
    size_t ntriggers)
{
	size_t	len = strlen(s), n;

	n = strip_mem(s, &len, 0, triggers, ntriggers);
	s[len] = '\0';
	return n;
}

void
hdrfilter_init(struct hdrfilter *f, const char *const *triggers,
    size_t ntriggers, hdrfilter_emit emit, void *arg)
{
	memset(f, 0, sizeof(*f));
	f->triggers = triggers;
	f->ntriggers = ntriggers;
	f->emit = emit;
	f->arg = arg;
	f->state = HF_BOL;
	f->fate = FATE_EMIT;
}

static void
subj_flush(struct hdrfilter *f)
{
	size_t	start, len = f->nsubj;
	char	*colon;

	if (f->fate != FATE_SUBJ)
		return;
	colon = memchr(f->subj, ':', f->nsubj);
	start = colon != NULL ? (size_t)(colon - f->subj) + 1 : 0;
	f->triggers_removed += strip_mem(f->subj, &len, start, f->triggers,
	    f->ntriggers);
	f->emit(f->arg, f->subj, len);
	f->nsubj = 0;
	f->fate = FATE_EMIT;
}

static void
subj_add(struct hdrfilter *f, const char *p, size_t n)
{
	if (f->nsubj + n <= sizeof(f->subj)) {
		memcpy(f->subj + f->nsubj, p, n);
		f->nsubj += n;
		return;
	}
	/* Too long to rewrite: it goes as it is. */
	f->subject_long++;
	f->emit(f->arg, f->subj, f->nsubj);
	f->nsubj = 0;
	f->emit(f->arg, p, n);
	f->fate = FATE_EMIT;
	if (f->state == HF_SUBJ)
		f->state = HF_EMIT;
}

/* The bytes of a line of the current field, by its fate. */
static void
to_fate(struct hdrfilter *f, const char *p, size_t n)
{
	switch (f->fate) {
	case FATE_EMIT:
		f->emit(f->arg, p, n);
		break;
	case FATE_DISCARD:
		f->drops++;
		break;
	case FATE_SUBJ:
		subj_add(f, p, n);
		break;
	}
}

/* A Subject field: "Subject", blanks, ":". */
static int
is_subject(const char *h, size_t n)
{
	if (n < 8 || h[n - 1] != ':' || strncasecmp(h, "Subject", 7) != 0)
		return 0;
	for (n--; n > 7; n--)
		if (!is_blank(h[n - 1]))
			return 0;
	return 1;
}

/* The field name in hold is complete (or as long as we look). */
static void
classify(struct hdrfilter *f)
{
	if (hdrfilter_is_control(f->hold, f->nhold)) {
		f->fate = FATE_DISCARD;
		f->removed++;
		f->state = HF_DISCARD;
	} else if (f->ntriggers > 0 && is_subject(f->hold, f->nhold)) {
		f->fate = FATE_SUBJ;
		f->state = HF_SUBJ;
		f->nsubj = 0;
		subj_add(f, f->hold, f->nhold);
	} else {
		f->fate = FATE_EMIT;
		f->state = HF_EMIT;
		f->emit(f->arg, f->hold, f->nhold);
	}
	f->nhold = 0;
}

void
hdrfilter_add(struct hdrfilter *f, const char *in, size_t len)
{
	size_t	i = 0, start;
	char	c;

	while (i < len) {
		if (f->state == HF_BODY) {
			f->emit(f->arg, in + i, len - i);
			return;
		}
		c = in[i];
		if (f->cr) {
			/* The LF of a CRLF goes where its CR went. */
			f->cr = 0;
			if (c == '\n') {
				to_fate(f, in + i, 1);
				i++;
				continue;
			}
		}
		if (is_eol(c)) {
			if (f->state == HF_BOL) {
				/* The empty line: the end of the header. */
				subj_flush(f);
				f->state = HF_BODY;
				continue;
			}
			if (f->state == HF_HOLD)
				classify(f);
			to_fate(f, in + i, 1);
			f->cr = c == '\r';
			f->state = HF_BOL;
			i++;
			continue;
		}
		switch (f->state) {
		case HF_BOL:
			if (is_blank(c)) {
				/* A continuation goes with its field. */
				f->state = f->fate == FATE_EMIT ? HF_EMIT :
				    f->fate == FATE_SUBJ ? HF_SUBJ :
				    HF_DISCARD;
				break;
			}
			subj_flush(f);
			f->state = HF_HOLD;
			f->nhold = 0;
			/* FALLTHROUGH */
		case HF_HOLD:
			f->hold[f->nhold++] = c;
			i++;
			if (c == ':' || f->nhold == sizeof(f->hold) ||
			    (f->nhold == PREFIX_LEN &&
			    hdrfilter_is_control(f->hold, f->nhold)))
				classify(f);
			break;
		case HF_EMIT:
		case HF_DISCARD:
		case HF_SUBJ:
			start = i;
			while (i < len && !is_eol(in[i]))
				i++;
			to_fate(f, in + start, i - start);
			break;
		}
	}
}

void
hdrfilter_finish(struct hdrfilter *f)
{
	if (f->state == HF_HOLD)
		classify(f);
	subj_flush(f);
}

struct grow {
	char	*buf;
	size_t	 len, cap;
};

static void
grow_emit(void *arg, const char *p, size_t n)
{
	struct grow	*g = arg;

	if (g->len + n > g->cap) {
		while (g->len + n > g->cap)
			g->cap = g->cap ? g->cap * 2 : 256;
		g->buf = xreallocarray(g->buf, 1, g->cap);
	}
	memcpy(g->buf + g->len, p, n);
	g->len += n;
}

char *
hdrfilter_buf(const char *in, size_t len, const char *const *triggers,
    size_t ntriggers, size_t *outlen)
{
	struct hdrfilter	*f;
	struct grow		 g;

	memset(&g, 0, sizeof(g));
	g.cap = len + 1;
	g.buf = xmalloc(g.cap);
	f = xmalloc(sizeof(*f));
	hdrfilter_init(f, triggers, ntriggers, grow_emit, &g);
	hdrfilter_add(f, in, len);
	hdrfilter_finish(f);
	free(f);
	*outlen = g.len;
	return g.buf;
}

const char **
hdrfilter_config_triggers(const struct config *cfg, size_t *n)
{
	const struct policy	*pol;
	const char		**v = NULL;
	size_t			 i, j;

	*n = 0;
	TAILQ_FOREACH(pol, &cfg->policies, entry) {
		for (i = 0; i < pol->ntriggers; i++) {
			for (j = 0; j < *n; j++)
				if (strcasecmp(v[j], pol->triggers[i].text) ==
				    0)
					break;
			if (j < *n)
				continue;
			v = xreallocarray(v, *n + 1, sizeof(*v));
			v[(*n)++] = pol->triggers[i].text;
		}
	}
	return v;
}
