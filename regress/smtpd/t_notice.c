/*
 * t_notice.c: the notices of secured delivery (smtpd/notice.c): template
 * rendering and its errors, HTML escaping, the headers read from the
 * original (RFC 2047, unfolding, controls), and the built message: 7-bit,
 * encoded subject, quoted-printable parts, no header injection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/notice.h"
#include "../lib/tap.h"

static const struct notice_var vars[] = {
	{ "organisation", "Zorg & Co" },
	{ "subject", "Uitslag <b>" },
	{ "logo", "" },
	{ "link", "https://p.example/m/TOKEN" },
};
#define NV	(sizeof(vars) / sizeof(vars[0]))

static const char *
render(const char *t, int html, int *rv)
{
	static struct qbuf	b;
	static char		err[128];

	qbuf_free(&b);
	qbuf_init(&b);
	*rv = notice_render(&b, t, vars, NV, html, err, sizeof(err));
	return *rv == 0 ? (b.buf ? b.buf : "") : err;
}

int
main(void)
{
	struct config	 cfg;
	struct notice_hdrs h;
	struct qbuf	 b;
	char		 out[256], err[128];
	const char	*s;
	size_t		 i;
	int		 rv, bad;
	FILE		*devnull;

	s = render("Hi {{organisation}}: {{subject}}", 0, &rv);
	is_str(s, "Hi Zorg & Co: Uitslag <b>", "text: values as they are");
	s = render("{{organisation}} {{subject}}", 1, &rv);
	is_str(s, "Zorg &amp; Co Uitslag &lt;b&gt;", "html: values escaped");
	s = render("a{{#subject}}[{{subject}}]{{/subject}}b", 0, &rv);
	is_str(s, "a[Uitslag <b>]b", "section kept when set");
	s = render("a{{#logo}}<img>{{/logo}}{{^logo}}none{{/logo}}b", 0, &rv);
	is_str(s, "anoneb", "section dropped, inverted kept when empty");
	s = render("{{nosuch}}", 0, &rv);
	ok(rv == -1 && strstr(s, "nosuch") != NULL, "unknown name refused "
	    "(%s)", s);
	s = render("{{#logo}}{{nosuch}}{{/logo}}", 0, &rv);
	ok(rv == -1, "unknown name inside a dropped section refused too");
	s = render("{{#subject}}x", 0, &rv);
	ok(rv == -1, "unclosed section refused (%s)", s);
	s = render("{{/subject}}", 0, &rv);
	ok(rv == -1, "close without open refused");
	s = render("{{subject", 0, &rv);
	ok(rv == -1, "unclosed braces refused");

	s = "Subject: =?UTF-8?B?VWl0c2xhZyDDqWNodG8=?=\r\n\r\nx";
	notice_header(s, strlen(s), "Subject", out, sizeof(out));
	is_str(out, "Uitslag \xc3\xa9" "chto", "RFC 2047 B, UTF-8");
	s = "From: x\r\nSubject: =?iso-8859-1?q?caf=E9?= \r\n"
	    " =?iso-8859-1?q?_bar?=\r\n\r\n";
	notice_header(s, strlen(s), "Subject", out, sizeof(out));
	is_str(out, "caf\xc3\xa9 bar", "Q, latin-1, folded, blank between "
	    "words dropped");
	notice_header("Subject: a\r\n\tb\x01\r\n\r\nSubject: body\r\n", 35,
	    "Subject", out, sizeof(out));
	is_str(out, "a b", "unfolded, controls removed, body not read");
	notice_header("Subject: \xff\xfe ok\r\n\r\n", 20, "Subject", out,
	    sizeof(out));
	is_str(out, "?? ok", "invalid UTF-8 replaced");
	notice_header("To: x\r\n\r\n", 9, "Subject", out, sizeof(out));
	is_str(out, "", "missing header: empty");
	notice_header("Subject: \xc3\xa9\xc3\xa9\xc3\xa9\r\n\r\n", 17,
	    "Subject", out, 4);
	is_str(out, "\xc3\xa9", "cut at a character boundary");
	notice_display_name("\"Dr. A. Jansen\" <a@b>", out, sizeof(out));
	is_str(out, "Dr. A. Jansen", "display name");
	notice_display_name("a@b", out, sizeof(out));
	is_str(out, "", "no display name");

	memset(&cfg, 0, sizeof(cfg));
	(void)strlcpy(cfg.secure.language, "nl", sizeof(cfg.secure.language));
	cfg.secure.templates = "../../etc/templates";
	devnull = fopen("/dev/null", "w");
	if (notice_load(&cfg, NULL, devnull) == -1) {
		cfg.secure.templates = "etc/templates";
		ok(notice_load(&cfg, NULL, stderr) == 0, "shipped templates "
		    "load");
	} else
		ok(1, "shipped templates load");
	is_int(notice_lang(&cfg, ""), NOTICE_NL, "default language");
	is_int(notice_lang(&cfg, "en"), NOTICE_EN, "asked language");
	memset(&h, 0, sizeof(h));
	h.to = "pat@example.com";
	h.hostname = "relay.example";
	h.id = "0123456789abcdef";
	h.from = "Zorg \xc3\xa9 <v@zorg.example>";
	h.reply_to = "arts@zorg.example";
	h.date = 0;
	{
		struct notice_var v[] = {
			{ "organisation", "Zorg" },
			{ "sender_name", "Dr. \xc3\xa9" },
			{ "sender_display", "Dr. <a@b>" },
			{ "sender", "a@b" },
			{ "subject", "Uitslag\r\nBcc: evil@example" },
			{ "link", "https://p.example/m/TOKEN" },
			{ "expires", "1 januari 2027" },
			{ "recipient", "pat@example.com" },
		};

		qbuf_init(&b);
		rv = notice_build(&b, &cfg, NOTICE_NOTIFY, NOTICE_EN, &h, v,
		    sizeof(v) / sizeof(v[0]), err, sizeof(err));
		ok(rv == 0, "notification built (%s)", rv ? err : "");
	}
	for (i = 0, bad = 0; i < b.len; i++)
		if ((unsigned char)b.buf[i] > 0x7e ||
		    ((unsigned char)b.buf[i] < 0x20 && b.buf[i] != '\r' &&
		    b.buf[i] != '\n' && b.buf[i] != '\t'))
			bad = 1;
	ok(!bad, "7-bit clean");
	if (getenv("T_NOTICE_DUMP"))
		fwrite(b.buf, 1, b.len, stderr);
	s = strstr(b.buf, "\r\n\r\n");
	ok(s != NULL && memmem(b.buf, (size_t)(s - b.buf), "\nBcc:", 5) ==
	    NULL, "no header injected through the subject");
	ok(strstr(b.buf, "Subject: =?UTF-8?B?") != NULL, "non-ASCII subject "
	    "encoded");
	ok(strstr(b.buf, "From: =?UTF-8?B?") != NULL &&
	    strstr(b.buf, "<v@zorg.example>\r\n") != NULL, "From: name "
	    "encoded, address kept");
	ok(strstr(b.buf, "Reply-To: <arts@zorg.example>\r\n") != NULL,
	    "Reply-To");
	ok(strstr(b.buf, "multipart/alternative") != NULL &&
	    strstr(b.buf, "Content-Type: text/html") != NULL,
	    "text and HTML parts");
	ok(strstr(b.buf, "https://p.example/m/TOKEN") != NULL, "link in the "
	    "text part");
	ok(strstr(b.buf, "Dr. &lt;a@b&gt;") != NULL, "escaped in HTML");
	for (s = b.buf, bad = 0; (s = strstr(s, "\r\n")) != NULL; s += 2) {
		const char *e = strstr(s + 2, "\r\n");

		if (e != NULL && e - (s + 2) > 78)
			bad = 1;
	}
	ok(!bad, "no line longer than 78");
	qbuf_free(&b);
	notice_date(out, sizeof(out), 86400 * 45, NOTICE_NL);
	ok(strstr(out, "februari 1970") != NULL, "Dutch date (%s)", out);
	notice_date(out, sizeof(out), 86400 * 45, NOTICE_EN);
	ok(strstr(out, "February 15, 1970") != NULL, "English date (%s)",
	    out);
	notice_free(&cfg);
	fclose(devnull);
	(void)render("", 0, &rv);
	return done_testing();
}
