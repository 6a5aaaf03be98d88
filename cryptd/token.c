/*
 * token.c: link tokens, session ids and one-time codes, their hashes,
 * and the masked forms of addresses and phone numbers the portal may
 * show (run by cryptd; pure functions, no messages).
 *
 * A token is PROTO_TOKEN_BYTES (192 bits) of randomness in URL-safe
 * base64 without padding; only its BLAKE2b hash is stored.  A code is
 * PROTO_CODE_LEN uniformly random digits; its hash is keyed with a key
 * derived from a master key, bound to the token and the channel, so a
 * stolen index does not give the codes away by brute force.
 *
 * Invariant: a token or code in clear is never stored or logged.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "crypt.h"

#define CODE_KDF_CTX	"sealcode"	/* 8 bytes, crypto_kdf context */
#define CODE_KDF_ID	1

void
token_new(char out[PROTO_TOKEN_MAX])
{
	uint8_t	raw[PROTO_TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, PROTO_TOKEN_MAX, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

int
token_valid(const char *t)
{
	size_t	i;

	for (i = 0; t[i] != '\0'; i++)
		if (!isascii((unsigned char)t[i]) ||
		    !(isalnum((unsigned char)t[i]) || t[i] == '-' ||
		    t[i] == '_'))
			return 0;
	return i == TOKEN_LEN;
}

void
token_hash(const char *token, uint8_t out[HASH_LEN])
{
	crypto_generichash(out, HASH_LEN, (const uint8_t *)token,
	    strlen(token), NULL, 0);
}

void
code_new(char out[PROTO_CODE_MAX])
{
	uint32_t	mod = 1, i;

	for (i = 0; i < PROTO_CODE_LEN; i++)
		mod *= 10;
	snprintf(out, PROTO_CODE_MAX, "%0*u", PROTO_CODE_LEN,
	    randombytes_uniform(mod));
}

int
code_valid(const char *c)
{
	size_t	i;

	for (i = 0; c[i] != '\0'; i++)
		if (c[i] < '0' || c[i] > '9')
			return 0;
	return i == PROTO_CODE_LEN;
}

void
code_hash(const struct mkey *mk, const uint8_t th[HASH_LEN],
    uint32_t channel, const char *code, uint8_t out[HASH_LEN])
{
	crypto_generichash_state	st;
	uint8_t				k[crypto_generichash_KEYBYTES];
	uint8_t				ch[4];

	crypto_kdf_derive_from_key(k, sizeof(k), CODE_KDF_ID, CODE_KDF_CTX,
	    mk->key);
	ch[0] = (uint8_t)(channel >> 24);
	ch[1] = (uint8_t)(channel >> 16);
	ch[2] = (uint8_t)(channel >> 8);
	ch[3] = (uint8_t)channel;
	crypto_generichash_init(&st, k, sizeof(k), HASH_LEN);
	crypto_generichash_update(&st, th, HASH_LEN);
	crypto_generichash_update(&st, ch, sizeof(ch));
	crypto_generichash_update(&st, (const uint8_t *)code, strlen(code));
	crypto_generichash_final(&st, out, HASH_LEN);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(&st, sizeof(st));
}

/* "jan.jansen@example.nl" -> "j***n@e***.nl" */
void
mask_address(const char *addr, char *out, size_t outsz)
{
	const char	*at, *dot;
	char		 last[2] = "";
	size_t		 llen;

	if ((at = strrchr(addr, '@')) == NULL || at == addr) {
		(void)strlcpy(out, "***", outsz);
		return;
	}
	llen = (size_t)(at - addr);
	dot = strrchr(at, '.');
	if (llen > 3)
		last[0] = addr[llen - 1];
	snprintf(out, outsz, "%c***%s@%c***%s", addr[0], last,
	    at[1] != '\0' ? at[1] : '?', dot != NULL ? dot : "");
}

/* "+31612345678" -> "+31*******78" */
void
mask_phone(const char *phone, char *out, size_t outsz)
{
	size_t	len = strlen(phone), i;

	if (len < 7) {
		(void)strlcpy(out, "***", outsz);
		return;
	}
	if (outsz <= len) {
		(void)strlcpy(out, "***", outsz);
		return;
	}
	for (i = 0; i < len; i++)
		out[i] = (i < 3 || i >= len - 2) ? phone[i] : '*';
	out[len] = '\0';
}

/* E.164: "+" and 8 to 15 digits. */
int
phone_valid(const char *p)
{
	size_t	i;

	if (p[0] != '+')
		return 0;
	for (i = 1; p[i] != '\0'; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return i >= 9 && i <= 16;
}

void
hash_hex(const uint8_t *h, size_t len, char *out, size_t outsz)
{
	sodium_bin2hex(out, outsz, h, len);
}
