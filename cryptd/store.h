/*
 * store.h: the vault's storage interface (used by cryptd only).
 *
 * Two narrow interfaces, so that other backends can be added without
 * touching their callers (crypt_ops.c):
 *
 *  - struct vault_store, the index: messages (with their wrapped data
 *    key), recipients (token hash, level, phone, expiry, state), pending
 *    one-time codes, portal sessions and the audit trail.  Default:
 *    SQLite in the vault directory (store_sqlite.c).  A PostgreSQL
 *    backend implements the same calls over a shared database.
 *  - struct blob_store, the ciphertexts: create a blob (a write
 *    descriptor), commit it durably under its id, get it back (a read
 *    descriptor), remove it.  Default: files in the vault directory
 *    (blob_fs.c).  An S3-compatible backend can spool to an anonymous
 *    file and upload at commit, and download into one at get.
 *
 * Every call returns 0 on success, 1 for "not found" where a lookup can
 * miss, -1 on an error (already logged): the caller answers with a
 * temporary failure.  Strings are NUL-terminated and fit the fixed
 * fields; the backend stores them as they are.
 */
#ifndef SEAL_STORE_H
#define SEAL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypt.h"

enum vault_msg_state {
	VMSG_ACTIVE,
	VMSG_SHREDDED,		/* key destroyed, blob removed */
};

enum vault_rcpt_state {
	VRCPT_ACTIVE,
	VRCPT_LOCKED,		/* too many wrong codes */
	VRCPT_REVOKED,
	VRCPT_EXPIRED,
	VRCPT_HELD,		/* 2fa without a phone number: not sealed */
};

struct vault_msg {
	char		msgid[PROTO_ID_MAX];
	int64_t		created;
	char		sender[PROTO_ADDR_MAX];
	char		subject[PROTO_SUBJECT_MAX];
	uint32_t	hide_subject;
	char		key_id[MKEY_ID_LEN + 1];	/* "" once shredded */
	uint8_t		wrapped[WRAPPED_KEY_LEN];
	int64_t		size;
	uint32_t	state;				/* vault_msg_state */
};

struct vault_rcpt {
	char		msgid[PROTO_ID_MAX];
	uint32_t	idx;
	char		rcpt[PROTO_ADDR_MAX];
	uint32_t	level;			/* DECISION_SECURE_* */
	char		phone[PROTO_PHONE_MAX];
	char		lang[PROTO_LANG_MAX];
	int64_t		expires;
	uint8_t		token_hash[HASH_LEN];	/* zero if none (held) */
	uint32_t	state;			/* vault_rcpt_state */
	uint32_t	verified;		/* 1 << CODE_* */
	uint32_t	failures;		/* wrong codes so far */
	uint32_t	flags;			/* SEAL_RCPT_* */
};

struct vault_code {
	uint8_t		token_hash[HASH_LEN];
	uint32_t	channel;		/* enum code_channel */
	uint8_t		code_hash[HASH_LEN];
	int64_t		expires;
};

struct vault_event {
	int64_t		time;
	char		msgid[PROTO_ID_MAX];
	char		rcpt[PROTO_ADDR_MAX];	/* "" for the message */
	uint32_t	event;			/* enum crypt_event */
	char		client[PROTO_IP_MAX];	/* "" unless from the portal */
	char		detail[PROTO_REPLY_MAX];
};

typedef int (*vault_msg_cb)(void *, const struct vault_msg *);
typedef int (*vault_rcpt_cb)(void *, const struct vault_rcpt *);
typedef int (*vault_event_cb)(void *, const struct vault_event *);

struct vault_store {
	const char	*name;
	void		*priv;
	/* Open (creating) the index at path, relative to the vault. */
	int	(*open)(struct vault_store *, const char *path);
	void	(*close)(struct vault_store *);

	/* Store a message and its recipients at once; replaces msgid. */
	int	(*msg_put)(struct vault_store *, const struct vault_msg *,
		    const struct vault_rcpt *, size_t);
	int	(*msg_get)(struct vault_store *, const char *msgid,
		    struct vault_msg *);
	int	(*msg_list)(struct vault_store *, vault_msg_cb, void *);
	/* Destroy the wrapped key for good and mark the message shredded. */
	int	(*msg_shred)(struct vault_store *, const char *msgid);

	int	(*rcpt_list)(struct vault_store *, const char *msgid,
		    vault_rcpt_cb, void *);
	int	(*rcpt_by_token)(struct vault_store *,
		    const uint8_t token_hash[HASH_LEN], struct vault_rcpt *);
	/* Write state, verified and failures back. */
	int	(*rcpt_update)(struct vault_store *, const struct vault_rcpt *);
	/* Active or locked recipients whose expiry is <= now. */
	int	(*rcpt_expired)(struct vault_store *, int64_t now,
		    vault_rcpt_cb, void *);

	/* One pending code per token and channel; put replaces. */
	int	(*code_put)(struct vault_store *, const struct vault_code *);
	int	(*code_get)(struct vault_store *,
		    const uint8_t token_hash[HASH_LEN], uint32_t channel,
		    struct vault_code *);
	int	(*code_del)(struct vault_store *,
		    const uint8_t token_hash[HASH_LEN], int channel);
		    /* channel -1: every channel */

	int	(*session_put)(struct vault_store *,
		    const uint8_t session_hash[HASH_LEN],
		    const uint8_t token_hash[HASH_LEN], int64_t expires);
	int	(*session_get)(struct vault_store *,
		    const uint8_t session_hash[HASH_LEN],
		    uint8_t token_hash[HASH_LEN], int64_t *expires);
	/* Forget sessions and codes that ended before now. */
	int	(*purge)(struct vault_store *, int64_t now);

	int	(*audit_add)(struct vault_store *, const struct vault_event *);
	int	(*audit_list)(struct vault_store *, const char *msgid,
		    vault_event_cb, void *);
};

struct blob_store {
	const char	*name;
	void		*priv;
	int	(*open)(struct blob_store *, const char *path);
	void	(*close)(struct blob_store *);
	/* A write descriptor for a new blob id. */
	int	(*create)(struct blob_store *, const char *id);
	/* Make the blob written to fd durable under id; closes fd. */
	int	(*commit)(struct blob_store *, const char *id, int fd);
	/* Forget a blob being created; closes fd. */
	void	(*abort)(struct blob_store *, const char *id, int fd);
	/* A read descriptor, positioned at the start; 1 if none. */
	int	(*get)(struct blob_store *, const char *id, int *fd);
	/* 0 also if there was none. */
	int	(*remove)(struct blob_store *, const char *id);
};

void	store_sqlite_init(struct vault_store *);
void	blob_fs_init(struct blob_store *);

#endif
