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

#define SEAL_PROTO_VERSION	1

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
