/*
 * t_mta_body.c: the outbound form of a message (mta_body.c): CRLF
 * normalisation (no bare CR or LF ever leaves), dot-stuffing, the final
 * dot, and the stripping of X-Seal-* control headers with their
 * continuation lines in the top-level header only.
 */
#include <string.h>

#include "../../deliveryd/delivery.h"
#include "../lib/tap.h"

struct config	*delivery_cfg;

static char out[65536];

static const char *
enc(const char *in, enum mta_body_mode mode)
{
	struct mta_buf	b;

	memset(&b, 0, sizeof(b));
	mta_body_encode(in, strlen(in), mode, &b);
	memcpy(out, b.data, b.len);
	out[b.len] = '\0';
	mta_buf_free(&b);
	return out;
}

/* No CR without LF after it, no LF without CR before it. */
static int
crlf_only(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '\r' && s[i + 1] != '\n')
			return 0;
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return 0;
	}
	return 1;
}

int
main(void)
{
	is_str(enc("Subject: x\r\n\r\nbody\r\n", BODY_SMTP),
	    "Subject: x\r\n\r\nbody\r\n.\r\n", "CRLF message unchanged + dot");
	is_str(enc("Subject: x\n\nbody\n", BODY_SMTP),
	    "Subject: x\r\n\r\nbody\r\n.\r\n", "bare LF becomes CRLF");
	is_str(enc("A: b\r\n\r\nx\ry\r\n", BODY_SMTP),
	    "A: b\r\n\r\nx\r\ny\r\n.\r\n", "bare CR becomes CRLF");
	is_str(enc("A: b\r\n\r\nsmuggle\n.\r\nMAIL FROM:<x>\r\n", BODY_SMTP),
	    "A: b\r\n\r\nsmuggle\r\n..\r\nMAIL FROM:<x>\r\n.\r\n",
	    "smuggling payload: bare LF dot is normalised and stuffed");
	ok(crlf_only(enc("a\rb\nc\r\rd\n\r\n\r", BODY_SMTP)),
	    "mixed line ends: CRLF only on the way out");
	is_str(enc("A: b\r\n\r\n.\r\n..x\r\n", BODY_SMTP),
	    "A: b\r\n\r\n..\r\n...x\r\n.\r\n", "dot-stuffing");
	is_str(enc("A: b\r\n\r\nno end", BODY_SMTP),
	    "A: b\r\n\r\nno end\r\n.\r\n", "missing final line end added");
	is_str(enc("", BODY_SMTP), ".\r\n", "empty message");

	is_str(enc("Received: r\r\nX-Seal-Secure: yes\r\nSubject: s\r\n"
	    "\r\nb\r\n", BODY_SMTP),
	    "Received: r\r\nSubject: s\r\n\r\nb\r\n.\r\n",
	    "X-Seal- header stripped");
	is_str(enc("x-seal-policy: a\r\n b\r\n\tc\r\nSubject: s\r\n\r\nb\r\n",
	    BODY_SMTP), "Subject: s\r\n\r\nb\r\n.\r\n",
	    "lower case, continuation lines stripped too");
	is_str(enc("Subject: s\r\n more\r\nX-SEAL-A: 1\r\nX-Other: 2\r\n\r\n",
	    BODY_SMTP), "Subject: s\r\n more\r\nX-Other: 2\r\n\r\n.\r\n",
	    "other continuation lines kept");
	is_str(enc("Subject: s\r\n\r\nX-Seal-Secure: in body\r\n", BODY_SMTP),
	    "Subject: s\r\n\r\nX-Seal-Secure: in body\r\n.\r\n",
	    "body lines untouched");
	is_str(enc("X-Sealed: keep\r\n\r\n", BODY_SMTP),
	    "X-Sealed: keep\r\n\r\n.\r\n", "X-Sealed is not a control header");
	is_str(enc("X-Seal-A: 1\nX-Seal-B: 2\rSubject: s\n\nb", BODY_SMTP),
	    "Subject: s\r\n\r\nb\r\n.\r\n",
	    "control headers with bare line ends stripped");

	is_str(enc("Subject: x\r\nX-Seal-A: 1\r\n\r\n.b\r\n", BODY_MAILDIR),
	    "Subject: x\n\n.b\n", "maildir: LF, no stuffing, no final dot");
	ok(mta_body_is_control("X-Seal-x: 1", 11), "is_control");
	ok(!mta_body_is_control("X-Sea", 5), "short is not control");
	return done_testing();
}
