/*
 * fuzz_detect.c: the built-in detectors of the policy engine
 * (policyd/detect.c) on arbitrary decoded text, and their validators.
 *
 * Input: text.  Invariants checked: the scan reads only its text (the
 * copy is exactly as long as the input) and counts no more numbers than
 * the text can hold; a number the validators accept satisfies the check
 * digit it claims (11-proef, mod 97, Luhn), checked here independently.
 */
#include <string.h>

#include "../../policyd/detect.h"
#include "fuzz.h"

static int
ref_luhn(const char *d, size_t n)
{
	size_t	i;
	int	sum = 0, v;

	for (i = 0; i < n; i++) {
		v = d[n - 1 - i] - '0';
		if (i % 2 == 1)
			v = v * 2 > 9 ? v * 2 - 9 : v * 2;
		sum += v;
	}
	return sum % 10 == 0;
}

static int
ref_mod97(const char *s, size_t n)
{
	char		r[80];
	size_t		i, o = 0;
	unsigned int	rem = 0;

	for (i = 0; i < n; i++) {
		char c = s[(i + 4) % n];

		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (c >= 'A' && c <= 'Z')
			o += (size_t)snprintf(r + o, sizeof(r) - o, "%d",
			    c - 'A' + 10);
		else if (c >= '0' && c <= '9')
			r[o++] = c;
		else
			return 0;
	}
	for (i = 0; i < o; i++)
		rem = (rem * 10 + (unsigned int)(r[i] - '0')) % 97;
	return rem == 1;
}

FUZZ_TARGET(detect)
{
	struct detect_counts	 c;
	char			*text, digits[20];
	size_t			 i, n;
	int			 sum;

	if ((text = malloc(size ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(text, data, size);
	memset(&c, 0, sizeof(c));
	detect_scan(text, size, DETECT_BSN | DETECT_IBAN | DETECT_CARD, &c);
	if (c.bsn * 9 > size || c.iban * 15 > size || c.card * 13 > size)
		fuzz_fail("counts %zu %zu %zu in %zu bytes", c.bsn, c.iban,
		    c.card, size);

	/* The validators, on digits made of the first bytes. */
	n = size < sizeof(digits) ? size : sizeof(digits);
	for (i = 0; i < n; i++)
		digits[i] = '0' + data[i] % 10;
	if (detect_bsn_valid(digits, n)) {
		if (n != 9)
			fuzz_fail("BSN of %zu digits", n);
		for (sum = 0, i = 0; i < 8; i++)
			sum += (9 - (int)i) * (digits[i] - '0');
		sum -= digits[8] - '0';
		if (sum % 11 != 0)
			fuzz_fail("BSN fails the 11-proef");
	}
	if (detect_card_valid(digits, n) && (n < 13 || !ref_luhn(digits, n)))
		fuzz_fail("card fails Luhn");
	if (size >= 15 && size <= 34 && detect_iban_valid(text, size) &&
	    !ref_mod97(text, size))
		fuzz_fail("IBAN fails mod 97");
	free(text);
	return 0;
}
