/*
 * smtp_parse.h: pure parsers for what an SMTP client sends the front end.
 *
 * Command lines, MAIL FROM / RCPT TO paths (RFC 5321 4.1.2), ESMTP
 * parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, NOTIFY, ORCPT, AUTH),
 * xtext (RFC 3461 4) and base64 for AUTH PLAIN/LOGIN (RFC 4954).  No I/O,
 * no logging, no allocation: everything is written into caller buffers.
 * Invariant: a string these functions accept holds no CR, LF, NUL or
 * other control character, so it can go into a header or a record.
 */
#ifndef SEAL_SMTP_PARSE_H
#define SEAL_SMTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define SMTP_VERB_MAX		16
#define SMTP_LOCAL_MAX		64	/* RFC 5321 4.5.3.1.1 */
#define SMTP_DOMAIN_MAX		255	/* RFC 5321 4.5.3.1.2 */
#define SMTP_PATH_MAX		256	/* RFC 5321 4.5.3.1.3, with <> */
#define SMTP_ENVID_MAX		100	/* RFC 3461 4.4 */

/* Results of the path and parameter parsers. */
enum smtp_perr {
	SMTP_POK,
	SMTP_PERR_SYNTAX,	/* 501 */
	SMTP_PERR_TOOLONG,	/* 501: a part exceeds RFC 5321 limits */
	SMTP_PERR_RELAY,	/* %-hack or ! path: 550 5.7.1 */
	SMTP_PERR_UTF8,		/* 8-bit address without SMTPUTF8: 553 */
	SMTP_PERR_PARAM,	/* unknown parameter: 555 5.5.4 */
	SMTP_PERR_PARAMVAL,	/* bad parameter value: 501 5.5.4 */
	SMTP_PERR_DUP,		/* parameter given twice: 501 5.5.4 */
};

/* A command line split into its verb and its argument. */
struct smtp_cmdline {
	char		 verb[SMTP_VERB_MAX];	/* upper-cased */
	const char	*args;			/* after one space, or "" */
};

/* Path flags. */
#define SMTP_PATH_NULL_OK	0x01	/* "<>" allowed (MAIL) */
#define SMTP_PATH_UTF8		0x02	/* 8-bit local part/domain ok */
#define SMTP_PATH_POSTMASTER	0x04	/* "<Postmaster>" ok (RCPT) */
#define SMTP_PATH_NORELAY	0x08	/* refuse '%' and '!' (RCPT) */

struct smtp_path {
	char		 addr[PROTO_ADDR_MAX];	/* "" for <>; "local@domain" */
	int		 is_null;
	int		 postmaster;		/* bare <Postmaster> */
	int		 routed;		/* a source route was dropped */
	int		 eightbit;		/* non-ASCII in the address */
};

struct smtp_mail_params {
	uint64_t	 size;			/* 0 if not given */
	int		 has_size;
	int		 body;			/* enum proto_body */
	int		 smtputf8;
	int		 ret;			/* DSN_RET_* */
	char		 envid[SMTP_ENVID_MAX + 1];
};

struct smtp_rcpt_params {
	uint32_t	 notify;		/* DSN_NOTIFY_*, 0 if not given */
	char		 orcpt[PROTO_ADDR_MAX];	/* "rfc822;decoded" or "" */
};

/*
 * Split a command line (without CRLF, len bytes, NUL-terminated).
 * Returns -1 if the line holds control characters or the verb is too
 * long or not alphabetic.
 */
int	smtp_parse_cmdline(const char *line, size_t len, struct smtp_cmdline *);

/*
 * Parse "FROM:<path> params" (MAIL) or "TO:<path> params" (RCPT): the
 * keyword (case-insensitive) is kw.  On success *rest points at the
 * parameters (maybe "").
 */
enum smtp_perr	smtp_parse_mailrcpt(const char *args, const char *kw, int flags,
		    struct smtp_path *, const char **rest);

/* The path alone, from '<' to '>'; *end is set past the '>'. */
enum smtp_perr	smtp_parse_path(const char *s, int flags, struct smtp_path *,
		    const char **end);

enum smtp_perr	smtp_parse_mail_params(const char *,
		    struct smtp_mail_params *);
enum smtp_perr	smtp_parse_rcpt_params(const char *, int utf8,
		    struct smtp_rcpt_params *);

/* EHLO/HELO argument: a domain or an address literal. */
int	smtp_parse_helo(const char *, char *out, size_t outsz);

/* A domain (labels of letters, digits, hyphens; '_' tolerated). */
int	smtp_valid_domain(const char *s, size_t len, int utf8);
/* "[192.0.2.1]" or "[IPv6:2001:db8::1]". */
int	smtp_valid_addr_literal(const char *s, size_t len);

/*
 * Decode xtext into out (NUL-terminated).  Returns the decoded length,
 * or -1 if malformed, too long, or if it decodes to a control byte.
 */
int	smtp_xtext_decode(const char *in, size_t len, char *out, size_t outsz);

/* Decode base64; returns the decoded length or -1.  out not terminated. */
int	smtp_base64_decode(const char *in, size_t len, uint8_t *out,
	    size_t outsz);

/*
 * AUTH PLAIN response: authzid NUL authcid NUL passwd (RFC 4616), base64.
 * user and pass are NUL-terminated; an authzid other than "" or the
 * authcid is refused.  Returns 0 or -1.  The caller wipes pass.
 */
int	smtp_parse_auth_plain(const char *b64, char *user, size_t usersz,
	    char *pass, size_t passsz);
/* One AUTH LOGIN line (a user name or a password) in base64. */
int	smtp_parse_auth_login(const char *b64, char *out, size_t outsz);

#endif
