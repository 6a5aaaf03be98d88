/*
 * queue.c: the queue process (forked by the parent).
 *
 * For now it does what every process does and nothing else: it says
 * hello to the parent, chroots, becomes its own user and waits.  Any
 * message it receives after the start-up is a protocol violation.
 */
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "smtpd.h"

static void
queue_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("unexpected %s from %s", proto_imsg_name(imsg->hdr.type),
	    proto_proc_name(proc_of(iev)));
}

static void
queue_ready(void)
{
	log_debug("ready");
}

void
queue_main(struct config *cfg, int parentfd)
{
	log_procname("queue");
	setproctitle("queue");
	event_init();
	proc_child_init(PROC_QUEUE, parentfd, queue_dispatch, queue_ready);
	proc_drop_privileges(PROC_QUEUE, cfg->spool);
	proc_child_run();
}
