/*
 * t_mime.c: unit tests of the policy engine's MIME decoder
 * (policyd/mime.c, policyd/mime_text.c): transfer encodings, charsets,
 * encoded-words, RFC 2231 parameters, HTML, multipart trees, broken and
 * unscannable messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policyd/mime.h"
#include "util.h"
#include "../lib/tap.h"

static char	 sbuf[65536];

/* The buffer as a C string (for is_str). */
static const char *
S(const struct mbuf *b)
{
	size_t	n = b->len < sizeof(sbuf) - 1 ? b->len : sizeof(sbuf) - 1;

	if (n > 0)
		memcpy(sbuf, b->buf, n);
	sbuf[n] = '\0';
	return sbuf;
}

static const char *
b64(const char *in)
{
	static struct mbuf	b;

	b.len = 0;
	mime_base64_decode(&b, in, strlen(in));
	return S(&b);
}

static const char *
qp(const char *in)
{
	static struct mbuf	b;

	b.len = 0;
	mime_qp_decode(&b, in, strlen(in));
	return S(&b);
}

static const char *
cs(const char *charset, const char *in, size_t len)
{
	static struct mbuf	b;

	b.len = 0;
	(void)mime_charset_to_utf8(&b, charset, in, len);
	return S(&b);
}

static const char *
hdr(const char *in)
{
	static struct mbuf	b;

	b.len = 0;
	mime_header_decode(&b, in, strlen(in));
	return S(&b);
}

static const char *
html(const char *in)
{
	static struct mbuf	b;

	b.len = 0;
	mime_html_to_text(&b, in, strlen(in));
	return S(&b);
}

static const char *
param(const char *in, const char *name)
{
	static struct mbuf	b;

	b.len = 0;
	if (!mime_header_param(&b, in, strlen(in), name))
		return "(none)";
	return S(&b);
}

/* Decode a message given with \n line ends, as CRLF like the spool. */
static enum mime_status
decode(struct mime_result *r, const char *msg)
{
	struct mbuf	crlf = { 0 };
	enum mime_status st;

	for (; *msg; msg++) {
		if (*msg == '\n')
			mbuf_addc(&crlf, '\r');
		mbuf_addc(&crlf, *msg);
	}
	st = mime_decode(r, (const uint8_t *)crlf.buf, crlf.len);
	mbuf_free(&crlf);
	return st;
}

static int
has(const struct mbuf *b, const char *needle)
{
	return b->len > 0 && memmem(b->buf, b->len, needle,
	    strlen(needle)) != NULL;
}

static void
test_base64(void)
{
	is_str(b64("aGVsbG8gd29ybGQ="), "hello world", "base64 padded");
	is_str(b64("aGVsbG8gd29ybGQ"), "hello world", "base64 no padding");
	is_str(b64("aGVs\r\nbG8g\r\nd29y\r\nbGQ="), "hello world",
	    "base64 across lines");
	is_str(b64("aGV*s!bG8@gd29ybGQ="), "hello world",
	    "base64 garbage skipped");
	is_str(b64("aGk=aGk="), "hihi", "base64 concatenated blocks");
	is_str(b64(""), "", "base64 empty");
	is_str(b64("a"), "", "base64 single character");
	is_str(b64("YQ"), "a", "base64 two characters");
}

static void
test_qp(void)
{
	is_str(qp("caf=C3=A9"), "caf\xc3\xa9", "qp hex");
	is_str(qp("caf=c3=a9"), "caf\xc3\xa9", "qp lower-case hex");
	is_str(qp("lab res=\r\nult"), "lab result", "qp soft break CRLF");
	is_str(qp("lab res=\nult"), "lab result", "qp soft break LF");
	is_str(qp("lab res= \t\r\nult"), "lab result",
	    "qp soft break after white space");
	is_str(qp("a=ZZb"), "a=ZZb", "qp invalid escape kept");
	is_str(qp("end="), "end", "qp trailing =");
	is_str(qp("1+1=2"), "1+1=2", "qp bare = kept");
}

static void
test_charsets(void)
{
	is_str(cs("iso-8859-1", "pati\xebnt", 7), "pati\xc3\xabnt",
	    "latin1");
	is_str(cs("ISO-8859-15", "\xa4 5", 3), "\xe2\x82\xac 5",
	    "latin9 euro");
	is_str(cs("windows-1252", "\x80 \x93x\x94", 5),
	    "\xe2\x82\xac \xe2\x80\x9cx\xe2\x80\x9d", "cp1252 euro, quotes");
	is_str(cs("utf-16", "\xff\xfeh\0\xeb\0", 6), "h\xc3\xab",
	    "utf-16 with LE BOM");
	is_str(cs("utf-16", "\0h\0\xeb", 4), "h\xc3\xab",
	    "utf-16 without BOM is BE");
	is_str(cs("utf-16le", "=\xd8\x00\xde", 4), "\xf0\x9f\x98\x80",
	    "utf-16le surrogate pair");
	is_str(cs("UTF-8", "pati\xc3\xabnt", 8), "pati\xc3\xabnt", "utf-8");
	is_str(cs(NULL, "plain", 5), "plain", "no charset");
	is_str(cs("x-unknown-charset", "abc", 3), "abc",
	    "unknown charset copied");
}

static void
test_encoded_words(void)
{
	is_str(hdr("=?utf-8?B?cGF0acOrbnQ=?="), "pati\xc3\xabnt",
	    "2047 B utf-8");
	is_str(hdr("=?iso-8859-1?Q?pati=EBnt_dossier?="),
	    "pati\xc3\xabnt dossier", "2047 Q latin1, underscore");
	is_str(hdr("=?utf-8?Q?lab?= =?utf-8?Q?_result?="), "lab result",
	    "2047 white space between words dropped");
	is_str(hdr("Re: =?utf-8?B?VXVyc2xhZw==?= van"), "Re: Uurslag van",
	    "2047 mixed with plain text");
	is_str(hdr("=?utf-8?X?abc?="), "=?utf-8?X?abc?=",
	    "2047 unknown encoding kept");
	is_str(hdr("=?utf-8?Q?unterminated"), "=?utf-8?Q?unterminated",
	    "2047 unterminated kept");
	is_str(hdr("=?utf-8*nl?Q?ok?="), "ok", "2047 with language");
}

static void
test_params(void)
{
	is_str(param("attachment; filename=\"uitslag lab.pdf\"",
	    "filename"), "uitslag lab.pdf", "quoted parameter");
	is_str(param("attachment; filename=plain.txt", "filename"),
	    "plain.txt", "token parameter");
	is_str(param("attachment; filename*=utf-8''pati%C3%ABnt.pdf",
	    "filename"), "pati\xc3\xabnt.pdf", "2231 extended value");
	is_str(param("attachment; filename*0*=iso-8859-1''verwijzing%20;"
	    " filename*1=\"brief \"; filename*2*=pati%EBnt.pdf",
	    "filename"), "verwijzing brief pati\xc3\xabnt.pdf",
	    "2231 continuations with charset");
	is_str(param("attachment; filename*1=\"b.pdf\"; filename*0=\"a\"",
	    "filename"), "ab.pdf", "2231 sections out of order");
	is_str(param("application/pdf; name=\"=?utf-8?B?cGF0acOrbnQucGRm?=\"",
	    "name"), "pati\xc3\xabnt.pdf", "encoded-word in a parameter");
	is_str(param("text/plain; charset=utf-8", "name"), "(none)",
	    "missing parameter");
	is_str(param("multipart/mixed; boundary=\"a\\\"b\"", "boundary"),
	    "a\"b", "quoted-pair in a parameter");
	is_str(param("text/plain; CHARSET=\"ISO-8859-1\"", "charset"),
	    "ISO-8859-1", "parameter names are case-insensitive");
}

static void
test_html(void)
{
	is_str(html("<p>Pati&euml;nt</p>"), " Pati\xc3\xabnt ",
	    "html tags, named entity");
	is_str(html("a<script>var x='lab';</script>b"), "a b",
	    "html script skipped");
	is_str(html("a<STYLE>p{}</STYLE>b"), "a b", "html style skipped");
	is_str(html("x<!-- diagnose -->y"), "xy", "html comment dropped");
	is_str(html("&#233;&#xE9;&amp;&lt;"), "\xc3\xa9\xc3\xa9&<",
	    "html numeric entities");
	is_str(html("R&D &unknown; a&"), "R&D &unknown; a&",
	    "html bare ampersands kept");
	is_str(html("lab<br>result"), "lab result", "html tag separates");
	is_str(html("text <unclosed"), "text ", "html unclosed tag");
}

static void
test_tree(void)
{
	struct mime_result	r;

	memset(&r, 0, sizeof(r));
	is_int(decode(&r, "Received: from x\nSubject: =?utf-8?Q?Uitslag_"
	    "pati=C3=ABnt?=\nX-Seal-Security: 2fa\n\nHello\n"), MIME_OK,
	    "simple message decodes");
	is_str(S(&r.subject), "Uitslag pati\xc3\xabnt", "subject decoded");
	ok(has(&r.headers, "X-Seal-Security: 2fa\n"), "headers kept");
	ok(has(&r.body, "Hello"), "body text");

	is_int(decode(&r, "Subject: folded\n  subject line\n"
	    "Content-Type: multipart/mixed;\n boundary=\"outer\"\n\n"
	    "preamble\n--outer\nContent-Type: multipart/alternative; "
	    "boundary=inner\n\n--inner\nContent-Type: text/plain; "
	    "charset=iso-8859-1\nContent-Transfer-Encoding: "
	    "quoted-printable\n\nDe pati=EBnt\n--inner\nContent-Type: "
	    "text/html\n\n<b>De pati&euml;nt</b><script>secret()</script>\n"
	    "--inner--\n--outer\nContent-Type: application/pdf; "
	    "name=\"x.pdf\"\nContent-Disposition: attachment; "
	    "filename*=utf-8''uitslag%20pati%C3%ABnt.pdf\n"
	    "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
	    "--outer\nContent-Type: message/rfc822\n\nSubject: doorgestuurd"
	    "\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n"
	    "\nSGJBMWMgaXMgNTI=\n--outer--\nepilogue\n"), MIME_OK,
	    "nested multipart decodes");
	is_str(S(&r.subject), "folded  subject line", "folded subject");
	ok(has(&r.body, "De pati\xc3\xabnt\n"), "qp latin1 part");
	ok(has(&r.body, " De pati\xc3\xabnt "), "html part");
	ok(!has(&r.body, "secret"), "script not in text");
	ok(!has(&r.body, "preamble") && !has(&r.body, "epilogue"),
	    "preamble and epilogue not scanned");
	ok(!has(&r.body, "JVBER"), "binary attachment not scanned");
	ok(has(&r.names, "x.pdf\n") &&
	    has(&r.names, "uitslag pati\xc3\xabnt.pdf\n"), "both names");
	is_int(r.nattach, 1, "one attachment");
	ok(has(&r.body, "doorgestuurd"), "forwarded subject scanned");
	ok(has(&r.body, "HbA1c is 52"), "forwarded base64 body scanned");
	is_int(r.depth, 2, "depth of the deepest part");

	is_int(decode(&r, "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\nfirst\n--b\n"
	    "Content-Type: text/plain\n\nsecond, never closed\n"),
	    MIME_PARTIAL, "missing closing delimiter is partial");
	ok(has(&r.body, "first") && has(&r.body, "never closed"),
	    "unclosed multipart still scanned");

	is_int(decode(&r, "Content-Type: multipart/mixed\n\n--x\n\nBSN\n"),
	    MIME_PARTIAL, "multipart without boundary is partial");
	ok(has(&r.body, "BSN"), "scanned as text");

	is_int(decode(&r, "Content-Type: multipart/mixed; boundary=zz\n\n"
	    "no delimiters here at all\n"), MIME_PARTIAL,
	    "no delimiter is partial");
	ok(has(&r.body, "no delimiters"), "scanned as text");

	is_int(decode(&r, "garbage without colon\nmore\n"), MIME_PARTIAL,
	    "garbage headers are partial");
	ok(has(&r.body, "garbage without colon"), "garbage scanned as body");

	is_int(decode(&r, "Content-Type: multipart/encrypted; "
	    "protocol=\"application/pgp-encrypted\"; boundary=e\n\n--e\n"
	    "\nx\n--e--\n"), MIME_UNSCANNABLE, "encrypted is unscannable");
	is_int(decode(&r, "Content-Type: application/pkcs7-mime\n\nMIIB\n"),
	    MIME_UNSCANNABLE, "S/MIME is unscannable");

	is_int(decode(&r, "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: base64\n\n!!!not base64 at all???\n"),
	    MIME_OK, "garbage base64 body does not fail");

	is_int(decode(&r, ""), MIME_OK, "empty message");
	is_int(decode(&r, "Subject: only headers"), MIME_OK,
	    "headers without body or final newline");
	is_str(S(&r.subject), "only headers", "subject without newline");

	is_int(decode(&r, "Content-Type: multipart/digest; boundary=d\n\n"
	    "--d\n\nSubject: digest one\n\nfirst text\n--d--\n"), MIME_OK,
	    "digest parts default to message/rfc822");
	ok(has(&r.body, "digest one") && has(&r.body, "first text"),
	    "digest part scanned");
	mime_result_free(&r);
}

static void
test_bounds(void)
{
	struct mime_result	 r;
	struct mbuf		 m = { 0 };
	char			 line[128];
	int			 i;

	memset(&r, 0, sizeof(r));
	/* Nesting beyond the bound: unscannable, not a crash. */
	for (i = 0; i < MIME_DEPTH_MAX + 5; i++) {
		snprintf(line, sizeof(line), "Content-Type: multipart/mixed; "
		    "boundary=b%d\r\n\r\n--b%d\r\n", i, i);
		mbuf_add(&m, line, strlen(line));
	}
	mbuf_add(&m, "\r\ndeep\r\n", 8);
	is_int(mime_decode(&r, (uint8_t *)m.buf, m.len), MIME_UNSCANNABLE,
	    "nesting too deep is unscannable");
	ok(strstr(r.why, "deep") != NULL, "reason given: %s", r.why);

	/* Many parts. */
	m.len = 0;
	mbuf_add(&m, "Content-Type: multipart/mixed; boundary=p\r\n\r\n", 45);
	for (i = 0; i < MIME_PARTS_MAX + 1; i++)
		mbuf_add(&m, "--p\r\n\r\nx\r\n", 10);
	mbuf_add(&m, "--p--\r\n", 7);
	is_int(mime_decode(&r, (uint8_t *)m.buf, m.len), MIME_UNSCANNABLE,
	    "too many parts is unscannable");

	/* Within bounds. */
	m.len = 0;
	for (i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "Content-Type: multipart/mixed; "
		    "boundary=b%d\r\n\r\n--b%d\r\n", i, i);
		mbuf_add(&m, line, strlen(line));
	}
	mbuf_add(&m, "\r\nten deep\r\n", 12);
	is_int(mime_decode(&r, (uint8_t *)m.buf, m.len), MIME_PARTIAL,
	    "ten levels decode (unclosed: partial)");
	ok(has(&r.body, "ten deep"), "deep text found");
	mbuf_free(&m);
	mime_result_free(&r);
}

int
main(void)
{
	test_base64();
	test_qp();
	test_charsets();
	test_encoded_words();
	test_params();
	test_html();
	test_tree();
	test_bounds();
	return done_testing();
}
