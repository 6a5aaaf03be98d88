/*
 * fuzz_notice.c: what the queue takes from a secured message for the
 * notification mails (smtpd/notice.c): Subject and From display name of
 * the original header (notice_header, notice_display_name, RFC 2047
 * decoding), the template renderer (notice_render) and the notification
 * built around those hostile values (notice_build).
 *
 * Input: one byte of settings (kind, language, output sizes), then the
 * start of a message.  Invariants checked: the values taken are
 * terminated, valid UTF-8 without control bytes; the notification is
 * 7-bit CRLF text whose header holds only the fields the queue writes
 * (nothing injected through the subject or the name); HTML rendering
 * escapes what it substitutes.  The templates are the tree's
 * etc/templates, read once (the targets run from the top of the tree).
 */
#include <string.h>

#include "../../smtpd/notice.h"
#include "proto.h"
#include "fuzz.h"

static struct config	 cfg;
static int		 loaded = -1;

static void
check_value(const char *what, const char *s, size_t sz)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n, k;

	if (memchr(s, '\0', sz) == NULL)
		fuzz_fail("%s: not terminated", what);
	for (i = 0; p[i] != '\0'; i += n) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			fuzz_fail("%s: control byte 0x%02x", what, p[i]);
		if (p[i] < 0x80)
			n = 1;
		else if (p[i] >= 0xc2 && p[i] <= 0xdf)
			n = 2;
		else if (p[i] >= 0xe0 && p[i] <= 0xef)
			n = 3;
		else if (p[i] >= 0xf0 && p[i] <= 0xf4)
			n = 4;
		else
			fuzz_fail("%s: bad UTF-8 at %zu", what, i);
		for (k = 1; k < n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				fuzz_fail("%s: cut UTF-8 at %zu", what, i);
	}
}

static const char *const fields[] = {
	"Date", "From", "To", "Reply-To", "Subject", "Message-ID",
	"Auto-Submitted", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding",
};

static void
check_message(const struct qbuf *m)
{
	const char	*p = m->buf, *end = m->buf + m->len, *eol, *colon;
	size_t		 i, n;
	int		 header = 1;

	for (i = 0; i < m->len; i++) {
		if ((unsigned char)p[i] >= 0x80 || p[i] == '\0')
			fuzz_fail("byte 0x%02x in a 7-bit notice at %zu",
			    (unsigned char)p[i], i);
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			fuzz_fail("bare LF in a notice at %zu", i);
		if (p[i] == '\r' && (i + 1 >= m->len || p[i + 1] != '\n'))
			fuzz_fail("bare CR in a notice at %zu", i);
	}
	while (p < end && header) {
		if ((eol = memchr(p, '\r', (size_t)(end - p))) == NULL)
			fuzz_fail("header not ended");
		n = (size_t)(eol - p);
		if (n > 998)
			fuzz_fail("header line of %zu bytes", n);
		if (n == 0)
			header = 0;
		else if (p[0] != ' ' && p[0] != '\t') {
			if ((colon = memchr(p, ':', n)) == NULL)
				fuzz_fail("header line without a name");
			for (i = 0; i < sizeof(fields) / sizeof(fields[0]);
			    i++)
				if (strlen(fields[i]) == (size_t)(colon - p) &&
				    strncmp(fields[i], p, colon - p) == 0)
					break;
			if (i == sizeof(fields) / sizeof(fields[0]))
				fuzz_fail("header field \"%.*s\" injected",
				    (int)(colon - p), p);
		}
		p = eol + 2;
	}
}

FUZZ_TARGET(notice)
{
	struct notice_hdrs	 h;
	struct notice_var	 v[12];
	struct qbuf		 out;
	char			*msg, *tmpl, subject[PROTO_SUBJECT_MAX];
	char			 from[PROTO_NAME_MAX], name[PROTO_NAME_MAX];
	char			 small[16], err[128], display[PROTO_NAME_MAX * 2];
	size_t			 len, ssz, nv = 0;
	enum notice_kind	 kind;
	enum notice_lang	 lang;

	if (loaded == -1) {
		FILE	*devnull = fopen("/dev/null", "w");

		loaded = notice_load(&cfg, ".", devnull ? devnull : stderr)
		    == 0;
		if (devnull != NULL)
			fclose(devnull);
	}
	if (size < 1)
		return 0;
	kind = (data[0] & 3) % NOTICE_MAX;
	lang = (data[0] >> 2) & 1 ? NOTICE_EN : NOTICE_NL;
	ssz = 1 + (data[0] >> 3) % sizeof(small);
	len = size - 1;
	/* Exactly the bytes read, not terminated, as read_headers has. */
	if ((msg = malloc(len ? len : 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(msg, data + 1, len);

	notice_header(msg, len, "Subject", subject, sizeof(subject));
	check_value("subject", subject, sizeof(subject));
	notice_header(msg, len, "Subject", small, ssz);
	check_value("short subject", small, ssz);
	notice_header(msg, len, "From", from, sizeof(from));
	check_value("from", from, sizeof(from));
	notice_display_name(from, name, sizeof(name));
	check_value("name", name, sizeof(name));

	/* The message as a template, with the taken values. */
	(void)snprintf(display, sizeof(display), "%s <s@example.org>", name);
	v[nv++] = (struct notice_var){ "organisation", "Org & Co" };
	v[nv++] = (struct notice_var){ "sender", "s@example.org" };
	v[nv++] = (struct notice_var){ "sender_name", name };
	v[nv++] = (struct notice_var){ "sender_display", display };
	v[nv++] = (struct notice_var){ "subject", subject };
	v[nv++] = (struct notice_var){ "link", "https://p.example/t/x" };
	v[nv++] = (struct notice_var){ "expires", "1 mei 2030" };
	v[nv++] = (struct notice_var){ "recipient", "r@example.net" };
	v[nv++] = (struct notice_var){ "code", "123456" };
	tmpl = fuzz_strndup(data + 1, len);
	qbuf_init(&out);
	err[0] = '\0';
	if (notice_render(&out, tmpl, v, nv, data[0] & 1, err,
	    sizeof(err)) == -1 && (err[0] == '\0' ||
	    memchr(err, '\0', sizeof(err)) == NULL))
		fuzz_fail("render failed without a reason");
	qbuf_free(&out);
	free(tmpl);

	/* HTML escaping of hostile values. */
	qbuf_init(&out);
	if (notice_render(&out, "{{subject}}{{sender_name}}", v, nv, 1, err,
	    sizeof(err)) == -1)
		fuzz_fail("render: %s", err);
	if (out.len > 0 && strpbrk(out.buf, "<>\"'") != NULL)
		fuzz_fail("HTML special character not escaped");
	qbuf_free(&out);

	if (loaded) {
		memset(&h, 0, sizeof(h));
		h.from = (data[0] & 0x80) ?
		    "\"Zorg & Co\" <noreply@relay.example.org>" : NULL;
		h.to = "r@example.net";
		h.reply_to = "s@example.org";
		h.hostname = "relay.example.org";
		h.id = "0123456789abcdef";
		h.date = 1700000000;
		qbuf_init(&out);
		if (notice_build(&out, &cfg, kind, lang, &h, v, nv, err,
		    sizeof(err)) == -1)
			fuzz_fail("build: %s", err);
		check_message(&out);
		qbuf_free(&out);
	}
	free(msg);
	return 0;
}
