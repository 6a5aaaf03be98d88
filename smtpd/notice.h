/*
 * notice.h: the mails of secured delivery that the queue writes itself:
 * the notification with the link to a secured message, the explanation
 * to a sender whose 2fa recipients have no phone number, and the
 * one-time code.  Built from templates of the configuration directory
 * (smtpd.conf(5), NOTIFICATION TEMPLATES).
 *
 * notice_load() runs in the parent, as root, before the queue forks and
 * chroots (the queue has no file system outside its spool); the rest is
 * pure: no I/O, no logging.
 */
#ifndef SEAL_NOTICE_H
#define SEAL_NOTICE_H

#include <stdio.h>
#include <time.h>

#include "config.h"
#include "queue.h"

enum notice_kind {
	NOTICE_NOTIFY,		/* to a secured recipient: the link */
	NOTICE_HELD,		/* to the sender: recipients lack a phone */
	NOTICE_CODE,		/* to a recipient: the one-time code */
	NOTICE_MAX
};

enum notice_lang {
	NOTICE_NL,
	NOTICE_EN,
	NOTICE_NLANG
};

#define NOTICE_TMPL_MAX		(64 * 1024)	/* bytes per template file */

struct notice_var {
	const char	*name;
	const char	*value;		/* UTF-8; "" counts as unset */
};

/*
 * Read every template from cfg->secure.templates (or the default: the
 * tree's etc/templates, or its parent's, when smtpd runs from its build
 * tree, tree != NULL,
 * else DEF_SECURE_TEMPLATES) into cfg->secure.notify_tmpl.  Errors go to
 * errfp as "FILE: message"; returns 0 or -1.
 */
int	notice_load(struct config *cfg, const char *tree, FILE *errfp);
void	notice_free(struct config *cfg);

/* The language of a recipient: "nl", "en", or "" for the default. */
enum notice_lang notice_lang(const struct config *, const char *lang);

/*
 * Render template text with vars into out.  {{name}} is the value (HTML
 * escaped if html), {{#name}}...{{/name}} is kept only if the value is
 * set, {{^name}}...{{/name}} only if it is not.  Returns 0, or -1 with
 * err set for an unknown name or an unclosed section.
 */
int	notice_render(struct qbuf *out, const char *tmpl,
	    const struct notice_var *vars, size_t nvars, int html,
	    char *err, size_t errsz);

/* The headers a notice gets from the queue, besides the template's. */
struct notice_hdrs {
	const char	*from;		/* From: value */
	const char	*to;		/* an address */
	const char	*reply_to;	/* an address, or NULL */
	const char	*hostname;	/* for Message-ID */
	const char	*id;		/* the notice's queue id */
	time_t		 date;
};

/*
 * Build the whole message of a notice (CRLF, dot-unstuffed, 7-bit:
 * RFC 2047 subject, quoted-printable UTF-8 parts; multipart/alternative
 * when the kind has an HTML template).  Returns 0, or -1 with err set.
 */
int	notice_build(struct qbuf *out, const struct config *,
	    enum notice_kind, enum notice_lang, const struct notice_hdrs *,
	    const struct notice_var *vars, size_t nvars, char *err,
	    size_t errsz);

/* The date a link expires, written for people in the language. */
void	notice_date(char *buf, size_t sz, time_t t, enum notice_lang);

/*
 * From the header section of a message: the Subject and the display
 * name of From:, unfolded, RFC 2047 decoded to UTF-8, controls removed,
 * cut at a character boundary to fit.
 */
void	notice_header(const char *msg, size_t len, const char *name,
	    char *out, size_t outsz);
void	notice_display_name(const char *from, char *out, size_t outsz);

#endif
