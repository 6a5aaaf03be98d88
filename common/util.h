/*
 * util.h: allocation that cannot fail silently, and small string helpers
 * shared by every program.  x*() functions call fatal() on exhaustion:
 * a process that cannot allocate a few bytes cannot keep its promises.
 */
#ifndef SEAL_UTIL_H
#define SEAL_UTIL_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Lower-case ASCII in place. */
void	 str_lower(char *);

#endif
