/*
 * seal.c: the blob format of a sealed message and the wrapping of its
 * data key (run by cryptd; no messages, no state).
 *
 * A blob is a 48-byte header -- "SEALBLOB", version 1, algorithm 1
 * (libsodium secretstream, XChaCha20-Poly1305), 2 zero bytes, the chunk
 * size (4 bytes, big-endian), the message id (32 bytes, NUL-padded) --
 * then the 24-byte secretstream header, then the chunks: each is
 * CRYPT_CHUNK_SIZE bytes of plaintext sealed into CRYPT_CHUNK_SIZE + 17
 * bytes, the last one shorter (possibly empty) and tagged FINAL.  The
 * blob header is the associated data of every chunk, so a blob cannot
 * be passed off as another message's, and truncation, reordering or
 * bytes after the final chunk are detected.
 *
 * The plaintext is the message as it leaves sealrelay: read through the
 * filter of common/hdrfilter.c (no X-Seal-* field, no subject trigger),
 * like deliveryd's copies.
 *
 * The data key is fresh for every message and wrapped with a master key
 * (XChaCha20-Poly1305-IETF, random nonce; associated data "sealrelay
 * wrap 1", the master key id and the message id).  The wrapped key is
 * kept in the index, not in the blob: destroying it is crypto-shredding.
 *
 * Invariant: a failed decryption returns -1 and the caller discards
 * whatever was written to its output.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypt.h"
#include "defaults.h"
#include "hdrfilter.h"
#include "log.h"
#include "util.h"

#define SS_ABYTES	crypto_secretstream_xchacha20poly1305_ABYTES
#define SS_HEADERBYTES	crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define WRAP_NONCE	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define WRAP_AD_MAGIC	"sealrelay wrap 1"

static void
wrap_ad(const struct mkey *mk, const char *msgid, uint8_t *ad, size_t *len)
{
	size_t	n = 0;

	memcpy(ad, WRAP_AD_MAGIC, sizeof(WRAP_AD_MAGIC));
	n += sizeof(WRAP_AD_MAGIC);
	memcpy(ad + n, mk->id, sizeof(mk->id));
	n += sizeof(mk->id);
	memset(ad + n, 0, PROTO_ID_MAX);
	(void)strlcpy((char *)ad + n, msgid, PROTO_ID_MAX);
	n += PROTO_ID_MAX;
	*len = n;
}

int
seal_wrap_key(const struct mkey *mk, const char *msgid,
    const uint8_t dkey[DKEY_LEN], uint8_t out[WRAPPED_KEY_LEN])
{
	uint8_t			ad[sizeof(WRAP_AD_MAGIC) + MKEY_ID_LEN + 1 +
				    PROTO_ID_MAX];
	size_t			adlen;
	unsigned long long	clen;

	wrap_ad(mk, msgid, ad, &adlen);
	randombytes_buf(out, WRAP_NONCE);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + WRAP_NONCE,
	    &clen, dkey, DKEY_LEN, ad, adlen, NULL, out, mk->key) != 0 ||
	    clen != WRAPPED_KEY_LEN - WRAP_NONCE)
		return -1;
	return 0;
}

int
seal_unwrap_key(const struct mkey *mk, const char *msgid,
    const uint8_t in[WRAPPED_KEY_LEN], uint8_t dkey[DKEY_LEN])
{
	uint8_t			ad[sizeof(WRAP_AD_MAGIC) + MKEY_ID_LEN + 1 +
				    PROTO_ID_MAX];
	size_t			adlen;
	unsigned long long	dlen;

	wrap_ad(mk, msgid, ad, &adlen);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(dkey, &dlen, NULL,
	    in + WRAP_NONCE, WRAPPED_KEY_LEN - WRAP_NONCE, ad, adlen, in,
	    mk->key) != 0 || dlen != DKEY_LEN) {
		sodium_memzero(dkey, DKEY_LEN);
		return -1;
	}
	return 0;
}

static void
blob_header(const char *msgid, uint8_t h[BLOB_HEADER_LEN])
{
	uint32_t	cs = CRYPT_CHUNK_SIZE;

	memset(h, 0, BLOB_HEADER_LEN);
	memcpy(h, BLOB_MAGIC, 8);
	h[8] = BLOB_VERSION;
	h[9] = BLOB_ALG_SECRETSTREAM;
	h[12] = (uint8_t)(cs >> 24);
	h[13] = (uint8_t)(cs >> 16);
	h[14] = (uint8_t)(cs >> 8);
	h[15] = (uint8_t)cs;
	(void)strlcpy((char *)h + 16, msgid, PROTO_ID_MAX);
}

/* Read up to len bytes; short only at end of file.  -1 on error. */
static ssize_t
read_full(int fd, uint8_t *buf, size_t len)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < len) {
		n = read(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		off += (size_t)n;
	}
	return (ssize_t)off;
}

static const char *const	*seal_trig;
static size_t			 seal_ntrig;

void
seal_triggers(const char *const *trig, size_t n)
{
	seal_trig = trig;
	seal_ntrig = n;
}

/* The message file through the filter, read in pieces. */
struct seal_src {
	int			 fd;
	int			 eof;
	struct hdrfilter	 f;
	uint8_t			*pend;		/* filtered, not yet read */
	size_t			 plen, pcap;
	uint8_t			 raw[16384];
};

static void
src_emit(void *arg, const char *p, size_t n)
{
	struct seal_src	*s = arg;
	uint8_t		*np;
	size_t		 ncap;

	if (s->plen + n > s->pcap) {
		ncap = s->pcap ? s->pcap : CRYPT_CHUNK_SIZE;
		while (ncap < s->plen + n)
			ncap *= 2;
		/* Plaintext: never left behind in freed memory. */
		np = xmalloc(ncap);
		if (s->plen > 0)
			memcpy(np, s->pend, s->plen);
		if (s->pend != NULL)
			freezero(s->pend, s->pcap);
		s->pend = np;
		s->pcap = ncap;
	}
	memcpy(s->pend + s->plen, p, n);
	s->plen += n;
}

/* Up to len filtered bytes; short only at the end.  -1 on error. */
static ssize_t
src_read(struct seal_src *s, uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (s->plen < len && !s->eof) {
		if ((n = read_full(s->fd, s->raw, sizeof(s->raw))) == -1)
			return -1;
		if (n > 0)
			hdrfilter_add(&s->f, (const char *)s->raw, (size_t)n);
		if ((size_t)n < sizeof(s->raw)) {
			hdrfilter_finish(&s->f);
			s->eof = 1;
		}
	}
	if (len > s->plen)
		len = s->plen;
	if (len == 0)
		return 0;
	memcpy(buf, s->pend, len);
	memmove(s->pend, s->pend + len, s->plen - len);
	s->plen -= len;
	return (ssize_t)len;
}

static int
write_full(int fd, const uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
seal_encrypt(int infd, int outfd, const char *msgid,
    const uint8_t dkey[DKEY_LEN], uint64_t max, uint64_t *size, char *err,
    size_t errsz)
{
	crypto_secretstream_xchacha20poly1305_state	 st;
	uint8_t		 hdr[BLOB_HEADER_LEN], sshdr[SS_HEADERBYTES];
	struct seal_src	*src;
	uint8_t		*in, *out, tag;
	uint64_t	 total = 0;
	ssize_t		 n, next;
	int		 r = -1;

	in = malloc(CRYPT_CHUNK_SIZE);
	out = malloc(CRYPT_CHUNK_SIZE + SS_ABYTES);
	src = calloc(1, sizeof(*src));
	if (src != NULL) {
		src->fd = infd;
		hdrfilter_init(&src->f, seal_trig, seal_ntrig, src_emit, src);
	}
	if (in == NULL || out == NULL || src == NULL) {
		snprintf(err, errsz, "out of memory");
		goto done;
	}
	blob_header(msgid, hdr);
	crypto_secretstream_xchacha20poly1305_init_push(&st, sshdr, dkey);
	if (write_full(outfd, hdr, sizeof(hdr)) == -1 ||
	    write_full(outfd, sshdr, sizeof(sshdr)) == -1) {
		snprintf(err, errsz, "write: %s", strerror(errno));
		goto done;
	}
	/*
	 * Read one chunk ahead so the last chunk (short, or full and at
	 * end of file) carries the FINAL tag.
	 */
	if ((n = src_read(src, in, CRYPT_CHUNK_SIZE)) == -1) {
		snprintf(err, errsz, "read: %s", strerror(errno));
		goto done;
	}
	for (;;) {
		uint8_t	peek;

		total += (uint64_t)n;
		if (total > max) {
			snprintf(err, errsz, "message larger than %llu bytes",
			    (unsigned long long)max);
			goto done;
		}
		next = 0;
		if (n == CRYPT_CHUNK_SIZE) {
			if ((next = src_read(src, &peek, 1)) == -1) {
				snprintf(err, errsz, "read: %s",
				    strerror(errno));
				goto done;
			}
		}
		tag = next == 0 ?
		    crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0;
		crypto_secretstream_xchacha20poly1305_push(&st, out, NULL, in,
		    (unsigned long long)n, hdr, sizeof(hdr), tag);
		if (write_full(outfd, out, (size_t)n + SS_ABYTES) == -1) {
			snprintf(err, errsz, "write: %s", strerror(errno));
			goto done;
		}
		if (next == 0)
			break;
		in[0] = peek;
		if ((n = src_read(src, in + 1, CRYPT_CHUNK_SIZE - 1)) ==
		    -1) {
			snprintf(err, errsz, "read: %s", strerror(errno));
			goto done;
		}
		n++;
	}
	*size = total;
	r = 0;
done:
	sodium_memzero(&st, sizeof(st));
	if (in != NULL)
		sodium_memzero(in, CRYPT_CHUNK_SIZE);
	if (src != NULL) {
		if (src->pend != NULL)
			freezero(src->pend, src->pcap);
		freezero(src, sizeof(*src));
	}
	free(in);
	free(out);
	return r;
}

int
seal_decrypt(int infd, int outfd, const char *msgid,
    const uint8_t dkey[DKEY_LEN], uint64_t max, uint64_t *size, char *err,
    size_t errsz)
{
	crypto_secretstream_xchacha20poly1305_state	 st;
	uint8_t		 want[BLOB_HEADER_LEN], hdr[BLOB_HEADER_LEN];
	uint8_t		 sshdr[SS_HEADERBYTES], *in, *out, tag = 0, extra;
	unsigned long long mlen;
	uint64_t	 total = 0;
	ssize_t		 n;
	int		 r = -1;

	in = malloc(CRYPT_CHUNK_SIZE + SS_ABYTES);
	out = malloc(CRYPT_CHUNK_SIZE);
	if (in == NULL || out == NULL) {
		snprintf(err, errsz, "out of memory");
		goto done;
	}
	blob_header(msgid, want);
	if (read_full(infd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    read_full(infd, sshdr, sizeof(sshdr)) != (ssize_t)sizeof(sshdr)) {
		snprintf(err, errsz, "blob too short");
		goto done;
	}
	if (memcmp(hdr, BLOB_MAGIC, 8) != 0 || hdr[8] != BLOB_VERSION) {
		snprintf(err, errsz, "not a version %d blob", BLOB_VERSION);
		goto done;
	}
	if (memcmp(hdr, want, sizeof(want)) != 0) {
		snprintf(err, errsz, "blob header does not match");
		goto done;
	}
	if (crypto_secretstream_xchacha20poly1305_init_pull(&st, sshdr,
	    dkey) != 0) {
		snprintf(err, errsz, "bad stream header");
		goto done;
	}
	while (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
		if ((n = read_full(infd, in, CRYPT_CHUNK_SIZE + SS_ABYTES)) ==
		    -1) {
			snprintf(err, errsz, "read: %s", strerror(errno));
			goto done;
		}
		if (n < (ssize_t)SS_ABYTES) {
			snprintf(err, errsz, "blob truncated");
			goto done;
		}
		if (crypto_secretstream_xchacha20poly1305_pull(&st, out, &mlen,
		    &tag, in, (unsigned long long)n, hdr, sizeof(hdr)) != 0) {
			snprintf(err, errsz, "blob does not authenticate");
			goto done;
		}
		if (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL &&
		    n != CRYPT_CHUNK_SIZE + SS_ABYTES) {
			snprintf(err, errsz, "blob truncated");
			goto done;
		}
		total += mlen;
		if (total > max) {
			snprintf(err, errsz, "blob larger than %llu bytes",
			    (unsigned long long)max);
			goto done;
		}
		if (write_full(outfd, out, (size_t)mlen) == -1) {
			snprintf(err, errsz, "write: %s", strerror(errno));
			goto done;
		}
	}
	if (read_full(infd, &extra, 1) != 0) {
		snprintf(err, errsz, "data after the final chunk");
		goto done;
	}
	*size = total;
	r = 0;
done:
	sodium_memzero(&st, sizeof(st));
	if (out != NULL)
		sodium_memzero(out, CRYPT_CHUNK_SIZE);
	free(in);
	free(out);
	return r;
}
