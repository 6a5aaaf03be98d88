/*
 * cryptd.c: the crypt process (exec'd by smtpd(8), channel to the parent
 * on descriptor 3).
 *
 * For now it does what every process does and nothing else: it parses
 * the configuration, says hello to the parent, chroots into its vault directory,
 * becomes its own user and waits.  Any message it receives after the
 * start-up is a protocol violation.
 */
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "proc.h"

extern char	**environ;

static void
crypt_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("unexpected %s from %s", proto_imsg_name(imsg->hdr.type),
	    proto_proc_name(proc_of(iev)));
}

static void
crypt_ready(void)
{
	log_debug("ready");
}

int
main(int argc, char **argv)
{
	struct proc_opts	 opts;
	struct config		*cfg;

	setproctitle_init(argc, argv, environ);
	cfg = proc_helper_init(argc, argv, PROC_CRYPT, &opts);
	event_init();
	proc_child_init(PROC_CRYPT, PROC_PARENT_FD, crypt_dispatch,
	    crypt_ready);
	proc_drop_privileges(PROC_CRYPT, cfg->vault);
	proc_child_run();
}
