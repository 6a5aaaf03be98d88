/*
 * detect.h: the built-in detectors of the policy engine: Dutch BSN
 * (11-proef), IBAN (country length and mod-97) and payment card numbers
 * (issuer prefix, length and Luhn).
 *
 * detect_scan() walks decoded text once, without regular expressions or
 * allocation, and counts the numbers that validate.  Numbers are never
 * copied out or logged.  Used by policyd and smtpctl policy test.
 */
#ifndef SEAL_DETECT_H
#define SEAL_DETECT_H

#include <stddef.h>

#define DETECT_BSN	0x01
#define DETECT_IBAN	0x02
#define DETECT_CARD	0x04

struct detect_counts {
	size_t	bsn;
	size_t	iban;
	size_t	card;
};

/* Add what text holds to c; which is a mask of DETECT_*. */
void	detect_scan(const char *text, size_t len, unsigned int which,
	    struct detect_counts *c);

/* Validators over compact forms: digits only, or an IBAN without spaces. */
int	detect_bsn_valid(const char *digits, size_t n);
int	detect_iban_valid(const char *iban, size_t n);
int	detect_card_valid(const char *digits, size_t n);

#endif
