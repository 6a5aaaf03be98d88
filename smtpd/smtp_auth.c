/*
 * smtp_auth.c: AUTH PLAIN and LOGIN in the SMTP front end (RFC 4954).
 *
 * Decodes what the client sends, hands user and password to policyd in
 * IMSG_POLICY_AUTH (the front end never sees a hash) and turns policyd's
 * IMSG_SMTP_AUTH_RESULT into the reply.  Offered and accepted only under
 * TLS, on listeners with an auth table.  Invariant: a password lives in
 * this process only until it is sent, then it is wiped; it is never
 * logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "proc.h"
#include "smtp.h"
#include "util.h"

static void	smtp_auth_send(struct smtp_session *, const char *, char *);

int
smtp_auth_check(struct smtp_session *s, const char *args)
{
	if (s->sl->l->auth == NULL) {
		smtp_session_bad(s, "503 5.5.1 AUTH not available");
		return -1;
	}
	if (!(s->flags & SMTP_F_TLS)) {
		smtp_session_bad(s, "538 5.7.11 Encryption required for "
		    "requested authentication mechanism");
		return -1;
	}
	if (s->state == SMTP_S_INIT) {
		smtp_session_bad(s, "503 5.5.1 Send EHLO first");
		return -1;
	}
	if (s->flags & SMTP_F_AUTH) {
		smtp_session_bad(s, "503 5.5.1 Already authenticated");
		return -1;
	}
	if (s->tx != NULL) {
		smtp_session_bad(s, "503 5.5.1 AUTH not allowed in a mail "
		    "transaction");
		return -1;
	}
	return 0;
}

void
smtp_auth_proceed(struct smtp_session *s, const char *args)
{
	char		 mech[16], user[PROTO_NAME_MAX], pass[PROTO_NAME_MAX];
	const char	*init;
	size_t		 n;

	n = strcspn(args, " ");
	if (n == 0 || n >= sizeof(mech)) {
		smtp_session_bad(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	memcpy(mech, args, n);
	mech[n] = '\0';
	init = args + n;
	while (*init == ' ')
		init++;
	if (strcasecmp(mech, "PLAIN") == 0) {
		if (*init == '\0') {
			smtp_session_enter(s, SMTP_S_AUTH_PLAIN);
			smtp_session_reply(s, "334 ");
			return;
		}
		if (smtp_parse_auth_plain(init, user, sizeof(user), pass,
		    sizeof(pass)) == -1) {
			smtp_session_bad(s, "501 5.5.2 Cannot decode "
			    "AUTH PLAIN response");
			return;
		}
		smtp_auth_send(s, user, pass);
		return;
	}
	if (strcasecmp(mech, "LOGIN") == 0) {
		if (*init == '\0') {
			smtp_session_enter(s, SMTP_S_AUTH_USER);
			smtp_session_reply(s, "334 VXNlcm5hbWU6");
			return;
		}
		smtp_session_enter(s, SMTP_S_AUTH_USER);
		smtp_auth_line(s, init);
		return;
	}
	smtp_session_bad(s, "504 5.5.4 Unrecognized authentication type");
}

void
smtp_auth_line(struct smtp_session *s, const char *line)
{
	char	user[PROTO_NAME_MAX], pass[PROTO_NAME_MAX];

	if (strcmp(line, "*") == 0) {
		if (s->login_user != NULL) {
			freezero(s->login_user, strlen(s->login_user));
			s->login_user = NULL;
		}
		smtp_session_enter(s, SMTP_S_HELO);
		smtp_session_bad(s, "501 5.7.0 Authentication cancelled");
		return;
	}
	switch (s->state) {
	case SMTP_S_AUTH_PLAIN:
		smtp_session_enter(s, SMTP_S_HELO);
		if (smtp_parse_auth_plain(line, user, sizeof(user), pass,
		    sizeof(pass)) == -1) {
			smtp_session_bad(s, "501 5.5.2 Cannot decode "
			    "AUTH PLAIN response");
			return;
		}
		smtp_auth_send(s, user, pass);
		return;
	case SMTP_S_AUTH_USER:
		if (smtp_parse_auth_login(line, user, sizeof(user)) == -1) {
			smtp_session_enter(s, SMTP_S_HELO);
			smtp_session_bad(s, "501 5.5.2 Cannot decode "
			    "AUTH LOGIN user name");
			return;
		}
		s->login_user = xstrdup(user);
		smtp_session_enter(s, SMTP_S_AUTH_PASS);
		smtp_session_reply(s, "334 UGFzc3dvcmQ6");
		return;
	case SMTP_S_AUTH_PASS:
		smtp_session_enter(s, SMTP_S_HELO);
		if (smtp_parse_auth_login(line, pass, sizeof(pass)) == -1) {
			freezero(s->login_user, strlen(s->login_user));
			s->login_user = NULL;
			smtp_session_bad(s, "501 5.5.2 Cannot decode "
			    "AUTH LOGIN password");
			return;
		}
		(void)strlcpy(user, s->login_user, sizeof(user));
		freezero(s->login_user, strlen(s->login_user));
		s->login_user = NULL;
		smtp_auth_send(s, user, pass);
		return;
	default:
		fatalx("%s: state %s", __func__, smtp_strstate(s->state));
	}
}

/* The check is policyd's: the front end never sees a hash. */
static void
smtp_auth_send(struct smtp_session *s, const char *user, char *pass)
{
	struct proto_auth	auth;

	memset(&auth, 0, sizeof(auth));
	auth.reqid = s->id;
	auth.listener = s->sl->l->id;
	(void)strlcpy(auth.user, user, sizeof(auth.user));
	(void)strlcpy(auth.pass, pass, sizeof(auth.pass));
	explicit_bzero(pass, strlen(pass));
	smtp_session_ask_policy(s, SMTP_W_AUTH, IMSG_POLICY_AUTH, &auth,
	    sizeof(auth));
	explicit_bzero(&auth.pass, sizeof(auth.pass));
	/* Remembered until the answer, to record who logged in. */
	s->login_user = xstrdup(user);
	smtp_session_enter(s, SMTP_S_HELO);
}

void
smtp_auth_result(struct smtp_session *s, struct proto_result *res)
{
	char	esc[PROTO_NAME_MAX * 4];

	smtp_esc(s->login_user ? s->login_user : "", esc, sizeof(esc));
	if (res->status == PROTO_OK) {
		s->flags |= SMTP_F_AUTH;
		(void)strlcpy(s->auth_user, s->login_user,
		    sizeof(s->auth_user));
		log_info("session %016llx: authenticated as %s",
		    (unsigned long long)s->id, esc);
		smtp_session_reply(s, "235 2.7.0 Authentication succeeded");
	} else if (res->status == PROTO_TEMPFAIL) {
		log_info("session %016llx: authentication of %s: "
		    "temporary failure", (unsigned long long)s->id, esc);
		smtp_session_reply(s, "454 4.7.0 Temporary authentication "
		    "failure");
	} else {
		log_info("session %016llx: authentication of %s "
		    "failed", (unsigned long long)s->id, esc);
		smtp_session_bad(s, "535 5.7.8 Authentication credentials "
		    "invalid");
	}
	freezero(s->login_user, strlen(s->login_user));
	s->login_user = NULL;
}
