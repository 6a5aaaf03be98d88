/*
 * crypt_ops.c: what cryptd does for its peers (run by cryptd, in its
 * chroot, as its user).
 *
 * From the queue: IMSG_CRYPT_SEAL / SEAL_RCPT / SEAL_END (seal a message
 * for its secured recipients; answers IMSG_QUEUE_SEAL_RESULT per
 * recipient with its link token, then IMSG_QUEUE_SEAL_DONE) and
 * IMSG_CRYPT_EVENT (notified, held: for the audit trail).  To the queue:
 * IMSG_QUEUE_CODE_SEND, the one-time codes to mail or text.
 * From the portal: IMSG_CRYPT_LOOKUP, CODE_ISSUE, CODE_CHECK, OPEN, REPLY;
 * answers IMSG_PORTAL_*; the plaintext goes back as a sealed memfd.
 * From control: IMSG_CRYPT_CTL_SHOW, CTL_LOG, CTL_REVOKE; answers
 * IMSG_CONTROL_TEXT / END / FAIL.
 * A timer (crypt_sweep) expires recipients and shreds what is left.
 *
 * Invariants: a token, session id or code exists in clear only in the
 * one answer that hands it out; the portal never sees a code; nothing is
 * opened without a session that all of the recipient's factors made; a
 * message no live recipient can open has its wrapped key destroyed and
 * its blob removed.  The queue is a trusted peer (a malformed message is
 * fatal); the portal's lengths and strings are checked the same way, but
 * the values it relays from browsers (tokens, codes, addresses) only
 * ever get an error answer.
 */
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypt.h"
#include "defaults.h"
#include "log.h"
#include "proc.h"
#include "store.h"
#include "util.h"

struct seal_req {
	TAILQ_ENTRY(seal_req)	 entry;
	struct proto_seal	 seal;
	int			 fd;
	struct proto_seal_rcpt	*rcpt;
	size_t			 nrcpt;
};

static TAILQ_HEAD(, seal_req) seals = TAILQ_HEAD_INITIALIZER(seals);
static struct config		*cfg;
static struct vault_store	*st;
static struct blob_store	*bs;

static const char *const event_names[CRYPT_EV_MAX] = {
	[CRYPT_EV_SEALED] = "sealed",
	[CRYPT_EV_NOTIFIED] = "notified",
	[CRYPT_EV_HELD] = "held",
	[CRYPT_EV_CODE_SENT] = "code-sent",
	[CRYPT_EV_CODE_FAILED] = "code-failed",
	[CRYPT_EV_LOCKED] = "locked",
	[CRYPT_EV_OPENED] = "opened",
	[CRYPT_EV_DOWNLOADED] = "downloaded",
	[CRYPT_EV_REPLIED] = "replied",
	[CRYPT_EV_REVOKED] = "revoked",
	[CRYPT_EV_EXPIRED] = "expired",
};

static const char *const rcpt_states[] = {
	[VRCPT_ACTIVE] = "active",
	[VRCPT_LOCKED] = "locked",
	[VRCPT_REVOKED] = "revoked",
	[VRCPT_EXPIRED] = "expired",
	[VRCPT_HELD] = "held",
};

void
crypt_ops_init(struct config *c, struct vault_store *s,
    struct blob_store *b)
{
	cfg = c;
	st = s;
	bs = b;
}

const char *
crypt_event_name(uint32_t ev)
{
	return ev < CRYPT_EV_MAX ? event_names[ev] : "unknown";
}

static const char *
rcpt_state_name(uint32_t s)
{
	return s <= VRCPT_HELD ? rcpt_states[s] : "unknown";
}

static void
fmt_time(int64_t t, char *buf, size_t bufsz)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)strlcpy(buf, "?", bufsz);
}

static int
msgid_valid(const char *id)
{
	size_t	i;

	for (i = 0; id[i] != '\0'; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return i == 16;
}

static int
client_valid(const char *c)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	return c[0] == '\0' || inet_pton(AF_INET, c, &a4) == 1 ||
	    inet_pton(AF_INET6, c, &a6) == 1;
}

/* Record an event in the audit trail and the log. */
static void
audit(const char *msgid, const char *rcpt, uint32_t ev, const char *client,
    const char *detail)
{
	struct vault_event	e;
	char			erc[PROTO_ADDR_MAX], edet[PROTO_REPLY_MAX];

	memset(&e, 0, sizeof(e));
	e.time = time(NULL);
	(void)strlcpy(e.msgid, msgid, sizeof(e.msgid));
	log_escape(erc, sizeof(erc), rcpt, strlen(rcpt));
	(void)strlcpy(e.rcpt, erc, sizeof(e.rcpt));
	e.event = ev;
	(void)strlcpy(e.client, client != NULL ? client : "",
	    sizeof(e.client));
	log_escape(edet, sizeof(edet), detail != NULL ? detail : "",
	    detail != NULL ? strlen(detail) : 0);
	(void)strlcpy(e.detail, edet, sizeof(e.detail));
	if (st->audit_add(st, &e) == -1)
		log_warnx("%s: audit event %s for %s not recorded", msgid,
		    crypt_event_name(ev), erc);
	log_info("%s: %s %s%s%s%s%s", msgid, crypt_event_name(ev),
	    erc[0] != '\0' ? erc : "-", e.client[0] != '\0' ? " client=" : "",
	    e.client, edet[0] != '\0' ? ": " : "", edet);
}

/* Sealing. */

static struct seal_req *
seal_find(uint64_t reqid)
{
	struct seal_req	*s;

	TAILQ_FOREACH(s, &seals, entry)
		if (s->seal.reqid == reqid)
			return s;
	return NULL;
}

void
crypt_seal_begin(struct imsg *imsg)
{
	struct seal_req	*s;

	PROTO_CHECK_LEN(imsg, struct proto_seal);
	s = xcalloc(1, sizeof(*s));
	memcpy(&s->seal, imsg->data, sizeof(s->seal));
	PROTO_CHECK_STR(s->seal.msgid);
	PROTO_CHECK_STR(s->seal.sender);
	PROTO_CHECK_STR(s->seal.subject);
	if (!msgid_valid(s->seal.msgid) || s->seal.nrcpt == 0 ||
	    s->seal.nrcpt > cfg->limits.max_rcpt || s->seal.hide_subject > 1 ||
	    imsg->fd == -1 || seal_find(s->seal.reqid) != NULL)
		fatalx("bad SEAL from queue");
	s->fd = imsg->fd;
	imsg->fd = -1;
	s->rcpt = xreallocarray(NULL, s->seal.nrcpt, sizeof(*s->rcpt));
	TAILQ_INSERT_TAIL(&seals, s, entry);
}

void
crypt_seal_rcpt(struct imsg *imsg)
{
	struct proto_seal_rcpt	 r;
	struct seal_req		*s;
	size_t			 i;

	PROTO_CHECK_LEN(imsg, struct proto_seal_rcpt);
	memcpy(&r, imsg->data, sizeof(r));
	PROTO_CHECK_STR(r.rcpt);
	PROTO_CHECK_STR(r.phone);
	PROTO_CHECK_STR(r.lang);
	if ((s = seal_find(r.reqid)) == NULL || s->nrcpt == s->seal.nrcpt ||
	    (r.level != DECISION_SECURE_1FA &&
	    r.level != DECISION_SECURE_2FA) || r.rcpt[0] == '\0' ||
	    r.lifetime < 0 || (r.flags & ~SEAL_RCPT_READ_NOTIFY) != 0)
		fatalx("bad SEAL_RCPT from queue");
	for (i = 0; r.lang[i] != '\0'; i++)
		if (r.lang[i] < 'a' || r.lang[i] > 'z')
			fatalx("bad language in SEAL_RCPT from queue");
	for (i = 0; i < s->nrcpt; i++)
		if (s->rcpt[i].idx == r.idx)
			fatalx("recipient %u twice in SEAL from queue", r.idx);
	s->rcpt[s->nrcpt++] = r;
}

static void
seal_reply(struct seal_req *s, struct vault_rcpt *vr, char tokens[][PROTO_TOKEN_MAX],
    int status, const char *why)
{
	struct proto_seal_result	 res;
	struct proto_commit		 done;
	size_t				 i;

	for (i = 0; i < s->nrcpt; i++) {
		memset(&res, 0, sizeof(res));
		res.reqid = s->seal.reqid;
		res.idx = s->rcpt[i].idx;
		if (status != PROTO_OK) {
			res.status = status;
			(void)strlcpy(res.text, why, sizeof(res.text));
		} else if (vr[i].state == VRCPT_HELD) {
			res.status = PROTO_PERMFAIL;
			(void)strlcpy(res.text, "2fa recipient has no valid "
			    "phone number: held", sizeof(res.text));
		} else {
			res.status = PROTO_OK;
			(void)strlcpy(res.token, tokens[i], sizeof(res.token));
			res.expires = vr[i].expires;
		}
		proc_compose(PROC_QUEUE, IMSG_QUEUE_SEAL_RESULT, 0, -1, &res,
		    sizeof(res));
		sodium_memzero(&res, sizeof(res));
	}
	memset(&done, 0, sizeof(done));
	done.reqid = s->seal.reqid;
	done.status = status;
	(void)strlcpy(done.msgid, s->seal.msgid, sizeof(done.msgid));
	if (status != PROTO_OK)
		(void)strlcpy(done.text, why, sizeof(done.text));
	proc_compose(PROC_QUEUE, IMSG_QUEUE_SEAL_DONE, 0, -1, &done,
	    sizeof(done));
}

static void
seal_do(struct seal_req *s)
{
	const struct mkey	*mk = keys_current();
	struct vault_msg	 m;
	struct vault_rcpt	*vr;
	char			(*tokens)[PROTO_TOKEN_MAX];
	uint8_t			 dkey[DKEY_LEN];
	char			 err[256];
	uint64_t		 size;
	int64_t			 now = time(NULL), life;
	size_t			 i, nsealed = 0;
	int			 fd;

	vr = xcalloc(s->nrcpt, sizeof(*vr));
	tokens = sodium_allocarray(s->nrcpt, PROTO_TOKEN_MAX);
	if (tokens == NULL)
		fatal("sodium_allocarray");
	memset(&m, 0, sizeof(m));
	(void)strlcpy(m.msgid, s->seal.msgid, sizeof(m.msgid));
	m.created = now;
	(void)strlcpy(m.sender, s->seal.sender, sizeof(m.sender));
	(void)strlcpy(m.subject, s->seal.subject, sizeof(m.subject));
	m.hide_subject = s->seal.hide_subject;
	(void)strlcpy(m.key_id, mk->id, sizeof(m.key_id));
	m.state = VMSG_ACTIVE;
	for (i = 0; i < s->nrcpt; i++) {
		(void)strlcpy(vr[i].msgid, m.msgid, sizeof(vr[i].msgid));
		vr[i].idx = s->rcpt[i].idx;
		(void)strlcpy(vr[i].rcpt, s->rcpt[i].rcpt, sizeof(vr[i].rcpt));
		vr[i].level = s->rcpt[i].level;
		(void)strlcpy(vr[i].phone, s->rcpt[i].phone,
		    sizeof(vr[i].phone));
		(void)strlcpy(vr[i].lang, s->rcpt[i].lang, sizeof(vr[i].lang));
		vr[i].flags = s->rcpt[i].flags;
		/* The queue applied the action's settings; a bound here. */
		life = s->rcpt[i].lifetime;
		if (life <= 0)
			life = cfg->limits.secure_expire;
		if (life > config_secure_lifetime_max(cfg))
			life = config_secure_lifetime_max(cfg);
		vr[i].expires = now + life;
		if (vr[i].level == DECISION_SECURE_2FA &&
		    !phone_valid(vr[i].phone)) {
			vr[i].state = VRCPT_HELD;
			continue;
		}
		token_new(tokens[i]);
		token_hash(tokens[i], vr[i].token_hash);
		vr[i].state = VRCPT_ACTIVE;
		nsealed++;
	}

	if (nsealed > 0) {
		crypto_secretstream_xchacha20poly1305_keygen(dkey);
		if ((fd = bs->create(bs, m.msgid)) == -1) {
			seal_reply(s, vr, tokens, PROTO_TEMPFAIL,
			    "vault: cannot create blob");
			goto done;
		}
		if (seal_encrypt(s->fd, fd, m.msgid, dkey, CRYPT_MAX_MESSAGE,
		    &size, err, sizeof(err)) == -1) {
			log_warnx("%s: sealing failed: %s", m.msgid, err);
			bs->abort(bs, m.msgid, fd);
			seal_reply(s, vr, tokens, PROTO_TEMPFAIL,
			    "vault: sealing failed");
			goto done;
		}
		m.size = (int64_t)size;
		if (bs->commit(bs, m.msgid, fd) == -1 ||
		    seal_wrap_key(mk, m.msgid, dkey, m.wrapped) == -1 ||
		    st->msg_put(st, &m, vr, s->nrcpt) == -1) {
			(void)bs->remove(bs, m.msgid);
			seal_reply(s, vr, tokens, PROTO_TEMPFAIL,
			    "vault: cannot store");
			goto done;
		}
	}
	for (i = 0; i < s->nrcpt; i++)
		audit(m.msgid, vr[i].rcpt, vr[i].state == VRCPT_HELD ?
		    CRYPT_EV_HELD : CRYPT_EV_SEALED, NULL,
		    vr[i].state == VRCPT_HELD ? "2fa without a phone number" :
		    vr[i].level == DECISION_SECURE_2FA ? "2fa" : "1fa");
	seal_reply(s, vr, tokens, PROTO_OK, NULL);
done:
	sodium_memzero(dkey, sizeof(dkey));
	sodium_free(tokens);
	free(vr);
}

void
crypt_seal_end(struct imsg *imsg)
{
	struct proto_msgref	 ref;
	struct seal_req		*s;

	PROTO_CHECK_LEN(imsg, struct proto_msgref);
	memcpy(&ref, imsg->data, sizeof(ref));
	PROTO_CHECK_STR(ref.msgid);
	if ((s = seal_find(ref.reqid)) == NULL ||
	    strcmp(ref.msgid, s->seal.msgid) != 0 ||
	    s->nrcpt != s->seal.nrcpt)
		fatalx("bad SEAL_END from queue");
	TAILQ_REMOVE(&seals, s, entry);
	seal_do(s);
	close(s->fd);
	free(s->rcpt);
	free(s);
}

struct rcpt_find {
	uint32_t		 idx;
	struct vault_rcpt	 r;
	int			 found;
};

static int
rcpt_find_cb(void *arg, const struct vault_rcpt *r)
{
	struct rcpt_find	*f = arg;

	if (r->idx == f->idx) {
		f->r = *r;
		f->found = 1;
		return -1;
	}
	return 0;
}

void
crypt_queue_event(struct imsg *imsg)
{
	struct proto_crypt_event	ev;
	struct rcpt_find		f;

	PROTO_CHECK_LEN(imsg, struct proto_crypt_event);
	memcpy(&ev, imsg->data, sizeof(ev));
	PROTO_CHECK_STR(ev.msgid);
	PROTO_CHECK_STR(ev.text);
	if (!msgid_valid(ev.msgid) || (ev.event != CRYPT_EV_NOTIFIED &&
	    ev.event != CRYPT_EV_HELD))
		fatalx("bad EVENT from queue");
	memset(&f, 0, sizeof(f));
	f.idx = ev.idx;
	(void)st->rcpt_list(st, ev.msgid, rcpt_find_cb, &f);
	audit(ev.msgid, f.found ? f.r.rcpt : "", ev.event, NULL, ev.text);
}

/* Shredding. */

struct live_count {
	size_t	live;
};

static int
live_cb(void *arg, const struct vault_rcpt *r)
{
	struct live_count	*lc = arg;

	if (r->state == VRCPT_ACTIVE || r->state == VRCPT_LOCKED)
		lc->live++;
	return 0;
}

/* Destroy the key and the blob of msgid if no recipient can open it. */
static int
shred_if_dead(const char *msgid)
{
	struct live_count	lc = { 0 };
	struct vault_msg	m;

	if (st->msg_get(st, msgid, &m) != 0 || m.state == VMSG_SHREDDED)
		return 0;
	if (st->rcpt_list(st, msgid, live_cb, &lc) == -1 || lc.live > 0)
		return 0;
	if (st->msg_shred(st, msgid) == -1 || bs->remove(bs, msgid) == -1) {
		log_warnx("%s: shredding failed, tried again later", msgid);
		return 0;
	}
	sodium_memzero(&m, sizeof(m));
	log_info("%s: shredded: wrapped key destroyed, blob removed", msgid);
	return 1;
}

/* Expiry. */

struct rcpt_vec {
	struct vault_rcpt	*v;
	size_t			 n;
};

static int
rcpt_vec_cb(void *arg, const struct vault_rcpt *r)
{
	struct rcpt_vec	*rv = arg;

	rv->v = xreallocarray(rv->v, rv->n + 1, sizeof(*rv->v));
	rv->v[rv->n++] = *r;
	return 0;
}

void
crypt_sweep(time_t now)
{
	struct rcpt_vec	rv = { NULL, 0 };
	size_t		i;

	if (st->rcpt_expired(st, now, rcpt_vec_cb, &rv) == -1)
		return;
	for (i = 0; i < rv.n; i++) {
		rv.v[i].state = VRCPT_EXPIRED;
		if (st->rcpt_update(st, &rv.v[i]) == -1)
			continue;
		(void)st->code_del(st, rv.v[i].token_hash, -1);
		audit(rv.v[i].msgid, rv.v[i].rcpt, CRYPT_EV_EXPIRED, NULL,
		    NULL);
	}
	for (i = 0; i < rv.n; i++)
		if (shred_if_dead(rv.v[i].msgid))
			audit(rv.v[i].msgid, "", CRYPT_EV_EXPIRED, NULL,
			    "message shredded");
	free(rv.v);
	(void)st->purge(st, now);
}

/* The portal. */

static uint32_t
portal_state(const struct vault_rcpt *r, const struct vault_msg *m,
    time_t now)
{
	switch (r->state) {
	case VRCPT_LOCKED:
		return PORTAL_LOCKED;
	case VRCPT_REVOKED:
		return PORTAL_REVOKED;
	case VRCPT_ACTIVE:
		if (m->state == VMSG_ACTIVE && r->expires > now)
			return PORTAL_ACTIVE;
		/* FALLTHROUGH */
	default:
		return PORTAL_EXPIRED;
	}
}

static const char *
portal_state_text(uint32_t s)
{
	switch (s) {
	case PORTAL_LOCKED:
		return "locked after too many wrong codes";
	case PORTAL_REVOKED:
		return "revoked by the sender's organisation";
	case PORTAL_EXPIRED:
		return "expired";
	default:
		return "active";
	}
}

/*
 * Find the recipient and message of a token from the portal.  Returns
 * PROTO_OK, or an error status with text set.
 */
static int
portal_find(const char *token, struct vault_rcpt *r, struct vault_msg *m,
    char *text, size_t textsz)
{
	uint8_t	th[HASH_LEN];
	int	rc;

	if (!token_valid(token)) {
		(void)strlcpy(text, "unknown link", textsz);
		return PROTO_PERMFAIL;
	}
	token_hash(token, th);
	if ((rc = st->rcpt_by_token(st, th, r)) == 1 ||
	    (rc == 0 && (rc = st->msg_get(st, r->msgid, m)) == 1)) {
		(void)strlcpy(text, "unknown link", textsz);
		return PROTO_PERMFAIL;
	}
	if (rc == -1) {
		(void)strlcpy(text, "vault unavailable", textsz);
		return PROTO_TEMPFAIL;
	}
	return PROTO_OK;
}

static void
portal_lookup(uint32_t peerid, const struct proto_portal_req *q)
{
	struct proto_portal_info	info;
	struct vault_rcpt		r;
	struct vault_msg		m;
	char				text[PROTO_REPLY_MAX];

	memset(&info, 0, sizeof(info));
	info.status = portal_find(q->token, &r, &m, text, sizeof(text));
	if (info.status == PROTO_OK) {
		info.state = portal_state(&r, &m, time(NULL));
		info.level = r.level;
		info.verified = r.verified;
		(void)strlcpy(info.msgid, r.msgid, sizeof(info.msgid));
		(void)strlcpy(info.sender, m.sender, sizeof(info.sender));
		if (!m.hide_subject)
			(void)strlcpy(info.subject, m.subject,
			    sizeof(info.subject));
		mask_address(r.rcpt, info.rcpt_masked,
		    sizeof(info.rcpt_masked));
		if (r.phone[0] != '\0')
			mask_phone(r.phone, info.phone_masked,
			    sizeof(info.phone_masked));
		(void)strlcpy(info.lang, r.lang, sizeof(info.lang));
		info.expires = r.expires;
		info.size = m.size;
	}
	proc_compose(PROC_PORTAL, IMSG_PORTAL_LOOKUP_RESULT, peerid, -1, &info,
	    sizeof(info));
}

static void
portal_code_issue(uint32_t peerid, const struct proto_portal_req *q)
{
	struct proto_code_issued	res;
	struct proto_code_send		cs;
	struct vault_code		c;
	struct vault_rcpt		r;
	struct vault_msg		m;
	uint32_t			state;
	time_t				now = time(NULL);

	memset(&res, 0, sizeof(res));
	res.channel = q->channel;
	res.status = portal_find(q->token, &r, &m, res.text,
	    sizeof(res.text));
	if (res.status != PROTO_OK)
		goto reply;
	if ((state = portal_state(&r, &m, now)) != PORTAL_ACTIVE) {
		res.status = PROTO_PERMFAIL;
		(void)strlcpy(res.text, portal_state_text(state),
		    sizeof(res.text));
		goto reply;
	}
	if (q->channel != CODE_MAIL && (q->channel != CODE_SMS ||
	    r.level != DECISION_SECURE_2FA)) {
		res.status = PROTO_PERMFAIL;
		(void)strlcpy(res.text, "no such factor for this link",
		    sizeof(res.text));
		goto reply;
	}
	memset(&cs, 0, sizeof(cs));
	code_new(cs.code);
	memcpy(c.token_hash, r.token_hash, HASH_LEN);
	c.channel = q->channel;
	code_hash(keys_current(), r.token_hash, q->channel, cs.code,
	    c.code_hash);
	c.expires = now + cfg->limits.code_lifetime;
	if (st->code_put(st, &c) == -1) {
		sodium_memzero(&cs, sizeof(cs));
		res.status = PROTO_TEMPFAIL;
		(void)strlcpy(res.text, "vault unavailable", sizeof(res.text));
		goto reply;
	}
	(void)strlcpy(cs.msgid, r.msgid, sizeof(cs.msgid));
	cs.idx = r.idx;
	cs.channel = q->channel;
	(void)strlcpy(cs.rcpt, r.rcpt, sizeof(cs.rcpt));
	(void)strlcpy(cs.phone, r.phone, sizeof(cs.phone));
	(void)strlcpy(cs.lang, r.lang, sizeof(cs.lang));
	cs.expires = c.expires;
	proc_compose(PROC_QUEUE, IMSG_QUEUE_CODE_SEND, 0, -1, &cs, sizeof(cs));
	sodium_memzero(&cs, sizeof(cs));
	audit(r.msgid, r.rcpt, CRYPT_EV_CODE_SENT, q->client,
	    q->channel == CODE_SMS ? "sms" : "mail");
	if (q->channel == CODE_SMS)
		mask_phone(r.phone, res.dest_masked, sizeof(res.dest_masked));
	else
		mask_address(r.rcpt, res.dest_masked, sizeof(res.dest_masked));
	res.expires = c.expires;
reply:
	proc_compose(PROC_PORTAL, IMSG_PORTAL_CODE_ISSUED, peerid, -1, &res,
	    sizeof(res));
}

static void
portal_code_check(uint32_t peerid, const struct proto_code_check *q)
{
	struct proto_code_result	res;
	struct vault_code		c;
	struct vault_rcpt		r;
	struct vault_msg		m;
	uint8_t				h[HASH_LEN];
	uint32_t			need;
	time_t				now = time(NULL);
	int				rc;

	memset(&res, 0, sizeof(res));
	res.status = portal_find(q->token, &r, &m, res.text,
	    sizeof(res.text));
	if (res.status != PROTO_OK)
		goto reply;
	if ((res.state = portal_state(&r, &m, now)) != PORTAL_ACTIVE) {
		res.status = PROTO_PERMFAIL;
		(void)strlcpy(res.text, portal_state_text(res.state),
		    sizeof(res.text));
		goto reply;
	}
	if (q->channel != CODE_MAIL && q->channel != CODE_SMS) {
		res.status = PROTO_PERMFAIL;
		(void)strlcpy(res.text, "no such factor", sizeof(res.text));
		goto reply;
	}
	if ((rc = st->code_get(st, r.token_hash, q->channel, &c)) != 0) {
		res.status = rc == 1 ? PROTO_PERMFAIL : PROTO_TEMPFAIL;
		(void)strlcpy(res.text, rc == 1 ? "no code was sent" :
		    "vault unavailable", sizeof(res.text));
		goto reply;
	}
	if (c.expires <= now) {
		(void)st->code_del(st, r.token_hash, (int)q->channel);
		audit(r.msgid, r.rcpt, CRYPT_EV_CODE_FAILED, q->client,
		    "expired code");
		res.status = PROTO_PERMFAIL;
		(void)strlcpy(res.text, "the code has expired; ask for a new "
		    "one", sizeof(res.text));
		goto reply;
	}
	/* A malformed code is a wrong code: it costs an attempt. */
	code_hash(keys_current(), r.token_hash, q->channel,
	    code_valid(q->code) ? q->code : "", h);
	if (!code_valid(q->code) ||
	    sodium_memcmp(h, c.code_hash, HASH_LEN) != 0) {
		r.failures++;
		audit(r.msgid, r.rcpt, CRYPT_EV_CODE_FAILED, q->client,
		    q->channel == CODE_SMS ? "wrong sms code" :
		    "wrong mail code");
		if (r.failures >= cfg->limits.code_attempts) {
			r.state = VRCPT_LOCKED;
			(void)st->code_del(st, r.token_hash, -1);
			audit(r.msgid, r.rcpt, CRYPT_EV_LOCKED, q->client,
			    NULL);
		}
		if (st->rcpt_update(st, &r) == -1) {
			res.status = PROTO_TEMPFAIL;
			(void)strlcpy(res.text, "vault unavailable",
			    sizeof(res.text));
			goto reply;
		}
		res.status = PROTO_PERMFAIL;
		res.state = r.state == VRCPT_LOCKED ? PORTAL_LOCKED :
		    PORTAL_ACTIVE;
		res.attempts_left = r.failures >= cfg->limits.code_attempts ?
		    0 : (uint32_t)(cfg->limits.code_attempts - r.failures);
		(void)strlcpy(res.text, r.state == VRCPT_LOCKED ?
		    portal_state_text(PORTAL_LOCKED) : "wrong code",
		    sizeof(res.text));
		goto reply;
	}
	(void)st->code_del(st, r.token_hash, (int)q->channel);
	r.verified |= 1U << q->channel;
	need = 1U << CODE_MAIL;
	if (r.level == DECISION_SECURE_2FA)
		need |= 1U << CODE_SMS;
	res.status = PROTO_OK;
	if ((r.verified & need) == need) {
		uint8_t	sh[HASH_LEN];

		token_new(res.session);
		token_hash(res.session, sh);
		res.session_expires = now + cfg->limits.secure_session;
		if (st->session_put(st, sh, r.token_hash,
		    res.session_expires) == -1) {
			sodium_memzero(&res, sizeof(res));
			res.status = PROTO_TEMPFAIL;
			(void)strlcpy(res.text, "vault unavailable",
			    sizeof(res.text));
			goto reply;
		}
		r.verified = 0;
		r.failures = 0;
	}
	res.verified = r.verified;
	if (st->rcpt_update(st, &r) == -1) {
		sodium_memzero(&res, sizeof(res));
		res.status = PROTO_TEMPFAIL;
		(void)strlcpy(res.text, "vault unavailable", sizeof(res.text));
		goto reply;
	}
	res.state = PORTAL_ACTIVE;
	res.attempts_left = (uint32_t)(cfg->limits.code_attempts - r.failures);
reply:
	proc_compose(PROC_PORTAL, IMSG_PORTAL_CODE_RESULT, peerid, -1, &res,
	    sizeof(res));
	sodium_memzero(&res, sizeof(res));
}

/* The token and the session of an OPEN or REPLY; PROTO_OK if both hold. */
static int
portal_session(const struct proto_portal_req *q, struct vault_rcpt *r,
    struct vault_msg *m, char *text, size_t textsz)
{
	uint8_t		sh[HASH_LEN], th[HASH_LEN];
	int64_t		expires;
	time_t		now = time(NULL);
	uint32_t	state;
	int		status, rc;

	if ((status = portal_find(q->token, r, m, text, textsz)) != PROTO_OK)
		return status;
	if ((state = portal_state(r, m, now)) != PORTAL_ACTIVE) {
		(void)strlcpy(text, portal_state_text(state), textsz);
		return PROTO_PERMFAIL;
	}
	if (!token_valid(q->session)) {
		(void)strlcpy(text, "no session", textsz);
		return PROTO_PERMFAIL;
	}
	token_hash(q->session, sh);
	if ((rc = st->session_get(st, sh, th, &expires)) == -1) {
		(void)strlcpy(text, "vault unavailable", textsz);
		return PROTO_TEMPFAIL;
	}
	if (rc == 1 || expires <= now ||
	    sodium_memcmp(th, r->token_hash, HASH_LEN) != 0) {
		(void)strlcpy(text, "no session", textsz);
		return PROTO_PERMFAIL;
	}
	return PROTO_OK;
}

static void
portal_open(uint32_t peerid, const struct proto_portal_req *q)
{
	struct proto_open_result	 res;
	struct vault_rcpt		 r;
	struct vault_msg		 m;
	const struct mkey		*mk;
	uint8_t				 dkey[DKEY_LEN];
	char				 err[256];
	uint64_t			 size;
	int				 bfd = -1, mfd = -1, rc;

	memset(&res, 0, sizeof(res));
	if ((res.status = portal_session(q, &r, &m, res.text,
	    sizeof(res.text))) != PROTO_OK)
		goto reply;
	res.status = PROTO_TEMPFAIL;
	(void)strlcpy(res.text, "vault unavailable", sizeof(res.text));
	if ((mk = keys_find(m.key_id)) == NULL) {
		log_warnx("%s: master key %s is not loaded", m.msgid,
		    m.key_id);
		goto reply;
	}
	if ((rc = bs->get(bs, m.msgid, &bfd)) != 0) {
		if (rc == 1)
			log_warnx("%s: blob is missing", m.msgid);
		goto reply;
	}
	if ((mfd = memfd_create("sealed", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		log_warn("memfd_create");
		goto reply;
	}
	if (seal_unwrap_key(mk, m.msgid, m.wrapped, dkey) == -1) {
		log_warnx("%s: the wrapped key does not open", m.msgid);
		goto reply;
	}
	rc = seal_decrypt(bfd, mfd, m.msgid, dkey, CRYPT_MAX_MESSAGE, &size,
	    err, sizeof(err));
	sodium_memzero(dkey, sizeof(dkey));
	if (rc == -1) {
		log_warnx("%s: cannot open the blob: %s", m.msgid, err);
		goto reply;
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1 ||
	    lseek(mfd, 0, SEEK_SET) == -1) {
		log_warn("memfd seal");
		goto reply;
	}
	audit(r.msgid, r.rcpt, q->what == PORTAL_OPEN_DOWNLOAD ?
	    CRYPT_EV_DOWNLOADED : CRYPT_EV_OPENED, q->client, q->detail);
	res.status = PROTO_OK;
	res.size = (int64_t)size;
	res.text[0] = '\0';
	proc_compose(PROC_PORTAL, IMSG_PORTAL_OPEN_RESULT, peerid, mfd, &res,
	    sizeof(res));
	mfd = -1;
	goto done;
reply:
	proc_compose(PROC_PORTAL, IMSG_PORTAL_OPEN_RESULT, peerid, -1, &res,
	    sizeof(res));
done:
	if (bfd != -1)
		close(bfd);
	if (mfd != -1)
		close(mfd);
}

static void
portal_reply(uint32_t peerid, const struct proto_portal_req *q)
{
	struct proto_portal_status	res;
	struct vault_rcpt		r;
	struct vault_msg		m;

	memset(&res, 0, sizeof(res));
	res.status = portal_session(q, &r, &m, res.text, sizeof(res.text));
	if (res.status == PROTO_OK)
		audit(r.msgid, r.rcpt, CRYPT_EV_REPLIED, q->client,
		    q->detail);
	proc_compose(PROC_PORTAL, IMSG_PORTAL_REPLY_RESULT, peerid, -1, &res,
	    sizeof(res));
}

void
crypt_portal(struct imsg *imsg)
{
	struct proto_portal_req	q;
	struct proto_code_check	c;

	if (imsg->fd != -1)
		fatalx("descriptor with %s from portal",
		    proto_imsg_name(imsg->hdr.type));
	if (imsg->hdr.type == IMSG_CRYPT_CODE_CHECK) {
		PROTO_CHECK_LEN(imsg, struct proto_code_check);
		memcpy(&c, imsg->data, sizeof(c));
		PROTO_CHECK_STR(c.token);
		PROTO_CHECK_STR(c.client);
		PROTO_CHECK_STR(c.code);
		if (!client_valid(c.client))
			fatalx("bad client address from portal");
		portal_code_check(imsg->hdr.peerid, &c);
		sodium_memzero(&c, sizeof(c));
		return;
	}
	PROTO_CHECK_LEN(imsg, struct proto_portal_req);
	memcpy(&q, imsg->data, sizeof(q));
	PROTO_CHECK_STR(q.token);
	PROTO_CHECK_STR(q.session);
	PROTO_CHECK_STR(q.client);
	PROTO_CHECK_STR(q.detail);
	if (!client_valid(q.client) || q.channel > CODE_SMS ||
	    q.what > PORTAL_OPEN_DOWNLOAD)
		fatalx("bad %s from portal", proto_imsg_name(imsg->hdr.type));
	switch (imsg->hdr.type) {
	case IMSG_CRYPT_LOOKUP:
		portal_lookup(imsg->hdr.peerid, &q);
		break;
	case IMSG_CRYPT_CODE_ISSUE:
		portal_code_issue(imsg->hdr.peerid, &q);
		break;
	case IMSG_CRYPT_OPEN:
		portal_open(imsg->hdr.peerid, &q);
		break;
	case IMSG_CRYPT_REPLY:
		portal_reply(imsg->hdr.peerid, &q);
		break;
	default:
		fatalx("unexpected %s from portal",
		    proto_imsg_name(imsg->hdr.type));
	}
}

/* Control. */

static void
ctl_text(uint32_t peerid, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ctl_text(uint32_t peerid, const char *fmt, ...)
{
	struct proto_text	t;
	va_list			ap;

	memset(&t, 0, sizeof(t));
	va_start(ap, fmt);
	(void)vsnprintf(t.text, sizeof(t.text), fmt, ap);
	va_end(ap);
	proc_compose(PROC_CONTROL, IMSG_CONTROL_TEXT, peerid, -1, &t,
	    sizeof(t));
}

static void
ctl_fail(uint32_t peerid, const char *msg)
{
	struct proto_text	t;

	memset(&t, 0, sizeof(t));
	(void)strlcpy(t.text, msg, sizeof(t.text));
	proc_compose(PROC_CONTROL, IMSG_CONTROL_FAIL, peerid, -1, &t,
	    sizeof(t));
}

static void
ctl_end(uint32_t peerid)
{
	proc_compose(PROC_CONTROL, IMSG_CONTROL_END, peerid, -1, NULL, 0);
}

struct show_ctx {
	uint32_t	peerid;
	size_t		n;
};

static int
show_rcpt_cb(void *arg, const struct vault_rcpt *r)
{
	struct show_ctx	*sc = arg;
	char		 erc[PROTO_ADDR_MAX], exp[32];

	log_escape(erc, sizeof(erc), r->rcpt, strlen(r->rcpt));
	fmt_time(r->expires, exp, sizeof(exp));
	ctl_text(sc->peerid, "    %u %s %s %s expires %s%s", r->idx, erc,
	    r->level == DECISION_SECURE_2FA ? "2fa" : "1fa",
	    rcpt_state_name(r->state), exp,
	    (r->flags & SEAL_RCPT_READ_NOTIFY) ? " read-notify" : "");
	return 0;
}

static int
show_msg_cb(void *arg, const struct vault_msg *m)
{
	struct show_ctx	*sc = arg;
	char		 es[PROTO_ADDR_MAX], esub[PROTO_SUBJECT_MAX];
	char		 created[32];

	log_escape(es, sizeof(es), m->sender, strlen(m->sender));
	log_escape(esub, sizeof(esub), m->subject, strlen(m->subject));
	fmt_time(m->created, created, sizeof(created));
	ctl_text(sc->peerid, "%s %s %s size %lld from <%s> key %s subject "
	    "\"%s\"%s", m->msgid, created, m->state == VMSG_SHREDDED ?
	    "shredded" : "sealed", (long long)m->size, es,
	    m->key_id[0] != '\0' ? m->key_id : "-", esub,
	    m->hide_subject ? " (hidden)" : "");
	(void)st->rcpt_list(st, m->msgid, show_rcpt_cb, sc);
	sc->n++;
	return 0;
}

static int
log_event_cb(void *arg, const struct vault_event *e)
{
	struct show_ctx	*sc = arg;
	char		 when[32];

	fmt_time(e->time, when, sizeof(when));
	ctl_text(sc->peerid, "%s %s %s%s%s%s%s", when,
	    crypt_event_name(e->event), e->rcpt[0] != '\0' ? e->rcpt : "-",
	    e->client[0] != '\0' ? " client " : "", e->client,
	    e->detail[0] != '\0' ? ": " : "", e->detail);
	sc->n++;
	return 0;
}

struct revoke_ctx {
	const char		*rcpt;
	struct rcpt_vec		 rv;
};

static int
revoke_cb(void *arg, const struct vault_rcpt *r)
{
	struct revoke_ctx	*rc = arg;

	if (rc->rcpt[0] != '\0' && !table_address_equal(rc->rcpt, r->rcpt))
		return 0;
	return rcpt_vec_cb(&rc->rv, r);
}

static void
ctl_revoke(uint32_t peerid, const struct proto_revoke *rv)
{
	struct revoke_ctx	rc;
	struct vault_msg	m;
	size_t			i, n = 0;
	int			r;

	if ((r = st->msg_get(st, rv->msgid, &m)) != 0) {
		ctl_fail(peerid, r == 1 ? "no such secured message" :
		    "vault unavailable");
		return;
	}
	memset(&rc, 0, sizeof(rc));
	rc.rcpt = rv->rcpt;
	if (st->rcpt_list(st, rv->msgid, revoke_cb, &rc) == -1) {
		ctl_fail(peerid, "vault unavailable");
		return;
	}
	if (rc.rv.n == 0 && rv->rcpt[0] != '\0') {
		ctl_fail(peerid, "no such recipient of that message");
		return;
	}
	for (i = 0; i < rc.rv.n; i++) {
		if (rc.rv.v[i].state == VRCPT_REVOKED ||
		    rc.rv.v[i].state == VRCPT_EXPIRED)
			continue;
		rc.rv.v[i].state = VRCPT_REVOKED;
		if (st->rcpt_update(st, &rc.rv.v[i]) == -1)
			continue;
		(void)st->code_del(st, rc.rv.v[i].token_hash, -1);
		audit(rv->msgid, rc.rv.v[i].rcpt, CRYPT_EV_REVOKED, NULL,
		    "smtpctl");
		n++;
	}
	free(rc.rv.v);
	ctl_text(peerid, "%s: %zu recipient(s) revoked", rv->msgid, n);
	if (shred_if_dead(rv->msgid)) {
		audit(rv->msgid, "", CRYPT_EV_REVOKED, NULL,
		    "message shredded");
		ctl_text(peerid, "%s: shredded: key destroyed, blob removed",
		    rv->msgid);
	}
	ctl_end(peerid);
}

void
crypt_control(struct imsg *imsg)
{
	struct proto_msgref	ref;
	struct proto_revoke	rv;
	struct show_ctx		sc;
	struct vault_msg	m;
	int			r;

	memset(&sc, 0, sizeof(sc));
	sc.peerid = imsg->hdr.peerid;
	switch (imsg->hdr.type) {
	case IMSG_CRYPT_CTL_SHOW:
	case IMSG_CRYPT_CTL_LOG:
		PROTO_CHECK_LEN(imsg, struct proto_msgref);
		memcpy(&ref, imsg->data, sizeof(ref));
		PROTO_CHECK_STR(ref.msgid);
		if ((ref.msgid[0] != '\0' || imsg->hdr.type ==
		    IMSG_CRYPT_CTL_LOG) && !msgid_valid(ref.msgid)) {
			ctl_fail(sc.peerid, "bad message id");
			return;
		}
		if (imsg->hdr.type == IMSG_CRYPT_CTL_LOG) {
			if (st->audit_list(st, ref.msgid, log_event_cb,
			    &sc) == -1)
				ctl_fail(sc.peerid, "vault unavailable");
			else if (sc.n == 0)
				ctl_fail(sc.peerid, "no such secured message");
			else
				ctl_end(sc.peerid);
			return;
		}
		if (ref.msgid[0] == '\0')
			r = st->msg_list(st, show_msg_cb, &sc);
		else if ((r = st->msg_get(st, ref.msgid, &m)) == 0)
			r = show_msg_cb(&sc, &m);
		if (r == -1)
			ctl_fail(sc.peerid, "vault unavailable");
		else if (r == 1)
			ctl_fail(sc.peerid, "no such secured message");
		else
			ctl_end(sc.peerid);
		return;
	case IMSG_CRYPT_CTL_REVOKE:
		PROTO_CHECK_LEN(imsg, struct proto_revoke);
		memcpy(&rv, imsg->data, sizeof(rv));
		PROTO_CHECK_STR(rv.msgid);
		PROTO_CHECK_STR(rv.rcpt);
		if (!msgid_valid(rv.msgid)) {
			ctl_fail(sc.peerid, "bad message id");
			return;
		}
		ctl_revoke(sc.peerid, &rv);
		return;
	default:
		fatalx("unexpected %s from control",
		    proto_imsg_name(imsg->hdr.type));
	}
}
