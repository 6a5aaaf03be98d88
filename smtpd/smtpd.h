/*
 * smtpd.h: entry points of the processes the parent forks (front end,
 * queue, control), and what they share with the parent.
 */
#ifndef SEAL_SMTPD_H
#define SEAL_SMTPD_H

#include "config.h"
#include "proc.h"

/* Each takes the parsed config and its channel to the parent. */
void	smtp_main(struct config *, int parentfd) __attribute__((noreturn));
void	queue_main(struct config *, int parentfd) __attribute__((noreturn));
void	control_main(struct config *, int parentfd, int ctlfd)
	    __attribute__((noreturn));

#endif
