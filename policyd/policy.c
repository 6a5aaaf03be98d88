/*
 * policy.c: from a scanned message to one decision per recipient (see
 * policy.h): thresholds, subject triggers, the X-Seal-* directives of
 * sealrelay-headers(7), allowlists and phone numbers.
 *
 * Run by policyd for each message, and by smtpctl policy test.  Pure.
 * Invariants: directives count only from a trusted sender (an
 * authenticated user, or a listener with trust-headers); they may always
 * raise the level, and lower it below what the content rules demand only
 * for senders in the policy's downgrade table; reject and quarantine are
 * never lowered, by directives or allowlists; several directives resolve
 * to the most secure; a message that cannot be scanned gets the
 * strongest decision the policy can give short of a reject.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

#define MAX_PHONES	64

struct directives {
	int		 present;	/* any X-Seal-* header seen */
	int		 level;		/* -1: none */
	int		 expires;
	int		 notify_read;
	char		 language[4];
	struct {
		char	 rcpt[256];
		char	 phone[32];
	} phones[MAX_PHONES];
	size_t		 nphones;
	char		 bad[128];	/* the first malformed one */
};

const char *
policy_level_name(enum policy_level l)
{
	switch (l) {
	case POLICY_RELAY:
		return "relay";
	case POLICY_RELAY_VERIFY:
		return "relay-verify";
	case POLICY_SECURE_1FA:
		return "secure-1fa";
	case POLICY_SECURE_2FA:
		return "secure-2fa";
	case POLICY_QUARANTINE:
		return "quarantine";
	case POLICY_REJECT:
		return "reject";
	}
	return "?";
}

static void
append(char *buf, size_t sz, const char *s)
{
	if (buf[0] != '\0')
		(void)strlcat(buf, ",", sz);
	(void)strlcat(buf, s, sz);
}

static void
note(char *buf, size_t sz, const char *s)
{
	if (buf[0] != '\0')
		(void)strlcat(buf, "; ", sz);
	(void)strlcat(buf, s, sz);
}

/* +E.164: a plus and 8 to 15 digits. */
static int
valid_phone(const char *s)
{
	size_t	n;

	if (*s++ != '+')
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (!isdigit((unsigned char)s[n]))
			return 0;
	return n >= 8 && n <= 15;
}

static void
directive_bad(struct directives *d, const char *name)
{
	if (d->bad[0] == '\0')
		snprintf(d->bad, sizeof(d->bad), "malformed %s", name);
}

static void
directive(struct directives *d, const char *name, size_t nl,
    const char *v, size_t vl)
{
	char		 val[320], *sp;
	const char	*errstr;
	int		 lv = -1, n;

	d->present = 1;
	if (vl >= sizeof(val)) {
		directive_bad(d, name);
		return;
	}
	memcpy(val, v, vl);
	val[vl] = '\0';
	if (nl == strlen(POLICY_HDR_SECURITY) &&
	    strncasecmp(name, POLICY_HDR_SECURITY, nl) == 0) {
		if (strcasecmp(val, "none") == 0)
			lv = POLICY_RELAY;
		else if (strcasecmp(val, "tls") == 0)
			lv = POLICY_RELAY_VERIFY;
		else if (strcasecmp(val, "1fa") == 0)
			lv = POLICY_SECURE_1FA;
		else if (strcasecmp(val, "2fa") == 0)
			lv = POLICY_SECURE_2FA;
		else {
			directive_bad(d, POLICY_HDR_SECURITY);
			return;
		}
		if (lv > d->level)
			d->level = lv;
	} else if (nl == strlen(POLICY_HDR_PHONE) &&
	    strncasecmp(name, POLICY_HDR_PHONE, nl) == 0) {
		if ((sp = strchr(val, ' ')) == NULL ||
		    d->nphones == MAX_PHONES) {
			directive_bad(d, POLICY_HDR_PHONE);
			return;
		}
		*sp++ = '\0';
		while (*sp == ' ')
			sp++;
		if (strchr(val, '@') == NULL || !valid_phone(sp) ||
		    strlen(val) >= sizeof(d->phones[0].rcpt)) {
			directive_bad(d, POLICY_HDR_PHONE);
			return;
		}
		(void)strlcpy(d->phones[d->nphones].rcpt, val,
		    sizeof(d->phones[0].rcpt));
		(void)strlcpy(d->phones[d->nphones].phone, sp,
		    sizeof(d->phones[0].phone));
		d->nphones++;
	} else if (nl == strlen(POLICY_HDR_EXPIRES) &&
	    strncasecmp(name, POLICY_HDR_EXPIRES, nl) == 0) {
		n = (int)strtonum(val, 1, POLICY_EXPIRES_MAX, &errstr);
		if (errstr != NULL) {
			directive_bad(d, POLICY_HDR_EXPIRES);
			return;
		}
		/* Several: the shortest keeps the data shortest. */
		if (d->expires == 0 || n < d->expires)
			d->expires = n;
	} else if (nl == strlen(POLICY_HDR_NOTIFY_READ) &&
	    strncasecmp(name, POLICY_HDR_NOTIFY_READ, nl) == 0) {
		if (strcasecmp(val, "yes") == 0)
			d->notify_read = 1;
		else if (strcasecmp(val, "no") == 0) {
			if (d->notify_read != 1)
				d->notify_read = 0;
		} else
			directive_bad(d, POLICY_HDR_NOTIFY_READ);
	} else if (nl == strlen(POLICY_HDR_LANGUAGE) &&
	    strncasecmp(name, POLICY_HDR_LANGUAGE, nl) == 0) {
		if (strcasecmp(val, "nl") == 0 || strcasecmp(val, "en") == 0) {
			d->language[0] = (char)tolower((unsigned char)val[0]);
			d->language[1] = (char)tolower((unsigned char)val[1]);
			d->language[2] = '\0';
		} else
			directive_bad(d, POLICY_HDR_LANGUAGE);
	} else
		directive_bad(d, "X-Seal-* header");
}

/* The decoded top-level headers: "Name: value\n" lines. */
static void
directives_read(const struct mbuf *h, struct directives *d)
{
	const char	*s = h->buf, *end = h->buf + h->len, *nl, *colon;
	const char	*v, *ve;

	memset(d, 0, sizeof(*d));
	d->level = -1;
	d->notify_read = -1;
	while (s != NULL && s < end) {
		nl = memchr(s, '\n', end - s);
		if (nl == NULL)
			nl = end;
		if (nl - s > 7 && strncasecmp(s, "X-Seal-", 7) == 0 &&
		    (colon = memchr(s, ':', nl - s)) != NULL) {
			for (v = colon + 1; v < nl && (*v == ' ' ||
			    *v == '\t'); v++)
				;
			for (ve = nl; ve > v && (ve[-1] == ' ' ||
			    ve[-1] == '\t' || ve[-1] == '\r'); ve--)
				;
			directive(d, s, colon - s, v, ve - v);
		}
		s = nl + 1;
	}
}

static int
rcpt_listed(const struct table *t, const char *rcpt)
{
	const char	*at;

	if (t == NULL)
		return 0;
	if (table_has_address(t, rcpt))
		return 1;
	return (at = strrchr(rcpt, '@')) != NULL &&
	    table_has_nocase(t, at + 1);
}

/* Case-insensitive search of an ASCII trigger in the UTF-8 subject. */
static int
subject_has(const struct mbuf *subj, const char *trig)
{
	return subj->len > 0 && strcasestr(subj->buf, trig) != NULL;
}

/* The strongest decision the policy itself can give, short of reject. */
static int
policy_max_level(const struct policy *pol)
{
	size_t	i;
	int	lv = POLICY_RELAY;

	for (i = 0; i < pol->nthresholds; i++)
		if (pol->thresholds[i].level != POLICY_REJECT &&
		    (int)pol->thresholds[i].level > lv)
			lv = pol->thresholds[i].level;
	for (i = 0; i < pol->ntriggers; i++)
		if (pol->triggers[i].level != POLICY_REJECT &&
		    (int)pol->triggers[i].level > lv)
			lv = pol->triggers[i].level;
	return lv;
}

int
policy_evaluate(struct policy_engine *e, const struct policy_input *in,
    const uint8_t *msg, size_t len, const char *const *rcpts,
    struct policy_verdict *v, size_t nrcpt)
{
	const struct policy	*pol = policy_engine_policy(e);
	struct mime_result	*m = policy_engine_mime(e);
	struct rules_result	 rr;
	struct directives	 d;
	char			 content[POLICY_RULES_MAX], name[128];
	char			 notes[POLICY_NOTES_MAX], extra[160];
	const char		*reject_text = NULL, *phone;
	size_t			 i, j;
	int			 level, trig = -1, trusted, lower = 0;
	int			 failed = 0, lv;

	content[0] = notes[0] = '\0';
	memset(&rr, 0, sizeof(rr));
	if (mime_decode(m, msg, len) == MIME_UNSCANNABLE) {
		failed = 1;
		snprintf(extra, sizeof(extra), "unscannable: %s", m->why);
		note(notes, sizeof(notes), extra);
	} else if (rules_scan(e, m, &rr) == -1) {
		failed = 1;
		note(notes, sizeof(notes), "unscannable: a regex hit its "
		    "match limit");
	} else if (m->status == MIME_PARTIAL) {
		snprintf(extra, sizeof(extra), "malformed MIME: %s", m->why);
		note(notes, sizeof(notes), extra);
	}

	/* The content's level: the strongest threshold reached. */
	level = POLICY_RELAY;
	if (failed) {
		level = policy_max_level(pol);
		append(content, sizeof(content), "unscannable");
	} else {
		for (i = 0; i < rr.nhits; i++) {
			rules_name(&pol->rules[rr.hits[i].rule], name,
			    sizeof(name));
			snprintf(extra, sizeof(extra), "%s(%d)", name,
			    rr.hits[i].score);
			append(content, sizeof(content), extra);
		}
		for (i = 0; i < pol->nthresholds; i++)
			if (rr.score >= pol->thresholds[i].score &&
			    (int)pol->thresholds[i].level >= level) {
				level = pol->thresholds[i].level;
				if (level == POLICY_REJECT)
					reject_text = pol->thresholds[i].text;
			}
	}
	for (i = 0; i < pol->ntriggers; i++)
		if (subject_has(&m->subject, pol->triggers[i].text) &&
		    (int)pol->triggers[i].level > trig) {
			trig = pol->triggers[i].level;
			snprintf(extra, sizeof(extra), "trigger:%s",
			    pol->triggers[i].text);
			append(content, sizeof(content), extra);
		}

	/* Directives, from trusted senders only. */
	directives_read(&m->headers, &d);
	trusted = (in->auth_user != NULL && in->auth_user[0] != '\0') ||
	    in->trust_headers;
	if (d.present && !trusted) {
		note(notes, sizeof(notes), "X-Seal-* directives ignored: "
		    "sender not trusted");
		memset(&d, 0, sizeof(d));
		d.level = -1;
		d.notify_read = -1;
	} else if (d.bad[0] != '\0') {
		snprintf(extra, sizeof(extra), "ignored %s", d.bad);
		note(notes, sizeof(notes), extra);
	}
	if (d.level >= 0 && pol->downgrade != NULL &&
	    ((in->auth_user != NULL && in->auth_user[0] != '\0' &&
	    table_has(pol->downgrade, in->auth_user)) ||
	    (in->sender != NULL && in->sender[0] != '\0' &&
	    table_has_address(pol->downgrade, in->sender))))
		lower = 1;

	for (j = 0; j < nrcpt; j++) {
		memset(&v[j], 0, sizeof(v[j]));
		v[j].score = rr.score;
		v[j].notify_read = d.notify_read;
		v[j].expires = d.expires;
		(void)strlcpy(v[j].language, d.language,
		    sizeof(v[j].language));
		(void)strlcpy(v[j].rules, content, sizeof(v[j].rules));
		(void)strlcpy(v[j].notes, notes, sizeof(v[j].notes));
		lv = level;
		if (lv >= POLICY_RELAY_VERIFY && lv <= POLICY_SECURE_2FA &&
		    rcpt_listed(pol->allow, rcpts[j])) {
			lv = POLICY_RELAY;
			append(v[j].rules, sizeof(v[j].rules), "allow");
		}
		if (d.level >= 0) {
			snprintf(extra, sizeof(extra), "header:%s",
			    policy_level_name(d.level));
			append(v[j].rules, sizeof(v[j].rules), extra);
			if (lower && lv <= POLICY_SECURE_2FA) {
				if (d.level < lv)
					append(v[j].rules,
					    sizeof(v[j].rules), "downgrade");
				lv = d.level;
			} else if (d.level > lv)
				lv = d.level;
		}
		if (trig > lv)
			lv = trig;
		v[j].level = lv;
		if (lv == POLICY_REJECT)
			(void)strlcpy(v[j].text, reject_text != NULL ?
			    reject_text : "550 5.7.1 Message refused by "
			    "content policy", sizeof(v[j].text));
		phone = NULL;
		for (i = 0; i < d.nphones; i++)
			if (table_address_equal(d.phones[i].rcpt, rcpts[j]))
				phone = d.phones[i].phone;
		if (phone == NULL && pol->phones != NULL)
			phone = table_get(pol->phones, rcpts[j]);
		if (phone != NULL && valid_phone(phone))
			(void)strlcpy(v[j].phone, phone, sizeof(v[j].phone));
		else if (lv == POLICY_SECURE_2FA)
			note(v[j].notes, sizeof(v[j].notes), "no phone number "
			    "for 2fa");
	}
	return failed ? -1 : 0;
}
