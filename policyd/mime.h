/*
 * mime.h: the MIME decoder of the policy engine.
 *
 * mime_decode() takes the bytes of a message (as the queue stores it:
 * CRLF lines, headers first) and produces the text the content rules
 * look at, in UTF-8: the subject, the top-level headers (unfolded,
 * encoded-words decoded), the text of every text part (transfer encoding
 * undone, charset converted, HTML reduced to text, message/rfc822 parts
 * followed) and the attachment file names.  Pure: no I/O, no global
 * state besides the context the caller passes; malformed input decodes
 * as far as it goes, and only a message that cannot be scanned at all
 * (nesting or part count beyond the bounds, encrypted content) comes
 * back MIME_UNSCANNABLE, so the caller can fail closed.
 *
 * mime_text.c holds the building blocks (base64, quoted-printable,
 * charsets, RFC 2047 encoded-words, HTML to text); they are exported for
 * the unit tests.
 */
#ifndef SEAL_MIME_H
#define SEAL_MIME_H

#include <stddef.h>
#include <stdint.h>

#define MIME_DEPTH_MAX		32	/* nested multiparts / messages */
#define MIME_PARTS_MAX		2000	/* parts in one message */
#define MIME_HEADER_MAX		(256 * 1024)	/* one unfolded header */

/* A growable byte buffer, reused between messages. */
struct mbuf {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

void	mbuf_reserve(struct mbuf *, size_t);
void	mbuf_add(struct mbuf *, const void *, size_t);
void	mbuf_addc(struct mbuf *, int);
void	mbuf_free(struct mbuf *);

enum mime_status {
	MIME_OK,		/* well-formed as far as we can tell */
	MIME_PARTIAL,		/* malformed; decoded as far as it goes */
	MIME_UNSCANNABLE,	/* cannot be scanned: fail closed */
};

struct mime_result {
	struct mbuf	 subject;	/* top-level Subject, UTF-8 */
	struct mbuf	 headers;	/* top-level "name: value\n" lines */
	struct mbuf	 body;		/* text of all text parts */
	struct mbuf	 names;		/* attachment file names, "\n" after each */
	enum mime_status status;
	char		 why[128];	/* for PARTIAL and UNSCANNABLE */
	size_t		 nparts;
	size_t		 nattach;
	int		 depth;		/* deepest nesting seen */
	struct mbuf	 tmp[3];	/* scratch for transfer and charset */
};

/* Decode msg into res (its buffers are emptied first, then reused). */
enum mime_status mime_decode(struct mime_result *, const uint8_t *msg,
		    size_t len);
void		 mime_result_free(struct mime_result *);

/* Building blocks (mime_text.c). */
void	mime_base64_decode(struct mbuf *, const char *, size_t);
void	mime_qp_decode(struct mbuf *, const char *, size_t);
/*
 * Append src in charset cs (NULL or "" means us-ascii/UTF-8) to out as
 * UTF-8.  Unknown charsets are copied as they are.  Returns 0, or -1 if
 * the charset was unknown.
 */
int	mime_charset_to_utf8(struct mbuf *out, const char *cs,
	    const char *src, size_t len);
/* A header value with RFC 2047 encoded-words, to UTF-8. */
void	mime_header_decode(struct mbuf *, const char *, size_t);
/* HTML to text: tags dropped, script and style skipped, entities decoded. */
void	mime_html_to_text(struct mbuf *, const char *, size_t);

/*
 * A parameter of a structured header (Content-Type, Content-Disposition)
 * with RFC 2231 continuations and charsets, decoded to UTF-8 into out.
 * Returns 1 if found, 0 if not.
 */
int	mime_header_param(struct mbuf *out, const char *value, size_t len,
	    const char *name);

#endif
