/*
 * crypt.h: the parts of cryptd(8) and what they share.
 *
 * keys.c	 master keys: created at first start, loaded before the
 *		 chroot, looked up by id; never leave this process.
 * seal.c	 the blob format: secretstream encryption of a message,
 *		 wrapping of its data key with a master key.
 * token.c	 link tokens, session ids, one-time codes, their hashes;
 *		 masking of addresses and phone numbers for the portal.
 * store.h	 the storage interface (index and blobs);
 * store_sqlite.c, blob_fs.c its default backends.
 * crypt_ops.c	 the operations: seal, look up, codes, open, revoke,
 *		 expire, listings; the audit trail.
 * cryptd.c	 the process: start-up and imsg dispatch.
 */
#ifndef SEAL_CRYPT_H
#define SEAL_CRYPT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#include "config.h"
#include "proto.h"

/* Master keys. */
#define MKEY_ID_LEN		16	/* lowercase hex of 64 random bits */
#define MKEY_LEN		crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define MKEY_FILE_PREFIX	"master-"
#define MKEY_FILE_SUFFIX	".key"
#define MKEY_CURRENT		"master.current"
#define MKEY_MAGIC		"sealrelay-master-key 1"
#define MKEY_MAX		64	/* loaded at once */

struct mkey {
	char		id[MKEY_ID_LEN + 1];
	uint8_t		key[MKEY_LEN];
};

/*
 * Load every master key of the vault directory dir, creating one (owned
 * by uid/gid, mode 0600) and making it current if there is no current
 * key.  Returns 0, or -1 with a reason in err.  Run before the chroot.
 */
int	keys_load(const char *dir, uid_t uid, gid_t gid, char *err,
	    size_t errsz);
/* Parse a key file's contents: pure; 0 or -1. */
int	keys_parse(const char *buf, size_t len, const char *id,
	    struct mkey *out);
/* Format a key file's contents into buf (at least 128 bytes). */
size_t	keys_format(const struct mkey *, char *buf, size_t bufsz);
int	keys_id_valid(const char *);
const struct mkey *keys_current(void);
const struct mkey *keys_find(const char *id);
/* Add a key (tests); the first one added becomes current. */
void	keys_add(const struct mkey *);
void	keys_clear(void);

/* Blob format (see cryptd(8)). */
#define BLOB_MAGIC		"SEALBLOB"
#define BLOB_VERSION		1
#define BLOB_ALG_SECRETSTREAM	1
#define BLOB_HEADER_LEN		48
#define DKEY_LEN	crypto_secretstream_xchacha20poly1305_KEYBYTES
#define WRAPPED_KEY_LEN	(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + \
	DKEY_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES)

int	seal_wrap_key(const struct mkey *, const char *msgid,
	    const uint8_t dkey[DKEY_LEN], uint8_t out[WRAPPED_KEY_LEN]);
int	seal_unwrap_key(const struct mkey *, const char *msgid,
	    const uint8_t in[WRAPPED_KEY_LEN], uint8_t dkey[DKEY_LEN]);
/*
 * Encrypt everything readable from infd (at most max bytes) into outfd
 * as a blob of msgid.  Returns 0 and the plaintext size, or -1 with a
 * reason in err.
 */
/* The subject triggers the sealed copy loses (not copied). */
void	seal_triggers(const char *const *, size_t);
int	seal_encrypt(int infd, int outfd, const char *msgid,
	    const uint8_t dkey[DKEY_LEN], uint64_t max, uint64_t *size,
	    char *err, size_t errsz);
/*
 * Decrypt the blob of msgid from infd into outfd.  Fails (and the output
 * must be thrown away) on a wrong key, a foreign, tampered, truncated or
 * extended blob.
 */
int	seal_decrypt(int infd, int outfd, const char *msgid,
	    const uint8_t dkey[DKEY_LEN], uint64_t max, uint64_t *size,
	    char *err, size_t errsz);

/* Tokens and codes. */
#define HASH_LEN		crypto_generichash_BYTES	/* 32 */
#define TOKEN_LEN		32	/* characters of base64url */

void	token_new(char out[PROTO_TOKEN_MAX]);
int	token_valid(const char *);
void	token_hash(const char *token, uint8_t out[HASH_LEN]);
void	code_new(char out[PROTO_CODE_MAX]);
int	code_valid(const char *);
/* Keyed with a key derived from the master key mk. */
void	code_hash(const struct mkey *mk, const uint8_t token_hash[HASH_LEN],
	    uint32_t channel, const char *code, uint8_t out[HASH_LEN]);
void	mask_address(const char *addr, char *out, size_t outsz);
void	mask_phone(const char *phone, char *out, size_t outsz);
int	phone_valid(const char *);
void	hash_hex(const uint8_t *, size_t, char *out, size_t outsz);

/* crypt_ops.c */
struct vault_store;
struct blob_store;
void	crypt_ops_init(struct config *, struct vault_store *,
	    struct blob_store *);
const char *crypt_event_name(uint32_t);
void	crypt_seal_begin(struct imsg *);
void	crypt_seal_rcpt(struct imsg *);
void	crypt_seal_end(struct imsg *);
void	crypt_queue_event(struct imsg *);
void	crypt_portal(struct imsg *);
void	crypt_control(struct imsg *);
void	crypt_sweep(time_t now);

#endif
