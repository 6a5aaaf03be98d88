/*
 * sandbox.c: the seccomp filter every child installs after it dropped
 * its privileges (proc_drop_privileges), with libseccomp.
 *
 * A deny list, not an allow list: what no process of sealrelay ever needs
 * (running programs, tracing, mounting, loading kernel code, changing
 * credentials again, new namespaces...) fails with EPERM, and processes
 * without network (all but deliveryd) cannot create anything but Unix
 * sockets.  An allow list per process would be tighter; it needs a list
 * of every system call libevent, libtls, SQLite, libunbound and the
 * sanitizers make, and is left for later.  EPERM rather than a kill, so a
 * sanitizer report (which may try to run a symbolizer) still comes out.
 */
#include <sys/socket.h>

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>

#include "log.h"
#include "proc.h"

static const int sandbox_denied[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat),
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(kcmp),
	SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root),
	SCMP_SYS(chroot), SCMP_SYS(unshare), SCMP_SYS(setns),
	SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(reboot),
	SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load),
	SCMP_SYS(init_module), SCMP_SYS(finit_module),
	SCMP_SYS(delete_module), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
	SCMP_SYS(userfaultfd), SCMP_SYS(keyctl), SCMP_SYS(add_key),
	SCMP_SYS(request_key), SCMP_SYS(iopl), SCMP_SYS(ioperm),
	SCMP_SYS(acct), SCMP_SYS(settimeofday), SCMP_SYS(clock_settime),
	SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex), SCMP_SYS(syslog),
	SCMP_SYS(quotactl), SCMP_SYS(vhangup), SCMP_SYS(personality),
	SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at),
	SCMP_SYS(fanotify_init), SCMP_SYS(lookup_dcookie),
	SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid),
	SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid),
	SCMP_SYS(setgroups), SCMP_SYS(setfsuid), SCMP_SYS(setfsgid),
	SCMP_SYS(capset),
};

void
sandbox_enter(enum proc_id self)
{
	scmp_filter_ctx	ctx;
	size_t		i;
	int		r;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		fatalx("seccomp_init failed");
	for (i = 0; i < sizeof(sandbox_denied) / sizeof(sandbox_denied[0]);
	    i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    sandbox_denied[i], 0);
		if (r < 0)
			fatalx("seccomp_rule_add %d: %d", sandbox_denied[i], r);
	}
	if (self != PROC_DELIVERY) {
		/* No network: only Unix sockets (syslog reconnects). */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
		if (r < 0)
			fatalx("seccomp_rule_add socket: %d", r);
	}
	if ((r = seccomp_load(ctx)) < 0)
		fatalx("seccomp_load: %d", r);
	seccomp_release(ctx);
	log_debug("seccomp filter installed");
}
