/*
 * keys.c: cryptd's master keys (run by cryptd, as root, before the
 * chroot; no messages).
 *
 * A master key lives in the vault directory as master-ID.key (mode 0600,
 * owned by cryptd's user): a first line "sealrelay-master-key 1 ID" and
 * the 32-byte key in hex.  master.current names the key new messages are
 * wrapped with; every other key file stays loaded so older messages can
 * still be opened.  Without master.current a new key is made current:
 * that is how a new master key is rolled in.
 *
 * Invariant: key bytes live only in sodium_malloc'd memory, are never
 * logged and never leave this process.
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

#include "crypt.h"
#include "log.h"

#define KEYFILE_MAX	512

static struct mkey	*keys;		/* sodium_allocarray'd */
static size_t		 nkeys;
static int		 current = -1;

static void
keys_alloc(void)
{
	if (keys != NULL)
		return;
	if (sodium_init() == -1)
		fatalx("sodium_init");
	if ((keys = sodium_allocarray(MKEY_MAX, sizeof(*keys))) == NULL)
		fatal("sodium_allocarray");
}

void
keys_add(const struct mkey *k)
{
	keys_alloc();
	if (nkeys == MKEY_MAX)
		fatalx("too many master keys");
	keys[nkeys] = *k;
	if (current == -1)
		current = (int)nkeys;
	nkeys++;
}

void
keys_clear(void)
{
	if (keys != NULL)
		sodium_memzero(keys, MKEY_MAX * sizeof(*keys));
	nkeys = 0;
	current = -1;
}

const struct mkey *
keys_current(void)
{
	return current == -1 ? NULL : &keys[current];
}

const struct mkey *
keys_find(const char *id)
{
	size_t	i;

	for (i = 0; i < nkeys; i++)
		if (strcmp(keys[i].id, id) == 0)
			return &keys[i];
	return NULL;
}

int
keys_id_valid(const char *id)
{
	size_t	i;

	for (i = 0; id[i] != '\0'; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return i == MKEY_ID_LEN;
}

int
keys_parse(const char *buf, size_t len, const char *id, struct mkey *out)
{
	char		 head[64];
	const char	*nl, *hex, *end;
	size_t		 binlen;
	int		 n;

	if (!keys_id_valid(id))
		return -1;
	n = snprintf(head, sizeof(head), "%s %s\n", MKEY_MAGIC, id);
	if (n < 0 || (size_t)n >= sizeof(head) || len < (size_t)n ||
	    memcmp(buf, head, (size_t)n) != 0)
		return -1;
	hex = buf + n;
	if ((nl = memchr(hex, '\n', len - (size_t)n)) == NULL ||
	    nl + 1 != buf + len || nl - hex != 2 * MKEY_LEN)
		return -1;
	if (sodium_hex2bin(out->key, MKEY_LEN, hex, (size_t)(nl - hex), NULL,
	    &binlen, &end) == -1 || binlen != MKEY_LEN || end != nl)
		return -1;
	(void)strlcpy(out->id, id, sizeof(out->id));
	return 0;
}

size_t
keys_format(const struct mkey *k, char *buf, size_t bufsz)
{
	char	hex[2 * MKEY_LEN + 1];
	int	n;

	sodium_bin2hex(hex, sizeof(hex), k->key, MKEY_LEN);
	n = snprintf(buf, bufsz, "%s %s\n%s\n", MKEY_MAGIC, k->id, hex);
	sodium_memzero(hex, sizeof(hex));
	if (n < 0 || (size_t)n >= bufsz)
		fatalx("keys_format: buffer too small");
	return (size_t)n;
}

/* Read dir/name (a regular file, ours, 0600) into buf. */
static int
keys_read(int dfd, const char *name, char *buf, size_t bufsz, size_t *len,
    char *err, size_t errsz)
{
	struct stat	sb;
	ssize_t		n;
	int		fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		snprintf(err, errsz, "%s: %s", name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (sb.st_mode & 077) != 0) {
		snprintf(err, errsz, "%s: not a regular file of mode 0600",
		    name);
		close(fd);
		return -1;
	}
	n = read(fd, buf, bufsz);
	close(fd);
	if (n < 0 || (size_t)n == bufsz) {
		snprintf(err, errsz, "%s: cannot read, or too long", name);
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

/* Write name atomically: name.tmp, fsync, rename. */
static int
keys_write(int dfd, const char *name, const char *buf, size_t len,
    uid_t uid, gid_t gid, char *err, size_t errsz)
{
	char	tmp[128];
	int	fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", name) >=
	    sizeof(tmp))
		return -1;
	(void)unlinkat(dfd, tmp, 0);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchown(fd, uid, gid) == -1 || fchmod(fd, 0600) == -1 ||
	    write(fd, buf, len) != (ssize_t)len || fsync(fd) == -1) {
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		close(fd);
		(void)unlinkat(dfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dfd, tmp, dfd, name) == -1 || fsync(dfd) == -1) {
		snprintf(err, errsz, "%s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

static int
keys_create(int dfd, uid_t uid, gid_t gid, char *err, size_t errsz)
{
	struct mkey	*k;
	uint8_t		 rid[MKEY_ID_LEN / 2];
	char		 name[64], buf[KEYFILE_MAX], cur[MKEY_ID_LEN + 2];
	size_t		 len;

	keys_alloc();
	if (nkeys == MKEY_MAX) {
		snprintf(err, errsz, "too many master keys");
		return -1;
	}
	k = &keys[nkeys];
	randombytes_buf(rid, sizeof(rid));
	sodium_bin2hex(k->id, sizeof(k->id), rid, sizeof(rid));
	crypto_aead_xchacha20poly1305_ietf_keygen(k->key);
	snprintf(name, sizeof(name), "%s%s%s", MKEY_FILE_PREFIX, k->id,
	    MKEY_FILE_SUFFIX);
	len = keys_format(k, buf, sizeof(buf));
	if (keys_write(dfd, name, buf, len, uid, gid, err, errsz) == -1) {
		sodium_memzero(buf, sizeof(buf));
		sodium_memzero(k, sizeof(*k));
		return -1;
	}
	sodium_memzero(buf, sizeof(buf));
	snprintf(cur, sizeof(cur), "%s\n", k->id);
	if (keys_write(dfd, MKEY_CURRENT, cur, strlen(cur), uid, gid, err,
	    errsz) == -1)
		return -1;
	current = (int)nkeys++;
	log_info("created master key %s", k->id);
	return 0;
}

int
keys_load(const char *dir, uid_t uid, gid_t gid, char *err, size_t errsz)
{
	DIR		*d;
	struct dirent	*de;
	struct mkey	 k;
	char		 buf[KEYFILE_MAX], id[MKEY_ID_LEN + 1];
	size_t		 len, plen = strlen(MKEY_FILE_PREFIX);
	size_t		 slen = strlen(MKEY_FILE_SUFFIX), nlen;
	int		 dfd, r = -1;

	keys_alloc();
	keys_clear();
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((d = fdopendir(dup(dfd))) == NULL) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		nlen = strlen(de->d_name);
		if (nlen != plen + MKEY_ID_LEN + slen ||
		    strncmp(de->d_name, MKEY_FILE_PREFIX, plen) != 0 ||
		    strcmp(de->d_name + nlen - slen, MKEY_FILE_SUFFIX) != 0)
			continue;
		memcpy(id, de->d_name + plen, MKEY_ID_LEN);
		id[MKEY_ID_LEN] = '\0';
		if (keys_read(dfd, de->d_name, buf, sizeof(buf), &len, err,
		    errsz) == -1)
			goto done;
		if (keys_parse(buf, len, id, &k) == -1) {
			snprintf(err, errsz, "%s: not a master key file",
			    de->d_name);
			goto done;
		}
		if (nkeys == MKEY_MAX) {
			snprintf(err, errsz, "more than %d master keys",
			    MKEY_MAX);
			goto done;
		}
		keys[nkeys++] = k;
	}
	if (faccessat(dfd, MKEY_CURRENT, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT) {
		r = keys_create(dfd, uid, gid, err, errsz);
		goto done;
	}
	if (keys_read(dfd, MKEY_CURRENT, buf, sizeof(buf), &len, err,
	    errsz) == -1)
		goto done;
	if (len != MKEY_ID_LEN + 1 || buf[MKEY_ID_LEN] != '\n') {
		snprintf(err, errsz, "%s: malformed", MKEY_CURRENT);
		goto done;
	}
	memcpy(id, buf, MKEY_ID_LEN);
	id[MKEY_ID_LEN] = '\0';
	for (current = 0; current < (int)nkeys; current++)
		if (strcmp(keys[current].id, id) == 0)
			break;
	if (current == (int)nkeys) {
		current = -1;
		snprintf(err, errsz, "%s names key %s, which is missing",
		    MKEY_CURRENT, id);
		goto done;
	}
	r = 0;
done:
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(&k, sizeof(k));
	closedir(d);
	close(dfd);
	if (r == 0)
		log_debug("%zu master key(s), current %s", nkeys,
		    keys[current].id);
	return r;
}
