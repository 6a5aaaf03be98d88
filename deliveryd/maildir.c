/*
 * maildir.c: local delivery into a Maildir (deliveryd), for `action NAME
 * maildir "PATH"`.
 *
 * maildir_init() runs as root before the chroot: it creates every
 * Maildir (with tmp/, new/ and cur/) owned by the delivery user and keeps
 * descriptors of tmp/ and new/, because after the chroot the process has
 * no file system.  A message is written to tmp/ under a unique name,
 * fsynced, and renamed into new/ (then new/ is fsynced): a reader sees a
 * whole message or none.  Lines end in LF there; the control headers are
 * stripped as for SMTP.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defaults.h"
#include "delivery.h"
#include "log.h"
#include "util.h"

struct maildir {
	const struct action	*action;
	int			 tmpfd;
	int			 newfd;
};

static struct maildir	*maildirs;
static size_t		 nmaildirs;
static char		 maildir_host[PROTO_NAME_MAX];

static int
maildir_mkdir(int parent, const char *path, const char *name, uid_t uid,
    gid_t gid)
{
	int	fd;

	if (mkdirat(parent, name, 0700) == -1 && errno != EEXIST)
		fatal("maildir %s: mkdir %s", path, name);
	if ((fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		fatal("maildir %s: open %s", path, name);
	if (fchown(fd, uid, gid) == -1)
		fatal("maildir %s: chown %s", path, name);
	return fd;
}

void
maildir_init(struct config *cfg)
{
	struct action	*a;
	struct passwd	*pw;
	struct maildir	*m;
	char		*p, *s;
	int		 top, cur;

	if ((pw = getpwnam(SEAL_USER_DELIVERY)) == NULL)
		fatalx("user %s does not exist", SEAL_USER_DELIVERY);
	/* The host part of a Maildir name: no '/' or ':' (maildir(5)). */
	strlcpy(maildir_host, cfg->hostname ? cfg->hostname : "localhost",
	    sizeof(maildir_host));
	for (s = maildir_host; *s != '\0'; s++)
		if (*s == '/' || *s == ':')
			*s = '_';
	TAILQ_FOREACH(a, &cfg->actions, entry) {
		if (a->type != ACTION_MAILDIR)
			continue;
		/* Create the path's missing parents (owned by root). */
		p = xstrdup(a->maildir);
		for (s = p + 1; *s != '\0'; s++) {
			if (*s != '/')
				continue;
			*s = '\0';
			if (mkdir(p, 0755) == -1 && errno != EEXIST)
				fatal("maildir: mkdir %s", p);
			*s = '/';
		}
		free(p);
		top = maildir_mkdir(AT_FDCWD, a->maildir, a->maildir,
		    pw->pw_uid, pw->pw_gid);
		maildirs = xreallocarray(maildirs, nmaildirs + 1,
		    sizeof(*maildirs));
		m = &maildirs[nmaildirs++];
		m->action = a;
		m->tmpfd = maildir_mkdir(top, a->maildir, "tmp", pw->pw_uid,
		    pw->pw_gid);
		m->newfd = maildir_mkdir(top, a->maildir, "new", pw->pw_uid,
		    pw->pw_gid);
		cur = maildir_mkdir(top, a->maildir, "cur", pw->pw_uid,
		    pw->pw_gid);
		close(cur);
		close(top);
		log_debug("maildir %s ready for action %s", a->maildir,
		    a->name);
	}
}

/* Write the message of b into a new file of m, a piece at a time. */
static int
maildir_write(struct maildir *m, struct mta_batch *b, char *why,
    size_t whysz)
{
	static unsigned int	 counter;
	struct mta_body_enc	 e;
	struct mta_buf		 out;
	struct timeval		 tv;
	char			 name[PROTO_NAME_MAX + 96];
	off_t			 foff = 0;
	size_t			 off;
	ssize_t			 n;
	int			 fd, more;

	gettimeofday(&tv, NULL);
	if (snprintf(name, sizeof(name), "%lld.M%06ldP%dQ%u.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (int)getpid(), ++counter,
	    maildir_host) >= (int)sizeof(name)) {
		mta_fmt(why, whysz, "maildir name too long");
		return -1;
	}
	if ((fd = openat(m->tmpfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600)) == -1) {
		mta_fmt(why, whysz, "maildir: create tmp/%s: %s", name,
		    strerror(errno));
		return -1;
	}
	memset(&out, 0, sizeof(out));
	mta_body_enc_init(&e, BODY_MAILDIR);
	do {
		out.len = 0;
		if ((more = mta_batch_chunk(b, &foff, &e, &out, why,
		    whysz)) == -1)
			goto fail;
		for (off = 0; off < out.len; off += n) {
			if ((n = write(fd, out.data + off, out.len - off)) ==
			    -1) {
				if (errno == EINTR) {
					n = 0;
					continue;
				}
				mta_fmt(why, whysz, "maildir: write: %s",
				    strerror(errno));
				goto fail;
			}
		}
	} while (more);
	mta_buf_free(&out);
	if (fsync(fd) == -1) {
		mta_fmt(why, whysz, "maildir: fsync: %s", strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	if (renameat(m->tmpfd, name, m->newfd, name) == -1) {
		mta_fmt(why, whysz, "maildir: rename: %s", strerror(errno));
		goto fail;
	}
	if (fsync(m->newfd) == -1)
		log_warn("maildir: fsync new/");
	return 0;
fail:
	mta_buf_free(&out);
	if (fd != -1)
		close(fd);
	unlinkat(m->tmpfd, name, 0);
	return -1;
}

int
maildir_deliver(struct mta_batch *b, char *why, size_t whysz)
{
	struct maildir	*m = NULL;
	size_t		 i;

	for (i = 0; i < nmaildirs; i++)
		if (maildirs[i].action == b->action)
			m = &maildirs[i];
	if (m == NULL) {
		mta_fmt(why, whysz, "no maildir for action %s", b->d.action);
		return -1;
	}
	return maildir_write(m, b, why, whysz);
}
