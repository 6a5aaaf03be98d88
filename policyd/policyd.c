/*
 * policyd.c: the policy process (exec'd by smtpd(8), channel to the parent
 * on descriptor 3).
 *
 * Parses the configuration (rules, tables, credential tables) as root,
 * says hello to the parent, chroots into the empty directory and becomes
 * its own user: after start it has no file system and no network.  It
 * answers the front end (policy_smtp.c) and the queue
 * (policy_message.c); anything else is a protocol violation.
 */
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "policyd.h"
#include "proc.h"

struct config	*policy_cfg;

extern char	**environ;

static void
policy_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	switch (proc_of(iev)) {
	case PROC_SMTP:
		policy_smtp_dispatch(iev, imsg);
		break;
	case PROC_QUEUE:
		policy_message_dispatch(iev, imsg);
		break;
	default:
		fatalx("unexpected %s from %s",
		    proto_imsg_name(imsg->hdr.type),
		    proto_proc_name(proc_of(iev)));
	}
}

static void
policy_ready(void)
{
	log_debug("ready");
}

int
main(int argc, char **argv)
{
	struct proc_opts	 opts;
	struct config		*cfg;

	setproctitle_init(argc, argv, environ);
	cfg = proc_helper_init(argc, argv, PROC_POLICY, &opts);
	policy_cfg = cfg;
	event_init();
	proc_child_init(PROC_POLICY, PROC_PARENT_FD, policy_dispatch,
	    policy_ready);
	proc_drop_privileges(PROC_POLICY, cfg->empty);
	proc_child_run();
}
