/*
 * fuzz_queue_env.c: the envelope records of the spool
 * (queue_env_decode, smtpd/queue_fs.c; sealrelay-spool(5)).
 *
 * Input: an envelope file.  A corrupt one must be refused with a reason
 * (the queue quarantines it), never crash.  Invariants checked: a refused
 * file leaves a terminated reason; an accepted one has recipients, uses
 * no more bytes than given, and survives a round trip: encoded again and
 * decoded, it gives the same envelope.
 */
#include <string.h>

#include "../../smtpd/queue.h"
#include "fuzz.h"

#define SAME_STR(a, b, what) do {					\
	if (strcmp((a), (b)) != 0)					\
		fuzz_fail("round trip changes %s", what);		\
} while (0)
#define SAME_NUM(a, b, what) do {					\
	if ((a) != (b))							\
		fuzz_fail("round trip changes %s", what);		\
} while (0)

static void
compare(const struct qenv *a, const struct qenv *b)
{
	const struct qrcpt	*r, *s;
	size_t			 i;

	SAME_STR(a->id, b->id, "id");
	SAME_NUM(a->ctime, b->ctime, "ctime");
	SAME_NUM(a->size, b->size, "size");
	SAME_NUM(a->listener, b->listener, "listener");
	SAME_NUM(a->local, b->local, "local");
	SAME_NUM(a->body, b->body, "body");
	SAME_NUM(a->smtputf8, b->smtputf8, "smtputf8");
	SAME_NUM(a->dsn_ret, b->dsn_ret, "dsn_ret");
	SAME_NUM(a->flags, b->flags, "flags");
	SAME_STR(a->src, b->src, "src");
	SAME_STR(a->helo, b->helo, "helo");
	SAME_STR(a->auth_user, b->auth_user, "auth_user");
	SAME_STR(a->sender, b->sender, "sender");
	SAME_STR(a->envid, b->envid, "envid");
	SAME_STR(a->tls, b->tls, "tls");
	SAME_STR(a->parent, b->parent, "parent");
	if (a->parent[0] != '\0')
		SAME_NUM(a->parent_idx, b->parent_idx, "parent_idx");
	SAME_NUM(a->nrcpt, b->nrcpt, "nrcpt");
	for (i = 0; i < a->nrcpt; i++) {
		r = &a->rcpt[i];
		s = &b->rcpt[i];
		SAME_STR(r->rcpt, s->rcpt, "rcpt");
		SAME_STR(r->orcpt, s->orcpt, "orcpt");
		SAME_NUM(r->notify, s->notify, "notify");
		SAME_NUM(r->decision, s->decision, "decision");
		SAME_STR(r->action, s->action, "action");
		SAME_STR(r->rules, s->rules, "rules");
		SAME_STR(r->phone, s->phone, "phone");
		SAME_STR(r->lang, s->lang, "lang");
		SAME_NUM(r->expire_days, s->expire_days, "expire_days");
		SAME_NUM(r->sflags, s->sflags, "sflags");
	}
}

FUZZ_TARGET(queue_env)
{
	struct qenv	 env, again;
	struct qbuf	 b;
	char		*buf, err[256], err2[256];
	size_t		 used, used2;

	/* Exactly size bytes, as read_env() hands them over. */
	if ((buf = malloc(size ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(buf, data, size);
	err[0] = '\0';
	if (queue_env_decode(buf, size, &env, &used, err, sizeof(err)) == -1) {
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			fuzz_fail("refused without a reason");
		free(buf);
		return 0;
	}
	if (used > size || used == 0)
		fuzz_fail("used %zu of %zu", used, size);
	if (env.nrcpt == 0 || !queue_id_valid(env.id))
		fuzz_fail("accepted without recipients or id");

	qbuf_init(&b);
	queue_env_encode(&b, &env);
	if (queue_env_decode(b.buf, b.len, &again, &used2, err2,
	    sizeof(err2)) == -1)
		fuzz_fail("round trip refused: %s", err2);
	if (used2 != b.len)
		fuzz_fail("round trip uses %zu of %zu", used2, b.len);
	compare(&env, &again);
	queue_env_free(&again);
	qbuf_free(&b);
	queue_env_free(&env);
	free(buf);
	return 0;
}
