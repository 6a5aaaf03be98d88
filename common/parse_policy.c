/*
 * parse_policy.c: policy NAME { ... } blocks of smtpd.conf(5): keyword,
 * regex and detect rules, tables, triggers and thresholds, their end-of-
 * file resolution (resolve_policy) and policy_free().
 *
 * Runs in every process that calls config_parse(); no I/O, no messages.
 * Invariant: an error inside a block skips the rest of its line only, so
 * every error of a block is reported; a regex is compiled here to be
 * checked, and policyd compiles it again for use.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH	8
#include <pcre2.h>

#include "config.h"
#include "util.h"
#include "parse_int.h"

/*
 * policy NAME { ... }: one statement a line inside the braces.  An error
 * skips the rest of its line only, so every error of a block is
 * reported.
 */
static const struct {
	const char		*word;
	enum policy_level	 level;
} policy_levels[] = {
	{ "relay", POLICY_RELAY },
	{ "verify", POLICY_RELAY_VERIFY },
	{ "1fa", POLICY_SECURE_1FA },
	{ "2fa", POLICY_SECURE_2FA },
	{ "quarantine", POLICY_QUARANTINE },
	{ "reject", POLICY_REJECT },
};

static int
policy_at_eol(struct parser *p)
{
	enum token_type	type = peek(p)->type;

	return type == T_NL || type == T_EOF || type == T_RBRACE;
}

/* Skip to the end of the line, or to the "}" closing the block. */
static void
policy_skip_line(struct parser *p, int depth)
{
	struct token	*t;

	p->skipping = 1;
	for (;;) {
		t = peek(p);
		if (t->type == T_EOF)
			break;
		if (t->type == T_RBRACE && p->lx->braces < depth)
			break;
		if (t->type == T_NL && p->lx->braces == depth) {
			advance(p);
			break;
		}
		advance(p);
	}
	p->skipping = 0;
}

static int
policy_int(struct parser *p, const char *what, int min, int max, int *out)
{
	const char	*errstr;
	char		*v, buf[96];
	int		 line = peek(p)->line;

	snprintf(buf, sizeof(buf), "a number after \"%s\"", what);
	if (get_value(p, buf, &v) == -1)
		return -1;
	*out = (int)strtonum(v, min, max, &errstr);
	if (errstr != NULL) {
		perr(p, line, "%s \"%s\" is %s (must be %d to %d)", what, v,
		    errstr, min, max);
		free(v);
		return -1;
	}
	free(v);
	return 0;
}

/* secure 1fa|2fa, relay [verify], quarantine, reject */
static int
policy_level(struct parser *p, const char *first, enum policy_level *lv)
{
	struct token	*t;
	size_t		 i;

	if (strcmp(first, "quarantine") == 0) {
		*lv = POLICY_QUARANTINE;
		return 0;
	}
	if (strcmp(first, "reject") == 0) {
		*lv = POLICY_REJECT;
		return 0;
	}
	if (strcmp(first, "relay") == 0) {
		*lv = tok_accept(p, "verify") ? POLICY_RELAY_VERIFY :
		    POLICY_RELAY;
		return 0;
	}
	if (strcmp(first, "secure") != 0) {
		perr(p, peek(p)->line, "unknown decision \"%s\" (expected "
		    "relay, relay verify, secure 1fa, secure 2fa, "
		    "quarantine or reject)", first);
		return -1;
	}
	t = peek(p);
	for (i = 0; t->type == T_WORD && i < nitems(policy_levels); i++)
		if ((policy_levels[i].level == POLICY_SECURE_1FA ||
		    policy_levels[i].level == POLICY_SECURE_2FA) &&
		    strcmp(t->s, policy_levels[i].word) == 0) {
			*lv = policy_levels[i].level;
			advance(p);
			return 0;
		}
	unexpected(p, "1fa or 2fa after \"secure\"");
	return -1;
}

/* [in WHERE ...] [min N] score N, in any order. */
static int
policy_rule_opts(struct parser *p, struct policy_rule *r)
{
	struct token	*t;
	int		 seen_score = 0, n;

	r->in = POLICY_IN_SUBJECT | POLICY_IN_BODY;
	r->min = 1;
	while (!policy_at_eol(p)) {
		t = peek(p);
		if (t->type != T_WORD) {
			unexpected(p, "in, min or score");
			return -1;
		}
		if (tok_accept(p, "in")) {
			r->in = 0;
			for (n = 0;; n++) {
				if (tok_accept(p, "subject"))
					r->in |= POLICY_IN_SUBJECT;
				else if (tok_accept(p, "body"))
					r->in |= POLICY_IN_BODY;
				else if (tok_accept(p, "attachments"))
					r->in |= POLICY_IN_ATTACHMENTS;
				else if (tok_accept(p, "headers"))
					r->in |= POLICY_IN_HEADERS;
				else
					break;
				if (peek(p)->type == T_COMMA)
					advance(p);
			}
			if (n == 0) {
				unexpected(p, "subject, body, attachments or "
				    "headers after \"in\"");
				return -1;
			}
		} else if (tok_accept(p, "min")) {
			if (policy_int(p, "min", 1, 100000, &r->min) == -1)
				return -1;
		} else if (tok_accept(p, "score")) {
			if (policy_int(p, "score", 0, 1000000, &r->score) ==
			    -1)
				return -1;
			seen_score = 1;
		} else {
			perr(p, t->line, "unknown rule option \"%s\" "
			    "(expected in, min or score)", t->s);
			return -1;
		}
	}
	if (!seen_score) {
		perr(p, r->line, "rule needs a score");
		return -1;
	}
	return 0;
}

static struct policy_rule *
policy_rule_new(struct parser *p, struct policy *pol, enum policy_rule_type
    type, int line)
{
	struct policy_rule	*r;

	pol->rules = xreallocarray(pol->rules, pol->nrules + 1,
	    sizeof(*pol->rules));
	r = &pol->rules[pol->nrules++];
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->file = p->lx->file;
	r->line = line;
	return r;
}

static int
policy_rule_name(struct parser *p, struct policy *pol, const char *kw,
    struct policy_rule *r)
{
	size_t	i;
	char	buf[64];

	snprintf(buf, sizeof(buf), "%s name", kw);
	if (get_name(p, buf, &r->name) == -1)
		return -1;
	for (i = 0; i + 1 < pol->nrules; i++)
		if (pol->rules[i].type == r->type &&
		    pol->rules[i].name != NULL &&
		    strcmp(pol->rules[i].name, r->name) == 0) {
			perr(p, r->line, "%s \"%s\" is defined twice in "
			    "policy \"%s\"", kw, r->name, pol->name);
			return -1;
		}
	return 0;
}

/* keywords NAME { "word", "two words", ... } | keywords NAME <table> */
static int
policy_keywords(struct parser *p, struct policy *pol, int line)
{
	struct policy_rule	*r;
	struct token		*t;
	char			*w;

	r = policy_rule_new(p, pol, POLICY_RULE_KEYWORDS, line);
	if (policy_rule_name(p, pol, "keywords", r) == -1)
		return -1;
	t = peek(p);
	if (t->type == T_TABLE) {
		w = take(p);
		/* pol->rules moves as it grows: keep the index. */
		add_fixup(p, FIX_POLICY_WORDS, pol, w, line);
		TAILQ_LAST(&p->fixups, fixuplist)->idx = pol->nrules - 1;
		free(w);
		r->nwords = 0;
		return policy_rule_opts(p, r);
	}
	if (t->type != T_LBRACE) {
		unexpected(p, "\"{\" or <table> after the keywords name");
		return -1;
	}
	advance(p);
	for (;;) {
		t = peek(p);
		if (t->type == T_NL || t->type == T_COMMA) {
			advance(p);
			continue;
		}
		if (t->type == T_RBRACE) {
			advance(p);
			break;
		}
		if (t->type == T_EOF) {
			perr(p, line, "keywords \"%s\": missing \"}\"",
			    r->name);
			return -1;
		}
		if (get_value(p, "a keyword or \"}\"", &w) == -1)
			return -1;
		if (*w == '\0' || strspn(w, " \t") == strlen(w)) {
			perr(p, t->line, "keywords \"%s\": empty keyword",
			    r->name);
			free(w);
			return -1;
		}
		r->words = xreallocarray(r->words, r->nwords + 1,
		    sizeof(*r->words));
		r->words[r->nwords++] = w;
	}
	if (r->nwords == 0) {
		perr(p, line, "keywords \"%s\" is empty", r->name);
		return -1;
	}
	return policy_rule_opts(p, r);
}

/* regex NAME "PATTERN" ...: compiled here once, to report errors. */
static int
policy_regex(struct parser *p, struct policy *pol, int line)
{
	struct policy_rule	*r;
	pcre2_code		*re;
	PCRE2_UCHAR		 msg[256];
	PCRE2_SIZE		 off;
	int			 err;

	r = policy_rule_new(p, pol, POLICY_RULE_REGEX, line);
	if (policy_rule_name(p, pol, "regex", r) == -1)
		return -1;
	if (get_value(p, "a pattern after the regex name", &r->pattern) ==
	    -1)
		return -1;
	re = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);
	if (re == NULL) {
		if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
			(void)strlcpy((char *)msg, "error", sizeof(msg));
		perr(p, line, "regex \"%s\": %s at offset %zu", r->name,
		    (char *)msg, (size_t)off);
		return -1;
	}
	pcre2_code_free(re);
	return policy_rule_opts(p, r);
}

/* detect bsn|iban|card ... */
static int
policy_detect(struct parser *p, struct policy *pol, int line)
{
	static const char	*names[] = { "bsn", "iban", "card" };
	struct policy_rule	*r;
	struct token		*t;
	size_t			 i;

	r = policy_rule_new(p, pol, POLICY_RULE_DETECT, line);
	t = peek(p);
	for (i = 0; t->type == T_WORD && i < nitems(names); i++)
		if (strcmp(t->s, names[i]) == 0)
			break;
	if (t->type != T_WORD || i == nitems(names)) {
		pol->nrules--;
		if (t->type == T_WORD)
			perr(p, line, "unknown detector \"%s\" (expected "
			    "bsn, iban or card)", t->s);
		else
			unexpected(p, "bsn, iban or card after \"detect\"");
		return -1;
	}
	advance(p);
	r->detector = (enum policy_detector)i;
	for (i = 0; i + 1 < pol->nrules; i++)
		if (pol->rules[i].type == POLICY_RULE_DETECT &&
		    pol->rules[i].detector == r->detector) {
			perr(p, line, "detect %s is given twice in policy "
			    "\"%s\"", names[r->detector], pol->name);
			return -1;
		}
	return policy_rule_opts(p, r);
}

/* allow <T> | phones <T> | downgrade from <T> */
static int
policy_tableref(struct parser *p, struct policy *pol, const char *kw,
    int line)
{
	struct table	**dst;
	char		 *name;
	int		  map = 0;

	if (strcmp(kw, "allow") == 0)
		dst = &pol->allow;
	else if (strcmp(kw, "phones") == 0) {
		dst = &pol->phones;
		map = 1;
	} else {
		dst = &pol->downgrade;
		if (!tok_accept(p, "from")) {
			unexpected(p, "\"from\" after \"downgrade\"");
			return -1;
		}
	}
	if (get_tableref(p, kw, &name) == -1)
		return -1;
	add_fixup(p, map ? FIX_POLICY_MAP : FIX_POLICY_TABLE, dst, name,
	    line);
	free(name);
	return 0;
}

/* trigger "TEXT" DECISION */
static int
policy_trigger(struct parser *p, struct policy *pol, int line)
{
	struct policy_trigger	 tr;
	char			*w;

	memset(&tr, 0, sizeof(tr));
	if (get_value(p, "the trigger text", &tr.text) == -1)
		return -1;
	if (tr.text[0] == '\0') {
		perr(p, line, "empty trigger");
		free(tr.text);
		return -1;
	}
	if (get_value(p, "a decision after the trigger text", &w) == -1) {
		free(tr.text);
		return -1;
	}
	if (policy_level(p, w, &tr.level) == -1) {
		free(w);
		free(tr.text);
		return -1;
	}
	free(w);
	pol->triggers = xreallocarray(pol->triggers, pol->ntriggers + 1,
	    sizeof(*pol->triggers));
	pol->triggers[pol->ntriggers++] = tr;
	return 0;
}

/* DECISION ["reject text"] when score >= N */
static int
policy_threshold(struct parser *p, struct policy *pol, const char *kw,
    int line)
{
	struct policy_threshold	 th;
	struct token		*t;

	memset(&th, 0, sizeof(th));
	if (policy_level(p, kw, &th.level) == -1)
		return -1;
	t = peek(p);
	if (th.level == POLICY_REJECT && t->type == T_STRING)
		th.text = take(p);
	if (!tok_accept(p, "when") || !tok_accept(p, "score") ||
	    !tok_accept(p, ">=")) {
		unexpected(p, "\"when score >= N\"");
		free(th.text);
		return -1;
	}
	if (policy_int(p, "score", 0, 1000000, &th.score) == -1) {
		free(th.text);
		return -1;
	}
	pol->thresholds = xreallocarray(pol->thresholds,
	    pol->nthresholds + 1, sizeof(*pol->thresholds));
	pol->thresholds[pol->nthresholds++] = th;
	return 0;
}

static int
policy_statement(struct parser *p, struct policy *pol, const char *kw,
    int line)
{
	if (strcmp(kw, "keywords") == 0)
		return policy_keywords(p, pol, line);
	if (strcmp(kw, "regex") == 0)
		return policy_regex(p, pol, line);
	if (strcmp(kw, "detect") == 0)
		return policy_detect(p, pol, line);
	if (strcmp(kw, "allow") == 0 || strcmp(kw, "phones") == 0 ||
	    strcmp(kw, "downgrade") == 0)
		return policy_tableref(p, pol, kw, line);
	if (strcmp(kw, "trigger") == 0)
		return policy_trigger(p, pol, line);
	if (strcmp(kw, "secure") == 0 || strcmp(kw, "relay") == 0 ||
	    strcmp(kw, "quarantine") == 0 || strcmp(kw, "reject") == 0)
		return policy_threshold(p, pol, kw, line);
	perr(p, line, "unknown policy statement \"%s\" (expected keywords, "
	    "regex, detect, allow, phones, downgrade, trigger, secure, "
	    "relay, quarantine or reject)", kw);
	return -1;
}

int
parse_policy(struct parser *p, int line)
{
	struct policy	*pol;
	struct token	*t;
	char		*name, *kw, buf[128];
	int		 depth, sline;

	if (get_name(p, "policy name", &name) == -1)
		return -1;
	if (config_policy(p->conf, name) != NULL) {
		perr(p, line, "policy \"%s\" is defined twice", name);
		free(name);
		return -1;
	}
	if (peek(p)->type != T_LBRACE) {
		unexpected(p, "\"{\" after the policy name");
		free(name);
		return -1;
	}
	advance(p);
	depth = p->lx->braces;
	pol = xcalloc(1, sizeof(*pol));
	pol->name = name;
	pol->file = p->lx->file;
	pol->line = line;
	/* Even with errors: later references must not fail again. */
	TAILQ_INSERT_TAIL(&p->conf->policies, pol, entry);
	for (;;) {
		t = peek(p);
		if (t->type == T_NL) {
			advance(p);
			continue;
		}
		if (t->type == T_RBRACE) {
			advance(p);
			return 0;
		}
		if (t->type == T_EOF) {
			perr(p, line, "policy \"%s\": missing \"}\"", name);
			return -1;
		}
		sline = t->line;
		if (t->type != T_WORD) {
			if (t->type != T_ERR)
				perr(p, sline, "expected a policy statement, "
				    "got %s", tok_desc(t, buf, sizeof(buf)));
			policy_skip_line(p, depth);
			continue;
		}
		kw = take(p);
		if (policy_statement(p, pol, kw, sline) == -1) {
			free(kw);
			policy_skip_line(p, depth);
			continue;
		}
		free(kw);
		if (!policy_at_eol(p)) {
			t = peek(p);
			if (t->type != T_ERR)
				perr(p, t->line, "unexpected %s",
				    tok_desc(t, buf, sizeof(buf)));
			policy_skip_line(p, depth);
		}
	}
}

void
resolve_policy(struct parser *p, struct fixup *f)
{
	struct policy_rule	*r;
	struct table		*t;
	size_t			 i;

	if ((t = config_table(p->conf, f->name)) == NULL) {
		perr_at(p, f->file, f->line, "table \"%s\" is not defined",
		    f->name);
		return;
	}
	switch (f->kind) {
	case FIX_POLICY_MAP:
		if (t->kind != TABLE_MAP && t->nent > 0) {
			perr_at(p, f->file, f->line, "table \"%s\" must map "
			    "recipients to phone numbers", f->name);
			return;
		}
		*(struct table **)f->obj = t;
		break;
	case FIX_POLICY_TABLE:
		*(struct table **)f->obj = t;
		break;
	case FIX_POLICY_WORDS:
		r = &((struct policy *)f->obj)->rules[f->idx];
		if (t->nent == 0) {
			perr_at(p, f->file, f->line, "keywords \"%s\": table "
			    "\"%s\" is empty", r->name, f->name);
			return;
		}
		r->words = xreallocarray(NULL, t->nent, sizeof(*r->words));
		for (i = 0; i < t->nent; i++)
			r->words[i] = xstrdup(t->ent[i].key);
		r->nwords = t->nent;
		break;
	default:
		break;
	}
}

void
policy_free(struct policy *pol)
{
	size_t	i, j;

	for (i = 0; i < pol->nrules; i++) {
		free(pol->rules[i].name);
		for (j = 0; j < pol->rules[i].nwords; j++)
			free(pol->rules[i].words[j]);
		free(pol->rules[i].words);
		free(pol->rules[i].pattern);
	}
	free(pol->rules);
	for (i = 0; i < pol->nthresholds; i++)
		free(pol->thresholds[i].text);
	free(pol->thresholds);
	for (i = 0; i < pol->ntriggers; i++)
		free(pol->triggers[i].text);
	free(pol->triggers);
	free(pol->name);
	free(pol);
}
