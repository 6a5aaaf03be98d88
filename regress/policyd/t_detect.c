/*
 * t_detect.c: unit tests of the BSN, IBAN and card detectors
 * (policyd/detect.c): validators, the formats people write, and text
 * that must not count (wrong check digits, long digit runs, phone
 * numbers, codes glued to letters).
 */
#include <stdio.h>
#include <string.h>

#include "../../policyd/detect.h"
#include "../lib/tap.h"

static struct detect_counts
scan(const char *text)
{
	struct detect_counts	c;

	memset(&c, 0, sizeof(c));
	detect_scan(text, strlen(text), DETECT_BSN | DETECT_IBAN | DETECT_CARD,
	    &c);
	return c;
}

#define BSN(t)	(scan(t).bsn)
#define IBAN(t)	(scan(t).iban)
#define CARD(t)	(scan(t).card)

static void
test_validators(void)
{
	static const char *good_bsn[] = { "111222333", "123456782",
	    "999999990", "012345672" };
	static const char *bad_bsn[] = { "123456789", "111222334",
	    "000000000", "001234567", "12345678", "100000009" };
	static const char *good_iban[] = { "NL91ABNA0417164300",
	    "DE89370400440532013000", "GB82WEST12345698765432",
	    "BE68539007547034", "FR1420041010050500013M02606",
	    "ES9121000418450200051332", "IT60X0542811101000000123456",
	    "CH9300762011623852957", "NO9386011117947",
	    "AT611904300234573201", "PL61109010140000071219812874",
	    "MT84MALT011000012345MTLCAST001S", "nl91abna0417164300" };
	static const char *bad_iban[] = { "NL91ABNA0417164301",
	    "NL91ABNA041716430", "DE89370400440532013001",
	    "XX89370400440532013000", "GB82WEST1234569876543",
	    "NL9XABNA0417164300" };
	static const char *good_card[] = { "4111111111111111",
	    "5500000000000004", "340000000000009", "378282246310005",
	    "6011111111111117", "3530111333300000", "30569309025904",
	    "4012888888881881", "5555555555554444", "2223000048400011" };
	static const char *bad_card[] = { "4111111111111112",
	    "1234567812345670", "411111111111", "5500000000000000004",
	    "3400000000000090" };
	size_t	i;

	for (i = 0; i < sizeof(good_bsn) / sizeof(good_bsn[0]); i++)
		ok(detect_bsn_valid(good_bsn[i], strlen(good_bsn[i])),
		    "BSN %s valid", good_bsn[i]);
	for (i = 0; i < sizeof(bad_bsn) / sizeof(bad_bsn[0]); i++)
		ok(!detect_bsn_valid(bad_bsn[i], strlen(bad_bsn[i])),
		    "BSN %s invalid", bad_bsn[i]);
	for (i = 0; i < sizeof(good_iban) / sizeof(good_iban[0]); i++)
		ok(detect_iban_valid(good_iban[i], strlen(good_iban[i])),
		    "IBAN %s valid", good_iban[i]);
	for (i = 0; i < sizeof(bad_iban) / sizeof(bad_iban[0]); i++)
		ok(!detect_iban_valid(bad_iban[i], strlen(bad_iban[i])),
		    "IBAN %s invalid", bad_iban[i]);
	for (i = 0; i < sizeof(good_card) / sizeof(good_card[0]); i++)
		ok(detect_card_valid(good_card[i], strlen(good_card[i])),
		    "card %s valid", good_card[i]);
	for (i = 0; i < sizeof(bad_card) / sizeof(bad_card[0]); i++)
		ok(!detect_card_valid(bad_card[i], strlen(bad_card[i])),
		    "card %s invalid", bad_card[i]);
}

static void
test_bsn_text(void)
{
	is_int(BSN("BSN: 123456782."), 1, "BSN plain");
	is_int(BSN("bsn 1234.56.782 van patient"), 1, "BSN 1234.56.782");
	is_int(BSN("burgerservicenummer 123 456 782"), 1, "BSN 123 456 782");
	is_int(BSN("(123456782)"), 1, "BSN in parentheses");
	is_int(BSN("123456782\n111222333"), 2, "two BSNs");
	is_int(BSN("BSN 123456782 tel 0612345678"), 1,
	    "BSN followed by another number");
	is_int(BSN("datum 12-05-2023 BSN 123456782"), 1,
	    "BSN after a date");
	is_int(BSN("123456789"), 0, "11-proef fails");
	is_int(BSN("order 1234567823"), 0, "ten digits is no BSN");
	is_int(BSN("ref 91234567820001"), 0, "BSN inside a long run");
	is_int(BSN("12345678212345678212"), 0, "long run of BSNs glued");
	is_int(BSN("abc123456782"), 0, "glued after letters");
	is_int(BSN("123456782abc"), 0, "glued before letters");
	is_int(BSN("12.3456.782"), 0, "odd grouping");
	is_int(BSN("+31 123456782"), 0, "after a phone prefix");
	is_int(BSN("\xc3\xa9" "123456782"), 0, "glued to a UTF-8 letter");
	is_int(BSN("bedrag 1.234.567,82"), 0, "an amount");
	is_int(BSN(""), 0, "empty text");
}

static void
test_iban_text(void)
{
	is_int(IBAN("Graag overmaken op NL91ABNA0417164300 o.v.v."), 1,
	    "IBAN compact");
	is_int(IBAN("IBAN: NL91 ABNA 0417 1643 00\n"), 1, "IBAN spaced");
	is_int(IBAN("DE89 3704 0044 0532 0130 00, BE68 5390 0754 7034"), 2,
	    "two IBANs of two countries");
	is_int(IBAN("GB82 WEST 1234 5698 7654 32."), 1, "GB IBAN");
	is_int(IBAN("FR14 2004 1010 0505 0001 3M02 606"), 1,
	    "FR IBAN with a letter in the BBAN");
	is_int(IBAN("NL91ABNA0417164301"), 0, "wrong check digits");
	is_int(IBAN("NL91ABNA04171643001"), 0, "too long");
	is_int(IBAN("NL91ABNA041716430"), 0, "too short");
	is_int(IBAN("XNL91ABNA0417164300"), 0, "glued to a letter");
	is_int(IBAN("NL91  ABNA 0417 1643 00"), 0, "double space");
	is_int(BSN("NL91ABNA0417164300") + CARD("NL91ABNA0417164300"), 0,
	    "IBAN digits are not counted as BSN or card");
}

static void
test_card_text(void)
{
	is_int(CARD("card 4111 1111 1111 1111 exp 12/27"), 1,
	    "Visa in fours");
	is_int(CARD("4111-1111-1111-1111"), 1, "dashes");
	is_int(CARD("4111111111111111"), 1, "compact");
	is_int(CARD("Amex 3782 822463 10005"), 1, "Amex 4-6-5");
	is_int(CARD("5555 5555 5555 4444 and 4012 8888 8888 1881"), 2,
	    "two cards");
	is_int(CARD("4111 1111 1111 1112"), 0, "Luhn fails");
	is_int(CARD("1234 5678 1234 5670"), 0, "Luhn holds, no issuer");
	is_int(CARD("41 1111 1111 1111 11"), 0, "odd grouping");
	is_int(CARD("tracking 94111111111111111111112"), 0,
	    "inside a long run");
	is_int(CARD("411111111111111100000"), 0, "21 digits");
	is_int(CARD("4111111111111111x"), 0, "glued to a letter");
}

static void
test_selection(void)
{
	struct detect_counts	c;
	const char		*t = "123456782 NL91ABNA0417164300 "
				    "4111111111111111";

	memset(&c, 0, sizeof(c));
	detect_scan(t, strlen(t), DETECT_IBAN, &c);
	ok(c.iban == 1 && c.bsn == 0 && c.card == 0, "only IBAN asked");
	memset(&c, 0, sizeof(c));
	detect_scan(t, strlen(t), DETECT_BSN | DETECT_CARD, &c);
	ok(c.iban == 0 && c.bsn == 1 && c.card == 1, "BSN and card asked");
	/* Bounded reads: the text may end anywhere. */
	memset(&c, 0, sizeof(c));
	detect_scan("NL91AB", 6, DETECT_IBAN, &c);
	detect_scan("1234 ", 5, DETECT_BSN | DETECT_CARD, &c);
	detect_scan("4111 1111 1111 1111", 14, DETECT_CARD, &c);
	ok(c.iban == 0 && c.card == 0, "truncated input counts nothing");
}

int
main(void)
{
	test_validators();
	test_bsn_text();
	test_iban_text();
	test_card_text();
	test_selection();
	return done_testing();
}
