/*
 * t_mta_reply.c: the SMTP reply parser of deliveryd (mta_reply.c):
 * single and multi-line replies, partial input, malformed and too short
 * replies, escaping of everything a server says, EHLO keywords, xtext.
 */
#include <string.h>

#include "../../deliveryd/delivery.h"
#include "../lib/tap.h"

struct config	*delivery_cfg;

static ssize_t
parse(const char *s, struct mta_reply *r)
{
	return mta_reply_parse(s, strlen(s), r);
}

int
main(void)
{
	struct mta_reply	 r;
	const char		*s;
	char			 big[MTA_REPLY_LINE_MAX + 64], x[64];
	uint64_t		 size;
	int			 ext;

	s = "250 2.0.0 Ok: queued\r\n";
	is_int(parse(s, &r), (long long)strlen(s), "one line: all used");
	is_int(r.code, 250, "one line: code");
	is_str(r.text, "250 2.0.0 Ok: queued", "one line: text");

	s = "250 ok\r\n354 go\r\n";
	is_int(parse(s, &r), 8, "two replies: the first only");

	s = "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n";
	is_int(parse(s, &r), (long long)strlen(s), "multi-line: all used");
	is_int(r.code, 250, "multi-line: code");
	is_str(r.text, "250 mx.example PIPELINING SIZE 1000",
	    "multi-line: lines joined");

	is_int(parse("250-first\r\n250-second\r\n", &r), 0,
	    "multi-line without its last line: incomplete");
	is_int(parse("250 ok", &r), 0, "no line end yet: incomplete");
	is_int(parse("", &r), 0, "nothing: incomplete");

	is_int(parse("250\r\n", &r), 5, "bare code is a reply");
	is_int(r.code, 250, "bare code: code");
	is_int(parse("220 bare lf\n", &r), 12, "bare LF tolerated");

	is_int(parse("25\r\n", &r), -1, "reply shorter than 4 bytes: malformed");
	is_int(parse("2\r\n", &r), -1, "2 bytes: malformed");
	is_int(parse("\r\n", &r), -1, "empty line: malformed");
	is_int(parse("abc def\r\n", &r), -1, "letters: malformed");
	is_int(parse("250xok\r\n", &r), -1, "no separator: malformed");
	is_int(parse("650 what\r\n", &r), -1, "code 6xx: malformed");
	is_int(parse("150 what\r\n", &r), -1, "code 1xx: malformed");
	is_int(parse("250-a\r\n550 b\r\n", &r), -1,
	    "multi-line with differing codes: malformed");
	ok(strstr(r.text, "differ") != NULL, "the reason says why");

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "250 ", 4);
	is_int(parse(big, &r), -1, "overlong line without end: malformed");

	s = "550 5.1.1 <a@b>\r\x01\x1b[31m bad\r\n";
	ok(parse(s, &r) > 0, "control bytes: parsed");
	ok(strchr(r.text, '\r') == NULL && strchr(r.text, '\x1b') == NULL &&
	    strchr(r.text, '\x01') == NULL, "control bytes escaped");
	ok(strstr(r.text, "\\x1b") != NULL, "escape is visible");
	s = "550 a\xff\xfe z\r\n";
	ok(parse(s, &r) > 0 && strstr(r.text, "\\xff") != NULL,
	    "8-bit bytes escaped");
	is_int(parse("25\x01\r\n", &r), -1, "malformed: still escaped reason");
	ok(strchr(r.text, '\x01') == NULL, "malformed reason is escaped");

	s = "250-mx.example greets you\r\n250-PIPELINING\r\n"
	    "250-SIZE 10240000\r\n250-STARTTLS\r\n250-AUTH LOGIN PLAIN\r\n"
	    "250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n";
	ext = mta_reply_ehlo(s, strlen(s), &size);
	ok(ext & EXT_PIPELINING, "ehlo: PIPELINING");
	ok(ext & EXT_STARTTLS, "ehlo: STARTTLS");
	ok(ext & EXT_AUTH_PLAIN, "ehlo: AUTH PLAIN");
	ok(ext & EXT_8BITMIME, "ehlo: 8BITMIME");
	ok(ext & EXT_DSN, "ehlo: DSN");
	ok(ext & EXT_SMTPUTF8, "ehlo: SMTPUTF8");
	ok(ext & EXT_SIZE, "ehlo: SIZE");
	is_int((long long)size, 10240000, "ehlo: SIZE value");
	s = "250-STARTTLS is the greeting\r\n250 8BITMIME\r\n";
	ext = mta_reply_ehlo(s, strlen(s), &size);
	ok(!(ext & EXT_STARTTLS), "ehlo: greeting line is no keyword");
	s = "250-x\r\n250 AUTH LOGIN\r\n";
	ext = mta_reply_ehlo(s, strlen(s), &size);
	ok((ext & EXT_AUTH) && !(ext & EXT_AUTH_PLAIN), "ehlo: AUTH no PLAIN");
	ok(ext & EXT_AUTH_LOGIN, "ehlo: AUTH LOGIN");
	s = "250-x\r\n250 AUTH=PLAIN CRAM-MD5\r\n";
	ext = mta_reply_ehlo(s, strlen(s), &size);
	ok((ext & EXT_AUTH_PLAIN) && !(ext & EXT_AUTH_LOGIN),
	    "ehlo: AUTH=PLAIN, no LOGIN");
	s = "250-x\r\n250 AUTH LOGINX PLAINTEXT\r\n";
	ext = mta_reply_ehlo(s, strlen(s), &size);
	ok(!(ext & (EXT_AUTH_PLAIN | EXT_AUTH_LOGIN)),
	    "ehlo: only whole mechanism names count");

	ok(mta_xtext(x, sizeof(x), "a+b=c d") == 0, "xtext fits");
	is_str(x, "a+2Bb+3Dc+20d", "xtext encodes + = and space");
	ok(mta_xtext(x, 4, "abcdef") == -1, "xtext too long refused");
	return done_testing();
}
