/*
 * fuzz_config.c: the smtpd.conf(5) parser (config_parse, common/parse.c).
 *
 * Input: a configuration file, written to a temporary file (the parser
 * reads a path, as smtpd does).  Configuration is trusted more than
 * mail, but a crash or a fatal() on any file is still a bug: smtpd -n
 * must say what is wrong.  Invariant checked: config_parse returns a
 * configuration or NULL, and what it returns can be freed.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static char	 path[] = "/tmp/fuzz_config.XXXXXX";
static int	 fd = -1;
static FILE	*devnull;

FUZZ_TARGET(config)
{
	struct config	*conf;
	size_t		 off = 0;
	ssize_t		 n;

	if (fd == -1) {
		if ((fd = mkstemp(path)) == -1 ||
		    (devnull = fopen("/dev/null", "w")) == NULL)
			abort();
		/* Gone when the process ends, crash or not. */
		(void)unlink(path);
		(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) == -1 || lseek(fd, 0, SEEK_SET) == -1)
		abort();
	while (off < size) {
		if ((n = write(fd, data + off, size - off)) <= 0)
			abort();
		off += (size_t)n;
	}
	if ((conf = config_parse(path, devnull)) != NULL)
		config_free(conf);
	return 0;
}
