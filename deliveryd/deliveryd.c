/*
 * deliveryd.c: the delivery process (exec'd by smtpd(8), channel to the
 * parent on descriptor 3).
 *
 * As root, before the chroot, it loads everything it will need later:
 * the configuration, the system CA bundle and every "ca" file for
 * verified TLS, libunbound's settings (resolv.conf, hosts, or the
 * configured resolver) and a descriptor of every Maildir.  Then it says hello to the parent,
 * chroots into the empty directory and becomes _sealdeliver: after start
 * it has no file system, only the network.  It takes batches from the
 * queue (mta.c) and answers with results; anything else is a protocol
 * violation.
 */
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "delivery.h"
#include "log.h"
#include "proc.h"

struct config	*delivery_cfg;

extern char	**environ;

static void
delivery_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	switch (proc_of(iev)) {
	case PROC_QUEUE:
		mta_dispatch_queue(imsg);
		break;
	default:
		fatalx("unexpected %s from %s",
		    proto_imsg_name(imsg->hdr.type),
		    proto_proc_name(proc_of(iev)));
	}
}

static void
delivery_ready(void)
{
	log_debug("ready");
}

int
main(int argc, char **argv)
{
	struct proc_opts	 opts;
	struct config		*cfg;
	const char		**triggers;
	size_t			 ntriggers;

	setproctitle_init(argc, argv, environ);
	cfg = proc_helper_init(argc, argv, PROC_DELIVERY, &opts);
	delivery_cfg = cfg;
	/* Kept for the life of the process, like the config. */
	triggers = hdrfilter_config_triggers(cfg, &ntriggers);
	mta_body_triggers(triggers, ntriggers);
	event_init();
	mta_session_init();
	dns_init(cfg->resolver, cfg->resolver_port);
	maildir_init(cfg);
	mta_init();
	proc_child_init(PROC_DELIVERY, PROC_PARENT_FD, delivery_dispatch,
	    delivery_ready);
	proc_drop_privileges(PROC_DELIVERY, cfg->empty);
	proc_child_run();
}
