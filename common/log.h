/*
 * log.h: logging for every process: to stderr in the foreground (-d),
 * to syslog (mail facility) otherwise.  Each line starts with the process
 * name.  fatal() is for bugs and for trusted internal peers that break the
 * protocol; never for anything a client or a file can influence.
 */
#ifndef SEAL_LOG_H
#define SEAL_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define TRACE_IMSG	0x01
#define TRACE_SMTP	0x02

extern int log_verbose;
extern int log_trace;

void	log_init(int foreground, int verbose);
void	log_procname(const char *);
const char *log_getprocname(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_trace_msg(int, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2)))
	    __attribute__((noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2)))
	    __attribute__((noreturn));

/*
 * Escape untrusted bytes for a log line or a record: printable ASCII is
 * kept, everything else (CR, LF, NUL, controls, 8-bit) becomes \xHH.
 * Always NUL-terminates; returns dst.
 */
char	*log_escape(char *dst, size_t dstsz, const void *src, size_t srclen);

#endif
