/*
 * t_prefilter.c: unit tests of the regex prefilter (policyd/prefilter.c
 * and its use in policyd/rules.c): the literals found in patterns, and
 * that running a regex only where one of its literals is never changes
 * a result: the corpus of regress/policyd/corpus and random texts are
 * scanned with and without the prefilter and must fire the same rules.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "../../policyd/policy.h"
#include "../lib/tap.h"

/* Pattern, and its literals joined by "|" (sorted as found), or NULL. */
static const struct {
	const char	*pat;
	const char	*want;
} lit_cases[] = {
	{ "\\b(HbA1c|eGFR|INR)\\b", "hba1c|egfr|inr" },
	{ "(?i)\\b(geboortedatum|date of birth)\\b",
	    "geboortedatum|date of birth" },
	{ "\\bdossier(nummer)?[: ]+[0-9]{6,10}\\b", "dossier" },
	{ "\\bICD-10[: ]+[A-Z][0-9]{2}", "icd-10" },
	{ "(?i)kenmerk\\s*[0-9]+", "enmer" },		/* U+212A is a k */
	{ "kenmerk\\s*[0-9]+", "kenmerk" },
	{ "colou?r", "colour|color" },
	{ "re(?:ferral|port)s?", "referral|report" },
	{ "^X-Priority: 1", "x-priority: 1" },
	{ "(?<!\\d)\\d{9}(?!\\d)", NULL },
	{ "a.b|xyz+", NULL },				/* too short */
	{ "\\QICD\\E", NULL },				/* not followed */
	{ "(?x) a b c d", NULL },
	{ "date  of", NULL },				/* folds otherwise */
	{ "caf\xc3\xa9 au lait", " au lait" },
	{ "(?i)[a-z]+tion\\b", "tion" },
	{ "(abc|de)fgh", "abcfgh|defgh" },
	{ "(abcd|xyzw)+q", "abcdq|xyzwq" },
	{ "(abcd|xyzw)*q", NULL },
	{ "abc{0,3}", NULL },
	{ "(?:abcd){2}", "abcd" },
	{ "(?<name>abcd)\\k<name>", NULL },
	{ "(?=abcd)", NULL },
	{ "x(?#comment)yzw", "xyzw" },
	{ "(a|b)(c|d)(e|f)(g|h)(i|j)",			/* 32: too many */
	    "aceg|aceh|acfg|acfh|adeg|adeh|adfg|adfh|"
	    "bceg|bceh|bcfg|bcfh|bdeg|bdeh|bdfg|bdfh" },
	{ "\\d+abc\\d+def", "abc" },
	{ "(x\\d+abcd)+y", "abcdy" },
	{ "lab\\.result", "lab.result" },
	{ "", NULL },
};

static void
test_literals(void)
{
	char	**lits, buf[512];
	size_t	  n, i, k;

	for (k = 0; k < sizeof(lit_cases) / sizeof(lit_cases[0]); k++) {
		buf[0] = '\0';
		if (rules_regex_literals(lit_cases[k].pat, &lits, &n)) {
			for (i = 0; i < n; i++) {
				if (i > 0)
					(void)strlcat(buf, "|", sizeof(buf));
				(void)strlcat(buf, lits[i], sizeof(buf));
				free(lits[i]);
			}
			free(lits);
			is_str(buf, lit_cases[k].want ? lit_cases[k].want :
			    "(none)", "literals of /%s/", lit_cases[k].pat);
		} else
			ok(lit_cases[k].want == NULL, "no literals in /%s/%s%s",
			    lit_cases[k].pat, lit_cases[k].want ? ", want " :
			    "", lit_cases[k].want ? lit_cases[k].want : "");
	}
}

/* Every rule with min 1 (so each fires on one match), all in everything. */
static const char *conf_text =
    "policy \"p\" {\n"
    "  keywords \"kw\" { \"diagnose\", \"lab result\" } score 1\n"
    "  regex \"r1\" \"\\\\b(HbA1c|eGFR|INR)\\\\b\" score 1\n"
    "  regex \"r2\" \"(?i)\\\\b(geboortedatum|date of birth)\\\\b\" score 2\n"
    "  regex \"r3\" \"\\\\bdossier(nummer)?[: ]+[0-9]{6,10}\\\\b\" score 4\n"
    "  regex \"r4\" \"\\\\bICD-10[: ]+[A-Z][0-9]{2}\" score 8\n"
    "  regex \"r5\" \"(?i)kenmerk\\\\s*[0-9]+\" score 16\n"
    "  regex \"r6\" \"(?i)stra(ss|\xc3\x9f)e\" score 32\n"
    "  regex \"r7\" \"colou?r\" score 64\n"
    "  regex \"r8\" \"re(?:ferral|port)s?\\\\b\" score 128\n"
    "  regex \"r9\" \"^X-Priority: 1\" in headers score 256\n"
    "  regex \"r10\" \"(?i)\\\\bpati(e|\xc3\xab)nt\\\\b\" score 512\n"
    "  regex \"r11\" \"(?<!\\\\d)\\\\d{9}(?!\\\\d)\" score 1024\n"
    "  regex \"r12\" \"(?i)\\\\bIBAN[:\\\\s]*NL\\\\d{2}\" score 2048\n"
    "  regex \"r13\" \"lab\\\\.result|x(?#c)yzw\" score 4096\n"
    "  detect bsn score 1\n"
    "  relay verify when score >= 1\n"
    "}\n";

static struct policy_engine	*eng;
static size_t			 nscans, nhits[32];

/* Scan msg with and without the prefilter; 1 if both fire the same. */
static int
same(const char *msg, size_t len, char *why, size_t whysz)
{
	struct rules_result	 a, b;
	size_t			 ha[32], i, na;
	int			 sa, fa;

	(void)mime_decode(policy_engine_mime(eng), (const uint8_t *)msg, len);
	rules_prefilter(eng, 1);
	(void)rules_scan(eng, policy_engine_mime(eng), &a);
	na = a.nhits;
	sa = a.score;
	fa = a.failed;
	for (i = 0; i < na && i < 32; i++) {
		ha[i] = a.hits[i].rule;
		nhits[a.hits[i].rule]++;
	}
	rules_prefilter(eng, 0);
	(void)rules_scan(eng, policy_engine_mime(eng), &b);
	rules_prefilter(eng, 1);
	nscans++;
	if (na != b.nhits || sa != b.score || fa != b.failed) {
		snprintf(why, whysz, "score %d with, %d without", sa, b.score);
		return 0;
	}
	for (i = 0; i < na && i < 32; i++)
		if (ha[i] != b.hits[i].rule) {
			snprintf(why, whysz, "rule %zu differs", ha[i]);
			return 0;
		}
	return 1;
}

static void
test_corpus(const char *dir)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 path[2048], why[128], *buf;
	size_t		 n = 0, bad = 0;
	int		 fd;

	if ((d = opendir(dir)) == NULL) {
		ok(0, "corpus %s", dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".eml") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
			continue;
		buf = malloc(st.st_size + 1);
		if (read(fd, buf, st.st_size) == st.st_size) {
			n++;
			if (!same(buf, st.st_size, why, sizeof(why))) {
				bad++;
				ok(0, "corpus %s: %s", de->d_name, why);
			}
		}
		free(buf);
		close(fd);
	}
	closedir(d);
	ok(n >= 40, "corpus: %zu messages scanned", n);
	is_int(bad, 0, "corpus: the prefilter changes nothing");
}

static const char *frags[] = {
	"HbA1c", "hba1c", "HBA1C", "eGFR", "INR", "inr", "xINR", "INR5",
	"geboortedatum", "GeboorteDatum", "date of birth", "Date Of\r\nBirth",
	"date  of birth", "date\xc2\xa0of birth", "date of\tbirth",
	"dossier", "dossiernummer", "Dossier", "dossier:", "dossier ",
	"ICD-10", "icd-10", "ICD-10:", "ICD-10 ", "A12", "Z99", "a12",
	"kenmerk", "KENMERK", "\xe2\x84\xaa" "enmerk", "Kenmer\xe2\x84\xaa",
	"stra\xc3\x9f" "e", "STRASSE", "\xc5\xbftrasse", "stra\xc3\x9f",
	"color", "colour", "COLOUR", "colo", "referral", "reports", "report",
	"rereport", "patient", "PATI\xc3\x8bNT", "pati\xc3\xabnt", "pati",
	"IBAN", "iban:", "NL91", "nl12", "NL", "lab.result", "lab result",
	"xyzw", "XYZW", "xyz", "diagnose", "X-Priority: 1",
	"123456782", "1234567", "12345678", "1234567890", "0", "99",
	" ", " ", " ", "  ", "\r\n", "\t", ":", "-", ".", "\xc2\xad",
	"\xe2\x80\x8b", "\xc3\xa9", "\xc3", "\xab", "de", "het", "the",
};

static void
random_text(char *buf, size_t cap, size_t *len, unsigned int *seed)
{
	size_t	n = 0, fl;
	int	k = 1 + rand_r(seed) % 40;

	while (k-- > 0) {
		const char *f = frags[rand_r(seed) % (sizeof(frags) /
		    sizeof(frags[0]))];

		fl = strlen(f);
		if (n + fl + 1 >= cap)
			break;
		memcpy(buf + n, f, fl);
		n += fl;
		if (rand_r(seed) % 3 == 0)
			buf[n++] = ' ';
	}
	*len = n;
}

static void
test_random(void)
{
	char		 msg[8192], s[1024], b[4096], why[128];
	size_t		 sl, bl, ml, i, bad = 0, fired = 0;
	unsigned int	 seed = 5;
	int		 round;

	for (round = 0; round < 20000; round++) {
		random_text(s, sizeof(s), &sl, &seed);
		/* No line ends in the subject: they would end the header. */
		for (i = 0; i < sl; i++)
			if (s[i] == '\r' || s[i] == '\n')
				s[i] = ' ';
		random_text(b, sizeof(b), &bl, &seed);
		ml = (size_t)snprintf(msg, sizeof(msg), "%sSubject: %.*s\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n\r\n%.*s\r\n",
		    round % 2 ? "X-Priority: 1\r\n" : "", (int)sl, s,
		    (int)bl, b);
		if (!same(msg, ml, why, sizeof(why)) && bad++ < 5)
			ok(0, "random %d: %s: %.*s", round, why, (int)ml,
			    msg);
	}
	is_int(bad, 0, "random: the prefilter changes nothing in %zu scans",
	    nscans);
	/* The texts must make every regex fire now and then. */
	for (i = 1; i <= 13; i++)
		if (nhits[i] > 0)
			fired++;
	is_int(fired, 13, "random: every regex fired (r5 %zu times, r6 %zu)",
	    nhits[5], nhits[6]);
}

int
main(int argc, char **argv)
{
	struct config	*cfg;
	char		 path[] = "/tmp/t_prefilter.XXXXXX", err[256];
	char		 dir[1024], *me;
	FILE		*fp;
	int		 fd;

	test_literals();

	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		return 1;
	fputs(conf_text, fp);
	fclose(fp);
	cfg = config_parse(path, stderr);
	unlink(path);
	if (!ok(cfg != NULL, "config parses"))
		return done_testing();
	eng = policy_engine_new(config_policy(cfg, "p"), err, sizeof(err));
	if (!ok(eng != NULL, "engine: %s", eng ? "ok" : err))
		return done_testing();

	/* make check runs the tests from the top of the tree. */
	if (access("regress/policyd/corpus", R_OK) == 0)
		(void)strlcpy(dir, "regress/policyd/corpus", sizeof(dir));
	else {
		me = strdup(argv[0]);
		snprintf(dir, sizeof(dir), "%s/corpus", dirname(me));
		free(me);
	}
	test_corpus(dir);
	test_random();

	policy_engine_free(eng);
	config_free(cfg);
	return done_testing();
}
