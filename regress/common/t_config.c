/*
 * t_config.c: unit tests of the smtpd.conf(5) parser (common/parse.c),
 * tables (common/table.c) and match evaluation (common/ruleset.c).
 *
 * Valid fixtures are checked field by field; each invalid fixture must
 * produce exactly the listed "FILE:LINE: message" lines.  Fixtures live
 * in regress/common/conf (under $SEAL_SRCDIR if set); the test chdirs
 * there so file names in messages are short and stable.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "defaults.h"
#include "ruleset.h"
#include "../lib/tap.h"

struct invalid_case {
	const char	*file;
	const char	*errors;
};

static const struct invalid_case invalid_cases[] = {
	{ "invalid/unknown-keyword.conf",
	  "invalid/unknown-keyword.conf:2: unknown keyword \"lisen\"\n" },
	{ "invalid/undefined-pki.conf",
	  "invalid/undefined-pki.conf:3: listener 127.0.0.1:25 uses pki "
	  "\"x\" which is not defined\n"
	  "invalid/undefined-pki.conf:4: listener [::1]:465 uses pki "
	  "\"nokey\" which has no key\n" },
	{ "invalid/tls-no-pki.conf",
	  "invalid/tls-no-pki.conf:1: tls needs a pki\n"
	  "invalid/tls-no-pki.conf:2: smtps needs a pki\n"
	  "invalid/tls-no-pki.conf:3: tls-require needs a pki\n"
	  "invalid/tls-no-pki.conf:4: listener 127.0.0.1:2525 has a pki but "
	  "no tls, tls-require or smtps\n" },
	{ "invalid/bad-port.conf",
	  "invalid/bad-port.conf:1: bad port \"99999\"\n"
	  "invalid/bad-port.conf:2: bad port \"0\"\n"
	  "invalid/bad-port.conf:3: bad port \"twentyfive\"\n"
	  "invalid/bad-port.conf:4: expected a number after \"port\", "
	  "got end of line\n" },
	{ "invalid/auth-no-tls.conf",
	  "invalid/auth-no-tls.conf:2: auth requires tls, tls-require or "
	  "smtps\n"
	  "invalid/auth-no-tls.conf:6: auth table \"list\" must map users "
	  "to password hashes\n" },
	{ "invalid/unterminated-string.conf",
	  "invalid/unterminated-string.conf:1: unterminated string\n" },
	{ "invalid/undefined-macro.conf",
	  "invalid/undefined-macro.conf:3: macro \"lam\" is not defined\n"
	  "invalid/undefined-macro.conf:4: macro \"me\" is not defined\n" },
	{ "invalid/table-twice.conf",
	  "invalid/table-twice.conf:2: table \"t\" is defined twice\n" },
	{ "invalid/include-missing.conf",
	  "invalid/include-missing.conf:2: cannot open "
	  "\"invalid/inc/nonexistent.conf\": No such file or directory\n"
	  "invalid/include-missing.conf:3: cannot open "
	  "\"/nonexistent/sealrelay.conf\": No such file or directory\n" },
	{ "invalid/undefined-action.conf",
	  "invalid/undefined-action.conf:3: action \"delivr\" is not "
	  "defined\n"
	  "invalid/undefined-action.conf:4: action \"nowhere\" is not "
	  "defined\n" },
	{ "invalid/duplicate-listener.conf",
	  "invalid/duplicate-listener.conf:2: listener 127.0.0.1:25 is "
	  "already defined at invalid/duplicate-listener.conf:1\n"
	  "invalid/duplicate-listener.conf:4: listener [::1]:2525 is "
	  "already defined at invalid/duplicate-listener.conf:3\n" },
	{ "invalid/include-cycle.conf",
	  "invalid/inc/cycle-b.conf:2: include cycle: "
	  "\"invalid/inc/../include-cycle.conf\" is already being read\n" },
	{ "invalid/include-self.conf",
	  "invalid/include-self.conf:1: include cycle: "
	  "\"invalid/include-self.conf\" is already being read\n" },
	{ "invalid/include-deep.conf",
	  "invalid/inc/deep8.conf:1: includes nested too deep (limit 8)\n" },
	{ "invalid/multi.conf",
	  "invalid/multi.conf:4: unknown keyword \"lisen\"\n"
	  "invalid/multi.conf:5: bad port \"99999\"\n"
	  "invalid/multi.conf:7: spool \"relative/path\" is not an "
	  "absolute path\n"
	  "invalid/multi.conf:8: bad listen address \"999.1.1.1\": an IPv4 "
	  "or IPv6 address, or localhost\n"
	  "invalid/multi.conf:9: hostname is set twice\n"
	  "invalid/multi.conf:10: unknown listen option \"bogus-option\"\n"
	  "invalid/multi.conf:11: limit recipients: \"0\" is zero (must be "
	  "1 to 100000)\n"
	  "invalid/multi.conf:12: expected action name, got end of line\n"
	  "invalid/multi.conf:15: table \"t\" mixes list entries and "
	  "key = value entries\n"
	  "invalid/multi.conf:18: tls needs a pki\n" },
	{ "invalid/bad-limits.conf",
	  "invalid/bad-limits.conf:1: limit recipients: \"0\" is zero "
	  "(must be 1 to 100000)\n"
	  "invalid/bad-limits.conf:2: limit message-size: \"35X\" has a bad "
	  "suffix (expected K, M or G)\n"
	  "invalid/bad-limits.conf:3: limit message-size: \"100G\" is too "
	  "large (must be 1024 to 4294967296 bytes)\n"
	  "invalid/bad-limits.conf:4: limit line-max: \"100\" is too small "
	  "(must be 512 to 65536 bytes)\n"
	  "invalid/bad-limits.conf:5: limit timeout-command: \"10w\" has a "
	  "bad suffix (expected s, m, h or d)\n"
	  "invalid/bad-limits.conf:6: limit sessions: \"-1\" is not a "
	  "number\n"
	  "invalid/bad-limits.conf:7: limit sessions: "
	  "\"99999999999999999999999\" is too large (must be 1 to 100000)\n"
	  "invalid/bad-limits.conf:8: limit expire: \"0s\" is zero (must be "
	  "60 to 2592000 seconds)\n"
	  "invalid/bad-limits.conf:9: unknown limit \"frobs\"\n"
	  "invalid/bad-limits.conf:10: expected a value, got end of line\n"
	  "invalid/bad-limits.conf:11: limit retry-min (7200s) is larger "
	  "than retry-max (3600s)\n" },
	{ "invalid/table-file.conf",
	  "invalid/tables/mixed.txt:3: key-value line in a list table "
	  "(line 2 has one key)\n"
	  "invalid/tables/mixed.txt:5: duplicate key \"c.example.org\"\n"
	  "invalid/table-file.conf:2: cannot open "
	  "\"invalid/tables/missing.txt\": No such file or directory\n"
	  "invalid/table-file.conf:3: unsupported table source "
	  "\"db:/etc/aliases.db\" (expected { ... } or file:PATH)\n" },
	{ "invalid/bad-match.conf",
	  "invalid/bad-match.conf:3: from is given twice\n"
	  "invalid/bad-match.conf:4: bad address \"10.0.0.0/33\": expected "
	  "ADDRESS or ADDRESS/PREFIX\n"
	  "invalid/bad-match.conf:5: unknown \"from\" criterion "
	  "\"somewhere\" (expected any, local, src, auth or tag)\n"
	  "invalid/bad-match.conf:6: match needs an action\n"
	  "invalid/bad-match.conf:8: bad address \"postmaster\": expected "
	  "user@domain\n"
	  "invalid/bad-match.conf:10: unknown \"from\" criterion \"action\" "
	  "(expected any, local, src, auth or tag)\n"
	  "invalid/bad-match.conf:11: unknown match option \"to\" (expected "
	  "from, for, action or policy)\n"
	  "invalid/bad-match.conf:7: table \"nets\": \"not-an-address\" is "
	  "not an address or ADDRESS/PREFIX\n"
	  "invalid/bad-match.conf:9: table \"nope\" is not defined\n" },
	{ "invalid/bad-relay.conf",
	  "invalid/bad-relay.conf:2: bad relay URL \"ftp://example.org\": "
	  "expected smtp://, smtp+tls://, smtps:// or smtp+notls://\n"
	  "invalid/bad-relay.conf:3: auth needs a host: the credentials are "
	  "for one relay host\n"
	  "invalid/bad-relay.conf:4: smtp+notls:// contradicts tls verify\n"
	  "invalid/bad-relay.conf:5: bad relay URL "
	  "\"smtps://mx.example.org:0\": bad port\n"
	  "invalid/bad-relay.conf:6: bad tls level \"sometimes\" (expected "
	  "none, may, encrypt or verify)\n"
	  "invalid/bad-relay.conf:7: bad relay URL \"smtp://[::1\": missing "
	  "\"]\"\n"
	  "invalid/bad-relay.conf:8: unknown action type \"frobnicate\" "
	  "(expected relay or maildir)\n"
	  "invalid/bad-relay.conf:9: maildir \"relative/Maildir\" is not an "
	  "absolute path or ~/PATH\n"
	  "invalid/bad-relay.conf:12: auth would send credentials in the "
	  "clear: remove tls none or smtp+notls://\n"
	  "invalid/bad-relay.conf:13: smtps:// contradicts tls may\n"
	  "invalid/bad-relay.conf:15: action \"ok\" is defined twice\n"
	  "invalid/bad-relay.conf:16: unterminated string\n"
	  "invalid/bad-relay.conf:10: table \"nosuch\" is not defined\n" },
	{ "invalid/bad-ca.conf",
	  "invalid/bad-ca.conf:2: ca \"one\" is defined twice\n"
	  "invalid/bad-ca.conf:3: expected \"cafile\", got \"/z.pem\"\n"
	  "invalid/bad-ca.conf:4: expected a file name, got end of line\n"
	  "invalid/bad-ca.conf:12: ca is given twice\n"
	  "invalid/bad-ca.conf:14: expected a <table> after \"tls-policy\", "
	  "got \"levels\"\n"
	  "invalid/bad-ca.conf:8: ca \"nosuch\" is not defined\n"
	  "invalid/bad-ca.conf:9: tls-policy table \"levels\": \"a.example\" "
	  "needs a tls level (none, may, encrypt or verify)\n"
	  "invalid/bad-ca.conf:10: tls-policy table \"low\": \"b.example\" = "
	  "may is below the tls level of action \"c\"\n"
	  "invalid/bad-ca.conf:11: tls-policy table \"list\": \"c.example\" "
	  "needs a tls level (none, may, encrypt or verify)\n"
	  "invalid/bad-ca.conf:13: table \"nosuch\" is not defined\n" },
	{ "invalid/bad-tables.conf",
	  "invalid/bad-tables.conf:1: table \"mix\" mixes list entries and "
	  "key = value entries\n"
	  "invalid/bad-tables.conf:3: table \"dup\": duplicate key \"a\"\n"
	  "invalid/bad-tables.conf:5: table \"unterminated\": missing "
	  "\"}\"\n" },
	{ "invalid/bad-tokens.conf",
	  "invalid/bad-tokens.conf:1: unterminated table reference "
	  "\"<nets\": missing \">\"\n"
	  "invalid/bad-tokens.conf:2: bad macro name \"1abc\": letters, "
	  "digits and \"_\" only, not starting with a digit\n"
	  "invalid/bad-tokens.conf:3: unexpected \"extra\"\n"
	  "invalid/bad-tokens.conf:4: expected a keyword, got \"hostname\"\n"
	  "invalid/bad-tokens.conf:5: expected a keyword, got \"{\"\n" },
	{ "invalid/bad-policy.conf",
	  "invalid/bad-policy.conf:2: keywords \"k\" is empty\n"
	  "invalid/bad-policy.conf:3: regex \"r\": missing closing "
	  "parenthesis at offset 9\n"
	  "invalid/bad-policy.conf:4: unknown detector \"ssn\" (expected "
	  "bsn, iban or card)\n"
	  "invalid/bad-policy.conf:5: expected 1fa or 2fa after \"secure\", "
	  "got \"3fa\"\n"
	  "invalid/bad-policy.conf:6: unexpected \">\"\n"
	  "invalid/bad-policy.conf:7: expected subject, body, attachments or "
	  "headers after \"in\", got \"nowhere\"\n"
	  "invalid/bad-policy.conf:8: rule needs a score\n"
	  "invalid/bad-policy.conf:10: unknown policy statement \"bogus\" "
	  "(expected keywords, regex, detect, allow, phones, downgrade, "
	  "trigger, secure, relay, quarantine or reject)\n"
	  "invalid/bad-policy.conf:11: score \"-1\" is too small (must be 0 "
	  "to 1000000)\n"
	  "invalid/bad-policy.conf:12: unknown rule option \"color\" "
	  "(expected in, min or score)\n"
	  "invalid/bad-policy.conf:14: keywords \"k2\" is defined twice in "
	  "policy \"p\"\n"
	  "invalid/bad-policy.conf:16: policy \"p\" is defined twice\n"
	  "invalid/bad-policy.conf:20: policy is given twice\n"
	  "invalid/bad-policy.conf:21: policy \"unclosed\": missing \"}\"\n"
	  "invalid/bad-policy.conf:9: table \"nosuch\" is not defined\n"
	  "invalid/bad-policy.conf:13: table \"list\" must map recipients "
	  "to phone numbers\n"
	  "invalid/bad-policy.conf:19: policy \"q\" is not defined\n" },
	{ "invalid/bad-secure-expire.conf",
	  "invalid/bad-secure-expire.conf:3: secure-expire is given twice\n"
	  "invalid/bad-secure-expire.conf:4: secure-expire: \"forever\" "
	  "is not a number\n"
	  "invalid/bad-secure-expire.conf:5: secure-expire: \"400d\" "
	  "is too large (must be 1s to 365d)\n"
	  "invalid/bad-secure-expire.conf:6: unknown maildir option "
	  "\"frobnicate\"\n"
	  "invalid/bad-secure-expire.conf:2: action \"a\": secure-expire "
	  "(2592000s) is longer than secure-expire-max (1728000s)\n"
	  "invalid/bad-secure-expire.conf:7: action \"f\": secure-expire "
	  "(1209600s) is longer than secure-expire-max (432000s)\n" },
	{ "invalid/nonexistent.conf",
	  "invalid/nonexistent.conf:0: cannot open "
	  "\"invalid/nonexistent.conf\": No such file or directory\n" },
};

/* Parse path; *errs gets everything written to the error stream. */
static struct config *
parse(const char *path, char **errs)
{
	struct config	*conf;
	FILE		*fp;
	size_t		 len;

	*errs = NULL;
	if ((fp = open_memstream(errs, &len)) == NULL) {
		perror("open_memstream");
		exit(2);
	}
	conf = config_parse(path, fp);
	fclose(fp);
	return conf;
}

/* Parse a file that must be valid and say nothing. */
static struct config *
parse_valid(const char *path)
{
	struct config	*conf;
	char		*errs;

	conf = parse(path, &errs);
	ok(conf != NULL, "%s parses", path);
	is_str(errs, "", "%s: no messages", path);
	free(errs);
	if (conf == NULL) {
		fprintf(stderr, "# cannot go on without %s\n", path);
		exit(done_testing() | 1);
	}
	return conf;
}

static struct listener *
nth_listener(struct config *conf, int n)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (n-- == 0)
			return l;
	return NULL;
}

static struct match *
nth_match(struct config *conf, int n)
{
	struct match	*m;

	TAILQ_FOREACH(m, &conf->matches, entry)
		if (n-- == 0)
			return m;
	return NULL;
}

static int
count_listeners(struct config *conf)
{
	struct listener	*l;
	int		 n = 0;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		n++;
	return n;
}

static int
count_matches(struct config *conf)
{
	struct match	*m;
	int		 n = 0;

	TAILQ_FOREACH(m, &conf->matches, entry)
		n++;
	return n;
}

static int
listener_port(const struct listener *l)
{
	if (l->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&l->ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&l->ss)->sin_port);
}

static void
test_minimal(void)
{
	struct config	*conf;

	conf = parse_valid("valid/minimal.conf");
	ok(conf->hostname != NULL && conf->hostname[0] != '\0',
	    "minimal: hostname defaults to gethostname()");
	is_str(conf->path, "valid/minimal.conf", "minimal: path");
	is_str(conf->spool, SEAL_SPOOL, "minimal: default spool");
	is_str(conf->vault, SEAL_VAULT, "minimal: default vault");
	is_str(conf->empty, SEAL_EMPTY, "minimal: default chroot");
	is_str(conf->control_socket, SEAL_CONTROL_SOCKET,
	    "minimal: default control socket");
	is_int(conf->limits.max_line, DEF_MAX_LINE, "minimal: line-max");
	is_int(conf->limits.max_message_size, DEF_MAX_MESSAGE_SIZE,
	    "minimal: message-size");
	is_int(conf->limits.max_rcpt, DEF_MAX_RCPT, "minimal: recipients");
	is_int(conf->limits.max_sessions, DEF_MAX_SESSIONS,
	    "minimal: sessions");
	is_int(conf->limits.max_sessions_per_ip, DEF_MAX_SESSIONS_PER_IP,
	    "minimal: sessions-per-address");
	is_int(conf->limits.max_bad_commands, DEF_MAX_BAD_COMMANDS,
	    "minimal: bad-commands");
	is_int(conf->limits.max_mails_per_session, DEF_MAX_MAILS_PER_SESSION,
	    "minimal: mails-per-session");
	is_int(conf->limits.timeout_command, DEF_TIMEOUT_COMMAND,
	    "minimal: timeout-command");
	is_int(conf->limits.timeout_data, DEF_TIMEOUT_DATA,
	    "minimal: timeout-data");
	is_int(conf->limits.expire, DEF_EXPIRE, "minimal: expire");
	is_int(conf->limits.retry_min, DEF_RETRY_MIN, "minimal: retry-min");
	is_int(conf->limits.retry_max, DEF_RETRY_MAX, "minimal: retry-max");
	ok(TAILQ_EMPTY(&conf->listeners) && TAILQ_EMPTY(&conf->actions) &&
	    TAILQ_EMPTY(&conf->matches) && TAILQ_EMPTY(&conf->tables) &&
	    TAILQ_EMPTY(&conf->pkis), "minimal: every list is empty");
	config_free(conf);
}

static void
test_full(void)
{
	struct config		*conf;
	struct listener		*l;
	struct action		*a;
	struct match		*m;
	struct table		*users, *domains, *secrets;
	struct pki		*pki;
	const struct sockaddr_in *sin;

	conf = parse_valid("valid/full.conf");
	is_str(conf->hostname, "mx.example.org", "full: hostname");
	is_str(conf->spool, "/srv/seal/spool", "full: spool");
	is_str(conf->vault, "/srv/seal/vault", "full: vault");
	is_str(conf->empty, "/srv/seal/empty", "full: chroot");
	is_str(conf->control_socket, "/srv/seal/control.sock",
	    "full: control socket");

	pki = TAILQ_FIRST(&conf->pkis);
	ok(pki != NULL && TAILQ_NEXT(pki, entry) == NULL, "full: one pki");
	is_str(pki->name, "mx", "full: pki name");
	is_str(pki->cert_file, "/etc/ssl/mx.example.org.crt", "full: cert");
	is_str(pki->key_file, "/etc/ssl/private/mx.example.org.key",
	    "full: key");
	ok(pki->cert == NULL && pki->key == NULL,
	    "full: pki files are not read by config_parse");

	domains = config_table(conf, "domains");
	users = config_table(conf, "users");
	secrets = config_table(conf, "secrets");
	ok(domains != NULL && users != NULL && secrets != NULL,
	    "full: three tables");
	ok(config_table(conf, "nosuch") == NULL, "full: no such table");
	is_int(domains->kind, TABLE_LIST, "full: domains is a list");
	is_int(domains->nent, 3, "full: domains has 3 entries");
	ok(domains->path == NULL, "full: inline table has no path");
	is_int(users->kind, TABLE_MAP, "full: users is a map");
	is_int(users->nent, 2, "full: users has 2 entries (trailing comma)");
	is_str(table_get(users, "bob"), "$2b$10$zyxwvutsrqponmlkjihgfe",
	    "full: \"$\" in a quoted string is not a macro");
	is_str(table_get(secrets, "relay"), "user:password",
	    "full: secrets value");

	is_int(count_listeners(conf), 4, "full: 4 listeners");
	l = nth_listener(conf, 0);
	is_int(l->id, 0, "full: listener 0 id");
	is_str(l->addr, "127.0.0.1", "full: listener 0 addr");
	is_int(l->port, 25, "full: listener 0 default port");
	is_int(l->tls, LISTEN_PLAIN, "full: listener 0 plain");
	ok(l->pki == NULL && l->auth == NULL && l->tag == NULL &&
	    l->hostname == NULL && l->flags == 0,
	    "full: listener 0 has no options");
	is_int(l->fd, -1, "full: listener 0 fd is -1");
	sin = (const struct sockaddr_in *)&l->ss;
	ok(sin->sin_family == AF_INET && l->sslen == sizeof(*sin) &&
	    sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	    "full: listener 0 sockaddr");
	is_int(listener_port(l), 25, "full: listener 0 sockaddr port");
	is_str(l->file, "valid/full.conf", "full: listener 0 file");
	is_int(l->line, 15, "full: listener 0 line");

	l = nth_listener(conf, 1);
	is_int(l->id, 1, "full: listener 1 id");
	is_int(l->tls, LISTEN_STARTTLS, "full: listener 1 tls");
	ok(l->pki == pki, "full: listener 1 pki");
	is_str(l->hostname, "mail.example.org", "full: listener 1 hostname");

	l = nth_listener(conf, 2);
	is_int(l->tls, LISTEN_SMTPS, "full: listener 2 smtps");
	is_int(l->port, DEF_SMTPS_PORT, "full: smtps defaults to port 465");
	is_int(listener_port(l), 465, "full: listener 2 sockaddr port");
	ok(l->auth == users, "full: listener 2 auth table");
	is_str(l->tag, "submit", "full: listener 2 tag");

	l = nth_listener(conf, 3);
	is_int(l->id, 3, "full: listener 3 id");
	is_int(l->port, 587, "full: listener 3 port");
	is_int(l->tls, LISTEN_STARTTLS_REQUIRE, "full: listener 3 tls-require");
	is_int(l->flags, LISTENER_TRUST_HEADERS, "full: trust-headers");

	a = config_action(conf, "local");
	ok(a != NULL, "full: quoted action name");
	is_int(a->type, ACTION_MAILDIR, "full: local is maildir");
	is_str(a->maildir, "/var/mail/%u/Maildir", "full: maildir path");
	a = config_action(conf, "home");
	is_str(a->maildir, "~/Maildir", "full: ~/ maildir");
	a = config_action(conf, "out");
	is_int(a->type, ACTION_RELAY, "full: out is relay");
	ok(!a->has_host && a->host == NULL && a->auth == NULL,
	    "full: MX relay has no host");
	is_int(a->tls, TLS_LEVEL_MAY, "full: relay tls defaults to may");
	a = config_action(conf, "smarthost");
	ok(a->has_host, "full: smarthost has a host");
	is_int(a->proto, RELAY_SMTP_TLS, "full: smtp+tls://");
	is_str(a->host, "smtp.example.net", "full: relay host");
	is_int(a->port, 587, "full: relay port");
	ok(a->auth == secrets, "full: relay auth table");
	is_int(a->tls, TLS_LEVEL_VERIFY, "full: tls verify");
	is_int(a->line, 23, "full: action line");
	ok(config_action(conf, "nosuch") == NULL, "full: no such action");

	is_int(count_matches(conf), 5, "full: 5 match lines");
	m = nth_match(conf, 0);
	is_int(m->from, MATCH_FROM_ANY, "full: match 0 from any");
	is_int(m->for_, MATCH_FOR_DOMAIN, "full: match 0 for domain");
	ok(m->for_table == domains && m->for_value == NULL,
	    "full: match 0 domain table");
	ok(m->action == config_action(conf, "local"),
	    "full: match 0 action");
	m = nth_match(conf, 1);
	is_int(m->from, MATCH_FROM_LOCAL, "full: match 1 from defaults "
	    "to local");
	is_str(m->for_value, "example.org", "full: match 1 domain value");
	m = nth_match(conf, 2);
	is_int(m->from, MATCH_FROM_AUTH, "full: match 2 from auth");
	ok(m->from_table == NULL, "full: match 2 any user");
	is_int(m->for_, MATCH_FOR_ANY, "full: match 2 for any");
	m = nth_match(conf, 3);
	is_int(m->from, MATCH_FROM_TAG, "full: match 3 from tag");
	is_str(m->from_value, "submit", "full: match 3 tag");
	ok(m->for_negate && !m->from_negate, "full: match 3 for !");
	is_int(m->line, 28, "full: match 3 line");
	is_str(m->file, "valid/full.conf", "full: match 3 file");

	is_int(conf->limits.max_line, 1000, "full: line-max");
	is_int(conf->limits.max_message_size, 50 * 1024 * 1024,
	    "full: message-size 50M");
	is_int(conf->limits.max_rcpt, 100, "full: recipients");
	is_int(conf->limits.max_sessions, 200, "full: sessions");
	is_int(conf->limits.max_sessions_per_ip, 20,
	    "full: sessions-per-address");
	is_int(conf->limits.max_bad_commands, 5, "full: bad-commands");
	is_int(conf->limits.max_mails_per_session, 30,
	    "full: mails-per-session");
	is_int(conf->limits.timeout_command, 300, "full: timeout 5m");
	is_int(conf->limits.timeout_data, 3600, "full: timeout 1h");
	is_int(conf->limits.expire, 2 * 86400, "full: expire 2d");
	is_int(conf->limits.retry_min, 30, "full: retry-min 30s");
	is_int(conf->limits.retry_max, 7200, "full: retry-max 7200");
	config_free(conf);
}

static void
test_macros(void)
{
	struct config	*conf;
	struct listener	*l;
	struct match	*m;
	struct table	*t;

	conf = parse_valid("valid/macros.conf");
	is_str(conf->hostname, "mx.example.org", "macros: hostname $me");
	l = nth_listener(conf, 0);
	is_int(l->port, 2525, "macros: port $port over a continued line");
	is_str(l->tag, "lan", "macros: tag on the third continued line");
	is_int(l->line, 8, "macros: listener line is its first line");
	is_str(config_action(conf, "local")->maildir, "/var/mail/%u",
	    "macros: maildir $maildir");
	m = nth_match(conf, 0);
	is_str(m->from_value, "192.168.0.0/16", "macros: src $lan");
	is_int(m->line, 13, "macros: match line");
	m = nth_match(conf, 1);
	is_int(m->line, 17, "macros: lines counted across continuations");
	t = config_table(conf, "t");
	ok(t != NULL && t->nent == 2 && table_has(t, "mx.example.org") &&
	    table_has(t, "other.example.org"), "macros: macro in a table");
	config_free(conf);
}

static void
test_include(void)
{
	struct config	*conf;
	struct action	*a;
	struct match	*m;

	conf = parse_valid("valid/include.conf");
	ok(config_table(conf, "nets") != NULL, "include: table from inc/");
	ok(config_table(conf, "domains") != NULL,
	    "include: nested include relative to inc/");
	a = config_action(conf, "deliver");
	ok(a != NULL, "include: action from an include");
	is_str(a->file, "valid/inc/actions.conf", "include: action file");
	is_int(a->line, 1, "include: action line");
	m = nth_match(conf, 0);
	is_str(m->file, "valid/include.conf", "include: match file");
	is_int(m->line, 6, "include: match line after includes");
	ok(m->action == a && m->from_table == config_table(conf, "nets"),
	    "include: match resolved");
	is_int(nth_listener(conf, 0)->port, 10025, "include: listener port");
	config_free(conf);
}

static void
test_filetables(void)
{
	struct config	*conf;
	struct table	*domains, *creds, *nets;
	struct listener	*l;
	struct pki	*pki;

	conf = parse_valid("valid/filetables.conf");
	domains = config_table(conf, "domains");
	creds = config_table(conf, "creds");
	nets = config_table(conf, "nets");
	ok(domains && creds && nets, "filetables: three tables");
	is_int(domains->kind, TABLE_LIST, "filetables: domains is a list");
	is_int(domains->nent, 3, "filetables: comments and blanks skipped");
	is_str(domains->path, "valid/tables/domains.txt",
	    "filetables: path relative to the config");
	ok(table_has(domains, "Example.NET"),
	    "filetables: comment after a key stripped");
	is_int(creds->kind, TABLE_MAP, "filetables: creds is a map");
	is_int(creds->nent, 2, "filetables: creds has 2 entries");
	is_str(table_get(creds, "alice"), "$2b$10$abcdefghijklmnopqrstuv",
	    "filetables: tab-separated value");
	is_str(table_get(creds, "bob"), "$2b$10$zyxwvutsrqponmlkjihgfe",
	    "filetables: space-separated value");
	is_int(nets->nent, 3, "filetables: nets has 3 entries");
	l = nth_listener(conf, 0);
	ok(l->auth == creds, "filetables: listener auth");
	is_str(l->addr, "::1", "filetables: IPv6 listener");
	pki = TAILQ_FIRST(&conf->pkis);
	is_str(pki->cert_file, "valid/mx.crt",
	    "filetables: pki path relative to the config");
	ok(nth_match(conf, 1)->from_table == creds,
	    "filetables: from auth <creds>");
	config_free(conf);
}

static void
test_ipv6(void)
{
	struct config			*conf;
	struct listener			*l;
	const struct sockaddr_in6	*sin6;
	struct in6_addr			 want;

	conf = parse_valid("valid/ipv6.conf");
	is_int(count_listeners(conf), 5, "ipv6: 5 listeners");
	l = nth_listener(conf, 0);
	sin6 = (const struct sockaddr_in6 *)&l->ss;
	ok(sin6->sin6_family == AF_INET6 && l->sslen == sizeof(*sin6) &&
	    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr), "ipv6: ::1");
	is_int(listener_port(l), 25, "ipv6: ::1 port 25");
	l = nth_listener(conf, 1);
	is_str(l->addr, "::1", "ipv6: [::1] loses its brackets");
	is_int(listener_port(l), 587, "ipv6: [::1] port 587");
	l = nth_listener(conf, 2);
	sin6 = (const struct sockaddr_in6 *)&l->ss;
	inet_pton(AF_INET6, "2001:db8::25", &want);
	ok(memcmp(&sin6->sin6_addr, &want, sizeof(want)) == 0,
	    "ipv6: 2001:db8::25");
	is_int(l->port, 465, "ipv6: smtps port");
	l = nth_listener(conf, 3);
	is_str(l->addr, "127.0.0.1", "ipv6: localhost is 127.0.0.1");
	is_int(l->ss.ss_family, AF_INET, "ipv6: localhost is IPv4");
	is_int(l->id, 3, "ipv6: ids in file order");
	l = nth_listener(conf, 4);
	is_int(l->ss.ss_family, AF_INET6, "ipv6: v4-mapped stays IPv6");
	config_free(conf);
}

static void
test_forward(void)
{
	struct config	*conf;
	struct match	*m;
	struct action	*a;

	conf = parse_valid("valid/forward.conf");
	ok(nth_listener(conf, 0)->pki == TAILQ_FIRST(&conf->pkis),
	    "forward: pki defined after the listener");
	a = config_action(conf, "later");
	m = nth_match(conf, 0);
	ok(m->action == a, "forward: action defined after the match");
	ok(m->from_negate && m->from == MATCH_FROM_SRC &&
	    m->from_table == config_table(conf, "nets"),
	    "forward: from ! src <nets>");
	ok(m->for_ == MATCH_FOR_RCPT &&
	    m->for_table == config_table(conf, "people"),
	    "forward: for rcpt <people>");
	m = nth_match(conf, 1);
	is_str(m->for_value, "postmaster@Example.ORG", "forward: rcpt value");
	is_int(a->proto, RELAY_SMTP, "forward: smtp://");
	is_str(a->host, "2001:db8::1", "forward: [IPv6] relay host");
	is_int(a->port, 2525, "forward: relay port");
	is_int(a->tls, TLS_LEVEL_ENCRYPT, "forward: tls encrypt");
	config_free(conf);
}

static void
test_policy(void)
{
	struct config		*conf;
	struct policy		*pol;
	struct policy_rule	*r;

	conf = parse_valid("valid/policy.conf");
	pol = config_policy(conf, "health");
	if (!ok(pol != NULL, "policy health defined"))
		return;
	is_int(pol->line, 6, "policy line");
	is_int(pol->nrules, 6, "six rules");
	r = &pol->rules[0];
	ok(r->type == POLICY_RULE_KEYWORDS && r->nwords == 3 &&
	    strcmp(r->words[1], "pati\xc3\xabnt") == 0 &&
	    strcmp(r->words[2], "lab result") == 0, "keyword list");
	is_int(r->in, POLICY_IN_SUBJECT | POLICY_IN_BODY |
	    POLICY_IN_ATTACHMENTS, "keywords in");
	ok(r->score == 2 && r->min == 1, "keywords score, default min");
	r = &pol->rules[1];
	ok(r->nwords == 2 && r->min == 2 && r->score == 4 &&
	    strcmp(r->words[0], "chemo") == 0, "keywords from a table");
	is_int(r->in, POLICY_IN_SUBJECT | POLICY_IN_BODY, "default in");
	r = &pol->rules[2];
	ok(r->type == POLICY_RULE_REGEX &&
	    strcmp(r->pattern, "\\bHbA1c\\b") == 0, "regex pattern");
	is_int(r->in, POLICY_IN_BODY | POLICY_IN_HEADERS, "regex in, comma");
	r = &pol->rules[5];
	ok(r->type == POLICY_RULE_DETECT && r->detector == POLICY_DETECT_CARD
	    && r->score == 100, "detect card");
	is_int(r->line, 13, "rule line");
	ok(pol->allow == config_table(conf, "partners") &&
	    pol->phones == config_table(conf, "phones") &&
	    pol->downgrade == config_table(conf, "lowerers"), "tables");
	is_int(pol->ntriggers, 2, "two triggers");
	ok(strcmp(pol->triggers[1].text, "[2fa]") == 0 &&
	    pol->triggers[1].level == POLICY_SECURE_2FA, "trigger");
	is_int(pol->nthresholds, 5, "five thresholds");
	ok(pol->thresholds[0].level == POLICY_REJECT &&
	    pol->thresholds[0].score == 100 &&
	    strcmp(pol->thresholds[0].text,
	    "550 5.7.1 No card numbers by mail") == 0, "reject threshold");
	ok(pol->thresholds[4].level == POLICY_RELAY_VERIFY &&
	    pol->thresholds[4].score == 2 &&
	    pol->thresholds[4].text == NULL, "relay verify threshold");
	ok(nth_match(conf, 0)->policy == pol, "match names the policy");
	ok(nth_match(conf, 1)->policy == config_policy(conf, "other"),
	    "policy before action");
	ok(nth_match(conf, 2)->policy == NULL, "match without a policy");
	config_free(conf);
}

static void
test_relay_tls(void)
{
	struct config	*conf;
	struct action	*a;
	struct ca	*ca;
	struct table	*levels;

	conf = parse_valid("valid/relay-tls.conf");
	ca = config_ca(conf, "partners");
	ok(ca != NULL, "relay-tls: ca partners");
	is_str(ca ? ca->cafile : NULL, "valid/certs/partners.pem",
	    "relay-tls: relative cafile from the config's directory");
	ca = config_ca(conf, "private");
	is_str(ca ? ca->cafile : NULL, "/etc/sealrelay/private-ca.pem",
	    "relay-tls: absolute cafile");
	ok(config_ca(conf, "nosuch") == NULL, "relay-tls: unknown ca");
	levels = config_table(conf, "levels");
	a = config_action(conf, "mx");
	ok(a->ca == config_ca(conf, "partners"), "relay-tls: mx ca partners");
	ok(a->tls_policy == levels && levels != NULL,
	    "relay-tls: mx tls-policy <levels>");
	is_int(a->tls, TLS_LEVEL_MAY, "relay-tls: mx tls may");
	a = config_action(conf, "hosted");
	ok(a->ca == ca && a->tls_policy == NULL,
	    "relay-tls: hosted ca private, no tls-policy");
	is_int(a->tls, TLS_LEVEL_VERIFY, "relay-tls: hosted tls verify");
	is_int(a->proto, RELAY_SMTP_TLS, "relay-tls: hosted smtp+tls://");
	is_str(table_get_nocase(levels, "EXAMPLE.org"), "verify",
	    "relay-tls: domains ignore case");
	is_str(table_get_nocase(levels, "example.com"), "may",
	    "relay-tls: domains ignore case (key in capitals)");
	ok(table_get_nocase(levels, "example.net") == NULL,
	    "relay-tls: .example.net is not example.net");
	is_int(config_tls_level("none"), TLS_LEVEL_NONE, "tls level none");
	is_int(config_tls_level("may"), TLS_LEVEL_MAY, "tls level may");
	is_int(config_tls_level("encrypt"), TLS_LEVEL_ENCRYPT,
	    "tls level encrypt");
	is_int(config_tls_level("verify"), TLS_LEVEL_VERIFY,
	    "tls level verify");
	is_int(config_tls_level("Verify"), -1, "tls levels are lower case");
	is_int(config_tls_level(""), -1, "no tls level");
	config_free(conf);
}

static void
test_secure_expire(void)
{
	struct config	*conf;
	struct action	*a;
	int		 clamped;

	conf = parse_valid("valid/secure-expire.conf");
	a = config_action(conf, "short");
	is_int(a->secure_expire, 2 * 86400, "secure-expire: short 2d");
	is_int(a->secure_expire_max, 0, "secure-expire: short, max global");
	is_int(config_secure_lifetime(conf, a, 0, &clamped), 2 * 86400,
	    "lifetime: the action's");
	is_int(config_secure_lifetime(conf, a, 1, &clamped), 86400,
	    "lifetime: a directive shortens it");
	is_int(config_secure_lifetime(conf, a, 20, &clamped), 20 * 86400,
	    "lifetime: or extends it");
	ok(!clamped, "lifetime: within the maximum");
	is_int(config_secure_lifetime(conf, a, 45, &clamped), 30 * 86400,
	    "lifetime: never beyond the global maximum");
	ok(clamped, "lifetime: clamped");
	a = config_action(conf, "long");
	is_int(a->secure_expire, 60 * 86400, "secure-expire: long 60d");
	is_int(a->secure_expire_max, 90 * 86400, "secure-expire: long max");
	is_int(config_secure_lifetime(conf, a, 100, &clamped), 90 * 86400,
	    "lifetime: the action's own maximum");
	a = config_action(conf, "box");
	is_int(config_secure_lifetime(conf, a, 0, &clamped), 3 * 86400,
	    "lifetime: maildir action's own");
	is_int(config_secure_lifetime(conf, a, 7, &clamped), 5 * 86400,
	    "lifetime: a directive cut to the action's maximum");
	ok(clamped, "lifetime: clamped to the action's maximum");
	a = config_action(conf, "plain");
	is_int(config_secure_lifetime(conf, a, 0, &clamped), 10 * 86400,
	    "lifetime: global secure-expire");
	is_int(config_secure_lifetime(conf, NULL, 0, &clamped), 10 * 86400,
	    "lifetime: no action");
	is_int(config_secure_lifetime_max(conf), 90 * 86400,
	    "lifetime: the longest of any action");
	config_free(conf);
}

static void
test_invalid(void)
{
	struct config	*conf;
	char		*errs;
	size_t		 i;

	for (i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]);
	    i++) {
		conf = parse(invalid_cases[i].file, &errs);
		ok(conf == NULL, "%s is refused", invalid_cases[i].file);
		is_str(errs, invalid_cases[i].errors, "%s: messages",
		    invalid_cases[i].file);
		config_free(conf);
		free(errs);
	}
}

/* Write text to a new file in dir; returns its path. */
static char *
write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char	*path;
	FILE	*fp;

	if (asprintf(&path, "%s/%s", dir, name) == -1)
		exit(2);
	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
	return path;
}

static void
test_bytes(const char *dir)
{
	static const char	 crlf[] = "hostname a.example.org\r\n"
	    "listen on 127.0.0.1 \\\r\n port 2525\r\n";
	static const char	 nul[] = "hostname a\0b\nspool \"/x\ty\"\n";
	struct config		*conf;
	char			*path, *errs, *want;
	FILE			*fp;

	path = write_file(dir, "crlf.conf", crlf, 0644);
	conf = parse(path, &errs);
	ok(conf != NULL && nth_listener(conf, 0)->port == 2525,
	    "CRLF lines and continuations");
	is_str(errs, "", "CRLF: no messages");
	config_free(conf);
	free(errs);
	unlink(path);
	free(path);

	if (asprintf(&path, "%s/nul.conf", dir) == -1)
		exit(2);
	fp = fopen(path, "w");
	fwrite(nul, 1, sizeof(nul) - 1, fp);
	fclose(fp);
	conf = parse(path, &errs);
	ok(conf == NULL, "a NUL byte is refused");
	if (asprintf(&want, "%s:1: invalid character 0x00\n", path) == -1)
		exit(2);
	is_str(errs, want, "NUL: message");
	config_free(conf);
	free(errs);
	free(want);
	unlink(path);
	free(path);
}

static void
test_pki(const char *dir)
{
	struct config	*conf;
	struct pki	*pki;
	char		*cert, *key, *conffile, *text, *errs, *want;
	FILE		*fp;
	size_t		 len;

	cert = write_file(dir, "mx.crt", "CERTIFICATE\n", 0644);
	key = write_file(dir, "mx.key", "SECRET KEY\n", 0600);
	if (asprintf(&text, "pki mx cert \"%s\"\npki mx key \"%s\"\n"
	    "pki gone cert \"%s/gone.crt\"\npki gone key \"%s\"\n"
	    "listen on 127.0.0.1 smtps pki mx\n", cert, key, dir, key) == -1)
		exit(2);
	conffile = write_file(dir, "pki.conf", text, 0644);
	free(text);

	conf = parse(conffile, &errs);
	ok(conf != NULL, "pki: parses");
	free(errs);
	fp = open_memstream(&errs, &len);
	is_int(config_load_pki(conf, fp), -1, "pki: missing cert fails");
	fclose(fp);
	if (asprintf(&want, "%s:3: pki \"gone\": cannot open "
	    "\"%s/gone.crt\": No such file or directory\n", conffile,
	    dir) == -1)
		exit(2);
	is_str(errs, want, "pki: missing cert message");
	free(want);
	free(errs);
	pki = TAILQ_FIRST(&conf->pkis);
	ok(pki->cert_len == 12 && memcmp(pki->cert, "CERTIFICATE\n", 12) == 0,
	    "pki: cert read");
	ok(pki->key_len == 11 && memcmp(pki->key, "SECRET KEY\n", 11) == 0,
	    "pki: key read");
	config_free(conf);

	chmod(key, 0640);
	conf = parse(conffile, &errs);
	free(errs);
	fp = open_memstream(&errs, &len);
	is_int(config_load_pki(conf, fp), -1,
	    "pki: group-readable key refused");
	fclose(fp);
	if (asprintf(&want, "%s:1: pki \"mx\": key file \"%s\" is "
	    "accessible by group or others (mode 0640)\n", conffile,
	    key) == -1)
		exit(2);
	ok(strncmp(errs, want, strlen(want)) == 0,
	    "pki: group-readable key message");
	free(want);
	free(errs);
	config_free(conf);

	unlink(cert);
	unlink(key);
	unlink(conffile);
	free(cert);
	free(key);
	free(conffile);
}

static void
test_tables(void)
{
	struct config		*conf;
	struct table		*t, *people;
	const struct table_entry *dup;
	char			 key[32];
	int			 i, found, missing;

	conf = parse_valid("valid/forward.conf");
	people = config_table(conf, "people");
	ok(table_has(people, "Bob@example.org"), "table_has: exact");
	ok(!table_has(people, "bob@example.org"),
	    "table_has: case-sensitive");
	ok(table_has_address(people, "Bob@EXAMPLE.ORG"),
	    "table_has_address: domain ignores case");
	ok(!table_has_address(people, "BOB@example.org"),
	    "table_has_address: local part keeps case");
	ok(!table_has_address(people, "carol@example.org"),
	    "table_has_address: absent");
	ok(table_get(people, "alice@example.org") == NULL,
	    "table_get: list entries have no value");
	ok(!table_has(NULL, "x") && table_get(NULL, "x") == NULL,
	    "table lookups on NULL");
	config_free(conf);

	conf = parse_valid("valid/filetables.conf");
	t = config_table(conf, "domains");
	ok(table_has_nocase(t, "EXAMPLE.net"), "table_has_nocase");
	ok(!table_has(t, "example.net"), "table_has: not ignoring case");
	ok(table_get(config_table(conf, "creds"), "Alice") == NULL,
	    "table_get: keys keep case");
	config_free(conf);

	/* Binary search over many keys in random order. */
	t = table_new("big");
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", (i * 7919) % 1000);
		table_add(t, key, key + 1, i + 1);
	}
	table_add(t, "Mixed", "upper", 1001);
	table_add(t, "mixed", "lower", 1002);
	ok(table_finish(t) == NULL, "big table: no duplicates");
	is_int(t->kind, TABLE_MAP, "big table: map");
	found = missing = 0;
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if (table_get(t, key) != NULL &&
		    strcmp(table_get(t, key), key + 1) == 0)
			found++;
		snprintf(key, sizeof(key), "k%d_", i);
		if (table_has(t, key))
			missing++;
	}
	is_int(found, 1000, "big table: every key found");
	is_int(missing, 0, "big table: no false positives");
	is_str(table_get(t, "Mixed"), "upper", "keys differing in case: 1");
	is_str(table_get(t, "mixed"), "lower", "keys differing in case: 2");
	ok(table_get(t, "MIXED") == NULL, "keys differing in case: 3");
	ok(table_has_nocase(t, "MIXED"), "keys differing in case: nocase");
	table_add(t, "k500", "again", 2000);
	dup = table_finish(t);
	ok(dup != NULL && strcmp(dup->key, "k500") == 0 && dup->line == 2000,
	    "table_finish reports the later duplicate");
	table_free(t);
}

static void
sa_make(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		*len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		*len = sizeof(*sin6);
	} else {
		fprintf(stderr, "bad test address %s\n", addr);
		exit(2);
	}
}

struct rule_case {
	const char	*src;		/* NULL: no address (local socket) */
	int		 local;
	const char	*tag;
	const char	*user;
	const char	*rcpt;
	const char	*want;		/* action name, or NULL */
};

static const struct rule_case rule_cases[] = {
	{ "127.0.0.1", 0, NULL, NULL, "ceo@EXAMPLE.com", "r1" },
	{ "127.0.0.1", 0, NULL, NULL, "CEO@example.com", "r8" },
	{ "127.0.0.1", 0, NULL, NULL, "foo@example.com", "r8" },
	{ "127.200.0.1", 0, NULL, NULL, "x@y.org", "r8" },
	{ "::1", 0, NULL, NULL, "x@y.org", "r8" },
	{ "::ffff:127.0.0.2", 0, NULL, NULL, "x@y.org", "r8" },
	{ NULL, 1, NULL, NULL, "x@y.org", "r8" },
	{ "192.0.2.1", 1, NULL, NULL, "x@y.org", "r4" },
	{ "203.0.113.5", 0, NULL, NULL, "x@y.org", "r2" },
	{ "203.0.113.127", 0, NULL, NULL, "x@y.org", "r2" },
	{ "203.0.113.128", 0, NULL, NULL, "x@example.com", "r9" },
	{ "203.0.113.200", 0, NULL, NULL, "x@y.org", NULL },
	{ "2001:db8::5", 0, NULL, NULL, "a@example.org", "r3" },
	{ "2001:db8:ffff::5", 0, NULL, NULL, "a@EXAMPLE.ORG", "r3" },
	{ "2001:db8::5", 0, NULL, NULL, "a@sub.example.net", "r3" },
	{ "2001:db8::5", 0, NULL, NULL, "a@deep.sub.Example.NET", "r3" },
	{ "2001:db8::5", 0, NULL, NULL, "a@example.net", NULL },
	{ "2001:db8::5", 0, NULL, NULL, "a@badexample.net", NULL },
	{ "2001:db9::1", 0, NULL, NULL, "a@example.org", NULL },
	{ "192.0.2.7", 0, NULL, NULL, "x@anything.org", "r4" },
	{ "192.0.2.7", 0, NULL, "alice", "x@anything.org", "r4" },
	{ "192.0.2.7", 0, NULL, NULL, "x@example.com", "r9" },
	{ "::ffff:192.0.2.7", 0, NULL, NULL, "x@anything.org", "r4" },
	{ "198.51.100.7", 0, NULL, NULL, "x@anything.org", "r4" },
	{ "198.51.100.8", 0, NULL, NULL, "x@anything.org", NULL },
	{ "198.18.0.1", 0, NULL, "alice", "x@other.org", "r5" },
	{ "198.18.0.1", 0, NULL, "Alice", "x@other.org", NULL },
	{ "198.18.0.1", 0, NULL, "carol", "x@other.org", NULL },
	{ "198.18.0.1", 0, NULL, "carol", "x@EXAMPLE.com", "r6" },
	{ "198.18.0.1", 0, "mx", NULL, "a@b.example.com", "r7" },
	{ "198.18.0.1", 0, "mx", NULL, "a@example.com", "r9" },
	{ "198.18.0.1", 0, "submit", NULL, "a@b.example.com", NULL },
	{ "10.1.2.3", 0, NULL, NULL, "postmaster@EXAMPLE.org", NULL },
	{ "198.18.0.1", 0, NULL, NULL, "postmaster@EXAMPLE.org", "r10" },
	{ "198.18.0.1", 0, NULL, NULL, "Postmaster@example.org", NULL },
};

static void
test_ruleset(void)
{
	struct config		*conf;
	struct ruleset_query	 q;
	struct sockaddr_storage	 ss;
	struct sockaddr_un	 sun;
	const struct match	*m;
	const struct rule_case	*c;
	size_t			 i;

	conf = parse_valid("valid/ruleset.conf");
	for (i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		c = &rule_cases[i];
		memset(&q, 0, sizeof(q));
		if (c->src != NULL) {
			sa_make(c->src, &ss, &q.srclen);
			q.src = (struct sockaddr *)&ss;
		}
		q.local = c->local;
		q.tag = c->tag;
		q.auth_user = c->user;
		q.rcpt = c->rcpt;
		m = ruleset_match(conf, &q);
		is_str(m == NULL ? "(none)" : m->action->name,
		    c->want == NULL ? "(none)" : c->want,
		    "ruleset: from %s%s%s%s%s for %s",
		    c->src ? c->src : "unix socket", c->tag ? " tag " : "",
		    c->tag ? c->tag : "", c->user ? " auth " : "",
		    c->user ? c->user : "", c->rcpt);
	}

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memset(&q, 0, sizeof(q));
	q.src = (struct sockaddr *)&sun;
	q.srclen = sizeof(sun);
	q.rcpt = "x@y.org";
	m = ruleset_match(conf, &q);
	ok(m != NULL && strcmp(m->action->name, "r8") == 0,
	    "ruleset: AF_UNIX peer is local");
	config_free(conf);
}

static void
test_net(void)
{
	struct ruleset_net	 net;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	static const char	*bad[] = { "", "10.0.0.0/33", "1.2.3",
	    "::1/129", "10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/ 8",
	    "example.org", "10.0.0.0/8/8", "[::1]" };
	size_t			 i;

#define NET_IN(n, a)	(ruleset_net_parse((n), &net) == 0 &&		\
			    (sa_make((a), &ss, &len), 1) &&		\
			    ruleset_net_contains(&net,			\
			    (struct sockaddr *)&ss, len))
	ok(NET_IN("2001:db8::/33", "2001:db8:7fff::1"),
	    "net: 2001:db8::/33 has 2001:db8:7fff::1");
	ok(!NET_IN("2001:db8::/33", "2001:db8:8000::1"),
	    "net: 2001:db8::/33 lacks 2001:db8:8000::1");
	ok(NET_IN("::/0", "2001:db8::1"), "net: ::/0 has everything v6");
	ok(!NET_IN("::/0", "192.0.2.1"), "net: ::/0 lacks IPv4");
	ok(NET_IN("0.0.0.0/0", "192.0.2.1"), "net: 0/0 has everything v4");
	ok(NET_IN("10.0.0.0/8", "::ffff:10.1.2.3"),
	    "net: v4 prefix has a v4-mapped client");
	ok(NET_IN("::ffff:10.0.0.0/104", "10.1.2.3"),
	    "net: v4-mapped prefix has a v4 client");
	ok(NET_IN("192.0.2.1", "192.0.2.1"), "net: host address");
	ok(!NET_IN("192.0.2.1", "192.0.2.2"), "net: other host");
	ok(NET_IN("192.0.2.129/31", "192.0.2.128"),
	    "net: host bits are ignored");
	ok(!NET_IN("192.0.2.128/31", "192.0.2.130"), "net: /31 boundary");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(ruleset_net_parse(bad[i], &net) == -1, "net: \"%s\" is "
		    "refused", bad[i]);
#undef NET_IN
}

int
main(void)
{
	const char	*srcdir;
	char		*confdir, tmpdir[] = "/tmp/t_config.XXXXXX";
	struct stat	 st;

	if ((srcdir = getenv("SEAL_SRCDIR")) != NULL) {
		if (asprintf(&confdir, "%s/regress/common/conf",
		    srcdir) == -1)
			return 2;
		if (stat(confdir, &st) == -1) {
			/* SEAL_SRCDIR may name this test's own folder. */
			free(confdir);
			if (asprintf(&confdir, "%s/conf", srcdir) == -1)
				return 2;
		}
	} else
		confdir = strdup("regress/common/conf");
	if (confdir == NULL || chdir(confdir) == -1) {
		printf("Bail out! cannot chdir to %s: %s\n",
		    confdir ? confdir : "?", strerror(errno));
		return 2;
	}
	free(confdir);
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 2;
	}

	test_minimal();
	test_full();
	test_secure_expire();
	test_macros();
	test_include();
	test_filetables();
	test_ipv6();
	test_forward();
	test_policy();
	test_relay_tls();
	test_invalid();
	test_bytes(tmpdir);
	test_pki(tmpdir);
	test_tables();
	test_ruleset();
	test_net();

	if (rmdir(tmpdir) == -1)
		printf("# rmdir %s: %s\n", tmpdir, strerror(errno));
	return done_testing();
}
