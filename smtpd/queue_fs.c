/*
 * queue_fs.c: the spool, as the queue process (chrooted into it, user
 * _sealqueue) sees it: layout, the envelope record format, sync, recovery
 * at start and quarantine.  No imsg here.  The format is documented in
 * sealrelay-spool(5): change one, change the other, and bump
 * QUEUE_SPOOL_VERSION if an old reader could misread the new files.
 *
 *	incoming/ID	 a message being received or committed
 *	incoming/ID.env	 its envelope, until the commit renames both
 *	queue/ID	 a committed message, byte for byte as it will leave
 *	queue/ID.env	 its envelope: the records of the commit, then one
 *			 record appended per delivery result
 *	quarantine/	 files recovery could not read
 *
 * Invariant: queue/ID.env exists only after the sync that made queue/ID
 * and every record of the commit durable; a body without an envelope is
 * an incomplete commit and is removed at start.  Every string field in a
 * record is escaped, so no byte from the network can end a field or a
 * record.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "queue.h"
#include "util.h"

#define ENV_MAX_SIZE	(16 * 1024 * 1024)
#define REC_MAX_FIELDS	20

int		 queue_fs_dirty;

static int	 root_fd = -1;
static int	 incoming_fd = -1;
static int	 queue_fd = -1;
static int	 quarantine_fd = -1;

/* Buffers */

void
qbuf_init(struct qbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void
qbuf_free(struct qbuf *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

static void
qbuf_reserve(struct qbuf *b, size_t n)
{
	size_t	ncap;

	if (b->len + n + 1 <= b->cap)
		return;
	ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + n + 1) {
		if (ncap > SIZE_MAX / 2)
			fatalx("qbuf: too large");
		ncap *= 2;
	}
	b->buf = xreallocarray(b->buf, ncap, 1);
	b->cap = ncap;
}

void
qbuf_add(struct qbuf *b, const void *p, size_t n)
{
	qbuf_reserve(b, n);
	if (n > 0)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void
qbuf_addstr(struct qbuf *b, const char *s)
{
	qbuf_add(b, s, strlen(s));
}

void
qbuf_addf(struct qbuf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("qbuf_addf: format");
	qbuf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	(void)vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Identifiers */

int
queue_id_valid(const char *id)
{
	size_t	i;

	for (i = 0; i < QUEUE_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[i] == '\0';
}

void
queue_id_new(char *id)
{
	static const char	 hex[] = "0123456789abcdef";
	uint8_t			 r[QUEUE_ID_LEN / 2];
	size_t			 i;

	arc4random_buf(r, sizeof(r));
	for (i = 0; i < sizeof(r); i++) {
		id[2 * i] = hex[r[i] >> 4];
		id[2 * i + 1] = hex[r[i] & 0xf];
	}
	id[QUEUE_ID_LEN] = '\0';
}

/* Envelopes in memory */

void
queue_env_init(struct qenv *env)
{
	memset(env, 0, sizeof(*env));
	env->src = xstrdup("");
	env->helo = xstrdup("");
	env->auth_user = xstrdup("");
	env->sender = xstrdup("");
	env->envid = xstrdup("");
	env->tls = xstrdup("");
}

static void
queue_rcpt_free(struct qrcpt *r)
{
	free(r->rcpt);
	free(r->orcpt);
	free(r->action);
	free(r->rules);
	free(r->relay);
	free(r->reply);
	free(r->phone);
	free(r->lang);
}

void
queue_env_free(struct qenv *env)
{
	size_t	i;

	for (i = 0; i < env->nrcpt; i++)
		queue_rcpt_free(&env->rcpt[i]);
	free(env->rcpt);
	free(env->src);
	free(env->helo);
	free(env->auth_user);
	free(env->sender);
	free(env->envid);
	free(env->tls);
	memset(env, 0, sizeof(*env));
}

int
queue_env_add_rcpt(struct qenv *env, const char *rcpt, const char *orcpt,
    uint32_t notify)
{
	struct qrcpt	*r;

	env->rcpt = xreallocarray(env->rcpt, env->nrcpt + 1,
	    sizeof(*env->rcpt));
	r = &env->rcpt[env->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->rcpt = xstrdup(rcpt);
	r->orcpt = xstrdup(orcpt);
	r->notify = notify;
	r->decision = DECISION_REJECT;
	r->action = xstrdup("");
	r->rules = xstrdup("");
	r->phone = xstrdup("");
	r->lang = xstrdup("");
	r->state = QR_PENDING;
	return 0;
}

/* Encoding */

/*
 * A string field: "=" then the bytes, printable ASCII except "%" as is,
 * everything else (space, controls, CR, LF, 8-bit, "%") as %HH.
 */
void
queue_field_escape(struct qbuf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	char			 e[3];

	qbuf_add(b, " =", 2);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '%')
			qbuf_add(b, p, 1);
		else {
			e[0] = '%';
			e[1] = hex[*p >> 4];
			e[2] = hex[*p & 0xf];
			qbuf_add(b, e, 3);
		}
	}
}

void
queue_env_encode(struct qbuf *b, const struct qenv *env)
{
	const struct qrcpt	*r;
	size_t			 i;

	qbuf_addf(b, "%s %d\n", QUEUE_SPOOL_MAGIC, QUEUE_SPOOL_VERSION);
	qbuf_addf(b, "message %s %lld %llu %u %u %u %u %u %u", env->id,
	    (long long)env->ctime, (unsigned long long)env->size,
	    env->listener, env->local, env->body, env->smtputf8,
	    env->dsn_ret, env->flags);
	queue_field_escape(b, env->src);
	queue_field_escape(b, env->helo);
	queue_field_escape(b, env->auth_user);
	queue_field_escape(b, env->sender);
	queue_field_escape(b, env->envid);
	queue_field_escape(b, env->tls);
	qbuf_add(b, "\n", 1);
	for (i = 0; i < env->nrcpt; i++) {
		r = &env->rcpt[i];
		qbuf_addf(b, "rcpt %zu %u %u", i, r->decision, r->notify);
		queue_field_escape(b, r->action);
		queue_field_escape(b, r->rcpt);
		queue_field_escape(b, r->orcpt);
		queue_field_escape(b, r->rules);
		qbuf_add(b, "\n", 1);
	}
	for (i = 0; i < env->nrcpt; i++) {
		r = &env->rcpt[i];
		if (r->decision != DECISION_SECURE_1FA &&
		    r->decision != DECISION_SECURE_2FA)
			continue;
		qbuf_addf(b, "secure %zu %u %u", i, r->expire_days, r->sflags);
		queue_field_escape(b, r->phone);
		queue_field_escape(b, r->lang);
		qbuf_add(b, "\n", 1);
	}
	if (env->parent[0] != '\0')
		qbuf_addf(b, "notice %s %u\n", env->parent, env->parent_idx);
	qbuf_addf(b, "commit %zu\n", env->nrcpt);
}

void
queue_rec_result(struct qbuf *b, const char *kind, size_t idx, time_t when,
    const char *relay, const char *reply)
{
	qbuf_addf(b, "%s %zu %lld", kind, idx, (long long)when);
	queue_field_escape(b, relay ? relay : "");
	queue_field_escape(b, reply ? reply : "");
	qbuf_add(b, "\n", 1);
}

void
queue_rec_bounced(struct qbuf *b, size_t idx, time_t when)
{
	qbuf_addf(b, "bounced %zu %lld\n", idx, (long long)when);
}

void
queue_rec_sealed(struct qbuf *b, size_t idx, time_t when,
    const char *notice_id)
{
	qbuf_addf(b, "sealed %zu %lld", idx, (long long)when);
	queue_field_escape(b, notice_id);
	qbuf_add(b, "\n", 1);
}

void
queue_rec_released(struct qbuf *b, size_t idx, time_t when)
{
	qbuf_addf(b, "released %zu %lld\n", idx, (long long)when);
}

void
queue_rec_removed(struct qbuf *b, size_t idx, time_t when)
{
	qbuf_addf(b, "removed %zu %lld\n", idx, (long long)when);
}

void
queue_rec_held(struct qbuf *b, size_t idx, time_t when, const char *why)
{
	qbuf_addf(b, "held %zu %lld", idx, (long long)when);
	queue_field_escape(b, why);
	qbuf_add(b, "\n", 1);
}

/* Decoding */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode a string field; NULL if malformed. */
static char *
field_str(const char *f)
{
	char	*out, *o;
	int	 h, l;

	if (*f++ != '=')
		return NULL;
	out = o = xmalloc(strlen(f) + 1);
	while (*f != '\0') {
		if (*f != '%') {
			*o++ = *f++;
			continue;
		}
		if ((h = hexval(f[1])) == -1 || (l = hexval(f[2])) == -1 ||
		    (h == 0 && l == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(h << 4 | l);
		f += 3;
	}
	*o = '\0';
	return out;
}

/* An unsigned decimal number up to max; -1 if malformed. */
static int
field_num(const char *f, unsigned long long max, unsigned long long *res)
{
	unsigned long long	n = 0;

	if (*f == '\0' || (f[0] == '0' && f[1] != '\0'))
		return -1;
	for (; *f != '\0'; f++) {
		if (*f < '0' || *f > '9')
			return -1;
		if (n > (ULLONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (unsigned long long)(*f - '0');
	}
	if (n > max)
		return -1;
	*res = n;
	return 0;
}

static int
field_u32(const char *f, uint32_t max, uint32_t *res)
{
	unsigned long long	n;

	if (field_num(f, max, &n) == -1)
		return -1;
	*res = (uint32_t)n;
	return 0;
}

/* Split a line (NUL-terminated, modified) at single spaces. */
static int
split(char *line, char **f, int max)
{
	int	n = 0;
	char	*p = line;

	for (;;) {
		if (n == max)
			return -1;
		f[n++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
	}
	for (int i = 0; i < n; i++)
		if (f[i][0] == '\0')
			return -1;
	return n;
}

static int
set_str(char **dst, const char *f)
{
	char	*s;

	if ((s = field_str(f)) == NULL)
		return -1;
	free(*dst);
	*dst = s;
	return 0;
}

#define BAD(...) do {							\
	(void)snprintf(err, errsz, __VA_ARGS__);			\
	goto fail;							\
} while (0)

int
queue_env_decode(const char *data, size_t len, struct qenv *env,
    size_t *used, char *err, size_t errsz)
{
	char			*line = NULL, *f[REC_MAX_FIELDS];
	const char		*p, *nl;
	unsigned long long	 n;
	size_t			 lineno = 0, nrcpt = 0, off = 0, ll;
	int			 nf, committed = 0, have_msg = 0;
	uint32_t		 idx;
	struct qrcpt		*r;

	queue_env_init(env);
	*used = 0;
	if (memchr(data, '\0', len) != NULL)
		BAD("NUL byte in envelope");
	while (off < len) {
		p = data + off;
		if ((nl = memchr(p, '\n', len - off)) == NULL) {
			if (committed)
				break;	/* an append cut short: ignore it */
			BAD("truncated record at line %zu", lineno + 1);
		}
		ll = (size_t)(nl - p);
		lineno++;
		free(line);
		line = xstrndup(p, ll);
		off += ll + 1;
		if (lineno == 1) {
			size_t	ml = strlen(QUEUE_SPOOL_MAGIC);

			if (ll <= ml || strncmp(line, QUEUE_SPOOL_MAGIC, ml) ||
			    line[ml] != ' ')
				BAD("not a sealrelay envelope");
			if (field_num(line + ml + 1, 1000000, &n) == -1)
				BAD("bad version");
			if (n != QUEUE_SPOOL_VERSION && n != 1)
				BAD("unsupported spool version %llu", n);
			*used = off;
			continue;
		}
		if ((nf = split(line, f, REC_MAX_FIELDS)) == -1)
			BAD("line %zu: malformed", lineno);
		if (committed) {
			if ((strcmp(f[0], "done") == 0 ||
			    strcmp(f[0], "fail") == 0 ||
			    strcmp(f[0], "defer") == 0) && nf == 5) {
				if (field_u32(f[1], UINT32_MAX, &idx) == -1 ||
				    idx >= env->nrcpt ||
				    field_num(f[2], INT64_MAX, &n) == -1)
					BAD("line %zu: bad %s", lineno, f[0]);
				r = &env->rcpt[idx];
				if (r->state != QR_PENDING &&
				    (r->state != QR_HELD ||
				    strcmp(f[0], "fail") != 0))
					BAD("line %zu: %s for a final "
					    "recipient", lineno, f[0]);
				if (set_str(&r->relay, f[3]) == -1 ||
				    set_str(&r->reply, f[4]) == -1)
					BAD("line %zu: bad field", lineno);
				r->when = (time_t)n;
				if (strcmp(f[0], "done") == 0)
					r->state = QR_DONE;
				else if (strcmp(f[0], "fail") == 0)
					r->state = QR_FAILED;
			} else if (strcmp(f[0], "bounced") == 0 && nf == 3) {
				if (field_u32(f[1], UINT32_MAX, &idx) == -1 ||
				    idx >= env->nrcpt ||
				    field_num(f[2], INT64_MAX, &n) == -1)
					BAD("line %zu: bad bounced", lineno);
				r = &env->rcpt[idx];
				if (r->state != QR_FAILED)
					BAD("line %zu: bounced for a recipient "
					    "that did not fail", lineno);
				r->state = QR_BOUNCED;
			} else if ((strcmp(f[0], "released") == 0 ||
			    strcmp(f[0], "removed") == 0) && nf == 3) {
				if (field_u32(f[1], UINT32_MAX, &idx) == -1 ||
				    idx >= env->nrcpt ||
				    field_num(f[2], INT64_MAX, &n) == -1)
					BAD("line %zu: bad %s", lineno, f[0]);
				r = &env->rcpt[idx];
				if (f[0][2] == 'l') {
					/* Only quarantine is ever released. */
					if (r->state != QR_PENDING ||
					    r->decision != DECISION_QUARANTINE)
						BAD("line %zu: released for a "
						    "recipient not in quarantine",
						    lineno);
					r->decision = DECISION_RELAY;
				} else {
					if (r->state != QR_PENDING &&
					    r->state != QR_HELD)
						BAD("line %zu: removed for a "
						    "final recipient", lineno);
					r->state = QR_BOUNCED;
					free(r->reply);
					r->reply = xstrdup("removed by the "
					    "operator");
				}
				r->when = (time_t)n;
			} else if ((strcmp(f[0], "sealed") == 0 ||
			    strcmp(f[0], "held") == 0) && nf == 4) {
				if (field_u32(f[1], UINT32_MAX, &idx) == -1 ||
				    idx >= env->nrcpt ||
				    field_num(f[2], INT64_MAX, &n) == -1)
					BAD("line %zu: bad %s", lineno, f[0]);
				r = &env->rcpt[idx];
				if ((r->state != QR_PENDING &&
				    r->state != QR_SEALED) ||
				    (r->decision != DECISION_SECURE_1FA &&
				    r->decision != DECISION_SECURE_2FA))
					BAD("line %zu: %s for a recipient that "
					    "is not secured", lineno, f[0]);
				if (f[0][0] == 'h' && set_str(&r->reply,
				    f[3]) == -1)
					BAD("line %zu: bad field", lineno);
				r->when = (time_t)n;
				r->state = f[0][0] == 's' ? QR_SEALED : QR_HELD;
			} else
				BAD("line %zu: unexpected record", lineno);
			*used = off;
			continue;
		}
		if (!have_msg) {
			if (strcmp(f[0], "message") != 0 || nf != 16)
				BAD("line %zu: no message record", lineno);
			if (!queue_id_valid(f[1]))
				BAD("bad queue id");
			memcpy(env->id, f[1], QUEUE_ID_LEN + 1);
			if (field_num(f[2], INT64_MAX, &n) == -1)
				BAD("bad ctime");
			env->ctime = (int64_t)n;
			if (field_num(f[3], INT64_MAX, &n) == -1)
				BAD("bad size");
			env->size = n;
			if (field_u32(f[4], UINT32_MAX, &env->listener) == -1 ||
			    field_u32(f[5], 1, &env->local) == -1 ||
			    field_u32(f[6], BODY_BINARYMIME, &env->body) == -1 ||
			    field_u32(f[7], 1, &env->smtputf8) == -1 ||
			    field_u32(f[8], DSN_RET_HDRS, &env->dsn_ret) == -1 ||
			    field_u32(f[9], QMSG_FLAGS, &env->flags) == -1)
				BAD("bad message flags");
			if (set_str(&env->src, f[10]) == -1 ||
			    set_str(&env->helo, f[11]) == -1 ||
			    set_str(&env->auth_user, f[12]) == -1 ||
			    set_str(&env->sender, f[13]) == -1 ||
			    set_str(&env->envid, f[14]) == -1 ||
			    set_str(&env->tls, f[15]) == -1)
				BAD("bad message field");
			have_msg = 1;
			*used = off;
			continue;
		}
		if (strcmp(f[0], "rcpt") == 0 && nf == 8) {
			if (field_u32(f[1], UINT32_MAX, &idx) == -1 ||
			    idx != nrcpt)
				BAD("line %zu: recipient out of order", lineno);
			queue_env_add_rcpt(env, "", "", 0);
			r = &env->rcpt[nrcpt++];
			if (field_u32(f[2], DECISION_REJECT, &r->decision) ==
			    -1 || field_u32(f[3], 0x0f, &r->notify) == -1)
				BAD("line %zu: bad recipient", lineno);
			if (set_str(&r->action, f[4]) == -1 ||
			    set_str(&r->rcpt, f[5]) == -1 ||
			    set_str(&r->orcpt, f[6]) == -1 ||
			    set_str(&r->rules, f[7]) == -1)
				BAD("line %zu: bad recipient field", lineno);
			if (r->decision == DECISION_REJECT)
				r->state = QR_REJECTED;
			*used = off;
			continue;
		}
		if (strcmp(f[0], "secure") == 0 && nf == 6) {
			if (field_u32(f[1], UINT32_MAX, &idx) == -1 ||
			    idx >= nrcpt)
				BAD("line %zu: bad secure record", lineno);
			r = &env->rcpt[idx];
			if ((r->decision != DECISION_SECURE_1FA &&
			    r->decision != DECISION_SECURE_2FA) ||
			    field_u32(f[2], 3650, &r->expire_days) == -1 ||
			    field_u32(f[3], SEAL_RCPT_READ_NOTIFY,
			    &r->sflags) == -1 || set_str(&r->phone, f[4]) == -1 ||
			    set_str(&r->lang, f[5]) == -1 ||
			    strlen(r->phone) >= PROTO_PHONE_MAX ||
			    strlen(r->lang) >= PROTO_LANG_MAX)
				BAD("line %zu: bad secure record", lineno);
			*used = off;
			continue;
		}
		if (strcmp(f[0], "notice") == 0 && nf == 3) {
			if (!queue_id_valid(f[1]) ||
			    field_u32(f[2], UINT32_MAX, &env->parent_idx) == -1)
				BAD("line %zu: bad notice record", lineno);
			memcpy(env->parent, f[1], QUEUE_ID_LEN + 1);
			*used = off;
			continue;
		}
		if (strcmp(f[0], "commit") == 0 && nf == 2) {
			if (field_num(f[1], SIZE_MAX, &n) == -1 || n != nrcpt)
				BAD("line %zu: commit count mismatch", lineno);
			if (nrcpt == 0)
				BAD("no recipients");
			committed = 1;
			*used = off;
			continue;
		}
		BAD("line %zu: unexpected record", lineno);
	}
	if (!committed)
		BAD("no commit record");
	free(line);
	return 0;
fail:
	free(line);
	queue_env_free(env);
	*used = 0;
	return -1;
}

/* The spool on disk */

static int
open_dir(const char *name)
{
	int	fd;

	if (mkdirat(root_fd, name, 0700) == -1 && errno != EEXIST)
		fatal("mkdir %s", name);
	if ((fd = openat(root_fd, name, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		fatal("open %s", name);
	return fd;
}

void
queue_fs_init(void)
{
	if ((root_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("open spool");
	incoming_fd = open_dir(QUEUE_DIR_INCOMING);
	queue_fd = open_dir(QUEUE_DIR_QUEUE);
	quarantine_fd = open_dir(QUEUE_DIR_QUARANTINE);
}

static void
env_name(char *buf, size_t sz, const char *id)
{
	if ((size_t)snprintf(buf, sz, "%s%s", id, QUEUE_ENV_SUFFIX) >= sz)
		fatalx("env_name");
}

int
queue_fs_create(char *id)
{
	int	fd, tries;

	for (tries = 0; tries < 10; tries++) {
		queue_id_new(id);
		if (faccessat(queue_fd, id, F_OK, 0) == 0)
			continue;
		fd = openat(incoming_fd, id, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
		if (fd != -1)
			return fd;
		if (errno != EEXIST) {
			log_warn("create incoming/%s", id);
			return -1;
		}
	}
	log_warnx("cannot find a free queue id");
	return -1;
}

int
queue_fs_incoming_ro(const char *id, uint64_t *size)
{
	struct stat	sb;
	int		fd;

	if ((fd = openat(incoming_fd, id, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("open incoming/%s", id);
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		log_warn("fstat incoming/%s", id);
		close(fd);
		return -1;
	}
	*size = (uint64_t)sb.st_size;
	return fd;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
queue_fs_write_env(const char *id, const struct qbuf *b)
{
	char	name[QUEUE_ID_LEN + 8];
	int	fd;

	env_name(name, sizeof(name), id);
	if ((fd = openat(incoming_fd, name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) == -1) {
		log_warn("create incoming/%s", name);
		return -1;
	}
	if (write_all(fd, b->buf, b->len) == -1) {
		log_warn("write incoming/%s", name);
		close(fd);
		(void)unlinkat(incoming_fd, name, 0);
		return -1;
	}
	close(fd);
	return 0;
}

void
queue_fs_abort(const char *id)
{
	char	name[QUEUE_ID_LEN + 8];

	env_name(name, sizeof(name), id);
	if (unlinkat(incoming_fd, name, 0) == -1 && errno != ENOENT)
		log_warn("unlink incoming/%s", name);
	if (unlinkat(incoming_fd, id, 0) == -1 && errno != ENOENT)
		log_warn("unlink incoming/%s", id);
}

int
queue_fs_sync(void)
{
	if (syncfs(root_fd) == -1) {
		log_warn("syncfs spool");
		return -1;
	}
	queue_fs_dirty = 0;
	return 0;
}

int
queue_fs_commit(const char *id)
{
	char	name[QUEUE_ID_LEN + 8];

	env_name(name, sizeof(name), id);
	/* The body first: an envelope in queue/ implies its body. */
	if (renameat(incoming_fd, id, queue_fd, id) == -1) {
		log_warn("rename %s into the queue", id);
		return -1;
	}
	if (renameat(incoming_fd, name, queue_fd, name) == -1) {
		log_warn("rename %s into the queue", name);
		(void)unlinkat(queue_fd, id, 0);
		return -1;
	}
	return 0;
}

int
queue_fs_sync_dir(void)
{
	if (fsync(queue_fd) == -1) {
		log_warn("fsync queue directory");
		return -1;
	}
	return 0;
}

int
queue_fs_append(const char *id, const struct qbuf *b)
{
	char	name[QUEUE_ID_LEN + 8];
	int	fd;

	env_name(name, sizeof(name), id);
	if ((fd = openat(queue_fd, name, O_WRONLY | O_APPEND | O_CLOEXEC)) ==
	    -1) {
		log_warn("open queue/%s", name);
		return -1;
	}
	if (write_all(fd, b->buf, b->len) == -1) {
		log_warn("append queue/%s", name);
		close(fd);
		return -1;
	}
	close(fd);
	queue_fs_dirty = 1;
	return 0;
}

void
queue_fs_remove(const char *id)
{
	char	name[QUEUE_ID_LEN + 8];

	env_name(name, sizeof(name), id);
	/* The envelope first: a body alone is removed at start. */
	if (unlinkat(queue_fd, name, 0) == -1 && errno != ENOENT)
		log_warn("unlink queue/%s", name);
	if (unlinkat(queue_fd, id, 0) == -1 && errno != ENOENT)
		log_warn("unlink queue/%s", id);
}

/*
 * The plaintext of a message with secured recipients: overwritten with
 * zeros and synced before it is unlinked, so its blocks do not keep it
 * on file systems that write in place (see sealrelay-spool(5) for those
 * that do not).
 */
void
queue_fs_shred(const char *id)
{
	static const char	 zero[8192];
	struct stat		 sb;
	off_t			 off = 0;
	size_t			 n;
	int			 fd;

	if ((fd = openat(queue_fd, id, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) !=
	    -1) {
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
			while (off < sb.st_size) {
				n = sb.st_size - off < (off_t)sizeof(zero) ?
				    (size_t)(sb.st_size - off) : sizeof(zero);
				if (write_all(fd, zero, n) == -1)
					break;
				off += (off_t)n;
			}
			if (fdatasync(fd) == -1)
				log_warn("fdatasync queue/%s", id);
		}
		close(fd);
	}
	queue_fs_remove(id);
}

int
queue_fs_open_body(const char *id)
{
	int	fd;

	if ((fd = openat(queue_fd, id, O_RDONLY | O_CLOEXEC)) == -1)
		log_warn("open queue/%s", id);
	return fd;
}

void
queue_fs_quarantine(const char *name, const char *why)
{
	char	dst[NAME_MAX + 1], esc[NAME_MAX * 4 + 1];

	(void)log_escape(esc, sizeof(esc), name, strlen(name));
	if ((size_t)snprintf(dst, sizeof(dst), "%.200s.%lld", name,
	    (long long)time(NULL)) >= sizeof(dst) ||
	    renameat(queue_fd, name, quarantine_fd, dst) == -1) {
		log_warn("quarantine %s", esc);
		if (unlinkat(queue_fd, name, 0) == -1)
			log_warn("unlink queue/%s", esc);
		return;
	}
	log_warnx("quarantined queue/%s as quarantine/%s: %s", esc, dst, why);
}

/* Read a whole envelope file; NULL and why on failure. */
static char *
read_env(const char *name, size_t *len, const char **why)
{
	struct stat	 sb;
	char		*buf;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = openat(queue_fd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		*why = "cannot open";
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > ENV_MAX_SIZE) {
		*why = "not a regular file of sane size";
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (off < (size_t)sb.st_size) {
		if ((n = read(fd, buf + off, (size_t)sb.st_size - off)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			*why = "read error";
			free(buf);
			close(fd);
			return NULL;
		}
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*len = off;
	return buf;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
recover_env(const char *name, void (*cb)(struct qenv *))
{
	struct qenv	 env;
	struct stat	 sb;
	char		 id[QUEUE_ID_LEN + 1], err[128];
	const char	*why = NULL;
	char		*buf;
	size_t		 len, used;
	int		 fd;

	memcpy(id, name, QUEUE_ID_LEN);
	id[QUEUE_ID_LEN] = '\0';
	if ((buf = read_env(name, &len, &why)) == NULL) {
		queue_fs_quarantine(name, why);
		if (faccessat(queue_fd, id, F_OK, 0) == 0)
			queue_fs_quarantine(id, "its envelope is unreadable");
		return 0;
	}
	if (queue_env_decode(buf, len, &env, &used, err, sizeof(err)) == -1) {
		free(buf);
		queue_fs_quarantine(name, err);
		if (faccessat(queue_fd, id, F_OK, 0) == 0)
			queue_fs_quarantine(id, "its envelope is corrupt");
		return 0;
	}
	free(buf);
	if (strcmp(env.id, id) != 0) {
		queue_env_free(&env);
		queue_fs_quarantine(name, "queue id does not match the name");
		if (faccessat(queue_fd, id, F_OK, 0) == 0)
			queue_fs_quarantine(id, "its envelope is corrupt");
		return 0;
	}
	if (fstatat(queue_fd, id, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != env.size) {
		queue_env_free(&env);
		queue_fs_quarantine(name, "message file missing or of the "
		    "wrong size");
		if (faccessat(queue_fd, id, F_OK, 0) == 0)
			queue_fs_quarantine(id, "wrong size");
		return 0;
	}
	if (used != len) {
		/* An append cut short by a crash: drop the partial line. */
		if ((fd = openat(queue_fd, name, O_WRONLY | O_CLOEXEC)) ==
		    -1 || ftruncate(fd, (off_t)used) == -1)
			log_warn("truncate queue/%s", name);
		if (fd != -1)
			close(fd);
		queue_fs_dirty = 1;
	}
	cb(&env);
	return 1;
}

void
queue_fs_recover(void (*cb)(struct qenv *))
{
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL, envname[QUEUE_ID_LEN + 8], esc[1024];
	size_t		 n = 0, i, nl, removed = 0, loaded = 0;
	int		 fd;

	/* incoming/: nothing there was ever acknowledged. */
	if ((fd = dup(incoming_fd)) == -1 || (d = fdopendir(fd)) == NULL)
		fatal("open incoming");
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(incoming_fd, de->d_name, 0) == -1)
			log_warn("unlink incoming/%s", de->d_name);
		else
			removed++;
	}
	closedir(d);

	if ((fd = dup(queue_fd)) == -1 || (d = fdopendir(fd)) == NULL)
		fatal("open queue");
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		nl = strlen(names[i]);
		if (nl == QUEUE_ID_LEN + strlen(QUEUE_ENV_SUFFIX) &&
		    strcmp(names[i] + QUEUE_ID_LEN, QUEUE_ENV_SUFFIX) == 0) {
			char	id[QUEUE_ID_LEN + 1];

			memcpy(id, names[i], QUEUE_ID_LEN);
			id[QUEUE_ID_LEN] = '\0';
			if (queue_id_valid(id)) {
				loaded += recover_env(names[i], cb);
				continue;
			}
		} else if (nl == QUEUE_ID_LEN && queue_id_valid(names[i])) {
			env_name(envname, sizeof(envname), names[i]);
			if (faccessat(queue_fd, envname, F_OK, 0) == 0)
				continue;	/* handled with its envelope */
			/* Renamed, but its envelope was not: never acked. */
			if (unlinkat(queue_fd, names[i], 0) == -1)
				log_warn("unlink queue/%s", names[i]);
			else
				removed++;
			continue;
		}
		(void)log_escape(esc, sizeof(esc), names[i], nl);
		queue_fs_quarantine(names[i], "not a spool file name");
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (removed > 0)
		log_info("recovery: removed %zu incomplete file%s", removed,
		    removed == 1 ? "" : "s");
	log_info("recovery: %zu message%s in the queue", loaded,
	    loaded == 1 ? "" : "s");
}
