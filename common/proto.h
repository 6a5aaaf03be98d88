/*
 * proto.h: every message exchanged between sealrelay's processes, in one
 * enum, with its payload struct.
 *
 * Rules: payloads are fixed-size structs of fixed-width fields and
 * NUL-terminated char arrays; a receiver checks the exact length with
 * PROTO_CHECK_LEN() and every string with proto_str_ok() before use, and
 * treats any violation as an attack (fatalx: the daemon stops).  Message
 * bodies never travel in a payload, only as descriptors.
 *
 * Names are prefixed by the process that receives them.  Bump
 * SEAL_PROTO_VERSION whenever a payload or the meaning of a type changes:
 * processes (and smtpctl) of different builds refuse to talk.
 */
#ifndef SEAL_PROTO_H
#define SEAL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "imsg.h"

#define SEAL_PROTO_VERSION	4

enum proc_id {
	PROC_PARENT,
	PROC_SMTP,
	PROC_QUEUE,
	PROC_CONTROL,
	PROC_POLICY,
	PROC_DELIVERY,
	PROC_CRYPT,
	PROC_PORTAL,
	PROC_MAX
};

enum imsg_type {
	IMSG_NONE,

	/* Start-up, between the parent and every child. */
	IMSG_PARENT_HELLO,	/* child -> parent: struct proto_hello */
	IMSG_ANY_PEER,		/* parent -> child: struct proto_peer + fd */
	IMSG_ANY_GO,		/* parent -> child: every peer sent; serve */

	/* smtpctl <-> control, and control -> parent/queue. */
	IMSG_CTL_HELLO,		/* smtpctl -> control: struct proto_hello */
	IMSG_CTL_OK,		/* control -> smtpctl: empty */
	IMSG_CTL_FAIL,		/* control -> smtpctl: struct proto_text */
	IMSG_CTL_TEXT,		/* control -> smtpctl: struct proto_text */
	IMSG_CTL_END,		/* control -> smtpctl: end of a listing */
	IMSG_CTL_VERBOSE,	/* smtpctl -> control: struct proto_verbose */
	IMSG_CTL_SHOW_QUEUE,	/* smtpctl -> control: empty */
	IMSG_CTL_SCHEDULE,	/* smtpctl -> control: struct proto_msgref */
	IMSG_PARENT_VERBOSE,	/* control -> parent: struct proto_verbose */
	IMSG_ANY_VERBOSE,	/* parent -> every child: proto_verbose */

	/* control <-> queue: requests carry the client in hdr.peerid. */
	IMSG_QUEUE_CTL_SHOW,	/* control -> queue: empty: show queue */
	IMSG_QUEUE_CTL_SCHEDULE,/* control -> queue: struct proto_msgref */
	IMSG_CONTROL_TEXT,	/* queue -> control: struct proto_text */
	IMSG_CONTROL_END,	/* queue -> control: empty: listing done */
	IMSG_CONTROL_FAIL,	/* queue -> control: struct proto_text */

	/* smtp -> policy, and the answers. */
	IMSG_POLICY_AUTH,	/* smtp -> policy: struct proto_auth */
	IMSG_SMTP_AUTH_RESULT,	/* policy -> smtp: struct proto_result */
	IMSG_POLICY_RCPT,	/* smtp -> policy: struct proto_rcpt_check */
	IMSG_SMTP_RCPT_RESULT,	/* policy -> smtp: struct proto_result */

	/* smtp <-> queue: a message's way in. */
	IMSG_QUEUE_MESSAGE_CREATE, /* smtp -> queue: struct proto_req */
	IMSG_SMTP_MESSAGE_FILE,	/* queue -> smtp: proto_msgfile + write fd */
	IMSG_QUEUE_ENVELOPE,	/* smtp -> queue: struct proto_envelope */
	IMSG_QUEUE_RCPT,	/* smtp -> queue: struct proto_envelope_rcpt */
	IMSG_QUEUE_MESSAGE_COMMIT, /* smtp -> queue: struct proto_msgref */
	IMSG_QUEUE_MESSAGE_ABORT,  /* smtp -> queue: struct proto_msgref */
	IMSG_SMTP_COMMIT_RESULT,/* queue -> smtp: struct proto_commit */

	/* queue <-> policy: the decision per recipient. */
	IMSG_POLICY_MESSAGE,	/* queue -> policy: proto_policy_msg + ro fd */
	IMSG_POLICY_MESSAGE_RCPT, /* queue -> policy: proto_policy_rcpt */
	IMSG_POLICY_MESSAGE_END,/* queue -> policy: struct proto_msgref */
	IMSG_QUEUE_DECISION,	/* policy -> queue: struct proto_decision */
	IMSG_QUEUE_DECISION_END,/* policy -> queue: struct proto_commit */

	/* queue <-> delivery: a batch is one message to one destination. */
	IMSG_DELIVERY_MESSAGE,	/* queue -> delivery: proto_delivery + ro fd */
	IMSG_DELIVERY_RCPT,	/* queue -> delivery: proto_delivery_rcpt */
	IMSG_DELIVERY_GO,	/* queue -> delivery: proto_batch */
	IMSG_QUEUE_DELIVERY_RESULT, /* delivery -> queue: proto_dresult */
	IMSG_QUEUE_DELIVERY_DONE,   /* delivery -> queue: proto_batch */

	/*
	 * queue <-> crypt: sealing a message for its secured recipients.
	 * SEAL (with a read-only fd of the message), one SEAL_RCPT per
	 * secured recipient, SEAL_END; cryptd answers one SEAL_RESULT per
	 * recipient (the link token, the only time it exists in clear),
	 * then SEAL_DONE.  A second SEAL of a msgid replaces the first.
	 */
	IMSG_CRYPT_SEAL,	/* queue -> crypt: proto_seal + ro fd */
	IMSG_CRYPT_SEAL_RCPT,	/* queue -> crypt: proto_seal_rcpt */
	IMSG_CRYPT_SEAL_END,	/* queue -> crypt: struct proto_msgref */
	IMSG_QUEUE_SEAL_RESULT,	/* crypt -> queue: proto_seal_result */
	IMSG_QUEUE_SEAL_DONE,	/* crypt -> queue: struct proto_commit */
	IMSG_CRYPT_EVENT,	/* queue -> crypt: proto_crypt_event */
	IMSG_QUEUE_CODE_SEND,	/* crypt -> queue: proto_code_send */

	/* portal <-> crypt: hdr.peerid is the portal's request id. */
	IMSG_CRYPT_LOOKUP,	/* portal -> crypt: proto_portal_req */
	IMSG_PORTAL_LOOKUP_RESULT, /* crypt -> portal: proto_portal_info */
	IMSG_CRYPT_CODE_ISSUE,	/* portal -> crypt: proto_portal_req */
	IMSG_PORTAL_CODE_ISSUED,/* crypt -> portal: proto_code_issued */
	IMSG_CRYPT_CODE_CHECK,	/* portal -> crypt: proto_code_check */
	IMSG_PORTAL_CODE_RESULT,/* crypt -> portal: proto_code_result */
	IMSG_CRYPT_OPEN,	/* portal -> crypt: proto_portal_req */
	IMSG_PORTAL_OPEN_RESULT,/* crypt -> portal: proto_open_result + fd */
	IMSG_CRYPT_REPLY,	/* portal -> crypt: proto_portal_req */
	IMSG_PORTAL_REPLY_RESULT, /* crypt -> portal: proto_portal_status */

	/* control <-> crypt: hdr.peerid is the control client. */
	IMSG_CTL_SECURE_SHOW,	/* smtpctl -> control: proto_msgref */
	IMSG_CTL_SECURE_LOG,	/* smtpctl -> control: proto_msgref */
	IMSG_CTL_SECURE_REVOKE,	/* smtpctl -> control: proto_revoke */
	IMSG_CRYPT_CTL_SHOW,	/* control -> crypt: proto_msgref, "" all */
	IMSG_CRYPT_CTL_LOG,	/* control -> crypt: proto_msgref */
	IMSG_CRYPT_CTL_REVOKE,	/* control -> crypt: proto_revoke */
	/* answers: IMSG_CONTROL_TEXT, IMSG_CONTROL_END, IMSG_CONTROL_FAIL */

	/* Operator actions on queued messages (rcpt "" for all). */
	IMSG_CTL_RELEASE,	/* smtpctl -> control: proto_revoke */
	IMSG_CTL_REMOVE,	/* smtpctl -> control: proto_revoke */
	IMSG_QUEUE_CTL_RELEASE,	/* control -> queue: proto_revoke */
	IMSG_QUEUE_CTL_REMOVE,	/* control -> queue: proto_revoke */

	IMSG_TYPE_MAX
};

struct proto_hello {
	uint32_t	version;	/* SEAL_PROTO_VERSION */
	uint32_t	proc;		/* enum proc_id of the sender */
	uint32_t	pid;
};

struct proto_peer {
	uint32_t	proc;		/* enum proc_id at the other end */
};

struct proto_verbose {
	int32_t		level;		/* 0 brief, 1 verbose, 2 debug */
};

#define PROTO_TEXT_MAX	1024
struct proto_text {
	char		text[PROTO_TEXT_MAX];
};

/* Sizes of the fixed string fields below. */
#define PROTO_ADDR_MAX		512	/* a mailbox, RFC 5321 4.5.3.1 */
#define PROTO_NAME_MAX		256	/* a host name or user name */
#define PROTO_ID_MAX		32	/* a queue id, hex, NUL-terminated */
#define PROTO_TAG_MAX		64	/* a listener tag, an action name */
#define PROTO_IP_MAX		64	/* a numeric address */
#define PROTO_REPLY_MAX		512	/* an (escaped) SMTP reply */
#define PROTO_PHONE_MAX		32	/* E.164: "+" and at most 15 digits */
#define PROTO_LANG_MAX		8	/* "nl", "en" */

enum proto_status {
	PROTO_OK,
	PROTO_TEMPFAIL,		/* 4xx: try again later, nothing lost */
	PROTO_PERMFAIL,		/* 5xx */
};

/* A request from smtp that expects one answer; reqid is smtp's. */
struct proto_req {
	uint64_t	reqid;
};

struct proto_result {
	uint64_t	reqid;
	int32_t		status;			/* enum proto_status */
	char		text[PROTO_REPLY_MAX];	/* reason, for the reply */
};

struct proto_msgref {
	uint64_t	reqid;
	char		msgid[PROTO_ID_MAX];	/* "all" for schedule all */
};

struct proto_auth {
	uint64_t	reqid;
	uint32_t	listener;		/* listener id */
	char		user[PROTO_NAME_MAX];
	char		pass[PROTO_NAME_MAX];	/* explicit_bzero after use */
};

/* What policyd needs to run the ruleset for one recipient. */
struct proto_rcpt_check {
	uint64_t	reqid;
	uint32_t	listener;
	uint32_t	local;			/* client on loopback */
	char		src[PROTO_IP_MAX];
	char		auth_user[PROTO_NAME_MAX]; /* "" if none */
	char		sender[PROTO_ADDR_MAX];
	char		rcpt[PROTO_ADDR_MAX];
};

struct proto_msgfile {
	uint64_t	reqid;
	int32_t		status;			/* fd passed iff PROTO_OK */
	char		msgid[PROTO_ID_MAX];
};

enum proto_body {
	BODY_7BIT,
	BODY_8BITMIME,
	BODY_BINARYMIME,
};

#define DSN_RET_NONE	0
#define DSN_RET_FULL	1
#define DSN_RET_HDRS	2

#define DSN_NOTIFY_NEVER	0x01
#define DSN_NOTIFY_SUCCESS	0x02
#define DSN_NOTIFY_FAILURE	0x04
#define DSN_NOTIFY_DELAY	0x08

/* The envelope of one transaction, sent before its recipients. */
struct proto_envelope {
	uint64_t	reqid;
	char		msgid[PROTO_ID_MAX];
	uint32_t	listener;
	uint32_t	local;
	char		src[PROTO_IP_MAX];
	char		helo[PROTO_NAME_MAX];
	char		auth_user[PROTO_NAME_MAX];
	char		sender[PROTO_ADDR_MAX];	/* "" for the null sender */
	uint32_t	body;			/* enum proto_body */
	uint32_t	smtputf8;
	uint32_t	dsn_ret;
	char		dsn_envid[101];		/* RFC 3461 4.4: 100 chars */
	char		tls[PROTO_TAG_MAX * 2];	/* "TLSv1.3 CIPHER" or "" */
	uint32_t	nrcpt;
};

struct proto_envelope_rcpt {
	uint64_t	reqid;
	char		msgid[PROTO_ID_MAX];
	char		rcpt[PROTO_ADDR_MAX];
	char		orcpt[PROTO_ADDR_MAX];	/* as given, xtext-decoded */
	uint32_t	notify;			/* DSN_NOTIFY_* */
};

struct proto_commit {
	uint64_t	reqid;
	int32_t		status;			/* enum proto_status */
	char		msgid[PROTO_ID_MAX];
	char		text[PROTO_REPLY_MAX];	/* reason if not OK */
};

struct proto_policy_msg {
	char		msgid[PROTO_ID_MAX];
	uint32_t	listener;
	uint32_t	local;
	char		src[PROTO_IP_MAX];
	char		auth_user[PROTO_NAME_MAX];
	char		sender[PROTO_ADDR_MAX];
	uint64_t	size;
	uint32_t	nrcpt;
};

struct proto_policy_rcpt {
	char		msgid[PROTO_ID_MAX];
	uint32_t	idx;
	char		rcpt[PROTO_ADDR_MAX];
};

enum proto_decision_kind {
	DECISION_RELAY,		/* as presented, TLS as the action says */
	DECISION_RELAY_VERIFY,	/* only over verified TLS */
	DECISION_SECURE_1FA,
	DECISION_SECURE_2FA,
	DECISION_QUARANTINE,
	DECISION_REJECT,
};

struct proto_decision {
	char		msgid[PROTO_ID_MAX];
	uint32_t	idx;
	uint32_t	decision;		/* enum proto_decision_kind */
	char		action[PROTO_TAG_MAX];	/* the matching action */
	char		rules[PROTO_REPLY_MAX];	/* "rule(score),..." */
	char		text[PROTO_REPLY_MAX];	/* reason for a reject */
	/* Secure decisions: what the X-Seal-* directives and the policy's
	 * phones table said, for the seal (struct proto_seal_rcpt). */
	char		phone[PROTO_PHONE_MAX];	/* E.164, "" if none */
	char		lang[PROTO_LANG_MAX];	/* "nl", "en", "" default */
	uint32_t	expire_days;		/* 0: the default */
	uint32_t	flags;			/* SEAL_RCPT_* */
};

struct proto_batch {
	uint64_t	batch;
};

/* One message, one action, some of its recipients. */
struct proto_delivery {
	uint64_t	batch;
	char		msgid[PROTO_ID_MAX];
	char		action[PROTO_TAG_MAX];
	char		sender[PROTO_ADDR_MAX];
	uint32_t	tls_level;		/* enum tls_level, raised only */
	uint32_t	body;
	uint32_t	smtputf8;
	uint32_t	dsn_ret;
	char		dsn_envid[101];
	uint32_t	nrcpt;
};

struct proto_delivery_rcpt {
	uint64_t	batch;
	uint32_t	idx;			/* the queue's recipient index */
	char		rcpt[PROTO_ADDR_MAX];
	char		orcpt[PROTO_ADDR_MAX];
	uint32_t	notify;
};

struct proto_dresult {
	uint64_t	batch;
	uint32_t	idx;
	int32_t		status;			/* enum proto_status */
	char		reply[PROTO_REPLY_MAX];	/* escaped remote reply */
	char		relay[PROTO_NAME_MAX];	/* host [address] it went to */
	char		tls[PROTO_TAG_MAX * 2];	/* "TLSv1.3 CIPHER verified" */
};

/*
 * Secured delivery (cryptd(8)).  Tokens and session ids are URL-safe
 * base64 without padding of PROTO_TOKEN_BYTES random bytes; codes are
 * PROTO_CODE_LEN decimal digits.
 */
#define PROTO_TOKEN_BYTES	24	/* 192 bits */
#define PROTO_TOKEN_MAX		48	/* 32 characters + NUL, rounded */
#define PROTO_CODE_LEN		8
#define PROTO_CODE_MAX		16
#define PROTO_SUBJECT_MAX	256	/* decoded, escaped, may be cut */

#define SEAL_RCPT_READ_NOTIFY	0x01	/* sender wants a read notice */

struct proto_seal {
	uint64_t	reqid;			/* the queue's */
	char		msgid[PROTO_ID_MAX];
	char		sender[PROTO_ADDR_MAX];
	char		subject[PROTO_SUBJECT_MAX];
	uint32_t	hide_subject;		/* portal shows no subject */
	uint32_t	nrcpt;			/* SEAL_RCPT messages to come */
};

struct proto_seal_rcpt {
	uint64_t	reqid;
	uint32_t	idx;			/* the queue's recipient index */
	uint32_t	level;			/* DECISION_SECURE_1FA or _2FA */
	char		rcpt[PROTO_ADDR_MAX];
	char		phone[PROTO_PHONE_MAX];	/* "" if none */
	char		lang[PROTO_LANG_MAX];	/* "" for the default */
	int64_t		lifetime;		/* seconds; 0: the default */
	uint32_t	flags;			/* SEAL_RCPT_* */
};

struct proto_seal_result {
	uint64_t	reqid;
	uint32_t	idx;
	int32_t		status;			/* enum proto_status */
	char		token[PROTO_TOKEN_MAX];	/* "" unless PROTO_OK */
	int64_t		expires;		/* time_t */
	char		text[PROTO_REPLY_MAX];	/* reason if not OK */
};

enum crypt_event {
	CRYPT_EV_SEALED,
	CRYPT_EV_NOTIFIED,	/* queue: notification delivered */
	CRYPT_EV_HELD,		/* queue or crypt: 2fa without phone */
	CRYPT_EV_CODE_SENT,
	CRYPT_EV_CODE_FAILED,
	CRYPT_EV_LOCKED,
	CRYPT_EV_OPENED,
	CRYPT_EV_DOWNLOADED,
	CRYPT_EV_REPLIED,
	CRYPT_EV_REVOKED,
	CRYPT_EV_EXPIRED,
	CRYPT_EV_MAX
};

/* An event the queue saw, for the audit trail. */
struct proto_crypt_event {
	char		msgid[PROTO_ID_MAX];
	uint32_t	idx;			/* recipient index */
	uint32_t	event;			/* NOTIFIED or HELD */
	char		text[PROTO_REPLY_MAX];	/* detail, escaped */
};

enum code_channel {
	CODE_MAIL,		/* to the recipient's address */
	CODE_SMS,		/* to the recipient's phone */
};

/*
 * cryptd -> queue: send this one-time code.  The code never reaches the
 * portal: the queue mails it (CODE_MAIL) or hands it to the configured
 * notifier (CODE_SMS).
 */
struct proto_code_send {
	char		msgid[PROTO_ID_MAX];
	uint32_t	idx;
	uint32_t	channel;		/* enum code_channel */
	char		rcpt[PROTO_ADDR_MAX];
	char		phone[PROTO_PHONE_MAX];
	char		lang[PROTO_LANG_MAX];
	char		code[PROTO_CODE_MAX];
	int64_t		expires;
};

#define PORTAL_OPEN_VIEW	0	/* for IMSG_CRYPT_OPEN: what */
#define PORTAL_OPEN_DOWNLOAD	1

/* Every portal request: the token from the link, the browser's address. */
struct proto_portal_req {
	char		token[PROTO_TOKEN_MAX];
	char		session[PROTO_TOKEN_MAX]; /* OPEN, REPLY */
	char		client[PROTO_IP_MAX];
	uint32_t	channel;		/* CODE_ISSUE */
	uint32_t	what;			/* OPEN: PORTAL_OPEN_* */
	char		detail[PROTO_NAME_MAX];	/* OPEN, REPLY: for the audit */
};

enum portal_state {
	PORTAL_ACTIVE,		/* codes may be asked for */
	PORTAL_LOCKED,		/* too many wrong codes */
	PORTAL_REVOKED,
	PORTAL_EXPIRED,
};

struct proto_portal_info {
	int32_t		status;			/* PERMFAIL: unknown token */
	uint32_t	state;			/* enum portal_state */
	uint32_t	level;			/* DECISION_SECURE_* */
	uint32_t	verified;		/* 1 << CODE_* proven */
	char		msgid[PROTO_ID_MAX];
	char		sender[PROTO_ADDR_MAX];
	char		subject[PROTO_SUBJECT_MAX]; /* "" if hidden */
	char		rcpt_masked[PROTO_ADDR_MAX];
	char		phone_masked[PROTO_PHONE_MAX];
	char		lang[PROTO_LANG_MAX];
	int64_t		expires;
	int64_t		size;
};

struct proto_portal_status {
	int32_t		status;
	char		text[PROTO_REPLY_MAX];
};

struct proto_code_issued {
	int32_t		status;
	uint32_t	channel;
	char		dest_masked[PROTO_ADDR_MAX];
	int64_t		expires;
	char		text[PROTO_REPLY_MAX];
};

struct proto_code_check {
	char		token[PROTO_TOKEN_MAX];
	char		client[PROTO_IP_MAX];
	uint32_t	channel;
	char		code[PROTO_CODE_MAX];
};

struct proto_code_result {
	int32_t		status;			/* OK: the code was right */
	uint32_t	state;			/* enum portal_state */
	uint32_t	verified;
	uint32_t	attempts_left;
	char		session[PROTO_TOKEN_MAX]; /* once all factors hold */
	int64_t		session_expires;
	char		text[PROTO_REPLY_MAX];
};

struct proto_open_result {
	int32_t		status;			/* fd passed iff PROTO_OK */
	int64_t		size;
	char		text[PROTO_REPLY_MAX];
};

struct proto_revoke {
	char		msgid[PROTO_ID_MAX];
	char		rcpt[PROTO_ADDR_MAX];	/* "" for every recipient */
};

const char	*proto_imsg_name(uint32_t);
const char	*proto_proc_name(enum proc_id);

/* True if buf (of size bytes) holds a NUL-terminated string. */
int		 proto_str_ok(const char *buf, size_t size);

/*
 * Exact-length check for a payload from an internal peer: a mismatch is
 * a protocol violation and stops the daemon.
 */
#define PROTO_CHECK_LEN(imsg, ptype) do {				\
	if ((imsg)->datalen != sizeof(ptype))				\
		fatalx("%s: bad length %zu for %s (want %zu)",		\
		    __func__, (imsg)->datalen,				\
		    proto_imsg_name((imsg)->hdr.type), sizeof(ptype));	\
} while (0)

#define PROTO_CHECK_STR(field) do {					\
	if (!proto_str_ok((field), sizeof(field)))			\
		fatalx("%s: unterminated string %s", __func__, #field);	\
} while (0)

#endif
