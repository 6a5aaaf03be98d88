/*
 * blob_fs.c: the default blob backend of the vault (store.h): one file
 * per sealed message under blobs/ in the vault directory (run by cryptd
 * inside its chroot; no messages).
 *
 * A blob is written to blobs/ID.tmp, fsync'd, renamed to blobs/ID and
 * the directory fsync'd: a blob that exists under its name is complete.
 * Leftover .tmp files (a crash while sealing) are removed at open.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

struct blob_fs {
	int	dfd;
};

#define BFS(bs)	((struct blob_fs *)(bs)->priv)

static int
bfs_name(const char *id, const char *suffix, char *out, size_t outsz)
{
	size_t	i;

	for (i = 0; id[i] != '\0'; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'z')))
			return -1;
	if (i == 0 || (size_t)snprintf(out, outsz, "%s%s", id, suffix) >=
	    outsz)
		return -1;
	return 0;
}

static int
bfs_open(struct blob_store *bs, const char *path)
{
	struct blob_fs	*b;
	DIR		*d;
	struct dirent	*de;
	size_t		 n;

	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		log_warn("mkdir %s", path);
		return -1;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL ||
	    (b->dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("open %s", path);
		free(b);
		return -1;
	}
	bs->priv = b;
	if ((d = fdopendir(dup(b->dfd))) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0)
			(void)unlinkat(b->dfd, de->d_name, 0);
	}
	closedir(d);
	return 0;
}

static void
bfs_close(struct blob_store *bs)
{
	if (bs->priv != NULL) {
		close(BFS(bs)->dfd);
		free(bs->priv);
	}
	bs->priv = NULL;
}

static int
bfs_create(struct blob_store *bs, const char *id)
{
	char	name[64];
	int	fd;

	if (bfs_name(id, ".tmp", name, sizeof(name)) == -1)
		return -1;
	(void)unlinkat(BFS(bs)->dfd, name, 0);
	if ((fd = openat(BFS(bs)->dfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		log_warn("blob %s", name);
	return fd;
}

static int
bfs_commit(struct blob_store *bs, const char *id, int fd)
{
	char	tmp[64], name[64];

	if (bfs_name(id, ".tmp", tmp, sizeof(tmp)) == -1 ||
	    bfs_name(id, "", name, sizeof(name)) == -1) {
		close(fd);
		return -1;
	}
	if (fsync(fd) == -1) {
		log_warn("fsync blob %s", tmp);
		close(fd);
		(void)unlinkat(BFS(bs)->dfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(BFS(bs)->dfd, tmp, BFS(bs)->dfd, name) == -1 ||
	    fsync(BFS(bs)->dfd) == -1) {
		log_warn("blob %s", name);
		(void)unlinkat(BFS(bs)->dfd, tmp, 0);
		return -1;
	}
	return 0;
}

static void
bfs_abort(struct blob_store *bs, const char *id, int fd)
{
	char	tmp[64];

	close(fd);
	if (bfs_name(id, ".tmp", tmp, sizeof(tmp)) == 0)
		(void)unlinkat(BFS(bs)->dfd, tmp, 0);
}

static int
bfs_get(struct blob_store *bs, const char *id, int *fd)
{
	char	name[64];

	if (bfs_name(id, "", name, sizeof(name)) == -1)
		return 1;
	if ((*fd = openat(BFS(bs)->dfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		log_warn("blob %s", name);
		return -1;
	}
	return 0;
}

static int
bfs_remove(struct blob_store *bs, const char *id)
{
	char	name[64];

	if (bfs_name(id, "", name, sizeof(name)) == -1)
		return -1;
	if (unlinkat(BFS(bs)->dfd, name, 0) == -1 && errno != ENOENT) {
		log_warn("remove blob %s", name);
		return -1;
	}
	(void)fsync(BFS(bs)->dfd);
	return 0;
}

void
blob_fs_init(struct blob_store *bs)
{
	memset(bs, 0, sizeof(*bs));
	bs->name = "fs";
	bs->open = bfs_open;
	bs->close = bfs_close;
	bs->create = bfs_create;
	bs->commit = bfs_commit;
	bs->abort = bfs_abort;
	bs->get = bfs_get;
	bs->remove = bfs_remove;
}
