/*
 * tap.h: a minimal Test Anything Protocol emitter for the C unit tests.
 * Each test program prints "1..N" at the end (done_testing) and exits
 * non-zero if any test failed, so prove(1) reports it.
 */
#ifndef SEAL_TAP_H
#define SEAL_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int
tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

#define ok(cond, ...)	tap_ok(!!(cond), __VA_ARGS__)
#define is_int(got, want, ...) do {					\
	long long tap_g = (got), tap_w = (want);			\
	if (!tap_ok(tap_g == tap_w, __VA_ARGS__))			\
		printf("#   got %lld, want %lld\n", tap_g, tap_w);	\
} while (0)
#define is_str(got, want, ...) do {					\
	const char *tap_g = (got), *tap_w = (want);			\
	if (!tap_ok(tap_g != NULL && tap_w != NULL &&			\
	    strcmp(tap_g, tap_w) == 0, __VA_ARGS__))			\
		printf("#   got \"%s\", want \"%s\"\n",			\
		    tap_g ? tap_g : "(null)", tap_w ? tap_w : "(null)");\
} while (0)

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
