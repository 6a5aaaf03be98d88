/*
 * cryptd.c: the crypt process (exec'd by smtpd(8), channel to the parent
 * on descriptor 3; peers: queue, portal, control).
 *
 * As root, before anything else: load the master keys from the vault
 * directory (creating the first one).  Then chroot into the vault, become
 * _sealcrypt, open the index and the blob store there, and serve the
 * queue (sealing), the portal (tokens, codes, opening) and control
 * (secure show, log, revoke); see crypt_ops.c.  A timer expires
 * recipients and shreds messages nobody can open any more.
 *
 * Invariant: the master keys are read before the chroot and never leave
 * this process; a message of a type a peer may not send stops the daemon.
 */
#include <sys/stat.h>

#include <pwd.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crypt.h"
#include "defaults.h"
#include "hdrfilter.h"
#include "log.h"
#include "proc.h"
#include "store.h"

#define VAULT_INDEX	"/index.db"
#define VAULT_BLOBS	"/blobs"

extern char	**environ;

static struct config		*cfg;
static struct vault_store	 store;
static struct blob_store	 blobs;
static struct event		 ev_sweep;

static void
crypt_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	enum proc_id	from = proc_of(iev);
	uint32_t	type = imsg->hdr.type;

	switch (from) {
	case PROC_QUEUE:
		if (type == IMSG_CRYPT_SEAL)
			crypt_seal_begin(imsg);
		else if (type == IMSG_CRYPT_SEAL_RCPT)
			crypt_seal_rcpt(imsg);
		else if (type == IMSG_CRYPT_SEAL_END)
			crypt_seal_end(imsg);
		else if (type == IMSG_CRYPT_EVENT)
			crypt_queue_event(imsg);
		else
			break;
		return;
	case PROC_PORTAL:
		if (type == IMSG_CRYPT_LOOKUP || type == IMSG_CRYPT_CODE_ISSUE ||
		    type == IMSG_CRYPT_CODE_CHECK || type == IMSG_CRYPT_OPEN ||
		    type == IMSG_CRYPT_REPLY) {
			crypt_portal(imsg);
			return;
		}
		break;
	case PROC_CONTROL:
		if (type == IMSG_CRYPT_CTL_SHOW || type == IMSG_CRYPT_CTL_LOG ||
		    type == IMSG_CRYPT_CTL_REVOKE) {
			crypt_control(imsg);
			return;
		}
		break;
	default:
		break;
	}
	fatalx("unexpected %s from %s", proto_imsg_name(type),
	    proto_proc_name(from));
}

static void
crypt_sweep_timer(int fd, short ev, void *arg)
{
	struct timeval	tv;

	crypt_sweep(time(NULL));
	tv.tv_sec = cfg->limits.secure_sweep;
	tv.tv_usec = 0;
	evtimer_add(&ev_sweep, &tv);
}

static void
crypt_ready(void)
{
	struct timeval	tv = { 0, 0 };

	evtimer_set(&ev_sweep, crypt_sweep_timer, NULL);
	evtimer_add(&ev_sweep, &tv);
	log_debug("ready, vault index %s, blobs %s", store.name, blobs.name);
}

int
main(int argc, char **argv)
{
	struct proc_opts	 opts;
	struct passwd		*pw;
	const char		**trig;
	size_t			 ntrig;
	char			 err[512];

	setproctitle_init(argc, argv, environ);
	cfg = proc_helper_init(argc, argv, PROC_CRYPT, &opts);
	/* Kept for the life of the process, like the config. */
	trig = hdrfilter_config_triggers(cfg, &ntrig);
	seal_triggers(trig, ntrig);
	umask(077);
	if (sodium_init() == -1)
		fatalx("sodium_init");
	if ((pw = getpwnam(SEAL_USER_CRYPT)) == NULL)
		fatalx("user %s does not exist", SEAL_USER_CRYPT);
	if (keys_load(cfg->vault, pw->pw_uid, pw->pw_gid, err,
	    sizeof(err)) == -1)
		fatalx("master key: %s", err);
	event_init();
	proc_child_init(PROC_CRYPT, PROC_PARENT_FD, crypt_dispatch,
	    crypt_ready);
	proc_drop_privileges(PROC_CRYPT, cfg->vault);

	store_sqlite_init(&store);
	blob_fs_init(&blobs);
	if (store.open(&store, VAULT_INDEX) == -1 ||
	    blobs.open(&blobs, VAULT_BLOBS) == -1)
		fatalx("cannot open the vault");
	crypt_ops_init(cfg, &store, &blobs);
	proc_child_run();
}
