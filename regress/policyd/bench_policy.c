/*
 * bench_policy.c: throughput of the policy engine (MIME decoding, the
 * keyword automaton, PCRE2 JIT regexes and the three detectors) on one
 * core.
 *
 * Generates a corpus of MIME messages from 2 KiB to 5 MiB (plain text,
 * quoted-printable, base64 text, HTML, multipart with a binary
 * attachment), compiles a policy of 20 rules (16 keyword lists, 4
 * regexes) and the 3 detectors, and evaluates every message in a loop
 * on one core (single-threaded).  Prints MB/s of message bytes per
 * size and overall, for policy A (the goal), policy A with the regex
 * prefilter off, and policy B (keywords instead of regexes); the last
 * lines sum up MB/s per core.  Usage: bench_policy [seconds per policy]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "../../policyd/policy.h"
#include "util.h"

static const char *words[] = {
	"de", "het", "een", "en", "van", "in", "is", "op", "dat", "met",
	"voor", "niet", "zijn", "aan", "er", "maar", "om", "ook", "als",
	"bij", "the", "of", "and", "to", "a", "for", "that", "with", "on",
	"afspraak", "overleg", "vergadering", "planning", "rapport",
	"project", "meeting", "report", "schedule", "budget", "offerte",
	"klant", "levering", "bestelling", "vandaag", "morgen", "week",
	"collega", "groet", "vriendelijke", "bijlage", "document",
	"informatie", "vraag", "antwoord", "update", "status", "team",
	"caf\xc3\xa9", "co\xc3\xb6rdinatie", "ge\xc3\xafnteresseerd",
};

static const char *conf_text =
    "policy \"bench\" {\n"
    "  keywords \"k1\" { \"diagnose\", \"pati\xc3\xabnt\", \"verwijsbrief\","
    " \"huisarts\", \"medicatie\" } in subject body attachments score 2\n"
    "  keywords \"k2\" { \"labuitslag\", \"bloeduitslag\", \"behandelplan\","
    " \"ontslagbrief\" } score 2\n"
    "  keywords \"k3\" { \"patient\", \"diagnosis\", \"referral letter\","
    " \"lab result\" } score 2\n"
    "  keywords \"k4\" { \"medical record\", \"prescription\","
    " \"discharge summary\" } score 2\n"
    "  keywords \"k5\" { \"hiv\", \"oncologie\", \"oncology\" } score 4\n"
    "  keywords \"k6\" { \"psychiatrie\", \"psychiatry\", \"ggz\" } score 4\n"
    "  keywords \"k7\" { \"chemotherapie\", \"radiotherapie\" } score 4\n"
    "  keywords \"k8\" { \"zwangerschap\", \"pregnancy\" } score 3\n"
    "  keywords \"k9\" { \"verslaving\", \"addiction\" } score 3\n"
    "  keywords \"k10\" { \"diabetes\", \"insuline\", \"insulin\" } score 2\n"
    "  keywords \"k11\" { \"recept\", \"apotheek\", \"pharmacy\" } score 1\n"
    "  keywords \"k12\" { \"allergie\", \"allergy\" } score 1\n"
    "  keywords \"k13\" { \"bloeddruk\", \"blood pressure\" } score 1\n"
    "  keywords \"k14\" { \"operatie\", \"surgery\" } score 2\n"
    "  keywords \"k15\" { \"ziekenhuis\", \"hospital\" } score 1\n"
    "  keywords \"k16\" { \"vertrouwelijk\", \"confidential\" } score 1\n"
    "REGEX"
    "  regex \"labvalues\" \"\\\\b(HbA1c|eGFR|INR)\\\\b\" in body score 3\n"
    "  regex \"birthdate\" \"(?i)\\\\b(geboortedatum|date of birth)\\\\b\""
    " score 2\n"
    "  regex \"dossier\" \"\\\\bdossier(nummer)?[: ]+[0-9]{6,10}\\\\b\""
    " score 2\n"
    "  regex \"icd\" \"\\\\bICD-10[: ]+[A-Z][0-9]{2}\" score 3\n"
    "END"
    "  detect bsn score 5\n"
    "  detect iban score 2\n"
    "  detect card score 100\n"
    "  secure 2fa when score >= 10\n"
    "  secure 1fa when score >= 5\n"
    "  relay verify when score >= 2\n"
    "}\n";

static void	adds(struct mbuf *, const char *);

/* The keyword-only variant replaces the four regexes with these. */
static const char *kw_instead =
    "  keywords \"k17\" { \"hba1c\", \"egfr\", \"inr\" } score 3\n"
    "  keywords \"k18\" { \"geboortedatum\", \"date of birth\" } score 2\n"
    "  keywords \"k19\" { \"dossiernummer\", \"patientnummer\" } score 2\n"
    "  keywords \"k20\" { \"icd-10\", \"dbc\" } score 3\n";

static uint64_t	rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* Prose with numbers, dates and now and then a keyword, n bytes. */
static void
prose(struct mbuf *b, size_t n)
{
	char	num[32];
	size_t	start = b->len, col = 0;
	int	len;

	while (b->len - start < n) {
		const char *w = words[rnd() % (sizeof(words) /
		    sizeof(words[0]))];
		uint32_t r = rnd() % 100;

		if (r < 4) {
			len = snprintf(num, sizeof(num), "%u", rnd() % 100000);
			mbuf_add(b, num, len);
		} else if (r < 5) {
			len = snprintf(num, sizeof(num), "%02u-%02u-20%02u",
			    rnd() % 28 + 1, rnd() % 12 + 1, rnd() % 30);
			mbuf_add(b, num, len);
		} else if (r == 5 && rnd() % 50 == 0)
			adds(b, "diagnose");
		else
			mbuf_add(b, w, strlen(w));
		col += strlen(w) + 1;
		if (col > 70) {
			adds(b, ".\r\n");
			col = 0;
		} else
			mbuf_addc(b, ' ');
	}
}

static void
adds(struct mbuf *b, const char *s)
{
	mbuf_add(b, s, strlen(s));
}

static void
b64enc(struct mbuf *out, const unsigned char *s, size_t n)
{
	static const char	 a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
				    "opqrstuvwxyz0123456789+/";
	size_t			 i, col = 0;
	uint32_t		 v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		mbuf_addc(out, a[v >> 18]);
		mbuf_addc(out, a[(v >> 12) & 63]);
		mbuf_addc(out, a[(v >> 6) & 63]);
		mbuf_addc(out, a[v & 63]);
		if ((col += 4) == 76) {
			mbuf_add(out, "\r\n", 2);
			col = 0;
		}
	}
	mbuf_add(out, "\r\n", 2);
}

static void
qpenc(struct mbuf *out, const unsigned char *s, size_t n)
{
	static const char	hex[] = "0123456789ABCDEF";
	size_t			i, col = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			mbuf_add(out, "\r\n", 2);
			i++;
			col = 0;
			continue;
		}
		if (col >= 72) {
			mbuf_add(out, "=\r\n", 3);
			col = 0;
		}
		if (s[i] >= 0x80 || s[i] == '=') {
			mbuf_addc(out, '=');
			mbuf_addc(out, hex[s[i] >> 4]);
			mbuf_addc(out, hex[s[i] & 15]);
			col += 3;
		} else {
			mbuf_addc(out, s[i]);
			col++;
		}
	}
}

static void
make_message(struct mbuf *m, size_t size, int kind)
{
	struct mbuf	t = { 0 };
	unsigned char	*bin;
	size_t		 i;

	m->len = 0;
	adds(m, "Received: from app.example (app.example [192.0.2.1])\r\n"
	    "\tby relay.example with ESMTP id 0123456789abcdef\r\n"
	    "From: <a@example.org>\r\nTo: <b@example.com>\r\n"
	    "Subject: =?utf-8?Q?Overleg_planning?=\r\n"
	    "MIME-Version: 1.0\r\n");
	switch (kind) {
	case 0:		/* plain 8bit */
		adds(m, "Content-Type: text/plain; charset=utf-8\r\n\r\n");
		prose(m, size);
		break;
	case 1:		/* quoted-printable */
		adds(m, "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		prose(&t, size * 9 / 10);
		qpenc(m, (unsigned char *)t.buf, t.len);
		break;
	case 2:		/* HTML in base64 */
		adds(m, "Content-Type: text/html; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n");
		adds(&t, "<html><body><p>");
		prose(&t, size * 3 / 4 - 40);
		adds(&t, "</p></body></html>");
		b64enc(m, (unsigned char *)t.buf, t.len);
		break;
	default:	/* multipart: text, HTML, a binary attachment */
		adds(m, "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
		    "\r\n--b1\r\nContent-Type: multipart/alternative; "
		    "boundary=\"b2\"\r\n\r\n--b2\r\nContent-Type: text/plain;"
		    " charset=utf-8\r\n\r\n");
		prose(m, size / 4);
		adds(m, "\r\n--b2\r\nContent-Type: text/html; charset="
		    "utf-8\r\nContent-Transfer-Encoding: quoted-printable"
		    "\r\n\r\n");
		prose(&t, size / 4);
		qpenc(m, (unsigned char *)t.buf, t.len);
		adds(m, "\r\n--b2--\r\n--b1\r\nContent-Type: application/"
		    "pdf; name=\"scan.pdf\"\r\nContent-Disposition: attachment;"
		    " filename=\"scan.pdf\"\r\nContent-Transfer-Encoding: "
		    "base64\r\n\r\n");
		bin = xmalloc(size / 3 + 1);
		for (i = 0; i < size / 3 + 1; i++)
			bin[i] = (unsigned char)rnd();
		b64enc(m, bin, size / 3);
		free(bin);
		adds(m, "--b1--\r\n");
		break;
	}
	mbuf_free(&t);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const size_t	 sizes[] = { 2048, 16384, 131072, 1048576, 5242880 };
static struct mbuf	 msgs[5][4];

/* Evaluate every message for secs / 5 seconds per size class. */
static double
run(const char *conf, const char *label, double secs, int prefilter)
{
	struct policy_engine	*e;
	struct policy_input	 in;
	struct policy_verdict	 v;
	struct config		*cfg;
	const char		*rcpt[1] = { "b@example.com" };
	char			 path[] = "/tmp/bench_policy.XXXXXX", err[256];
	double			 t0, t, total_t = 0, total_b = 0, b;
	size_t			 s, k, iters;
	FILE			*fp;
	int			 fd;

	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		perror("mkstemp");
		exit(1);
	}
	fputs(conf, fp);
	fclose(fp);
	cfg = config_parse(path, stderr);
	unlink(path);
	if (cfg == NULL)
		exit(1);
	if ((e = policy_engine_new(config_policy(cfg, "bench"), err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	rules_prefilter(e, prefilter);
	memset(&in, 0, sizeof(in));
	printf("%s\n", label);
	for (s = 0; s < 5; s++) {
		b = 0;
		iters = 0;
		t0 = now();
		do {
			for (k = 0; k < 4; k++) {
				(void)policy_evaluate(e, &in,
				    (uint8_t *)msgs[s][k].buf, msgs[s][k].len,
				    rcpt, &v, 1);
				b += msgs[s][k].len;
			}
			iters++;
			t = now() - t0;
		} while (t < secs / 5);
		printf("%8zu KiB messages: %8.1f MB/s  (%zu x 4 messages, "
		    "last decision %s)\n", sizes[s] / 1024, b / t / 1e6,
		    iters, policy_level_name(v.level));
		total_t += t;
		total_b += b;
	}
	printf("overall: %.1f MB/s per core\n\n", total_b / total_t / 1e6);
	fflush(stdout);
	policy_engine_free(e);
	config_free(cfg);
	return total_b / total_t / 1e6;
}

int
main(int argc, char **argv)
{
	struct mbuf	 c1 = { 0 }, c2 = { 0 };
	const char	*r, *end;
	double		 secs = argc > 1 ? atof(argv[1]) : 3.0, a, a0, b;
	size_t		 s, k;

	for (s = 0; s < 5; s++)
		for (k = 0; k < 4; k++)
			make_message(&msgs[s][k], sizes[s], (int)k);
	r = strstr(conf_text, "REGEX");
	end = strstr(conf_text, "END");
	/* With the regexes: drop the markers. */
	mbuf_add(&c1, conf_text, r - conf_text);
	mbuf_add(&c1, r + 5, end - r - 5);
	adds(&c1, end + 3);
	mbuf_addc(&c1, '\0');
	/* Keywords only. */
	mbuf_add(&c2, conf_text, r - conf_text);
	adds(&c2, kw_instead);
	adds(&c2, end + 3);
	mbuf_addc(&c2, '\0');
	a = run(c1.buf, "policy A: 20 rules (16 keyword lists, 4 PCRE2 regexes)"
	    " + 3 detectors, one core", secs, 1);
	a0 = run(c1.buf, "policy A without the regex prefilter (every regex "
	    "on all text), one core", secs, 0);
	b = run(c2.buf, "policy B: 20 rules (20 keyword lists) + 3 detectors, "
	    "one core", secs, 1);
	printf("MB/s per core: policy A %.1f, policy A without prefilter "
	    "%.1f, policy B %.1f\n", a, a0, b);
	for (s = 0; s < 5; s++)
		for (k = 0; k < 4; k++)
			mbuf_free(&msgs[s][k]);
	mbuf_free(&c1);
	mbuf_free(&c2);
	return 0;
}
