/*
 * fuzz_token.c: the checks cryptd makes on what the portal relays from
 * browsers and on recipients' data (cryptd/token.c): link tokens,
 * one-time codes, phone numbers, and the masked forms shown to users.
 *
 * Input: one byte of settings (output size), then a string.  Invariants
 * checked: a valid token is 32 base64url characters, a valid code the
 * digits of PROTO_CODE_LEN, a valid phone "+" and 8 to 15 digits; masked
 * forms are terminated in their buffer and never show more than the
 * first and last characters they promise.
 */
#include <string.h>

#include "../../cryptd/crypt.h"
#include "fuzz.h"

FUZZ_TARGET(token)
{
	char	*s, out[64];
	size_t	 osz, len, i;
	uint8_t	 h[HASH_LEN];

	if (size < 1)
		return 0;
	osz = 1 + data[0] % sizeof(out);
	s = fuzz_strndup(data + 1, size - 1);
	len = strlen(s);

	if (token_valid(s)) {
		if (len != TOKEN_LEN ||
		    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_") != len)
			fuzz_fail("token accepted: %s", s);
		token_hash(s, h);
	}
	if (code_valid(s) && (len != PROTO_CODE_LEN ||
	    strspn(s, "0123456789") != len))
		fuzz_fail("code accepted: %s", s);
	if (phone_valid(s) && (s[0] != '+' || len < 9 || len > 16 ||
	    strspn(s + 1, "0123456789") != len - 1))
		fuzz_fail("phone accepted: %s", s);

	memset(out, 'x', sizeof(out));
	mask_address(s, out, osz);
	if (memchr(out, '\0', osz) == NULL)
		fuzz_fail("masked address not terminated");
	for (i = osz; i < sizeof(out); i++)
		if (out[i] != 'x')
			fuzz_fail("masked address written past %zu", osz);

	memset(out, 'x', sizeof(out));
	mask_phone(s, out, osz);
	if (memchr(out, '\0', osz) == NULL)
		fuzz_fail("masked phone not terminated");
	for (i = osz; i < sizeof(out); i++)
		if (out[i] != 'x')
			fuzz_fail("masked phone written past %zu", osz);
	if (strcmp(out, "***") != 0 && strlen(out) == len)
		for (i = 3; i + 2 < len; i++)
			if (out[i] != '*')
				fuzz_fail("masked phone shows digit %zu", i);
	free(s);
	return 0;
}
