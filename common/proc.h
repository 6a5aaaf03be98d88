/*
 * proc.h: the process model shared by the parent and every child.
 *
 * The parent creates one socketpair to each child and one per pair of
 * children in proc_links[].  A child says IMSG_PARENT_HELLO, receives the
 * ends of its peer links (IMSG_ANY_PEER), then IMSG_ANY_GO; from then on
 * proc_peer[] holds an imsgev for every process it may talk to.  Losing
 * the parent ends a child quietly; losing any other peer ends it with an
 * error, and the parent then stops the whole daemon.
 */
#ifndef SEAL_PROC_H
#define SEAL_PROC_H

#include "config.h"
#include "imsg.h"
#include "proto.h"

#define PROC_PARENT_FD	3	/* exec'd helpers find the parent here */

struct proc_desc {
	enum proc_id	 id;
	const char	*name;		/* "smtp", for logs */
	const char	*prog;		/* exec'd program, NULL if forked */
	const char	*user;		/* unprivileged user and group */
};

struct proc_link {
	enum proc_id	 a, b;
};

extern const struct proc_desc	proc_table[PROC_MAX];
extern const struct proc_link	proc_links[];
extern const size_t		proc_nlinks;

/* This process's channels, indexed by the peer's id; NULL if none. */
extern struct imsgev		*proc_peer[PROC_MAX];

/* Common options of every program. */
struct proc_opts {
	int		 foreground;	/* -d */
	int		 verbose;	/* -v */
	int		 trace;		/* -T imsg|smtp */
	const char	*config;	/* -f */
};

/* Parse -T's argument; returns 0 or -1 if unknown. */
int	proc_trace_parse(const char *, int *);

/*
 * In an exec'd helper: parse the common options, set up logging and the
 * process title, and parse the configuration.  Exits on error.
 */
struct config *proc_helper_init(int, char **, enum proc_id,
	    struct proc_opts *);

/*
 * In a child: set up the channel to the parent on fd, send the hello.
 * handler gets every message after the start-up; ready() runs once every
 * peer is connected.
 */
void	proc_child_init(enum proc_id self, int fd, imsgev_handler handler,
	    void (*ready)(void));

/*
 * Chroot into dir and become user (and its group) for good; sets
 * no_new_privs and the parent-death signal, then enters the sandbox.
 * Needs root.
 */
void	proc_drop_privileges(enum proc_id self, const char *dir);

/* Install the process's seccomp filter (sandbox.c). */
void	sandbox_enter(enum proc_id self);

/*
 * Run the event loop of a child: SIGTERM and SIGINT end it with status 0,
 * SIGPIPE and SIGHUP are ignored.  Never returns.
 */
void	proc_child_run(void) __attribute__((noreturn));

/* The channel's peer id, as stored in imsgev.arg. */
enum proc_id proc_of(const struct imsgev *);

/* Send to a peer; fatal if the peer is not connected. */
void	proc_compose(enum proc_id, uint32_t type, uint32_t peerid, int fd,
	    const void *, size_t);

#endif
