/*
 * t_rules.c: unit tests of the policy engine (policyd/rules.c,
 * policyd/policy.c) through policies written in smtpd.conf(5) syntax:
 * folding, keywords, regexes, detectors, thresholds, allowlists,
 * triggers, X-Seal-* directives and failing closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "../../policyd/policy.h"
#include "../lib/tap.h"

static const char *conf_text =
    "table partners { \"partner.example\", \"lab@hospital.example\" }\n"
    "table phones { \"dr@clinic.example\" = \"+31612345678\" }\n"
    "table lowerers { \"app@example.org\", \"batch\" }\n"
    "policy \"health\" {\n"
    "  keywords \"health\" { \"diagnose\", \"pati\xc3\xabnt\", \"lab result\","
    " \"verwijsbrief\" } in subject body attachments score 2\n"
    "  keywords \"onco\" { \"oncologie\", \"chemo\" } score 4 min 2\n"
    "  keywords \"names\" { \"uitslag\" } in attachments score 1\n"
    "  regex \"hba1c\" \"\\\\bHbA1c\\\\b\" in body score 3\n"
    "  regex \"prio\" \"^X-Priority: 1\" in headers score 1\n"
    "  detect bsn min 1 score 5\n"
    "  detect iban min 2 score 2\n"
    "  detect card score 100\n"
    "  allow <partners>\n"
    "  phones <phones>\n"
    "  downgrade from <lowerers>\n"
    "  trigger \"[secure]\" secure 1fa\n"
    "  trigger \"[2fa]\" secure 2fa\n"
    "  reject \"550 5.7.1 No card numbers by mail\" when score >= 100\n"
    "  secure 2fa when score >= 10\n"
    "  secure 1fa when score >= 5\n"
    "  relay verify when score >= 2\n"
    "}\n"
    "policy \"empty\" {\n"
    "}\n"
    "policy \"count\" {\n"
    "  keywords \"needle\" { \"needle in\", \"x\" } min 997 score 1\n"
    "  relay verify when score >= 1\n"
    "}\n"
    "action out relay\n"
    "match from any for any action out policy health\n";

static struct config		*cfg;
static struct policy_engine	*eng;
static struct policy_verdict	 v[4];

static const char *
fold(const char *s)
{
	static struct mbuf	b;

	b.len = 0;
	rules_fold(&b, s, strlen(s));
	mbuf_addc(&b, '\0');
	return b.buf;
}

/* Evaluate msg (LF line ends are fine) for up to 4 recipients. */
static int
eval(const char *auth, const char *sender, int trust, const char *msg,
    const char *r0, const char *r1)
{
	struct policy_input	 in;
	const char		*rcpts[2] = { r0, r1 };

	memset(&in, 0, sizeof(in));
	in.auth_user = auth;
	in.sender = sender ? sender : "";
	in.trust_headers = trust;
	return policy_evaluate(eng, &in, (const uint8_t *)msg, strlen(msg),
	    rcpts, v, r1 ? 2 : 1);
}

#define LV(i)	policy_level_name(v[i].level)

static void
test_fold(void)
{
	is_str(fold("PATI\xc3\x8bNT"), "patient", "fold upper case trema");
	is_str(fold("Pati\xc3\xabnt"), "patient", "fold trema");
	is_str(fold("lab \r\n\t result"), "lab result", "fold white space");
	is_str(fold("lab\xc2\xa0result"), "lab result", "fold no-break space");
	is_str(fold("diag\xc2\xadnose"), "diagnose", "fold soft hyphen");
	is_str(fold("diag\xe2\x80\x8bnose"), "diagnose", "fold zero width");
	is_str(fold("\xc3\x86sop \xc5\x93uvre \xc4\xb3s Stra\xc3\x9f" "e"),
	    "aesop oeuvre ijs strasse", "fold ligatures");
	is_str(fold("\xd0\x9f\xd1\x80"), "\xd0\x9f\xd1\x80",
	    "fold leaves other scripts");
}

static void
test_content(void)
{
	is_int(eval(NULL, NULL, 0, "Subject: hello\n\nnothing here\n",
	    "a@x.example", NULL), 0, "plain message");
	is_str(LV(0), "relay", "no rule: relay");
	is_str(v[0].rules, "", "no rules named");

	eval(NULL, NULL, 0, "Subject: Uitslag\n\nDe PATIENT is gezien.\n",
	    "a@x.example", NULL);
	is_str(LV(0), "relay-verify", "keyword without trema, upper case");
	is_str(v[0].rules, "keyword:health(2)", "rule named with score");

	eval(NULL, NULL, 0, "Subject: x\n\nWe diagnosed it.\n",
	    "a@x.example", NULL);
	is_str(LV(0), "relay", "whole words only (diagnosed)");

	eval(NULL, NULL, 0, "Subject: x\n\nthe lab\n result\n",
	    "a@x.example", NULL);
	is_str(v[0].rules, "keyword:health(2)", "phrase across a line end");

	eval(NULL, NULL, 0, "Subject: x\n\nchemo\n", "a@x.example", NULL);
	is_str(v[0].rules, "", "min 2: one keyword is not enough");
	eval(NULL, NULL, 0, "Subject: chemo\n\nchemo oncologie\n",
	    "a@x.example", NULL);
	is_str(v[0].rules, "keyword:onco(4)", "min 2 reached");
	is_str(LV(0), "relay-verify", "score 4");

	eval(NULL, NULL, 0, "Subject: uitslag\n\nuitslag\n", "a@x.example",
	    NULL);
	is_str(v[0].rules, "", "attachments-only keyword not in text");
	eval(NULL, NULL, 0, "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\nsee attached\n--b\nContent-Type: application/pdf; "
	    "name=\"=?utf-8?Q?Uitslag_2024.pdf?=\"\n\nJVBER\n--b--\n",
	    "a@x.example", NULL);
	is_str(v[0].rules, "keyword:names(1)", "encoded attachment name");

	eval(NULL, NULL, 0, "Subject: x\n\nHbA1c 52 mmol/mol, hba1c\n",
	    "a@x.example", NULL);
	is_str(v[0].rules, "regex:hba1c(3)", "regex (case-sensitive)");
	eval(NULL, NULL, 0, "Subject: HbA1c\n\nnothing\n", "a@x.example",
	    NULL);
	is_str(v[0].rules, "", "regex only where it looks");
	eval(NULL, NULL, 0, "X-Priority: 1\nSubject: x\n\nx\n", "a@x.example",
	    NULL);
	is_str(v[0].rules, "regex:prio(1)", "regex in headers");

	eval(NULL, NULL, 0, "Subject: x\n\nBSN 123456782, patient\n",
	    "a@x.example", NULL);
	is_str(v[0].rules, "bsn(5),keyword:health(2)",
	    "strongest rule first");
	is_int(v[0].score, 7, "scores add up");
	is_str(LV(0), "secure-1fa", "threshold 5");

	eval(NULL, NULL, 0, "Subject: x\n\nNL91ABNA0417164300\n",
	    "a@x.example", NULL);
	is_str(v[0].rules, "", "iban min 2: one is not enough");
	eval(NULL, NULL, 0, "Subject: x\n\nNL91ABNA0417164300 and "
	    "DE89 3704 0044 0532 0130 00\n", "a@x.example", NULL);
	is_str(v[0].rules, "iban(2)", "two IBANs");

	eval(NULL, NULL, 0, "Subject: x\n\nBSN 123456782 HbA1c patient\n",
	    "a@x.example", NULL);
	is_str(LV(0), "secure-2fa", "threshold 10");

	eval(NULL, NULL, 0, "Subject: x\n\ncard 4111 1111 1111 1111\n",
	    "a@x.example", "lab@hospital.example");
	is_str(LV(0), "reject", "reject threshold");
	is_str(v[0].text, "550 5.7.1 No card numbers by mail",
	    "reject text from the config");
	is_str(LV(1), "reject", "allowlist never bypasses a reject");
}

static void
test_allow_trigger(void)
{
	eval(NULL, NULL, 0, "Subject: x\n\nBSN 123456782\n",
	    "a@x.example", "lab@HOSPITAL.example");
	is_str(LV(0), "secure-1fa", "not allowlisted: secured");
	is_str(LV(1), "relay", "allowlisted address: relay");
	is_str(v[1].rules, "bsn(5),allow", "allow named");
	eval(NULL, NULL, 0, "Subject: x\n\nBSN 123456782\n",
	    "dr@Partner.Example", NULL);
	is_str(LV(0), "relay", "allowlisted domain");

	eval(NULL, NULL, 0, "Subject: Re: [SECURE] afspraak\n\nhello\n",
	    "a@x.example", "dr@partner.example");
	is_str(LV(0), "secure-1fa", "trigger, any case");
	is_str(v[0].rules, "trigger:[secure]", "trigger named");
	is_str(LV(1), "secure-1fa", "explicit trigger beats the allowlist");
	eval(NULL, NULL, 0, "Subject: [secure] [2fa]\n\nhello\n",
	    "a@x.example", NULL);
	is_str(LV(0), "secure-2fa", "two triggers: the stronger");
	eval(NULL, NULL, 0, "Subject: =?utf-8?Q?=5B2fa=5D_uitslag?=\n\nx\n",
	    "a@x.example", NULL);
	is_str(LV(0), "secure-2fa", "trigger in an encoded subject");
}

static void
test_directives(void)
{
	const char	*raise = "X-Seal-Security: 2fa\nSubject: x\n\nhi\n";
	const char	*lower = "X-Seal-Security: none\nSubject: x\n\n"
			    "BSN 123456782\n";

	eval(NULL, NULL, 0, raise, "a@x.example", NULL);
	is_str(LV(0), "relay", "directive from untrusted sender ignored");
	ok(strstr(v[0].notes, "ignored") != NULL, "and noted: %s",
	    v[0].notes);
	eval("someone", NULL, 0, raise, "a@x.example", NULL);
	is_str(LV(0), "secure-2fa", "raise from an authenticated user");
	is_str(v[0].rules, "header:secure-2fa", "header named");
	eval(NULL, NULL, 1, raise, "a@x.example", "dr@partner.example");
	is_str(LV(0), "secure-2fa", "raise from a trust-headers listener");
	is_str(LV(1), "secure-2fa", "raise applies to allowlisted too");

	eval("someone", NULL, 0, lower, "a@x.example", NULL);
	is_str(LV(0), "secure-1fa", "lowering needs the right");
	eval("batch", NULL, 0, lower, "a@x.example", NULL);
	is_str(LV(0), "relay", "downgrade by user");
	is_str(v[0].rules, "bsn(5),header:relay,downgrade", "downgrade named");
	eval(NULL, "app@EXAMPLE.org", 1, lower, "a@x.example", NULL);
	is_str(LV(0), "relay", "downgrade by sender on trusted listener");
	eval(NULL, "app@example.org", 0, lower, "a@x.example", NULL);
	is_str(LV(0), "secure-1fa", "downgrade needs trust too");
	eval("batch", NULL, 0, "X-Seal-Security: none\nSubject: x\n\n"
	    "4111111111111111\n", "a@x.example", NULL);
	is_str(LV(0), "reject", "a reject is never lowered");
	eval("batch", NULL, 0, "X-Seal-Security: tls\nX-Seal-Security: 1fa\n"
	    "X-Seal-Security: none\nSubject: x\n\nhi\n", "a@x.example", NULL);
	is_str(LV(0), "secure-1fa", "conflicting directives: most secure");
	eval("batch", NULL, 0, "X-Seal-Security: none\nSubject: [2fa]\n\n"
	    "hi\n", "a@x.example", NULL);
	is_str(LV(0), "secure-2fa", "trigger beats a lowering directive");
	eval("someone", NULL, 0, "X-Seal-Security: maximum\nSubject: x\n\n"
	    "hi\n", "a@x.example", NULL);
	is_str(LV(0), "relay", "bad directive value ignored");
	ok(strstr(v[0].notes, "malformed X-Seal-Security") != NULL,
	    "and noted: %s", v[0].notes);

	eval("someone", NULL, 0, "X-Seal-Security: 2fa\n"
	    "X-Seal-Phone: a@x.example +31687654321\n"
	    "X-Seal-Phone: b@x.example 0612345678\n"
	    "X-Seal-Expires: 14\nX-Seal-Notify-Read: yes\n"
	    "X-Seal-Language: EN\nSubject: x\n\nhi\n", "a@x.example",
	    "dr@clinic.example");
	is_str(v[0].phone, "+31687654321", "phone from directive");
	is_str(v[1].phone, "+31612345678", "phone from table");
	is_int(v[0].expires, 14, "expires");
	is_int(v[0].notify_read, 1, "notify-read");
	is_str(v[0].language, "en", "language");
	ok(strstr(v[0].notes, "malformed X-Seal-Phone") != NULL,
	    "non-E.164 phone refused: %s", v[0].notes);
	eval("someone", NULL, 0, "X-Seal-Security: 2fa\nSubject: x\n\nhi\n",
	    "nophone@x.example", NULL);
	ok(strstr(v[0].notes, "no phone") != NULL, "2fa without phone "
	    "noted");
}

static void
test_fail_closed(void)
{
	struct mbuf	 m = { 0 };
	char		 line[128];
	int		 i;

	for (i = 0; i < MIME_DEPTH_MAX + 2; i++) {
		snprintf(line, sizeof(line), "Content-Type: multipart/mixed; "
		    "boundary=b%d\n\n--b%d\n", i, i);
		mbuf_add(&m, line, strlen(line));
	}
	mbuf_add(&m, "\nBSN 123456782\n", 16);
	mbuf_addc(&m, '\0');
	is_int(eval(NULL, NULL, 0, m.buf, "a@x.example", NULL), -1,
	    "unscannable message");
	is_str(LV(0), "secure-2fa", "strongest decision short of reject");
	is_str(v[0].rules, "unscannable", "named unscannable");
	eval(NULL, NULL, 0, "Content-Type: application/pkcs7-mime\n\nMII\n",
	    "a@x.example", NULL);
	is_str(LV(0), "secure-2fa", "encrypted: fails closed");
	mbuf_free(&m);
}

static void
test_empty_policy(void)
{
	struct policy_engine	*e;
	struct policy_input	 in;
	const char		*r[1] = { "a@x.example" };
	const char		*msg = "Subject: [2fa]\n\nBSN 123456782\n";
	char			 err[256];

	e = policy_engine_new(config_policy(cfg, "empty"), err, sizeof(err));
	ok(e != NULL, "empty policy compiles");
	memset(&in, 0, sizeof(in));
	(void)policy_evaluate(e, &in, (const uint8_t *)msg, strlen(msg), r,
	    v, 1);
	is_str(LV(0), "relay", "empty policy relays");
	policy_engine_free(e);
}

/*
 * The automaton runs four parts of the text interleaved: matches at and
 * across every part boundary count once.
 */
static void
test_lanes(void)
{
	struct policy_engine	*e;
	struct policy_input	 in;
	struct mbuf		 m = { 0 };
	const char		*r[1] = { "a@x.example" };
	char			 err[256];
	int			 i, j, n;

	e = policy_engine_new(config_policy(cfg, "count"), err, sizeof(err));
	memset(&in, 0, sizeof(in));
	for (n = 996; n <= 997; n++) {
		for (j = 0; j < 7; j++) {
			m.len = 0;
			mbuf_add(&m, "Subject: y\n\n", 13);
			for (i = 0; i < n; i++) {
				mbuf_add(&m, "needle\r\n  in ", 14);
				/* Vary the spacing: boundaries fall anywhere. */
				mbuf_add(&m, "......", (size_t)(i * 7 + j) % 6);
				mbuf_addc(&m, ' ');
			}
			(void)policy_evaluate(e, &in, (uint8_t *)m.buf, m.len,
			    r, v, 1);
			if (n == 997)
				is_str(LV(0), "relay-verify", "%d phrases "
				    "found across the parts (shift %d)", n, j);
			else
				is_str(LV(0), "relay", "%d phrases: below min "
				    "(shift %d)", n, j);
		}
	}
	mbuf_free(&m);
	policy_engine_free(e);
}

int
main(void)
{
	char	 path[] = "/tmp/t_rules.XXXXXX", err[256];
	FILE	*fp;
	int	 fd;

	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		perror("mkstemp");
		return 2;
	}
	fputs(conf_text, fp);
	fclose(fp);
	cfg = config_parse(path, stderr);
	unlink(path);
	if (!ok(cfg != NULL, "policy config parses"))
		return done_testing();
	eng = policy_engine_new(config_policy(cfg, "health"), err,
	    sizeof(err));
	if (!ok(eng != NULL, "policy compiles"))
		return done_testing();
	test_fold();
	test_content();
	test_allow_trigger();
	test_directives();
	test_fail_closed();
	test_empty_policy();
	test_lanes();
	policy_engine_free(eng);
	config_free(cfg);
	return done_testing();
}
