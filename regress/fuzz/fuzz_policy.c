/*
 * fuzz_policy.c: the content policy engine of policyd on a hostile
 * message: the MIME decoder (policyd/mime.c, mime_text.c), the header
 * directives and decisions (policy.c), keywords, a regex and the three
 * detectors (rules.c, detect.c), through policy_evaluate().
 *
 * Input: one byte of settings (trusted listener, authenticated user,
 * sender), then a message as the queue stores it (or anything).  The
 * policy is compiled once from smtpd.conf(5) text.  Invariants checked:
 * every verdict is filled with a known level and terminated strings; a
 * phone is E.164, a language "nl", "en" or "", the expiry within bounds;
 * a message that cannot be scanned fails closed (is not relayed to a
 * recipient outside the allowlist unless a trusted sender downgrades).
 */
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "../../policyd/policy.h"
#include "fuzz.h"

static const char	*conf_text =
    "table partners { \"partner.example\", \"lab@hospital.example\" }\n"
    "table phones { \"dr@clinic.example\" = \"+31612345678\" }\n"
    "table lowerers { \"app@example.org\", \"batch\" }\n"
    "policy \"p\" {\n"
    "  keywords \"health\" { \"diagnose\", \"pati\xc3\xabnt\", \"lab result\","
    " \"verwijsbrief\" } in subject body attachments score 2\n"
    "  keywords \"onco\" { \"oncologie\", \"chemo\" } score 4 min 2\n"
    "  regex \"hba1c\" \"\\\\bHbA1c\\\\s*[0-9]+\" in body headers score 3\n"
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
    "action out relay\n"
    "match from any for any action out policy p\n";

static struct policy_engine	*eng;

static void
setup(void)
{
	struct config	*cfg;
	char		 path[] = "/tmp/fuzz_policy.XXXXXX", err[256];
	int		 fd;
	FILE		*fp;

	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		abort();
	fputs(conf_text, fp);
	fclose(fp);
	cfg = config_parse(path, stderr);
	unlink(path);
	if (cfg == NULL)
		fuzz_fail("the policy does not parse");
	/* cfg stays: the engine points into its policy. */
	if ((eng = policy_engine_new(config_policy(cfg, "p"), err,
	    sizeof(err))) == NULL)
		fuzz_fail("policy_engine_new: %s", err);
}

static void
check_str(const char *what, const char *s, size_t sz)
{
	if (memchr(s, '\0', sz) == NULL)
		fuzz_fail("%s: not terminated", what);
}

FUZZ_TARGET(policy)
{
	static const char *const rcpts[] = { "a@x.example",
	    "dr@clinic.example", "lab@hospital.example" };
	static const char *const senders[] = { "", "app@example.org",
	    "x@y.example", "batch" };
	struct policy_input	 in;
	struct policy_verdict	 v[3];
	size_t			 i;
	int			 r, downgrader;

	if (eng == NULL)
		setup();
	if (size < 1)
		return 0;
	memset(&in, 0, sizeof(in));
	in.trust_headers = data[0] & 1;
	in.auth_user = (data[0] & 2) ? ((data[0] & 4) ? "batch" : "someone") :
	    NULL;
	in.sender = senders[(data[0] >> 3) & 3];
	downgrader = (in.auth_user != NULL && strcmp(in.auth_user,
	    "batch") == 0) || strcmp(in.sender, "app@example.org") == 0;
	memset(v, 0xa5, sizeof(v));
	r = policy_evaluate(eng, &in, data + 1, size - 1, rcpts, v, 3);
	if (r != 0 && r != -1)
		fuzz_fail("policy_evaluate returned %d", r);
	for (i = 0; i < 3; i++) {
		if (v[i].level < POLICY_RELAY || v[i].level > POLICY_REJECT)
			fuzz_fail("verdict %zu: level %d", i, v[i].level);
		check_str("rules", v[i].rules, sizeof(v[i].rules));
		check_str("text", v[i].text, sizeof(v[i].text));
		check_str("phone", v[i].phone, sizeof(v[i].phone));
		check_str("language", v[i].language, sizeof(v[i].language));
		check_str("notes", v[i].notes, sizeof(v[i].notes));
		if (v[i].phone[0] != '\0' && (v[i].phone[0] != '+' ||
		    strlen(v[i].phone) < 9 || strlen(v[i].phone) > 16 ||
		    strspn(v[i].phone + 1, "0123456789") !=
		    strlen(v[i].phone) - 1))
			fuzz_fail("verdict %zu: phone \"%s\"", i, v[i].phone);
		if (strcmp(v[i].language, "") != 0 &&
		    strcmp(v[i].language, "nl") != 0 &&
		    strcmp(v[i].language, "en") != 0)
			fuzz_fail("verdict %zu: language \"%s\"", i,
			    v[i].language);
		if (v[i].expires < 0 || v[i].expires > POLICY_EXPIRES_MAX)
			fuzz_fail("verdict %zu: expires %d", i, v[i].expires);
		if (v[i].notify_read < -1 || v[i].notify_read > 1)
			fuzz_fail("verdict %zu: notify_read %d", i,
			    v[i].notify_read);
		/* Not for the allowlisted one, nor after a downgrade. */
		if (r == -1 && v[i].level == POLICY_RELAY && i != 2 &&
		    !downgrader)
			fuzz_fail("verdict %zu: unscannable but relayed", i);
	}
	return 0;
}
