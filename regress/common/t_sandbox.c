/*
 * t_sandbox.c: the seccomp filter of sandbox.c really refuses what it
 * should, and leaves what the processes need: each case runs in a child
 * that entered the sandbox.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "../lib/tap.h"

enum probe { P_EXEC, P_INET, P_INET6, P_UNIX, P_SETUID };

/* In a child: enter the sandbox as proc, try probe; exit 0 if refused
 * with EPERM, 1 if allowed, 2 on another error. */
static int
try(enum proc_id proc, enum probe probe)
{
	pid_t	pid;
	int	status, r, fd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		char *argv[] = { "/bin/true", NULL };
		char *envp[] = { NULL };

		sandbox_enter(proc);
		errno = 0;
		switch (probe) {
		case P_EXEC:
			r = execve("/bin/true", argv, envp);
			break;
		case P_INET:
			r = fd = socket(AF_INET, SOCK_STREAM, 0);
			break;
		case P_INET6:
			r = fd = socket(AF_INET6, SOCK_DGRAM, 0);
			break;
		case P_UNIX:
			r = fd = socket(AF_UNIX, SOCK_DGRAM, 0);
			break;
		case P_SETUID:
			r = setuid(getuid());
			break;
		default:
			r = -1;
		}
		if (r != -1)
			_exit(1);
		_exit(errno == EPERM ? 0 : 2);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int
main(void)
{
	is_int(try(PROC_SMTP, P_EXEC), 0, "smtp: execve refused");
	is_int(try(PROC_DELIVERY, P_EXEC), 0, "delivery: execve refused");
	is_int(try(PROC_QUEUE, P_INET), 0, "queue: no IPv4 socket");
	is_int(try(PROC_POLICY, P_INET6), 0, "policy: no IPv6 socket");
	is_int(try(PROC_CRYPT, P_INET), 0, "crypt: no IPv4 socket");
	is_int(try(PROC_SMTP, P_INET), 0, "smtp: no new IPv4 socket");
	is_int(try(PROC_QUEUE, P_UNIX), 1, "queue: Unix sockets allowed");
	is_int(try(PROC_DELIVERY, P_INET), 1, "delivery: IPv4 sockets allowed");
	is_int(try(PROC_DELIVERY, P_INET6), 1,
	    "delivery: IPv6 sockets allowed");
	is_int(try(PROC_CONTROL, P_SETUID), 0, "control: setuid refused");
	return done_testing();
}
