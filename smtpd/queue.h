/*
 * queue.h: the queue process's parts and what they share.
 *
 * queue.c	 the process: imsg dispatch, the way in (create, envelope,
 *		 commit with policy decisions and group commit).
 * queue_fs.c	 the spool: layout, record encoding and decoding, sync,
 *		 recovery at start, quarantine.  See sealrelay-spool(5).
 * queue_sched.c which recipient goes where and when: batches to
 *		 deliveryd, retries, expiry, destinations marked down,
 *		 smtpctl show queue and schedule.
 * queue_bounce.c RFC 3464 delivery status notifications.
 *
 * Invariant of the whole process: no client hears 250 before the sync
 * that made its message and envelope durable in queue/.
 */
#ifndef SEAL_QUEUE_H
#define SEAL_QUEUE_H

#include <sys/types.h>
#include <sys/tree.h>
#include <sys/queue.h>

#include <event.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "proto.h"

#define QUEUE_ID_LEN		16	/* 64 random bits, lowercase hex */
#define QUEUE_SPOOL_VERSION	2	/* reads 1 too */
#define QUEUE_SPOOL_MAGIC	"sealrelay-spool"

/* Directories inside the spool (the queue process's chroot). */
#define QUEUE_DIR_INCOMING	"incoming"
#define QUEUE_DIR_QUEUE		"queue"
#define QUEUE_DIR_QUARANTINE	"quarantine"
#define QUEUE_ENV_SUFFIX	".env"

/* Message flags, stored in the envelope. */
#define QMSG_BOUNCE		0x01	/* a DSN this queue generated */
#define QMSG_NOTICE		0x02	/* a notice of secured delivery */
#define QMSG_FLAGS		0x03

enum qrcpt_state {
	QR_PENDING,		/* waits for (another) delivery attempt */
	QR_INFLIGHT,		/* in a batch at deliveryd */
	QR_DONE,		/* delivered: "done" record */
	QR_FAILED,		/* 5xx or expired: "fail" record, DSN due */
	QR_BOUNCED,		/* failed and DSN queued (or none wanted) */
	QR_REJECTED,		/* refused by policy at commit */
	QR_HELD,		/* quarantine, or 2fa without a phone */
	QR_SEALING,		/* at cryptd, or its notice being queued */
	QR_SEALED,		/* in the vault, notice queued: final */
};

struct qrcpt {
	char		*rcpt;
	char		*orcpt;		/* "" if none */
	uint32_t	 notify;	/* DSN_NOTIFY_*, 0: not given */
	uint32_t	 decision;	/* enum proto_decision_kind */
	char		*action;	/* "" for a rejected recipient */
	char		*rules;
	enum qrcpt_state state;
	time_t		 when;		/* of the last result */
	char		*relay;		/* last result: where, or NULL */
	char		*reply;		/* last result: escaped reply, or NULL */
	/* Secure decisions ("secure" record): what the seal needs. */
	char		*phone;		/* "" if none */
	char		*lang;		/* "" for the default */
	uint32_t	 expire_days;	/* 0: the default */
	uint32_t	 sflags;	/* SEAL_RCPT_* */
};

/* A message's envelope as the spool stores it. */
struct qenv {
	char		 id[QUEUE_ID_LEN + 1];
	int64_t		 ctime;
	uint64_t	 size;		/* of the message file */
	uint32_t	 listener;
	uint32_t	 local;
	uint32_t	 body;		/* enum proto_body */
	uint32_t	 smtputf8;
	uint32_t	 dsn_ret;
	uint32_t	 flags;		/* QMSG_* */
	char		*src;
	char		*helo;
	char		*auth_user;
	char		*sender;	/* "" for the null sender */
	char		*envid;
	char		*tls;
	/* QMSG_NOTICE of a sealed recipient ("notice" record), or "". */
	char		 parent[QUEUE_ID_LEN + 1];
	uint32_t	 parent_idx;
	struct qrcpt	*rcpt;
	size_t		 nrcpt;
};

/* A growable byte buffer for records and DSN bodies. */
struct qbuf {
	char		*buf;
	size_t		 len;
	size_t		 cap;
};

void	qbuf_init(struct qbuf *);
void	qbuf_free(struct qbuf *);
void	qbuf_add(struct qbuf *, const void *, size_t);
void	qbuf_addstr(struct qbuf *, const char *);
void	qbuf_addf(struct qbuf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* queue_fs.c: records (pure). */
void	queue_env_init(struct qenv *);
void	queue_env_free(struct qenv *);
int	queue_env_add_rcpt(struct qenv *, const char *rcpt, const char *orcpt,
	    uint32_t notify);
void	queue_env_encode(struct qbuf *, const struct qenv *);
void	queue_rec_result(struct qbuf *, const char *kind, size_t idx,
	    time_t when, const char *relay, const char *reply);
void	queue_rec_bounced(struct qbuf *, size_t idx, time_t when);
/* "sealed": idx is in the vault and its notice is message notice_id. */
void	queue_rec_sealed(struct qbuf *, size_t idx, time_t when,
	    const char *notice_id);
/* "released": the operator released quarantined idx: relayed. */
void	queue_rec_released(struct qbuf *, size_t idx, time_t when);
/* "removed": the operator removed idx: final, no DSN. */
void	queue_rec_removed(struct qbuf *, size_t idx, time_t when);
/* "held": idx stays held (2fa without a phone); the sender was told. */
void	queue_rec_held(struct qbuf *, size_t idx, time_t when,
	    const char *why);
/*
 * Decode an envelope file.  Returns 0 and fills env; *used is the length
 * of the complete records (a partly written last line after the commit
 * record, from a crash during an append, is left out).  Returns -1 with
 * a reason in err if the file is not a valid envelope.
 */
int	queue_env_decode(const char *, size_t, struct qenv *, size_t *used,
	    char *err, size_t errsz);
void	queue_field_escape(struct qbuf *, const char *);
int	queue_id_valid(const char *);
void	queue_id_new(char *);		/* QUEUE_ID_LEN + 1 bytes */

/* queue_fs.c: the spool (runs in the chroot). */
void	queue_fs_init(void);
int	queue_fs_create(char *id);	/* write fd of a new incoming/ID */
int	queue_fs_incoming_ro(const char *id, uint64_t *size);
int	queue_fs_write_env(const char *id, const struct qbuf *);
void	queue_fs_abort(const char *id);
int	queue_fs_sync(void);		/* all written data durable */
int	queue_fs_commit(const char *id);	/* incoming/ -> queue/ */
int	queue_fs_sync_dir(void);		/* renames durable */
int	queue_fs_append(const char *id, const struct qbuf *);
void	queue_fs_remove(const char *id);
void	queue_fs_shred(const char *id);	/* overwrite, then remove */
int	queue_fs_open_body(const char *id);	/* read-only */
void	queue_fs_recover(void (*)(struct qenv *));
void	queue_fs_quarantine(const char *name, const char *why);
extern int queue_fs_dirty;		/* appends waiting for a sync */

/* queue_sched.c */
struct qmsg;
void	queue_sched_init(struct config *);
void	queue_sched_add(struct qenv *, int now);  /* takes the envelope */
void	queue_sched_kick(void);
void	queue_sched_delivery(struct imsg *);
void	queue_sched_show(uint32_t peerid);
void	queue_sched_schedule(uint32_t peerid, const char *);
/* smtpctl release / remove ID [rcpt] (rcpt "" for every recipient). */
void	queue_sched_release(uint32_t peerid, const char *, const char *);
void	queue_sched_remove(uint32_t peerid, const char *, const char *);
/* A DSN for idx[] of message id was queued (ok) or could not be. */
void	queue_sched_bounced(const char *id, const size_t *idx, size_t n,
	    int ok);

/* queue_bounce.c */
int	queue_bounce_wanted(const struct qenv *, const struct qrcpt *);
/*
 * Build a DSN for the failed recipients idx[] of env into out: the
 * message file of the bounce.  orig/origlen: the original message.
 */
void	queue_bounce_build(struct qbuf *out, const char *hostname,
	    const char *bounce_id, time_t now, const struct qenv *env,
	    const size_t *idx, size_t n, const char *orig, size_t origlen);
/* Queue a DSN for env's failed recipients idx[]; 0 or -1. */
int	queue_bounce_create(struct qenv *env, const size_t *idx, size_t n);
/* The subject triggers of the config, for common/hdrfilter.c. */
const char *const *queue_triggers(size_t *n);

/* queue.c: the commit pipeline, shared by the front end and bounces. */
struct config	*queue_cfg(void);
int	queue_submit_bounce(struct qenv *, const char *parent,
	    const size_t *idx, size_t n);
void	queue_sync_later(void);
void	queue_submit_local(struct qenv *, void (*done)(void *, const char *id,
	    int ok), void *arg);

/* queue_secure.c: sealing, notices, codes (cryptd's side of the queue). */
void	queue_secure_dispatch(struct imsg *);
/* Seal the secured recipients idx[] of env; 0, or -1: try later. */
int	queue_secure_seal(struct qenv *env, const size_t *idx, size_t n);
/* Tell the sender of env which recipients idx[] lack a phone number. */
void	queue_secure_held(const struct qenv *env, const size_t *idx,
	    size_t n);
/* A notice was delivered: cryptd records it. */
void	queue_secure_notified(const struct qenv *notice, const char *relay);

/* queue_sched.c, for queue_secure.c */
struct qenv *queue_sched_env(const char *id);
enum seal_outcome {
	SEAL_SEALED,		/* in the vault, notice queued (notice id) */
	SEAL_HELD,		/* 2fa without a phone: held */
	SEAL_RETRY,		/* temporary: the whole seal again later */
};
struct seal_report {
	size_t			 idx;
	enum seal_outcome	 outcome;
	char			 notice[QUEUE_ID_LEN + 1];
	char			 why[PROTO_REPLY_MAX];
};
void	queue_sched_sealed(const char *id, const struct seal_report *,
	    size_t n);

#endif
