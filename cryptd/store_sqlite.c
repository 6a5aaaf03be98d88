/*
 * store_sqlite.c: the default index backend of the vault (store.h): one
 * SQLite database in the vault directory (run by cryptd, inside its
 * chroot, as its user; no messages).
 *
 * The database is opened after the chroot by a relative path, so its
 * journal lands next to it.  secure_delete is on: deleted rows (a
 * destroyed wrapped key, a used code) are overwritten in the file, not
 * just unlinked from the b-tree.  Writes are synchronous=FULL.
 *
 * Invariant: every statement binds its values; no SQL is built from
 * data.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"

#define SQ(st)	((sqlite3 *)(st)->priv)

static const char *schema =
    "PRAGMA secure_delete = ON;"
    "PRAGMA synchronous = FULL;"
    "PRAGMA foreign_keys = ON;"
    "PRAGMA temp_store = MEMORY;"
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT);"
    "INSERT OR IGNORE INTO meta VALUES ('schema', '1');"
    "CREATE TABLE IF NOT EXISTS messages ("
    " msgid TEXT PRIMARY KEY, created INTEGER NOT NULL,"
    " sender TEXT NOT NULL, subject TEXT NOT NULL,"
    " hide_subject INTEGER NOT NULL, key_id TEXT NOT NULL,"
    " wrapped BLOB, size INTEGER NOT NULL, state INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS recipients ("
    " msgid TEXT NOT NULL REFERENCES messages(msgid) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL, rcpt TEXT NOT NULL, level INTEGER NOT NULL,"
    " phone TEXT NOT NULL, lang TEXT NOT NULL, expires INTEGER NOT NULL,"
    " token_hash BLOB, state INTEGER NOT NULL, verified INTEGER NOT NULL,"
    " failures INTEGER NOT NULL, flags INTEGER NOT NULL,"
    " PRIMARY KEY (msgid, idx));"
    "CREATE UNIQUE INDEX IF NOT EXISTS rcpt_token ON recipients(token_hash);"
    "CREATE INDEX IF NOT EXISTS rcpt_expires ON recipients(state, expires);"
    "CREATE TABLE IF NOT EXISTS codes ("
    " token_hash BLOB NOT NULL, channel INTEGER NOT NULL,"
    " code_hash BLOB NOT NULL, expires INTEGER NOT NULL,"
    " PRIMARY KEY (token_hash, channel));"
    "CREATE TABLE IF NOT EXISTS sessions ("
    " session_hash BLOB PRIMARY KEY, token_hash BLOB NOT NULL,"
    " expires INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit ("
    " id INTEGER PRIMARY KEY, time INTEGER NOT NULL, msgid TEXT NOT NULL,"
    " rcpt TEXT NOT NULL, event INTEGER NOT NULL, client TEXT NOT NULL,"
    " detail TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_msgid ON audit(msgid, id);";

static int
sq_fail(struct vault_store *st, const char *what)
{
	log_warnx("vault index: %s: %s", what, sqlite3_errmsg(SQ(st)));
	return -1;
}

/* Prepare sql and bind the arguments described by fmt: s t b i. */
static sqlite3_stmt *
sq_prep(struct vault_store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt	*s;
	va_list		 ap;
	const void	*b;
	int		 i, r = SQLITE_OK;

	if (sqlite3_prepare_v2(SQ(st), sql, -1, &s, NULL) != SQLITE_OK) {
		sq_fail(st, "prepare");
		return NULL;
	}
	va_start(ap, fmt);
	for (i = 0; fmt[i] != '\0' && r == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 's':
			r = sqlite3_bind_text(s, i + 1, va_arg(ap,
			    const char *), -1, SQLITE_TRANSIENT);
			break;
		case 'h':	/* a hash, or NULL */
			b = va_arg(ap, const void *);
			r = b == NULL ? sqlite3_bind_null(s, i + 1) :
			    sqlite3_bind_blob(s, i + 1, b, HASH_LEN,
			    SQLITE_TRANSIENT);
			break;
		case 'w':	/* a wrapped key */
			b = va_arg(ap, const void *);
			r = sqlite3_bind_blob(s, i + 1, b, WRAPPED_KEY_LEN,
			    SQLITE_TRANSIENT);
			break;
		case 'i':
			r = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
			break;
		default:
			fatalx("sq_prep: bad format");
		}
	}
	va_end(ap);
	if (r != SQLITE_OK) {
		sq_fail(st, "bind");
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/* Run a statement that returns no rows. */
static int
sq_done(struct vault_store *st, sqlite3_stmt *s)
{
	int	r;

	if (s == NULL)
		return -1;
	r = sqlite3_step(s);
	sqlite3_finalize(s);
	if (r != SQLITE_DONE)
		return sq_fail(st, "step");
	return 0;
}

static void
col_text(sqlite3_stmt *s, int c, char *dst, size_t dstsz)
{
	const unsigned char	*t = sqlite3_column_text(s, c);

	(void)strlcpy(dst, t != NULL ? (const char *)t : "", dstsz);
}

static void
col_blob(sqlite3_stmt *s, int c, uint8_t *dst, size_t len)
{
	const void	*b = sqlite3_column_blob(s, c);

	if (b != NULL && (size_t)sqlite3_column_bytes(s, c) == len)
		memcpy(dst, b, len);
	else
		memset(dst, 0, len);
}

static int
sq_open(struct vault_store *st, const char *path)
{
	sqlite3	*db;
	char	*msg = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("vault index %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	st->priv = db;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("vault index %s: %s", path, msg);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static void
sq_close(struct vault_store *st)
{
	if (st->priv != NULL)
		sqlite3_close(SQ(st));
	st->priv = NULL;
}

static int
sq_exec(struct vault_store *st, const char *sql)
{
	if (sqlite3_exec(SQ(st), sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(st, sql);
	return 0;
}

static int
sq_msg_put(struct vault_store *st, const struct vault_msg *m,
    const struct vault_rcpt *r, size_t n)
{
	size_t	i;

	if (sq_exec(st, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (sq_done(st, sq_prep(st, "DELETE FROM messages WHERE msgid = ?",
	    "s", m->msgid)) == -1)
		goto fail;
	if (sq_done(st, sq_prep(st, "INSERT INTO messages VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?)", "sissiswii", m->msgid, m->created, m->sender, m->subject,
	    (int64_t)m->hide_subject, m->key_id, m->wrapped, m->size,
	    (int64_t)m->state)) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		if (sq_done(st, sq_prep(st, "INSERT INTO recipients VALUES "
		    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "sisissihiiii",
		    r[i].msgid, (int64_t)r[i].idx, r[i].rcpt,
		    (int64_t)r[i].level, r[i].phone, r[i].lang, r[i].expires,
		    r[i].state == VRCPT_HELD ? NULL : r[i].token_hash,
		    (int64_t)r[i].state,
		    (int64_t)r[i].verified, (int64_t)r[i].failures,
		    (int64_t)r[i].flags)) == -1)
			goto fail;
	}
	if (sq_exec(st, "COMMIT") == -1)
		goto fail;
	return 0;
fail:
	(void)sq_exec(st, "ROLLBACK");
	return -1;
}

#define MSG_COLS "msgid, created, sender, subject, hide_subject, key_id, " \
	"wrapped, size, state"

static void
msg_row(sqlite3_stmt *s, struct vault_msg *m)
{
	memset(m, 0, sizeof(*m));
	col_text(s, 0, m->msgid, sizeof(m->msgid));
	m->created = sqlite3_column_int64(s, 1);
	col_text(s, 2, m->sender, sizeof(m->sender));
	col_text(s, 3, m->subject, sizeof(m->subject));
	m->hide_subject = (uint32_t)sqlite3_column_int64(s, 4);
	col_text(s, 5, m->key_id, sizeof(m->key_id));
	col_blob(s, 6, m->wrapped, sizeof(m->wrapped));
	m->size = sqlite3_column_int64(s, 7);
	m->state = (uint32_t)sqlite3_column_int64(s, 8);
}

static int
sq_msg_get(struct vault_store *st, const char *msgid, struct vault_msg *m)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = sq_prep(st, "SELECT " MSG_COLS " FROM messages WHERE "
	    "msgid = ?", "s", msgid)) == NULL)
		return -1;
	if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		msg_row(s, m);
		r = 0;
	} else
		r = r == SQLITE_DONE ? 1 : sq_fail(st, "msg_get");
	sqlite3_finalize(s);
	return r;
}

static int
sq_msg_list(struct vault_store *st, vault_msg_cb cb, void *arg)
{
	struct vault_msg	 m;
	sqlite3_stmt		*s;
	int			 r;

	if ((s = sq_prep(st, "SELECT " MSG_COLS " FROM messages ORDER BY "
	    "created, msgid", "")) == NULL)
		return -1;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		msg_row(s, &m);
		if (cb(arg, &m) == -1)
			break;
	}
	sqlite3_finalize(s);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 :
	    sq_fail(st, "msg_list");
}

static int
sq_msg_shred(struct vault_store *st, const char *msgid)
{
	return sq_done(st, sq_prep(st, "UPDATE messages SET wrapped = NULL, "
	    "key_id = '', state = ? WHERE msgid = ?", "is",
	    (int64_t)VMSG_SHREDDED, msgid));
}

#define RCPT_COLS "msgid, idx, rcpt, level, phone, lang, expires, " \
	"token_hash, state, verified, failures, flags"

static void
rcpt_row(sqlite3_stmt *s, struct vault_rcpt *r)
{
	memset(r, 0, sizeof(*r));
	col_text(s, 0, r->msgid, sizeof(r->msgid));
	r->idx = (uint32_t)sqlite3_column_int64(s, 1);
	col_text(s, 2, r->rcpt, sizeof(r->rcpt));
	r->level = (uint32_t)sqlite3_column_int64(s, 3);
	col_text(s, 4, r->phone, sizeof(r->phone));
	col_text(s, 5, r->lang, sizeof(r->lang));
	r->expires = sqlite3_column_int64(s, 6);
	col_blob(s, 7, r->token_hash, sizeof(r->token_hash));
	r->state = (uint32_t)sqlite3_column_int64(s, 8);
	r->verified = (uint32_t)sqlite3_column_int64(s, 9);
	r->failures = (uint32_t)sqlite3_column_int64(s, 10);
	r->flags = (uint32_t)sqlite3_column_int64(s, 11);
}

static int
rcpt_iter(struct vault_store *st, sqlite3_stmt *s, vault_rcpt_cb cb,
    void *arg)
{
	struct vault_rcpt	 r;
	int			 rc;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		rcpt_row(s, &r);
		if (cb(arg, &r) == -1)
			break;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sq_fail(st, "recipients");
}

static int
sq_rcpt_list(struct vault_store *st, const char *msgid, vault_rcpt_cb cb,
    void *arg)
{
	return rcpt_iter(st, sq_prep(st, "SELECT " RCPT_COLS " FROM "
	    "recipients WHERE msgid = ? ORDER BY idx", "s", msgid), cb, arg);
}

static int
sq_rcpt_expired(struct vault_store *st, int64_t now, vault_rcpt_cb cb,
    void *arg)
{
	return rcpt_iter(st, sq_prep(st, "SELECT " RCPT_COLS " FROM "
	    "recipients WHERE state IN (?, ?) AND expires <= ? ORDER BY "
	    "msgid, idx", "iii", (int64_t)VRCPT_ACTIVE, (int64_t)VRCPT_LOCKED,
	    now), cb, arg);
}

static int
sq_rcpt_by_token(struct vault_store *st, const uint8_t th[HASH_LEN],
    struct vault_rcpt *r)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = sq_prep(st, "SELECT " RCPT_COLS " FROM recipients WHERE "
	    "token_hash = ?", "h", th)) == NULL)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		rcpt_row(s, r);
		rc = 0;
	} else
		rc = rc == SQLITE_DONE ? 1 : sq_fail(st, "rcpt_by_token");
	sqlite3_finalize(s);
	return rc;
}

static int
sq_rcpt_update(struct vault_store *st, const struct vault_rcpt *r)
{
	return sq_done(st, sq_prep(st, "UPDATE recipients SET state = ?, "
	    "verified = ?, failures = ? WHERE msgid = ? AND idx = ?", "iiisi",
	    (int64_t)r->state, (int64_t)r->verified, (int64_t)r->failures,
	    r->msgid, (int64_t)r->idx));
}

static int
sq_code_put(struct vault_store *st, const struct vault_code *c)
{
	return sq_done(st, sq_prep(st, "INSERT OR REPLACE INTO codes VALUES "
	    "(?, ?, ?, ?)", "hihi", c->token_hash, (int64_t)c->channel,
	    c->code_hash, c->expires));
}

static int
sq_code_get(struct vault_store *st, const uint8_t th[HASH_LEN],
    uint32_t channel, struct vault_code *c)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = sq_prep(st, "SELECT code_hash, expires FROM codes WHERE "
	    "token_hash = ? AND channel = ?", "hi", th,
	    (int64_t)channel)) == NULL)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memcpy(c->token_hash, th, HASH_LEN);
		c->channel = channel;
		col_blob(s, 0, c->code_hash, sizeof(c->code_hash));
		c->expires = sqlite3_column_int64(s, 1);
		rc = 0;
	} else
		rc = rc == SQLITE_DONE ? 1 : sq_fail(st, "code_get");
	sqlite3_finalize(s);
	return rc;
}

static int
sq_code_del(struct vault_store *st, const uint8_t th[HASH_LEN], int channel)
{
	if (channel < 0)
		return sq_done(st, sq_prep(st, "DELETE FROM codes WHERE "
		    "token_hash = ?", "h", th));
	return sq_done(st, sq_prep(st, "DELETE FROM codes WHERE "
	    "token_hash = ? AND channel = ?", "hi", th, (int64_t)channel));
}

static int
sq_session_put(struct vault_store *st, const uint8_t sh[HASH_LEN],
    const uint8_t th[HASH_LEN], int64_t expires)
{
	return sq_done(st, sq_prep(st, "INSERT OR REPLACE INTO sessions "
	    "VALUES (?, ?, ?)", "hhi", sh, th, expires));
}

static int
sq_session_get(struct vault_store *st, const uint8_t sh[HASH_LEN],
    uint8_t th[HASH_LEN], int64_t *expires)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = sq_prep(st, "SELECT token_hash, expires FROM sessions "
	    "WHERE session_hash = ?", "h", sh)) == NULL)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		col_blob(s, 0, th, HASH_LEN);
		*expires = sqlite3_column_int64(s, 1);
		rc = 0;
	} else
		rc = rc == SQLITE_DONE ? 1 : sq_fail(st, "session_get");
	sqlite3_finalize(s);
	return rc;
}

static int
sq_purge(struct vault_store *st, int64_t now)
{
	if (sq_done(st, sq_prep(st, "DELETE FROM codes WHERE expires < ?",
	    "i", now)) == -1)
		return -1;
	return sq_done(st, sq_prep(st, "DELETE FROM sessions WHERE "
	    "expires < ?", "i", now));
}

static int
sq_audit_add(struct vault_store *st, const struct vault_event *e)
{
	return sq_done(st, sq_prep(st, "INSERT INTO audit (time, msgid, "
	    "rcpt, event, client, detail) VALUES (?, ?, ?, ?, ?, ?)",
	    "ississ", e->time, e->msgid, e->rcpt, (int64_t)e->event,
	    e->client, e->detail));
}

static int
sq_audit_list(struct vault_store *st, const char *msgid, vault_event_cb cb,
    void *arg)
{
	struct vault_event	 e;
	sqlite3_stmt		*s;
	int			 rc;

	if ((s = sq_prep(st, "SELECT time, msgid, rcpt, event, client, "
	    "detail FROM audit WHERE msgid = ? ORDER BY id", "s",
	    msgid)) == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.time = sqlite3_column_int64(s, 0);
		col_text(s, 1, e.msgid, sizeof(e.msgid));
		col_text(s, 2, e.rcpt, sizeof(e.rcpt));
		e.event = (uint32_t)sqlite3_column_int64(s, 3);
		col_text(s, 4, e.client, sizeof(e.client));
		col_text(s, 5, e.detail, sizeof(e.detail));
		if (cb(arg, &e) == -1)
			break;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sq_fail(st, "audit_list");
}

void
store_sqlite_init(struct vault_store *st)
{
	memset(st, 0, sizeof(*st));
	st->name = "sqlite";
	st->open = sq_open;
	st->close = sq_close;
	st->msg_put = sq_msg_put;
	st->msg_get = sq_msg_get;
	st->msg_list = sq_msg_list;
	st->msg_shred = sq_msg_shred;
	st->rcpt_list = sq_rcpt_list;
	st->rcpt_by_token = sq_rcpt_by_token;
	st->rcpt_update = sq_rcpt_update;
	st->rcpt_expired = sq_rcpt_expired;
	st->code_put = sq_code_put;
	st->code_get = sq_code_get;
	st->code_del = sq_code_del;
	st->session_put = sq_session_put;
	st->session_get = sq_session_get;
	st->purge = sq_purge;
	st->audit_add = sq_audit_add;
	st->audit_list = sq_audit_list;
}
