/*
 * policy_smtp.c: policyd's answers to the smtp front end.
 *
 * IMSG_POLICY_AUTH: is this user/password right for this listener's
 * auth table (user -> crypt(3) hash: yescrypt, bcrypt, SHA-512)?
 * Answered with IMSG_SMTP_AUTH_RESULT.  IMSG_POLICY_RCPT: may this
 * client (address, listener tag, authenticated user) send to this
 * recipient?  The ruleset's first matching line decides; no match is
 * 550 5.7.1.  Answered with IMSG_SMTP_RCPT_RESULT.
 *
 * Invariants: the front end never sees a hash; a password is wiped as
 * soon as it was hashed; an unknown user costs the same hashing as a
 * known one, so timing does not tell which users exist.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policyd.h"
#include "proc.h"
#include "proto.h"
#include "ruleset.h"
#include "util.h"

static void	policy_smtp_auth(struct imsgev *, struct imsg *);
static void	policy_smtp_rcpt(struct imsgev *, struct imsg *);
static const struct listener *policy_listener(uint32_t);
static int	policy_ct_streq(const char *, const char *);
static const char *policy_dummy_hash(void);

static struct crypt_data	policy_crypt;

static const struct listener *
policy_listener(uint32_t id)
{
	const struct listener	*l;

	TAILQ_FOREACH(l, &policy_cfg->listeners, entry)
		if (l->id == id)
			return l;
	return NULL;
}

/* Constant time in the length of b (the stored hash). */
static int
policy_ct_streq(const char *a, const char *b)
{
	size_t		la = strlen(a), lb = strlen(b), i;
	unsigned char	d = la != lb;

	for (i = 0; i < lb; i++)
		d |= (unsigned char)(b[i] ^ (i < la ? a[i] : 0));
	return d == 0;
}

/*
 * A yescrypt hash of random bytes, made once: an unknown user's password
 * is checked against it, so the answer takes as long as for a real one.
 */
static const char *
policy_dummy_hash(void)
{
	static char	 hash[CRYPT_OUTPUT_SIZE];
	char		 salt[CRYPT_GENSALT_OUTPUT_SIZE], pw[32];
	const char	*h;
	size_t		 i;

	if (hash[0] != '\0')
		return hash;
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		fatalx("crypt_gensalt: yescrypt unavailable");
	arc4random_buf(pw, sizeof(pw) - 1);
	for (i = 0; i < sizeof(pw) - 1; i++)
		pw[i] = 'a' + ((unsigned char)pw[i] % 26);
	pw[sizeof(pw) - 1] = '\0';
	h = crypt_r(pw, salt, &policy_crypt);
	if (h == NULL || h[0] == '*')
		fatalx("crypt: cannot make the dummy hash");
	(void)strlcpy(hash, h, sizeof(hash));
	explicit_bzero(pw, sizeof(pw));
	return hash;
}

static void
policy_smtp_auth(struct imsgev *iev, struct imsg *imsg)
{
	struct proto_auth	 a;
	struct proto_result	 res;
	const struct listener	*l;
	const char		*stored = NULL, *h;
	char			 esc[PROTO_NAME_MAX * 4];
	int			 ok = 0;

	PROTO_CHECK_LEN(imsg, struct proto_auth);
	memcpy(&a, imsg->data, sizeof(a));
	explicit_bzero(imsg->data, imsg->datalen);
	PROTO_CHECK_STR(a.user);
	PROTO_CHECK_STR(a.pass);

	memset(&res, 0, sizeof(res));
	res.reqid = a.reqid;
	if ((l = policy_listener(a.listener)) == NULL)
		fatalx("auth for unknown listener %u", a.listener);
	if (l->auth != NULL)
		stored = table_get(l->auth, a.user);
	/* Always hash: unknown users and bad entries cost the same. */
	h = crypt_r(a.pass, stored != NULL && stored[0] == '$' ? stored :
	    policy_dummy_hash(), &policy_crypt);
	explicit_bzero(a.pass, sizeof(a.pass));
	if (stored != NULL && h != NULL && h[0] != '*' &&
	    policy_ct_streq(h, stored))
		ok = 1;
	explicit_bzero(policy_crypt.output, sizeof(policy_crypt.output));
	log_escape(esc, sizeof(esc), a.user, strlen(a.user));
	if (ok) {
		res.status = PROTO_OK;
		log_info("auth: user %s accepted on listener %u", esc,
		    a.listener);
	} else {
		res.status = PROTO_PERMFAIL;
		(void)strlcpy(res.text, "535 5.7.8 Authentication credentials "
		    "invalid", sizeof(res.text));
		log_info("auth: user %s refused on listener %u%s", esc,
		    a.listener, stored == NULL ? " (unknown user)" : "");
	}
	/* hdr.peerid is the front end's request number: echoed. */
	if (imsgev_compose(iev, IMSG_SMTP_AUTH_RESULT, imsg->hdr.peerid, 0,
	    -1, &res, sizeof(res)) == -1)
		fatal("compose auth result");
}

static void
policy_smtp_rcpt(struct imsgev *iev, struct imsg *imsg)
{
	struct proto_rcpt_check	 rc;
	struct proto_result	 res;
	struct ruleset_query	 q;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	const struct listener	*l;
	const struct match	*m;
	char			 esc[PROTO_ADDR_MAX * 4];

	PROTO_CHECK_LEN(imsg, struct proto_rcpt_check);
	memcpy(&rc, imsg->data, sizeof(rc));
	PROTO_CHECK_STR(rc.src);
	PROTO_CHECK_STR(rc.auth_user);
	PROTO_CHECK_STR(rc.sender);
	PROTO_CHECK_STR(rc.rcpt);
	if ((l = policy_listener(rc.listener)) == NULL)
		fatalx("rcpt for unknown listener %u", rc.listener);

	memset(&q, 0, sizeof(q));
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, rc.src, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		q.src = (struct sockaddr *)sin;
		q.srclen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, rc.src, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		q.src = (struct sockaddr *)sin6;
		q.srclen = sizeof(*sin6);
	}
	q.local = rc.local != 0;
	q.tag = l->tag;
	q.auth_user = rc.auth_user[0] != '\0' ? rc.auth_user : NULL;
	q.rcpt = rc.rcpt;
	m = ruleset_match(policy_cfg, &q);

	memset(&res, 0, sizeof(res));
	res.reqid = rc.reqid;
	log_escape(esc, sizeof(esc), rc.rcpt, strlen(rc.rcpt));
	if (m == NULL) {
		res.status = PROTO_PERMFAIL;
		(void)strlcpy(res.text, "550 5.7.1 Relaying denied",
		    sizeof(res.text));
		log_info("rcpt <%s> from [%s]: no match, relaying "
		    "denied", esc, rc.src);
	} else {
		res.status = PROTO_OK;
		log_debug("rcpt <%s> from [%s]: %s:%d action %s", esc,
		    rc.src, m->file, m->line,
		    m->action != NULL ? m->action->name : "-");
	}
	if (imsgev_compose(iev, IMSG_SMTP_RCPT_RESULT, imsg->hdr.peerid, 0,
	    -1, &res, sizeof(res)) == -1)
		fatal("compose rcpt result");
}

void
policy_smtp_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_POLICY_AUTH:
		policy_smtp_auth(iev, imsg);
		break;
	case IMSG_POLICY_RCPT:
		policy_smtp_rcpt(iev, imsg);
		break;
	default:
		fatalx("unexpected %s from smtp",
		    proto_imsg_name(imsg->hdr.type));
	}
}
