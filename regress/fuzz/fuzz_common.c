/*
 * fuzz_common.c: helpers and the globals the program folders' archives
 * expect from a main file, shared by every fuzz target and the replay.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

/* deliveryd/deliveryd.c defines it; mta_body.c and mta_reply.c link it. */
struct config	*delivery_cfg;

char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char	*s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
