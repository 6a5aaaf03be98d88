/*
 * policy.h: the content policy engine: from the bytes of a message, its
 * envelope and a policy of smtpd.conf(5), one decision per recipient
 * with the rules that made it.
 *
 * Pure: no I/O, no logging, no global state but the engine the caller
 * owns; policyd (policy_message.c) and smtpctl policy test call
 * policy_evaluate().  rules.c compiles and runs the rules (keywords in
 * one Aho-Corasick pass over case-folded text, PCRE2 JIT regexes, the
 * detectors); policy.c reads the header directives and turns scores into
 * decisions.
 */
#ifndef SEAL_POLICY_H
#define SEAL_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "mime.h"

#define POLICY_RULES_MAX	512		/* "rule(score),..." */
#define POLICY_NOTES_MAX	256
#define POLICY_TEXT_MAX		256
#define POLICY_MATCH_LIMIT	10000000	/* PCRE2 steps per match */

/* Directive headers an application may set (sealrelay-headers(7)). */
#define POLICY_HDR_SECURITY	"X-Seal-Security"
#define POLICY_HDR_PHONE	"X-Seal-Phone"
#define POLICY_HDR_EXPIRES	"X-Seal-Expires"
#define POLICY_HDR_NOTIFY_READ	"X-Seal-Notify-Read"
#define POLICY_HDR_LANGUAGE	"X-Seal-Language"
#define POLICY_EXPIRES_MAX	365		/* days */

struct policy_engine;

struct policy_input {
	const char	*auth_user;	/* NULL or "" if not authenticated */
	const char	*sender;	/* envelope sender, "" for <> */
	int		 trust_headers;	/* the listener trusts directives */
};

struct policy_verdict {
	enum policy_level level;
	int		 score;			/* of the content rules */
	char		 rules[POLICY_RULES_MAX];
	char		 text[POLICY_TEXT_MAX];	/* reply for a reject */
	char		 phone[32];		/* E.164, for 2fa; or "" */
	int		 expires;		/* days, 0: default */
	int		 notify_read;		/* -1 unset, 0 no, 1 yes */
	char		 language[4];		/* "nl", "en" or "" */
	char		 notes[POLICY_NOTES_MAX]; /* for the log line */
};

/* Compile pol (regexes with JIT); NULL with err set on failure. */
struct policy_engine *policy_engine_new(const struct policy *pol,
		    char *err, size_t errsz);
void		 policy_engine_free(struct policy_engine *);

/*
 * Decide for each of nrcpt recipients.  Always fills every verdict;
 * returns 0, or -1 if the message could not be scanned (the verdicts are
 * then the fail-closed ones, and notes say why).
 */
int		 policy_evaluate(struct policy_engine *,
		    const struct policy_input *, const uint8_t *msg,
		    size_t len, const char *const *rcpts,
		    struct policy_verdict *verdicts, size_t nrcpt);

const char	*policy_level_name(enum policy_level);

/* rules.c: the scan of decoded text, shared with the tests. */
struct rules_hit {
	size_t		 rule;		/* index in pol->rules */
	int		 score;
};

struct rules_result {
	int		 score;
	struct rules_hit *hits;		/* fired rules, strongest first */
	size_t		 nhits;
	int		 failed;	/* a regex hit its limit */
};

/* Fold UTF-8 for keyword matching: case, diacritics, spacing. */
void	rules_fold(struct mbuf *out, const char *s, size_t len);
int	rules_scan(struct policy_engine *, const struct mime_result *,
	    struct rules_result *);
const struct policy *policy_engine_policy(const struct policy_engine *);
struct mime_result *policy_engine_mime(struct policy_engine *);
/* 0: run every regex on every region (the tests compare). */
void	rules_prefilter(struct policy_engine *, int);
/*
 * prefilter.c: strings one of which every match of the PCRE2 pattern
 * holds (lower case, ASCII); 1 with *lits allocated, 0 if none is known.
 */
int	rules_regex_literals(const char *, char ***lits, size_t *nlits);
/* "keyword:NAME", "regex:NAME", "bsn", ... */
void	rules_name(const struct policy_rule *, char *, size_t);

/*
 * Folding of the two-byte UTF-8 sequences of U+00C0..U+017F to ASCII
 * (rules.c), shared with the folding test's reference.
 */
#define RULES_LATIN_FOLD_N	(0x180 - 0xc0)
extern const char *const rules_latin_fold[RULES_LATIN_FOLD_N];

#endif
