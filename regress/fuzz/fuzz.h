/*
 * fuzz.h: what every fuzz target of regress/fuzz/ shares.
 *
 * A target file (fuzz_NAME.c) feeds arbitrary bytes to one pure parser of
 * untrusted input and checks the invariants the parser promises; a broken
 * invariant calls fuzz_fail(), which aborts, so libFuzzer and the replay
 * report it like a crash.  FUZZ_TARGET(NAME) defines fuzz_NAME(), which
 * the replay (t_fuzz_replay.c, run by make check) calls on the committed
 * corpus and crash reproducers, and, in the libFuzzer build (make fuzz,
 * -DFUZZ_LIBFUZZER), LLVMFuzzerTestOneInput() as well.
 * No target does I/O but what its parser's interface needs (a temporary
 * file for config_parse, a socketpair's fds for imsg), and none keeps
 * state from one input to the next but caches built once.
 */
#ifndef SEAL_FUZZ_H
#define SEAL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_PROTO(name)						\
	int	fuzz_##name(const uint8_t *, size_t)

#ifdef FUZZ_LIBFUZZER
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
#define FUZZ_TARGET(name)						\
	FUZZ_PROTO(name);						\
	int								\
	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)	\
	{								\
		return fuzz_##name(data, size);				\
	}								\
	int								\
	fuzz_##name(const uint8_t *data, size_t size)
#else
#define FUZZ_TARGET(name)						\
	FUZZ_PROTO(name);						\
	int								\
	fuzz_##name(const uint8_t *data, size_t size)
#endif

/* An invariant does not hold: abort so that the input is kept. */
#define fuzz_fail(...) do {						\
	fprintf(stderr, "fuzz: %s:%d: ", __FILE__, __LINE__);		\
	fprintf(stderr, __VA_ARGS__);					\
	fprintf(stderr, "\n");						\
	abort();							\
} while (0)
#define fuzz_assert(cond) do {						\
	if (!(cond))							\
		fuzz_fail("assertion failed: %s", #cond);		\
} while (0)

/*
 * A NUL-terminated copy of data (most parsers take C strings; a NUL in
 * the input ends the string as it would in the caller).  Freed by the
 * caller.
 */
char	*fuzz_strndup(const uint8_t *, size_t);

/* Every target; the replay's table lists them in this order. */
FUZZ_PROTO(smtp_parse);
FUZZ_PROTO(smtp_data);
FUZZ_PROTO(policy);
FUZZ_PROTO(detect);
FUZZ_PROTO(mta_reply);
FUZZ_PROTO(mta_body);
FUZZ_PROTO(queue_env);
FUZZ_PROTO(imsg);
FUZZ_PROTO(config);
FUZZ_PROTO(notice);
FUZZ_PROTO(token);

#endif
