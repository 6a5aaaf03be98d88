/*
 * t_smtp_parse.c: unit tests of the front end's pure parsers
 * (smtpd/smtp_parse.c): command lines, paths, ESMTP parameters, xtext,
 * base64 and AUTH responses.
 */
#include <stdint.h>
#include <string.h>

#include "../lib/tap.h"
#include "../../smtpd/smtp_parse.h"

static void
test_cmdline(void)
{
	struct smtp_cmdline	c;

	ok(smtp_parse_cmdline("ehlo x", 6, &c) == 0, "cmdline: ehlo x");
	is_str(c.verb, "EHLO", "cmdline: verb upper-cased");
	is_str(c.args, "x", "cmdline: args");
	ok(smtp_parse_cmdline("QUIT", 4, &c) == 0 && c.args[0] == '\0',
	    "cmdline: no args");
	ok(smtp_parse_cmdline("MAIL  FROM:<>", 13, &c) == 0 &&
	    strcmp(c.args, "FROM:<>") == 0, "cmdline: extra spaces skipped");
	ok(smtp_parse_cmdline("", 0, &c) == -1, "cmdline: empty refused");
	ok(smtp_parse_cmdline(" NOOP", 5, &c) == -1,
	    "cmdline: leading space refused");
	ok(smtp_parse_cmdline("NO\0OP", 5, &c) == -1, "cmdline: NUL refused");
	ok(smtp_parse_cmdline("NOOP\r", 5, &c) == -1, "cmdline: CR refused");
	ok(smtp_parse_cmdline("NOOP x\ty", 8, &c) == -1,
	    "cmdline: tab refused");
	ok(smtp_parse_cmdline("N0OP", 4, &c) == -1, "cmdline: digit in verb");
	ok(smtp_parse_cmdline("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 26, &c) == -1,
	    "cmdline: verb too long");
	ok(smtp_parse_cmdline("RCPT TO:<\xc3\xa9@x.org>", 18, &c) == 0,
	    "cmdline: 8-bit in args kept for SMTPUTF8");
}

static int
path(const char *args, const char *kw, int flags, struct smtp_path *p)
{
	const char	*rest;

	return smtp_parse_mailrcpt(args, kw, flags, p, &rest);
}

static void
test_paths(void)
{
	struct smtp_path	p;
	const char		*rest;
	char			 buf[600];
	int			 m = SMTP_PATH_NULL_OK | SMTP_PATH_UTF8;
	int			 r = SMTP_PATH_POSTMASTER | SMTP_PATH_NORELAY;

	ok(path("FROM:<a@b.example>", "FROM", m, &p) == SMTP_POK &&
	    strcmp(p.addr, "a@b.example") == 0, "path: simple");
	ok(path("from:<a@b.example>", "FROM", m, &p) == SMTP_POK,
	    "path: keyword case-insensitive");
	ok(path("FROM:<>", "FROM", m, &p) == SMTP_POK && p.is_null &&
	    p.addr[0] == '\0', "path: null sender");
	ok(path("TO:<>", "TO", r, &p) == SMTP_PERR_SYNTAX,
	    "path: null recipient refused");
	ok(path("FROM: <a@b.example>", "FROM", m, &p) == SMTP_POK,
	    "path: space after colon tolerated");
	ok(path("FROM:a@b.example", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: no brackets refused");
	ok(path("FROM:<a@b.example", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: no closing bracket");
	ok(path("FROM:<a@b.example>x", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: junk after path");
	ok(path("FROM <a@b.example>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: no colon");
	ok(path("FROM:<a.b.c@b.example>", "FROM", m, &p) == SMTP_POK,
	    "path: dot-string");
	ok(path("FROM:<.a@b.example>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: leading dot");
	ok(path("FROM:<a.@b.example>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: trailing dot");
	ok(path("FROM:<a..b@b.example>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: double dot");
	ok(path("FROM:<\"a b\"@b.example>", "FROM", m, &p) == SMTP_POK &&
	    strcmp(p.addr, "\"a b\"@b.example") == 0, "path: quoted local");
	ok(path("FROM:<\"a\\\"b\"@b.example>", "FROM", m, &p) == SMTP_POK,
	    "path: quoted-pair");
	ok(path("FROM:<\"a>b\"@b.example>", "FROM", m, &p) == SMTP_POK &&
	    strcmp(p.addr, "\"a>b\"@b.example") == 0,
	    "path: '>' inside quotes");
	ok(path("FROM:<\"ab@b.example>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: unterminated quote");
	ok(path("FROM:<\"a\x01\"@b.example>", "FROM", m, &p) ==
	    SMTP_PERR_SYNTAX, "path: control char in quotes");
	ok(path("FROM:<a@[192.0.2.1]>", "FROM", m, &p) == SMTP_POK,
	    "path: IPv4 literal");
	ok(path("FROM:<a@[IPv6:2001:db8::1]>", "FROM", m, &p) == SMTP_POK,
	    "path: IPv6 literal");
	ok(path("FROM:<a@[300.0.2.1]>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: bad IPv4 literal");
	ok(path("FROM:<a@[2001:db8::1]>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: IPv6 literal without tag");
	ok(path("FROM:<a@-b.example>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: label starting with hyphen");
	ok(path("FROM:<a@b-.example>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: label ending with hyphen");
	ok(path("FROM:<a@b..example>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: empty label");
	ok(path("FROM:<a@>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: empty domain");
	ok(path("FROM:<@b.example>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: empty local part");
	ok(path("FROM:<ab.example>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: no @");
	ok(path("FROM:<a@b@c.example>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: two @");
	ok(path("FROM:<a b@c.example>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: space in local part");

	/* Source routes: ignored, the mailbox kept (RFC 5321 C). */
	ok(path("TO:<@a.example,@b.example:u@d.example>", "TO", r, &p) ==
	    SMTP_POK && strcmp(p.addr, "u@d.example") == 0 && p.routed,
	    "path: source route dropped");
	ok(path("TO:<@a.example:u@d.example>", "TO", r, &p) == SMTP_POK &&
	    strcmp(p.addr, "u@d.example") == 0, "path: one-hop route");
	ok(path("TO:<@a.example,u@d.example>", "TO", r, &p) ==
	    SMTP_PERR_SYNTAX, "path: malformed route");
	ok(path("TO:<@:u@d.example>", "TO", r, &p) == SMTP_PERR_SYNTAX,
	    "path: empty route domain");

	/* Relay hacks. */
	ok(path("TO:<u%d.example@relay.example>", "TO", r, &p) ==
	    SMTP_PERR_RELAY, "path: %-hack refused");
	ok(path("TO:<d.example!u@relay.example>", "TO", r, &p) ==
	    SMTP_PERR_RELAY, "path: bang path refused");
	ok(path("TO:<\"u%d\"@relay.example>", "TO", r, &p) ==
	    SMTP_PERR_RELAY, "path: quoted %-hack refused");
	ok(path("FROM:<u%d@b.example>", "FROM", m, &p) == SMTP_POK,
	    "path: % in a sender is fine");

	/* Postmaster. */
	ok(path("TO:<Postmaster>", "TO", r, &p) == SMTP_POK && p.postmaster,
	    "path: <Postmaster>");
	ok(path("TO:<postmaster>", "TO", r, &p) == SMTP_POK && p.postmaster,
	    "path: <postmaster> any case");
	ok(path("FROM:<postmaster>", "FROM", m, &p) == SMTP_PERR_SYNTAX,
	    "path: bare postmaster only for RCPT");
	ok(path("TO:<root>", "TO", r, &p) == SMTP_PERR_SYNTAX,
	    "path: other bare local part refused");

	/* Limits. */
	memset(buf, 0, sizeof(buf));
	strcpy(buf, "FROM:<");
	memset(buf + 6, 'a', 65);
	strcat(buf, "@b.example>");
	ok(path(buf, "FROM", m, &p) == SMTP_PERR_TOOLONG,
	    "path: local part of 65 bytes");
	memset(buf, 0, sizeof(buf));
	strcpy(buf, "FROM:<");
	memset(buf + 6, 'a', 64);
	strcat(buf, "@b.example>");
	ok(path(buf, "FROM", m, &p) == SMTP_POK, "path: local part of 64");
	memset(buf, 0, sizeof(buf));
	strcpy(buf, "FROM:<a@");
	memset(buf + 8, 'b', 64);
	strcat(buf, ".example>");
	ok(path(buf, "FROM", m, &p) == SMTP_PERR_SYNTAX, "path: label of 64");
	memset(buf, 0, sizeof(buf));
	strcpy(buf, "FROM:<a@");
	{
		int i;
		for (i = 0; i < 5; i++)
			strcat(buf, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
			    "bbbbbbbbbb.");
	}
	strcat(buf, "example>");
	ok(path(buf, "FROM", m, &p) != SMTP_POK, "path: domain over 255");

	/* UTF-8. */
	ok(path("FROM:<\xc3\xa9@b.example>", "FROM", m, &p) == SMTP_POK &&
	    p.eightbit, "path: UTF-8 local part flagged");
	ok(path("TO:<\xc3\xa9@b.example>", "TO", r, &p) == SMTP_PERR_UTF8,
	    "path: UTF-8 without SMTPUTF8");
	ok(path("TO:<\xc3\xa9@b.example>", "TO", r | SMTP_PATH_UTF8, &p) ==
	    SMTP_POK, "path: UTF-8 with SMTPUTF8");
	ok(path("TO:<a@\xc3\xa9.example>", "TO", r | SMTP_PATH_UTF8, &p) ==
	    SMTP_POK, "path: UTF-8 domain with SMTPUTF8");
	ok(path("TO:<\xc3@b.example>", "TO", r | SMTP_PATH_UTF8, &p) ==
	    SMTP_PERR_SYNTAX, "path: broken UTF-8");
	ok(path("TO:<\xc0\xaf@b.example>", "TO", r | SMTP_PATH_UTF8, &p) ==
	    SMTP_PERR_SYNTAX, "path: overlong UTF-8");
	ok(path("TO:<\xed\xa0\x80@b.example>", "TO", r | SMTP_PATH_UTF8,
	    &p) == SMTP_PERR_SYNTAX, "path: UTF-8 surrogate");

	/* Rest. */
	ok(smtp_parse_mailrcpt("FROM:<a@b.example> SIZE=10", "FROM", m, &p,
	    &rest) == SMTP_POK && strcmp(rest, "SIZE=10") == 0,
	    "path: parameters follow");
}

static void
test_mail_params(void)
{
	struct smtp_mail_params	mp;

	ok(smtp_parse_mail_params("", &mp) == SMTP_POK && !mp.has_size &&
	    mp.body == BODY_7BIT, "mail params: none");
	ok(smtp_parse_mail_params("SIZE=12345", &mp) == SMTP_POK &&
	    mp.has_size && mp.size == 12345, "mail params: SIZE");
	ok(smtp_parse_mail_params("size=0", &mp) == SMTP_POK && mp.has_size,
	    "mail params: size=0");
	ok(smtp_parse_mail_params("SIZE=12a", &mp) == SMTP_PERR_PARAMVAL,
	    "mail params: SIZE not a number");
	ok(smtp_parse_mail_params("SIZE=", &mp) == SMTP_PERR_PARAMVAL,
	    "mail params: SIZE empty");
	ok(smtp_parse_mail_params("SIZE", &mp) == SMTP_PERR_PARAMVAL,
	    "mail params: SIZE without value");
	ok(smtp_parse_mail_params("SIZE=99999999999999999999999", &mp) ==
	    SMTP_PERR_PARAMVAL, "mail params: SIZE overflow");
	ok(smtp_parse_mail_params("SIZE=1 SIZE=2", &mp) == SMTP_PERR_DUP,
	    "mail params: SIZE twice");
	ok(smtp_parse_mail_params("BODY=8BITMIME", &mp) == SMTP_POK &&
	    mp.body == BODY_8BITMIME, "mail params: BODY=8BITMIME");
	ok(smtp_parse_mail_params("BODY=7bit", &mp) == SMTP_POK &&
	    mp.body == BODY_7BIT, "mail params: BODY=7bit");
	ok(smtp_parse_mail_params("BODY=BINARYMIME", &mp) ==
	    SMTP_PERR_PARAMVAL, "mail params: BINARYMIME without CHUNKING");
	ok(smtp_parse_mail_params("SMTPUTF8", &mp) == SMTP_POK &&
	    mp.smtputf8, "mail params: SMTPUTF8");
	ok(smtp_parse_mail_params("SMTPUTF8=yes", &mp) == SMTP_PERR_PARAMVAL,
	    "mail params: SMTPUTF8 with value");
	ok(smtp_parse_mail_params("RET=HDRS", &mp) == SMTP_POK &&
	    mp.ret == DSN_RET_HDRS, "mail params: RET=HDRS");
	ok(smtp_parse_mail_params("RET=FULL", &mp) == SMTP_POK &&
	    mp.ret == DSN_RET_FULL, "mail params: RET=FULL");
	ok(smtp_parse_mail_params("RET=ALL", &mp) == SMTP_PERR_PARAMVAL,
	    "mail params: RET=ALL");
	ok(smtp_parse_mail_params("ENVID=QQ314159", &mp) == SMTP_POK &&
	    strcmp(mp.envid, "QQ314159") == 0, "mail params: ENVID");
	ok(smtp_parse_mail_params("ENVID=a+2Bb+3Dc", &mp) == SMTP_POK &&
	    strcmp(mp.envid, "a+b=c") == 0, "mail params: ENVID xtext");
	ok(smtp_parse_mail_params("ENVID=a+0Db", &mp) == SMTP_PERR_PARAMVAL,
	    "mail params: ENVID decoding to CR refused");
	ok(smtp_parse_mail_params("AUTH=<>", &mp) == SMTP_POK,
	    "mail params: AUTH=<> accepted");
	ok(smtp_parse_mail_params("AUTH=u+40example.org", &mp) == SMTP_POK,
	    "mail params: AUTH=xtext accepted");
	ok(smtp_parse_mail_params("FOO=bar", &mp) == SMTP_PERR_PARAM,
	    "mail params: unknown");
	ok(smtp_parse_mail_params("SIZE=10   BODY=8BITMIME SMTPUTF8 RET=HDRS "
	    "ENVID=x", &mp) == SMTP_POK && mp.size == 10 &&
	    mp.body == BODY_8BITMIME && mp.smtputf8 && mp.ret == DSN_RET_HDRS,
	    "mail params: all together");
}

static void
test_rcpt_params(void)
{
	struct smtp_rcpt_params	rp;

	ok(smtp_parse_rcpt_params("", 0, &rp) == SMTP_POK && rp.notify == 0,
	    "rcpt params: none");
	ok(smtp_parse_rcpt_params("NOTIFY=NEVER", 0, &rp) == SMTP_POK &&
	    rp.notify == DSN_NOTIFY_NEVER, "rcpt params: NOTIFY=NEVER");
	ok(smtp_parse_rcpt_params("NOTIFY=SUCCESS,FAILURE,DELAY", 0, &rp) ==
	    SMTP_POK && rp.notify == (DSN_NOTIFY_SUCCESS |
	    DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY), "rcpt params: NOTIFY list");
	ok(smtp_parse_rcpt_params("NOTIFY=NEVER,SUCCESS", 0, &rp) ==
	    SMTP_PERR_PARAMVAL, "rcpt params: NEVER with others");
	ok(smtp_parse_rcpt_params("NOTIFY=SUCCESS,", 0, &rp) ==
	    SMTP_PERR_PARAMVAL, "rcpt params: trailing comma");
	ok(smtp_parse_rcpt_params("NOTIFY=", 0, &rp) == SMTP_PERR_PARAMVAL,
	    "rcpt params: NOTIFY empty");
	ok(smtp_parse_rcpt_params("ORCPT=rfc822;a+40b.example", 0, &rp) ==
	    SMTP_POK && strcmp(rp.orcpt, "rfc822;a@b.example") == 0,
	    "rcpt params: ORCPT decoded");
	ok(smtp_parse_rcpt_params("ORCPT=a@b.example", 0, &rp) ==
	    SMTP_PERR_PARAMVAL, "rcpt params: ORCPT without type");
	ok(smtp_parse_rcpt_params("ORCPT=x400;a", 0, &rp) ==
	    SMTP_PERR_PARAMVAL, "rcpt params: ORCPT unknown type");
	ok(smtp_parse_rcpt_params("ORCPT=rfc822;a+0Ab", 0, &rp) ==
	    SMTP_PERR_PARAMVAL, "rcpt params: ORCPT decoding to LF");
	ok(smtp_parse_rcpt_params("NOTIFY=NEVER NOTIFY=NEVER", 0, &rp) ==
	    SMTP_PERR_DUP, "rcpt params: NOTIFY twice");
	ok(smtp_parse_rcpt_params("SIZE=1", 0, &rp) == SMTP_PERR_PARAM,
	    "rcpt params: unknown");
}

static void
test_xtext_base64(void)
{
	char	out[64];
	uint8_t	b[64];

	is_int(smtp_xtext_decode("abc", 3, out, sizeof(out)), 3, "xtext: plain");
	is_int(smtp_xtext_decode("a+2B", 4, out, sizeof(out)), 2,
	    "xtext: hex");
	is_str(out, "a+", "xtext: decoded");
	is_int(smtp_xtext_decode("a+2", 3, out, sizeof(out)), -1,
	    "xtext: short hex");
	is_int(smtp_xtext_decode("a+ZZ", 4, out, sizeof(out)), -1,
	    "xtext: bad hex");
	is_int(smtp_xtext_decode("a=b", 3, out, sizeof(out)), -1,
	    "xtext: raw '='");
	is_int(smtp_xtext_decode("a+00", 4, out, sizeof(out)), -1,
	    "xtext: NUL refused");
	is_int(smtp_xtext_decode("abcdef", 6, out, 4), -1, "xtext: too long");

	is_int(smtp_base64_decode("YWJj", 4, b, sizeof(b)), 3, "base64: abc");
	ok(memcmp(b, "abc", 3) == 0, "base64: abc decoded");
	is_int(smtp_base64_decode("YWI=", 4, b, sizeof(b)), 2, "base64: pad 1");
	is_int(smtp_base64_decode("YQ==", 4, b, sizeof(b)), 1, "base64: pad 2");
	is_int(smtp_base64_decode("YQ=a", 4, b, sizeof(b)), -1,
	    "base64: pad in the middle");
	is_int(smtp_base64_decode("YWJ", 3, b, sizeof(b)), -1,
	    "base64: bad length");
	is_int(smtp_base64_decode("YW*j", 4, b, sizeof(b)), -1,
	    "base64: bad char");
	is_int(smtp_base64_decode("", 0, b, sizeof(b)), 0, "base64: empty");
	is_int(smtp_base64_decode("YWJjZGVm", 8, b, 4), -1,
	    "base64: output too small");
}

static void
test_auth(void)
{
	char	user[64], pass[64];

	/* "\0alice\0secret" */
	ok(smtp_parse_auth_plain("AGFsaWNlAHNlY3JldA==", user, sizeof(user),
	    pass, sizeof(pass)) == 0, "auth plain: ok");
	is_str(user, "alice", "auth plain: user");
	is_str(pass, "secret", "auth plain: password");
	/* "alice\0alice\0secret" */
	ok(smtp_parse_auth_plain("YWxpY2UAYWxpY2UAc2VjcmV0", user,
	    sizeof(user), pass, sizeof(pass)) == 0,
	    "auth plain: same authzid");
	/* "bob\0alice\0secret" */
	ok(smtp_parse_auth_plain("Ym9iAGFsaWNlAHNlY3JldA==", user,
	    sizeof(user), pass, sizeof(pass)) == -1,
	    "auth plain: other authzid refused");
	/* "alice\0secret" */
	ok(smtp_parse_auth_plain("YWxpY2UAc2VjcmV0", user, sizeof(user),
	    pass, sizeof(pass)) == -1, "auth plain: one NUL");
	/* "\0\0secret" */
	ok(smtp_parse_auth_plain("AABzZWNyZXQ=", user, sizeof(user), pass,
	    sizeof(pass)) == -1, "auth plain: empty user");
	/* "\0alice\0" */
	ok(smtp_parse_auth_plain("AGFsaWNlAA==", user, sizeof(user), pass,
	    sizeof(pass)) == -1, "auth plain: empty password");
	ok(smtp_parse_auth_plain("=", user, sizeof(user), pass,
	    sizeof(pass)) == -1, "auth plain: '='");
	ok(smtp_parse_auth_plain("not base64!", user, sizeof(user), pass,
	    sizeof(pass)) == -1, "auth plain: garbage");
	/* "\0al\nice\0secret" */
	ok(smtp_parse_auth_plain("AGFsCmljZQBzZWNyZXQ=", user, sizeof(user),
	    pass, sizeof(pass)) == -1, "auth plain: LF in user refused");

	ok(smtp_parse_auth_login("YWxpY2U=", user, sizeof(user)) == 0 &&
	    strcmp(user, "alice") == 0, "auth login: user");
	ok(smtp_parse_auth_login("", user, sizeof(user)) == -1,
	    "auth login: empty");
	ok(smtp_parse_auth_login("AGE=", user, sizeof(user)) == -1,
	    "auth login: NUL refused");
}

static void
test_helo(void)
{
	char	h[256];

	ok(smtp_parse_helo("mail.example.org", h, sizeof(h)) == 0 &&
	    strcmp(h, "mail.example.org") == 0, "helo: domain");
	ok(smtp_parse_helo("[192.0.2.1]", h, sizeof(h)) == 0,
	    "helo: address literal");
	ok(smtp_parse_helo("[IPv6:::1]", h, sizeof(h)) == 0,
	    "helo: IPv6 literal");
	ok(smtp_parse_helo("localhost", h, sizeof(h)) == 0, "helo: localhost");
	ok(smtp_parse_helo("my_host.example", h, sizeof(h)) == 0,
	    "helo: underscore tolerated");
	ok(smtp_parse_helo("", h, sizeof(h)) == -1, "helo: empty");
	ok(smtp_parse_helo("a b", h, sizeof(h)) == -1, "helo: two words");
	ok(smtp_parse_helo("a<b>", h, sizeof(h)) == -1, "helo: bad chars");
	ok(smtp_parse_helo("[1.2.3]", h, sizeof(h)) == -1,
	    "helo: bad literal");
}

int
main(void)
{
	test_cmdline();
	test_paths();
	test_mail_params();
	test_rcpt_params();
	test_xtext_base64();
	test_auth();
	test_helo();
	return done_testing();
}
