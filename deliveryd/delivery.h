/*
 * delivery.h: the delivery process (deliveryd) in one header.
 *
 * deliveryd receives batches from the queue (one message, one action,
 * some recipients: IMSG_DELIVERY_MESSAGE + a read-only fd, then
 * IMSG_DELIVERY_RCPT, then IMSG_DELIVERY_GO), delivers them by SMTP
 * (mta.c routes, mta_session.c speaks SMTP) or into a Maildir
 * (maildir.c), and answers one IMSG_QUEUE_DELIVERY_RESULT per recipient
 * and then IMSG_QUEUE_DELIVERY_DONE.  The pure parts (replies, the wire
 * form of a message) live in mta_reply.c and mta_body.c and do no I/O.
 *
 * Invariant: every recipient of a batch gets exactly one result, and
 * anything a remote server says is escaped before it reaches a log line
 * or a result.
 */
#ifndef SEAL_DELIVERY_H
#define SEAL_DELIVERY_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hdrfilter.h"
#include "proto.h"

extern struct config	*delivery_cfg;

/* A growing byte buffer. */
struct mta_buf {
	char		*data;
	size_t		 len;
	size_t		 cap;
};

void	mta_buf_add(struct mta_buf *, const void *, size_t);
void	mta_buf_addstr(struct mta_buf *, const char *);
void	mta_buf_drop(struct mta_buf *, size_t);	/* from the front */
void	mta_buf_free(struct mta_buf *);

/* snprintf for reasons and log text: truncation is acceptable there. */
void	mta_fmt(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * mta_body.c: the outbound form of a message file (pure).
 *
 * BODY_SMTP: every line ends in CRLF (bare CR and bare LF become CRLF),
 * lines starting with "." are dot-stuffed, a missing final line end is
 * added and the terminating ".\r\n" is appended.  BODY_MAILDIR: lines end
 * in LF, no stuffing.  Both first pass the message through the filter of
 * common/hdrfilter.h: the fields of the top-level header whose name
 * starts with "X-Seal-" are dropped with their continuation lines, and
 * the subject triggers (mta_body_triggers) leave the Subject.
 */
enum mta_body_mode {
	BODY_SMTP,
	BODY_MAILDIR,
};
void	mta_body_encode(const char *, size_t, enum mta_body_mode,
	    struct mta_buf *);
/* The triggers every encoder removes (not copied; set before chroot). */
void	mta_body_triggers(const char *const *, size_t);

/* The same, fed in chunks cut anywhere: init, add..., finish. */
struct mta_body_enc {
	enum mta_body_mode	 mode;
	struct hdrfilter	 filter;
	struct mta_buf		*out;		/* of the current call */
	int			 bol;		/* at the start of a line */
	int			 cr;		/* the last byte was a CR */
	size_t			 cr_drops;	/* filter.drops at that CR */
	size_t			 stuffed;	/* dots added */
};
void	mta_body_enc_init(struct mta_body_enc *, enum mta_body_mode);
void	mta_body_enc_add(struct mta_body_enc *, const char *, size_t,
	    struct mta_buf *);
void	mta_body_enc_finish(struct mta_body_enc *, struct mta_buf *);
/* True if a header field line (name:...) is a control header. */
int	mta_body_is_control(const char *, size_t);

/*
 * mta_reply.c: SMTP replies (pure).
 */
#define MTA_REPLY_LINE_MAX	2048	/* longest reply line accepted */
#define MTA_REPLY_MAX		65536	/* longest (multi-line) reply */

struct mta_reply {
	int		 code;			/* 200..599 */
	char		 text[PROTO_REPLY_MAX];	/* escaped, lines joined */
};

/*
 * Parse one reply at the start of buf.  Returns the bytes it used (> 0)
 * and fills r; 0 if the reply is not complete yet; -1 if it is
 * malformed (r->text says why, escaped): the connection must be dropped.
 */
ssize_t	mta_reply_parse(const char *buf, size_t len, struct mta_reply *r);

#define EXT_PIPELINING	0x0001
#define EXT_8BITMIME	0x0002
#define EXT_SIZE	0x0004
#define EXT_STARTTLS	0x0008
#define EXT_AUTH_PLAIN	0x0010
#define EXT_DSN		0x0020
#define EXT_SMTPUTF8	0x0040
#define EXT_AUTH	0x0080
#define EXT_AUTH_LOGIN	0x0100

/* Extensions named in an EHLO reply (the raw bytes parsed above). */
int	mta_reply_ehlo(const char *buf, size_t len, uint64_t *maxsize);

/* xtext (RFC 3461 4) of s into dst; returns -1 if it does not fit. */
int	mta_xtext(char *dst, size_t dstsz, const char *s);

/*
 * dns.c: asynchronous DNS (libunbound on the libevent loop).
 */
enum dns_status {
	DNS_OK,
	DNS_NODATA,		/* the name exists, not this type */
	DNS_NXDOMAIN,
	DNS_TEMPFAIL,		/* SERVFAIL, timeout, bogus */
};

#define DNS_MX_MAX	32
#define DNS_ADDR_MAX	16

struct dns_mx {
	int		 pref;
	char		 host[PROTO_NAME_MAX];
};

struct dns_result {
	enum dns_status		 status;
	int			 secure;	/* DNSSEC-validated */
	char			 why[128];
	size_t			 nmx;
	struct dns_mx		 mx[DNS_MX_MAX];	/* sorted by pref */
	size_t			 naddr;
	struct sockaddr_storage	 addr[DNS_ADDR_MAX];
};

typedef void (*dns_cb)(void *, const struct dns_result *);

/* Before chroot: resolver settings, resolv.conf and hosts loaded. */
void	dns_init(const char *resolver, int port);
void	dns_mx(const char *domain, dns_cb, void *);
void	dns_host(const char *host, dns_cb, void *);	/* A and AAAA */

/*
 * mta.c: batches, routes, destinations.
 */
struct mta_session;
struct mta_dest;

struct mta_rcpt {
	uint32_t	 idx;
	char		 rcpt[PROTO_ADDR_MAX];
	char		 orcpt[PROTO_ADDR_MAX];
	uint32_t	 notify;
	int		 done;
};

struct mta_batch {
	TAILQ_ENTRY(mta_batch)	 entry;
	struct proto_delivery	 d;
	struct action		*action;
	int			 fd;
	struct mta_rcpt		*rcpts;
	size_t			 nrcpt;		/* received so far */
	size_t			 nresult;
	int			 ntx;		/* transactions running */
	off_t			 size;		/* of the message file */
	size_t			 wiresize;	/* RFC 1870 SIZE */
};

/* One SMTP transaction: some recipients of a batch to one destination. */
struct mta_tx {
	TAILQ_ENTRY(mta_tx)	 entry;
	struct mta_batch	*batch;
	struct mta_dest		*dest;
	size_t			*rcpt;		/* indices into batch->rcpts */
	size_t			 nrcpt;
};
TAILQ_HEAD(mta_txlist, mta_tx);

/* An address to connect to and the name to verify there. */
struct mta_route {
	char			 name[PROTO_NAME_MAX];
	struct sockaddr_storage	 ss;
};

void	mta_init(void);
void	mta_dispatch_queue(struct imsg *);

/*
 * The next piece of b's message file from *off, encoded into out (at
 * most DEF_MTA_BODY_CHUNK bytes of the file; at its end the encoder is
 * finished in the same piece).  1: more to come, 0: that was the end,
 * -1: a read error (why).  Never the whole message in memory.
 */
int	mta_batch_chunk(struct mta_batch *, off_t *off, struct mta_body_enc *,
	    struct mta_buf *out, char *why, size_t whysz);

/* For sessions. */
void	mta_result(struct mta_tx *, size_t i, int status, const char *reply,
	    const char *relay, const char *tls);
void	mta_tx_done(struct mta_tx *);
/*
 * A session asks for its next transaction (first: it just connected);
 * NULL: none, the session is idle until mta_session_start().
 */
struct mta_tx *mta_dest_next(struct mta_dest *, struct mta_session *,
	    int first);
/* A session ended; failed: it could connect nowhere (why says why). */
void	mta_dest_session_gone(struct mta_dest *, struct mta_session *,
	    int connected, int failed, const char *why);

/* What a session needs from its destination. */
struct mta_dest_info {
	const char		*key;		/* for logs */
	enum relay_proto	 proto;
	enum tls_level		 tls;
	int			 port;
	const char		*auth;		/* "user:password" or NULL */
	const struct ca		*ca;		/* for verify; NULL: system */
	const struct mta_route	*routes;
	size_t			 nroutes;
};

/*
 * mta_session.c: one outbound SMTP connection.
 */
void	mta_session_init(void);	/* before chroot: CA bundle */
void	mta_session_new(struct mta_dest *, const struct mta_dest_info *);
/* Give an idle session a transaction. */
void	mta_session_start(struct mta_session *, struct mta_tx *);

/*
 * maildir.c
 */
void	maildir_init(struct config *);
/* Deliver a batch for a maildir action; results sent by the caller. */
int	maildir_deliver(struct mta_batch *, char *why, size_t whysz);

#endif
