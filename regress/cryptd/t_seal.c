/*
 * t_seal.c: unit tests of cryptd's blob format, key wrapping, master key
 * files, tokens and codes, and the SQLite index and file blob store.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "../../cryptd/crypt.h"
#include "defaults.h"
#include "../../cryptd/store.h"

#define MSGID	"0123456789abcdef"

static int
memfd_with(const void *buf, size_t len)
{
	int	fd = memfd_create("t", MFD_CLOEXEC);

	if (fd == -1 || write(fd, buf, len) != (ssize_t)len)
		abort();
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static uint8_t *
memfd_read(int fd, size_t *len)
{
	struct stat	 sb;
	uint8_t		*buf;

	fstat(fd, &sb);
	*len = (size_t)sb.st_size;
	buf = malloc(*len + 1);
	lseek(fd, 0, SEEK_SET);
	if (*len > 0 && read(fd, buf, *len) != (ssize_t)*len)
		abort();
	return buf;
}

/* Seal plain into a new memfd blob; returns the blob fd at offset 0. */
static int
seal_to_blob(const uint8_t *plain, size_t len, const char *msgid,
    const uint8_t dkey[DKEY_LEN])
{
	char		err[256];
	uint64_t	size;
	int		in = memfd_with(plain, len), out;

	out = memfd_create("blob", MFD_CLOEXEC);
	if (seal_encrypt(in, out, msgid, dkey, CRYPT_MAX_MESSAGE, &size, err,
	    sizeof(err)) == -1 || size != len) {
		printf("# seal: %s\n", err);
		close(in);
		close(out);
		return -1;
	}
	close(in);
	lseek(out, 0, SEEK_SET);
	return out;
}

static int
open_blob(int blob, const char *msgid, const uint8_t dkey[DKEY_LEN],
    uint8_t **plain, size_t *len)
{
	char		err[256];
	uint64_t	size;
	int		out = memfd_create("plain", MFD_CLOEXEC), r;

	lseek(blob, 0, SEEK_SET);
	r = seal_decrypt(blob, out, msgid, dkey, CRYPT_MAX_MESSAGE, &size,
	    err, sizeof(err));
	if (r == 0)
		*plain = memfd_read(out, len);
	close(out);
	return r;
}

static void
test_roundtrip(size_t len, const char *what)
{
	uint8_t	 dkey[DKEY_LEN], *plain, *back = NULL;
	size_t	 blen, i;
	int	 blob;

	plain = malloc(len + 1);
	for (i = 0; i < len; i++)
		plain[i] = (uint8_t)(i * 7 + 3);
	crypto_secretstream_xchacha20poly1305_keygen(dkey);
	blob = seal_to_blob(plain, len, MSGID, dkey);
	ok(blob != -1, "seal %s", what);
	ok(open_blob(blob, MSGID, dkey, &back, &blen) == 0 && blen == len &&
	    (len == 0 || memcmp(back, plain, len) == 0), "round trip %s",
	    what);
	free(back);
	close(blob);
	free(plain);
}

static void
test_blob_attacks(void)
{
	const char	*text = "Subject: t\r\n\r\nMARKER-7f3a secret body\r\n";
	uint8_t		 dkey[DKEY_LEN], dkey2[DKEY_LEN], *blobbuf, *back;
	uint8_t		*big;
	size_t		 blen, len, i;
	int		 blob, b2;

	crypto_secretstream_xchacha20poly1305_keygen(dkey);
	crypto_secretstream_xchacha20poly1305_keygen(dkey2);
	blob = seal_to_blob((const uint8_t *)text, strlen(text), MSGID, dkey);
	blobbuf = memfd_read(blob, &blen);
	ok(memmem(blobbuf, blen, "MARKER-7f3a", 11) == NULL,
	    "the plaintext marker is not in the blob");
	ok(memcmp(blobbuf, BLOB_MAGIC, 8) == 0 && blobbuf[8] == BLOB_VERSION,
	    "blob starts with magic and version");
	back = NULL;
	ok(open_blob(blob, MSGID, dkey2, &back, &len) == -1,
	    "a wrong data key does not open the blob");
	free(back);
	back = NULL;
	ok(open_blob(blob, "fedcba9876543210", dkey, &back, &len) == -1,
	    "the blob of another message id is refused");
	free(back);

	/* Flip one bit of each region: header, stream header, chunk. */
	for (i = 0; i < 3; i++) {
		size_t	off = i == 0 ? 20 : i == 1 ? BLOB_HEADER_LEN + 3 :
			    blen - 5;

		blobbuf[off] ^= 0x01;
		b2 = memfd_with(blobbuf, blen);
		back = NULL;
		ok(open_blob(b2, MSGID, dkey, &back, &len) == -1,
		    "tampered blob (byte %zu) does not open", off);
		free(back);
		close(b2);
		blobbuf[off] ^= 0x01;
	}
	b2 = memfd_with(blobbuf, blen - 1);
	back = NULL;
	ok(open_blob(b2, MSGID, dkey, &back, &len) == -1,
	    "truncated blob does not open");
	free(back);
	close(b2);
	free(blobbuf);
	close(blob);

	/* Two chunks; drop the last chunk: no FINAL tag. */
	big = calloc(1, CRYPT_CHUNK_SIZE + 100);
	blob = seal_to_blob(big, CRYPT_CHUNK_SIZE + 100, MSGID, dkey);
	blobbuf = memfd_read(blob, &blen);
	b2 = memfd_with(blobbuf, BLOB_HEADER_LEN + 24 + CRYPT_CHUNK_SIZE +
	    crypto_secretstream_xchacha20poly1305_ABYTES);
	back = NULL;
	ok(open_blob(b2, MSGID, dkey, &back, &len) == -1,
	    "blob cut at a chunk boundary does not open");
	free(back);
	close(b2);
	/* Bytes after the final chunk. */
	blobbuf = realloc(blobbuf, blen + 17);
	memset(blobbuf + blen, 0, 17);
	b2 = memfd_with(blobbuf, blen + 17);
	back = NULL;
	ok(open_blob(b2, MSGID, dkey, &back, &len) == -1,
	    "blob with trailing bytes does not open");
	free(back);
	close(b2);
	free(blobbuf);
	close(blob);
	free(big);
}

static void
test_wrap(void)
{
	struct mkey	k1, k2;
	uint8_t		dkey[DKEY_LEN], back[DKEY_LEN], w[WRAPPED_KEY_LEN];

	memset(&k1, 0, sizeof(k1));
	(void)strlcpy(k1.id, "00112233aabbccdd", sizeof(k1.id));
	crypto_aead_xchacha20poly1305_ietf_keygen(k1.key);
	k2 = k1;
	crypto_aead_xchacha20poly1305_ietf_keygen(k2.key);
	crypto_secretstream_xchacha20poly1305_keygen(dkey);
	ok(seal_wrap_key(&k1, MSGID, dkey, w) == 0, "wrap a data key");
	ok(seal_unwrap_key(&k1, MSGID, w, back) == 0 &&
	    memcmp(dkey, back, DKEY_LEN) == 0, "unwrap with the master key");
	ok(seal_unwrap_key(&k2, MSGID, w, back) == -1,
	    "a wrong master key does not unwrap");
	ok(seal_unwrap_key(&k1, "fedcba9876543210", w, back) == -1,
	    "a wrapped key does not unwrap for another message");
	(void)strlcpy(k2.id, "ffffffffffffffff", sizeof(k2.id));
	memcpy(k2.key, k1.key, sizeof(k1.key));
	ok(seal_unwrap_key(&k2, MSGID, w, back) == -1,
	    "the key id is bound to the wrapped key");
	w[30] ^= 1;
	ok(seal_unwrap_key(&k1, MSGID, w, back) == -1,
	    "a tampered wrapped key does not unwrap");
}

static void
test_keyfile(void)
{
	struct mkey	 k, back;
	char		 buf[256], dir[] = "/tmp/t_seal.XXXXXX", err[256];
	char		 path[512], id[MKEY_ID_LEN + 1];
	const struct mkey *cur;
	struct stat	 sb;
	size_t		 len;
	int		 fd;

	memset(&k, 0, sizeof(k));
	(void)strlcpy(k.id, "0011223344556677", sizeof(k.id));
	randombytes_buf(k.key, sizeof(k.key));
	len = keys_format(&k, buf, sizeof(buf));
	ok(keys_parse(buf, len, k.id, &back) == 0 &&
	    memcmp(back.key, k.key, MKEY_LEN) == 0, "key file round trip");
	ok(keys_parse(buf, len, "0011223344556678", &back) == -1,
	    "key file of another id refused");
	ok(keys_parse(buf, len - 2, k.id, &back) == -1,
	    "short key file refused");
	ok(!keys_id_valid("0011") && !keys_id_valid("0011223344556677x") &&
	    !keys_id_valid("../1223344556677") &&
	    keys_id_valid("0011223344556677"), "key ids validated");

	if (mkdtemp(dir) == NULL)
		abort();
	ok(keys_load(dir, getuid(), getgid(), err, sizeof(err)) == 0 &&
	    (cur = keys_current()) != NULL, "first start creates a key");
	(void)strlcpy(id, keys_current()->id, sizeof(id));
	snprintf(path, sizeof(path), "%s/master-%s.key", dir, id);
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "key file has mode 0600");
	ok(keys_load(dir, getuid(), getgid(), err, sizeof(err)) == 0 &&
	    strcmp(keys_current()->id, id) == 0, "restart loads the same key");
	/* Roll in a new key: remove master.current. */
	snprintf(path, sizeof(path), "%s/master.current", dir);
	unlink(path);
	ok(keys_load(dir, getuid(), getgid(), err, sizeof(err)) == 0 &&
	    strcmp(keys_current()->id, id) != 0 && keys_find(id) != NULL,
	    "a new key rolls in; the old one stays loaded");
	snprintf(path, sizeof(path), "%s/master-%s.key", dir, id);
	chmod(path, 0644);
	ok(keys_load(dir, getuid(), getgid(), err, sizeof(err)) == -1 &&
	    strstr(err, "0600") != NULL, "a readable key file is refused");
	chmod(path, 0600);
	fd = open(path, O_WRONLY | O_APPEND);
	ok(write(fd, "x", 1) == 1, "damage the key file");
	close(fd);
	ok(keys_load(dir, getuid(), getgid(), err, sizeof(err)) == -1,
	    "a damaged key file is refused");
	snprintf(buf, sizeof(buf), "rm -rf %s", dir);
	ok(system(buf) == 0, "clean up");
	keys_clear();
}

static void
test_tokens(void)
{
	struct mkey	k;
	char		t1[PROTO_TOKEN_MAX], t2[PROTO_TOKEN_MAX];
	char		c[PROTO_CODE_MAX], out[PROTO_ADDR_MAX];
	uint8_t		h1[HASH_LEN], h2[HASH_LEN];
	int		i, good = 1;

	token_new(t1);
	token_new(t2);
	ok(strlen(t1) == TOKEN_LEN && token_valid(t1) &&
	    strcmp(t1, t2) != 0, "tokens: 32 url-safe chars, distinct");
	ok(strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == TOKEN_LEN, "token alphabet is base64url");
	ok(!token_valid("short") && !token_valid(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+") &&
	    !token_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
	    "malformed tokens refused");
	token_hash(t1, h1);
	token_hash(t1, h2);
	ok(memcmp(h1, h2, HASH_LEN) == 0, "token hash is stable");
	token_hash(t2, h2);
	ok(memcmp(h1, h2, HASH_LEN) != 0, "distinct tokens, distinct hashes");

	for (i = 0; i < 200; i++) {
		code_new(c);
		if (!code_valid(c) || strlen(c) != PROTO_CODE_LEN)
			good = 0;
	}
	ok(good, "codes are %d digits", PROTO_CODE_LEN);
	ok(!code_valid("1234567") && !code_valid("123456789") &&
	    !code_valid("1234567a") && !code_valid(""),
	    "malformed codes refused");
	memset(&k, 0, sizeof(k));
	randombytes_buf(k.key, sizeof(k.key));
	code_hash(&k, h1, CODE_MAIL, "12345678", h2);
	{
		uint8_t	a[HASH_LEN], b[HASH_LEN], d[HASH_LEN];
		struct mkey	k2 = k;

		code_hash(&k, h1, CODE_MAIL, "12345678", a);
		code_hash(&k, h1, CODE_SMS, "12345678", b);
		k2.key[0] ^= 1;
		code_hash(&k2, h1, CODE_MAIL, "12345678", d);
		ok(sodium_memcmp(a, h2, HASH_LEN) == 0,
		    "code hash is stable");
		ok(memcmp(a, b, HASH_LEN) != 0,
		    "code hash is bound to the channel");
		ok(memcmp(a, d, HASH_LEN) != 0,
		    "code hash is keyed by the master key");
		code_hash(&k, h1, CODE_MAIL, "12345679", b);
		ok(memcmp(a, b, HASH_LEN) != 0, "another code, another hash");
	}
	mask_address("jan.jansen@example.nl", out, sizeof(out));
	is_str(out, "j***n@e***.nl", "masked address");
	mask_address("ab@x.org", out, sizeof(out));
	is_str(out, "a***@x***.org", "masked short address");
	mask_phone("+31612345678", out, sizeof(out));
	is_str(out, "+31*******78", "masked phone");
	ok(phone_valid("+31612345678") && !phone_valid("0612345678") &&
	    !phone_valid("+3161234567890123") && !phone_valid("+31 6123"),
	    "phone numbers validated (E.164)");
}

static int
count_cb(void *arg, const struct vault_rcpt *r)
{
	(*(int *)arg)++;
	return 0;
}

static void
test_store(void)
{
	struct vault_store	st;
	struct blob_store	bs;
	struct vault_msg	m, m2;
	struct vault_rcpt	r[2], rr;
	struct vault_code	c, c2;
	uint8_t			sh[HASH_LEN], th[HASH_LEN];
	char			dir[] = "/tmp/t_store.XXXXXX", path[512];
	int64_t			exp;
	int			fd, n = 0;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/index.db", dir);
	store_sqlite_init(&st);
	ok(st.open(&st, path) == 0, "sqlite index opens");
	memset(&m, 0, sizeof(m));
	(void)strlcpy(m.msgid, MSGID, sizeof(m.msgid));
	(void)strlcpy(m.sender, "a@example.org", sizeof(m.sender));
	(void)strlcpy(m.key_id, "0011223344556677", sizeof(m.key_id));
	memset(m.wrapped, 0xab, sizeof(m.wrapped));
	memset(r, 0, sizeof(r));
	(void)strlcpy(r[0].msgid, MSGID, sizeof(r[0].msgid));
	(void)strlcpy(r[0].rcpt, "b@example.nl", sizeof(r[0].rcpt));
	token_hash("t0", r[0].token_hash);
	r[0].expires = 100;
	r[1] = r[0];
	r[1].idx = 1;
	r[1].state = VRCPT_HELD;
	ok(st.msg_put(&st, &m, r, 2) == 0, "store a message");
	ok(st.msg_get(&st, MSGID, &m2) == 0 &&
	    memcmp(m2.wrapped, m.wrapped, WRAPPED_KEY_LEN) == 0,
	    "read it back");
	ok(st.msg_get(&st, "fedcba9876543210", &m2) == 1, "missing: 1");
	ok(st.rcpt_by_token(&st, r[0].token_hash, &rr) == 0 && rr.idx == 0,
	    "recipient found by token hash");
	st.rcpt_list(&st, MSGID, count_cb, &n);
	is_int(n, 2, "two recipients listed");
	n = 0;
	st.rcpt_expired(&st, 100, count_cb, &n);
	is_int(n, 1, "one live recipient expired at its time");
	ok(st.msg_put(&st, &m, r, 2) == 0, "a second seal replaces the first");
	memset(&c, 0, sizeof(c));
	memcpy(c.token_hash, r[0].token_hash, HASH_LEN);
	memset(c.code_hash, 7, HASH_LEN);
	c.expires = 50;
	ok(st.code_put(&st, &c) == 0 && st.code_get(&st, c.token_hash,
	    CODE_MAIL, &c2) == 0 && c2.expires == 50, "code stored");
	ok(st.code_get(&st, c.token_hash, CODE_SMS, &c2) == 1,
	    "no sms code");
	st.purge(&st, 60);
	ok(st.code_get(&st, c.token_hash, CODE_MAIL, &c2) == 1,
	    "expired codes purged");
	token_hash("s", sh);
	ok(st.session_put(&st, sh, r[0].token_hash, 99) == 0 &&
	    st.session_get(&st, sh, th, &exp) == 0 && exp == 99 &&
	    memcmp(th, r[0].token_hash, HASH_LEN) == 0, "session stored");
	ok(st.msg_shred(&st, MSGID) == 0 && st.msg_get(&st, MSGID, &m2) == 0 &&
	    m2.state == VMSG_SHREDDED && m2.key_id[0] == '\0' &&
	    sodium_is_zero(m2.wrapped, WRAPPED_KEY_LEN),
	    "shredding destroys the wrapped key");
	st.close(&st);

	blob_fs_init(&bs);
	snprintf(path, sizeof(path), "%s/blobs", dir);
	ok(bs.open(&bs, path) == 0, "blob store opens");
	fd = bs.create(&bs, MSGID);
	ok(fd != -1 && write(fd, "xyz", 3) == 3 &&
	    bs.commit(&bs, MSGID, fd) == 0, "blob written and committed");
	ok(bs.get(&bs, MSGID, &fd) == 0, "blob read back");
	close(fd);
	ok(bs.create(&bs, "../evil") == -1, "bad blob names refused");
	ok(bs.remove(&bs, MSGID) == 0 && bs.get(&bs, MSGID, &fd) == 1,
	    "removed blob is gone");
	bs.close(&bs);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	ok(system(path) == 0, "clean up");
}

/* The full path: seal, shred the key, and the blob no longer opens. */
static void
test_shredded(void)
{
	struct mkey	k;
	uint8_t		dkey[DKEY_LEN], w[WRAPPED_KEY_LEN], *back = NULL;
	uint8_t		dk2[DKEY_LEN];
	size_t		len;
	int		blob;

	memset(&k, 0, sizeof(k));
	(void)strlcpy(k.id, "0011223344556677", sizeof(k.id));
	randombytes_buf(k.key, sizeof(k.key));
	crypto_secretstream_xchacha20poly1305_keygen(dkey);
	blob = seal_to_blob((const uint8_t *)"hello", 5, MSGID, dkey);
	seal_wrap_key(&k, MSGID, dkey, w);
	sodium_memzero(dkey, sizeof(dkey));
	ok(seal_unwrap_key(&k, MSGID, w, dk2) == 0 &&
	    open_blob(blob, MSGID, dk2, &back, &len) == 0 && len == 5,
	    "sealed blob opens through the wrapped key");
	free(back);
	back = NULL;
	sodium_memzero(w, sizeof(w));	/* what msg_shred does */
	ok(seal_unwrap_key(&k, MSGID, w, dk2) == -1 &&
	    open_blob(blob, MSGID, dk2, &back, &len) == -1,
	    "after shredding the wrapped key the blob is unreadable");
	free(back);
	close(blob);
}

int
main(void)
{
	if (sodium_init() == -1)
		return 1;
	test_roundtrip(0, "of an empty message");
	test_roundtrip(100, "of a short message");
	test_roundtrip(CRYPT_CHUNK_SIZE, "of exactly one chunk");
	test_roundtrip(3 * CRYPT_CHUNK_SIZE + 1, "of 3 chunks and a byte");
	test_blob_attacks();
	test_wrap();
	test_keyfile();
	test_tokens();
	test_store();
	test_shredded();
	return done_testing();
}
