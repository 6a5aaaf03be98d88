/*
 * fuzz_smtp_parse.c: the SMTP command parsers of the smtp front end
 * (smtpd/smtp_parse.c): the command line, MAIL FROM / RCPT TO paths and
 * their ESMTP parameters, HELO/EHLO, xtext, AUTH PLAIN and LOGIN.
 *
 * Input: one flag byte (path flags, output sizes), then a command line
 * as the session hands it over (without CRLF).  Invariant checked: what
 * a parser accepts holds no control character and fits its buffer.
 */
#include <string.h>

#include "../../smtpd/smtp_parse.h"
#include "fuzz.h"

static void
check_clean(const char *what, const char *s, size_t sz)
{
	size_t	i;

	for (i = 0; i < sz && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			fuzz_fail("%s: control byte 0x%02x accepted", what,
			    (unsigned char)s[i]);
	if (i == sz)
		fuzz_fail("%s: not terminated in its buffer", what);
}

static void
fuzz_path(const char *args, const char *kw, int flags)
{
	struct smtp_path	 path;
	struct smtp_mail_params	 mp;
	struct smtp_rcpt_params	 rp;
	const char		*rest;

	if (smtp_parse_mailrcpt(args, kw, flags, &path, &rest) != SMTP_POK)
		return;
	check_clean("path", path.addr, sizeof(path.addr));
	if (path.is_null && path.addr[0] != '\0')
		fuzz_fail("null path with an address");
	if (!path.is_null && !path.postmaster &&
	    strchr(path.addr, '@') == NULL)
		fuzz_fail("path without a domain: %s", path.addr);
	if (!(flags & SMTP_PATH_UTF8) && path.eightbit)
		fuzz_fail("8-bit path without SMTPUTF8");
	if (rest < args || rest > args + strlen(args))
		fuzz_fail("rest outside the arguments");
	if (kw[0] == 'F') {
		if (smtp_parse_mail_params(rest, &mp) == SMTP_POK)
			check_clean("envid", mp.envid, sizeof(mp.envid));
	} else {
		if (smtp_parse_rcpt_params(rest, flags & SMTP_PATH_UTF8,
		    &rp) == SMTP_POK)
			check_clean("orcpt", rp.orcpt, sizeof(rp.orcpt));
	}
}

FUZZ_TARGET(smtp_parse)
{
	struct smtp_cmdline	 cmd;
	struct smtp_path	 path;
	char			*line, helo[PROTO_NAME_MAX];
	char			 user[PROTO_NAME_MAX], pass[PROTO_NAME_MAX];
	char			 small[64];
	uint8_t			 bin[512];
	const char		*end;
	size_t			 len, osz;
	int			 flags, n;

	if (size < 1)
		return 0;
	flags = data[0] & 0x0f;
	osz = 1 + (data[0] >> 4) * 4;		/* 1..61: output limits */
	line = fuzz_strndup(data + 1, size - 1);
	len = size - 1;

	/* As the session does: a line with a NUL never reaches a parser. */
	if (memchr(line, '\0', len) == NULL &&
	    smtp_parse_cmdline(line, len, &cmd) == 0) {
		if (strlen(cmd.verb) == 0 || strlen(cmd.verb) >= SMTP_VERB_MAX)
			fuzz_fail("bad verb length");
		check_clean("args", cmd.args, len + 1);
		fuzz_path(cmd.args, "FROM", flags);
		fuzz_path(cmd.args, "TO", flags);
		if (smtp_parse_helo(cmd.args, helo, sizeof(helo)) == 0)
			check_clean("helo", helo, sizeof(helo));
		if (smtp_parse_auth_plain(cmd.args, user, sizeof(user), pass,
		    sizeof(pass)) == 0) {
			check_clean("auth plain user", user, sizeof(user));
			if (memchr(pass, '\0', sizeof(pass)) == NULL)
				fuzz_fail("auth plain password unterminated");
		}
		if (smtp_parse_auth_login(cmd.args, user, osz) == 0 &&
		    strlen(user) >= osz)
			fuzz_fail("auth login overflows");
	}

	/* The building blocks on the raw bytes, with small outputs. */
	if (smtp_parse_path(line, flags, &path, &end) == SMTP_POK)
		check_clean("raw path", path.addr, sizeof(path.addr));
	if ((n = smtp_xtext_decode(line, len, small, osz)) >= 0) {
		if ((size_t)n >= osz || strlen(small) != (size_t)n)
			fuzz_fail("xtext: length %d, buffer %zu", n, osz);
		check_clean("xtext", small, osz);
	}
	if ((n = smtp_base64_decode(line, len, bin, osz)) > (int)osz)
		fuzz_fail("base64: %d bytes into %zu", n, osz);
	(void)smtp_base64_decode(line, len, bin, sizeof(bin));
	(void)smtp_valid_domain(line, len, flags & 1);
	(void)smtp_valid_addr_literal(line, len);
	free(line);
	return 0;
}
