/*
 * fuzz_mta_reply.c: what a remote SMTP server says to deliveryd: replies
 * (mta_reply_parse), EHLO keywords (mta_reply_ehlo), and the xtext
 * encoder for what goes back (mta_xtext), deliveryd/mta_reply.c.
 *
 * Input: the bytes a server sends, read as the session reads them (one
 * reply after another from its buffer, which is not NUL-terminated).
 * Invariants checked: a reply uses bytes it was given, has a code of 200
 * to 599, and its text is terminated and free of control bytes.
 */
#include <string.h>

#include "../../deliveryd/delivery.h"
#include "fuzz.h"

static void
check_text(const char *what, const char *s, size_t sz)
{
	size_t	i;

	for (i = 0; i < sz && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			fuzz_fail("%s: control byte 0x%02x", what,
			    (unsigned char)s[i]);
	if (i == sz)
		fuzz_fail("%s: not terminated", what);
}

FUZZ_TARGET(mta_reply)
{
	struct mta_reply	 r;
	uint64_t		 maxsize;
	char			*buf, *s, xt[64];
	size_t			 off = 0;
	ssize_t			 n;

	/* Exactly size bytes, so that ASan sees a read past them. */
	if ((buf = malloc(size ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(buf, data, size);
	while (off < size) {
		n = mta_reply_parse(buf + off, size - off, &r);
		if (n == 0)
			break;
		check_text("reply text", r.text, sizeof(r.text));
		if (n < 0)
			break;
		if ((size_t)n > size - off)
			fuzz_fail("reply of %zd bytes, %zu given", n,
			    size - off);
		if (r.code < 200 || r.code > 599)
			fuzz_fail("reply code %d", r.code);
		(void)mta_reply_ehlo(buf + off, (size_t)n, &maxsize);
		off += (size_t)n;
	}
	(void)mta_reply_ehlo(buf, size, &maxsize);

	s = fuzz_strndup(data, size);
	if (mta_xtext(xt, sizeof(xt), s) == 0) {
		check_text("xtext", xt, sizeof(xt));
		if (strchr(xt, '=') != NULL)
			fuzz_fail("xtext holds '='");
	}
	free(s);
	free(buf);
	return 0;
}
