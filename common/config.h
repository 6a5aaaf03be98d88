/*
 * config.h: the parsed form of smtpd.conf(5).
 *
 * config_parse() reads a file (and its includes) into a struct config.
 * Every process of the daemon parses the same file before it chroots; the
 * parent alone binds the listeners and reads the pki files.  Nothing in
 * here does network I/O.  The ruleset (match lines) is evaluated by
 * ruleset.c.
 */
#ifndef SEAL_CONFIG_H
#define SEAL_CONFIG_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct table_entry {
	char			*key;
	char			*value;		/* NULL in a list table */
	int			 line;		/* in its source, for messages */
};

enum table_kind {
	TABLE_LIST,		/* { a, b, c } or a file of one key a line */
	TABLE_MAP,		/* { k = v, ... } or a file of "key value" */
};

struct table {
	TAILQ_ENTRY(table)	 entry;
	char			*name;
	enum table_kind		 kind;
	char			*path;		/* file: source, or NULL */
	struct table_entry	*ent;		/* sorted by key */
	size_t			 nent;
};

struct pki {
	TAILQ_ENTRY(pki)	 entry;
	char			*name;
	char			*cert_file;
	char			*key_file;
	/* Loaded by the parent (config_load_pki), before privileges drop. */
	uint8_t			*cert;
	size_t			 cert_len;
	uint8_t			*key;
	size_t			 key_len;
	const char		*file;		/* where it was declared */
	int			 line;
};

enum listen_tls {
	LISTEN_PLAIN,		/* no STARTTLS */
	LISTEN_STARTTLS,	/* "tls": STARTTLS offered */
	LISTEN_STARTTLS_REQUIRE,/* "tls-require": no MAIL before STARTTLS */
	LISTEN_SMTPS,		/* "smtps": implicit TLS, RFC 8314 */
};

#define LISTENER_TRUST_HEADERS	0x01	/* honour X-Seal-* from anyone */

struct listener {
	TAILQ_ENTRY(listener)	 entry;
	unsigned int		 id;		/* 0, 1, ... in file order */
	char			*addr;		/* as written: "127.0.0.1" */
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 port;
	enum listen_tls		 tls;
	struct pki		*pki;
	struct table		*auth;		/* credential table, or NULL */
	char			*tag;		/* or NULL */
	char			*hostname;	/* or NULL: config hostname */
	int			 flags;
	int			 fd;		/* bound socket, -1 until bound */
	const char		*file;		/* where it was declared */
	int			 line;
};

enum action_type {
	ACTION_RELAY,		/* MX, or "host URL" */
	ACTION_MAILDIR,		/* maildir "PATH" */
};

enum relay_proto {
	RELAY_SMTP,		/* smtp://: STARTTLS when offered */
	RELAY_SMTP_TLS,		/* smtp+tls://: STARTTLS required */
	RELAY_SMTPS,		/* smtps://: implicit TLS */
	RELAY_SMTP_NOTLS,	/* smtp+notls://: never TLS */
};

enum tls_level {
	TLS_LEVEL_NONE,		/* never */
	TLS_LEVEL_MAY,		/* opportunistic (default) */
	TLS_LEVEL_ENCRYPT,	/* STARTTLS required */
	TLS_LEVEL_VERIFY,	/* and certificate and name verified */
};

/*
 * ca NAME cafile PATH: CA certificates (PEM) that a relay action trusts
 * instead of the system's bundle when it verifies a next hop.
 */
struct ca {
	TAILQ_ENTRY(ca)		 entry;
	char			*name;
	char			*cafile;	/* relative: to the config */
	const char		*file;		/* where it was declared */
	int			 line;
};
TAILQ_HEAD(calist, ca);

struct action {
	TAILQ_ENTRY(action)	 entry;
	char			*name;
	enum action_type	 type;
	/* ACTION_RELAY */
	int			 has_host;
	enum relay_proto	 proto;
	char			*host;
	int			 port;		/* 0: default for proto */
	struct table		*auth;		/* secrets table, or NULL */
	enum tls_level		 tls;
	struct ca		*ca;		/* "ca NAME", or NULL: system */
	struct table		*tls_policy;	/* domain -> level, or NULL */
	/* ACTION_MAILDIR */
	char			*maildir;
	/* Secured recipients; 0: limit secure-expire, secure-expire-max. */
	int			 secure_expire;		/* seconds */
	int			 secure_expire_max;	/* seconds */
	const char		*file;
	int			 line;
};

enum match_from {
	MATCH_FROM_LOCAL,	/* default: loopback and local socket */
	MATCH_FROM_ANY,
	MATCH_FROM_SRC,		/* src <table> or src ADDR[/PREFIX] */
	MATCH_FROM_AUTH,	/* authenticated; table of users optional */
	MATCH_FROM_TAG,		/* listener tag */
};

enum match_for {
	MATCH_FOR_ANY,		/* default */
	MATCH_FOR_DOMAIN,	/* domain <table> or domain NAME */
	MATCH_FOR_RCPT,		/* rcpt <table> or rcpt ADDRESS */
};

/*
 * Content policies: "policy NAME { ... }" blocks, applied to the
 * recipients of the match lines that name them.  The parser checks them
 * (regexes are compiled once to report errors at FILE:LINE); policyd
 * compiles them for scanning (policyd/rules.c).
 */
#define POLICY_IN_SUBJECT	0x01
#define POLICY_IN_BODY		0x02
#define POLICY_IN_ATTACHMENTS	0x04	/* attachment file names */
#define POLICY_IN_HEADERS	0x08	/* top-level headers, decoded */

/* In order of strength; the same order as enum proto_decision_kind. */
enum policy_level {
	POLICY_RELAY,
	POLICY_RELAY_VERIFY,
	POLICY_SECURE_1FA,
	POLICY_SECURE_2FA,
	POLICY_QUARANTINE,
	POLICY_REJECT,
};

enum policy_rule_type {
	POLICY_RULE_KEYWORDS,
	POLICY_RULE_REGEX,
	POLICY_RULE_DETECT,
};

enum policy_detector {
	POLICY_DETECT_BSN,
	POLICY_DETECT_IBAN,
	POLICY_DETECT_CARD,
};

struct policy_rule {
	enum policy_rule_type	 type;
	char			*name;		/* keywords/regex name */
	char			**words;	/* POLICY_RULE_KEYWORDS */
	size_t			 nwords;
	char			*pattern;	/* POLICY_RULE_REGEX */
	enum policy_detector	 detector;	/* POLICY_RULE_DETECT */
	int			 in;		/* POLICY_IN_* */
	int			 min;		/* matches needed (1) */
	int			 score;
	const char		*file;
	int			 line;
};

struct policy_threshold {
	enum policy_level	 level;
	int			 score;		/* when score >= this */
	char			*text;		/* reject reason, or NULL */
};

struct policy_trigger {
	char			*text;		/* in the subject, any case */
	enum policy_level	 level;
};

struct policy {
	TAILQ_ENTRY(policy)	 entry;
	char			*name;
	struct policy_rule	*rules;
	size_t			 nrules;
	struct policy_threshold	*thresholds;
	size_t			 nthresholds;
	struct policy_trigger	*triggers;
	size_t			 ntriggers;
	struct table		*allow;		/* recipients never secured */
	struct table		*phones;	/* recipient -> +E.164 */
	struct table		*downgrade;	/* senders who may lower */
	const char		*file;
	int			 line;
};

struct match {
	TAILQ_ENTRY(match)	 entry;
	enum match_from		 from;
	int			 from_negate;	/* "from ! src ..." */
	char			*from_value;	/* ADDR/PREFIX, tag, or NULL */
	struct table		*from_table;
	enum match_for		 for_;
	int			 for_negate;
	char			*for_value;	/* NAME or ADDRESS, or NULL */
	struct table		*for_table;
	struct action		*action;
	struct policy		*policy;	/* or NULL */
	const char		*file;
	int			 line;
};

struct limits {
	size_t			 max_line;		/* command line */
	size_t			 max_message_size;
	size_t			 max_rcpt;
	size_t			 max_sessions;
	size_t			 max_sessions_per_ip;
	size_t			 max_bad_commands;
	size_t			 max_mails_per_session;
	int			 timeout_command;	/* seconds */
	int			 timeout_data;		/* seconds */
	int			 expire;		/* seconds */
	int			 retry_min;		/* seconds */
	int			 retry_max;		/* seconds */
	int			 timeout_delivery;	/* seconds */
	int			 timeout_policy;	/* decisions, seconds */
	int			 secure_expire;		/* seconds */
	int			 secure_expire_max;	/* seconds */
	int			 secure_sweep;		/* seconds */
	int			 secure_session;	/* seconds */
	int			 code_lifetime;		/* seconds */
	size_t			 code_attempts;
};

/*
 * Secured delivery: "secure ..." lines.  What the notification mails the
 * queue sends look like and what happens to a 2fa recipient without a
 * phone number.  The templates are read by the parent before the queue
 * forks (queue_notify_load()), into notify_tmpl.
 */
enum secure_missing_phone {
	MISSING_PHONE_HOLD,	/* default: held, the sender is told */
	MISSING_PHONE_1FA,	/* explicit fallback: sealed for 1fa */
};

struct secure_conf {
	char			*portal;	/* link base URL, or NULL */
	char			*organisation;	/* or NULL: the hostname */
	char			*logo;		/* URL of the logo, or NULL */
	char			*colour;	/* "#rrggbb", or NULL */
	char			*from;		/* From: of notices, or NULL */
	char			*reply_to;	/* NULL: the sender; "" none */
	char			*templates;	/* directory, or NULL */
	char			 language[4];	/* "nl" or "en" */
	int			 hide_subject;
	enum secure_missing_phone missing_phone;
	void			*notify_tmpl;	/* loaded templates */
};

TAILQ_HEAD(tablelist, table);
TAILQ_HEAD(pkilist, pki);
TAILQ_HEAD(listenerlist, listener);
TAILQ_HEAD(actionlist, action);
TAILQ_HEAD(matchlist, match);
TAILQ_HEAD(policylist, policy);

struct config {
	char			*path;		/* top-level file */
	char			*hostname;	/* "hostname NAME", default gethostname */
	char			*spool;
	char			*vault;
	char			*empty;		/* chroot of unprivileged procs */
	char			*control_socket;
	char			*resolver;	/* "resolver ADDR", or NULL */
	int			 resolver_port;	/* 0: 53 */
	struct limits		 limits;
	struct tablelist	 tables;
	struct pkilist		 pkis;
	struct calist		 cas;
	struct listenerlist	 listeners;
	struct actionlist	 actions;
	struct matchlist	 matches;
	struct policylist	 policies;
	struct secure_conf	 secure;
	/* Strings interned for file names in error messages. */
	char			**files;
	size_t			 nfiles;
};

/*
 * Parse path.  On error every problem is written to errfp as
 * "FILE:LINE: message" and NULL is returned.  No I/O besides reading the
 * file, its includes and file: tables.
 */
struct config	*config_parse(const char *path, FILE *errfp);

/*
 * Define a macro "NAME=value" for every later config_parse (smtpd -D);
 * the file cannot redefine it.  Returns -1 if malformed.
 */
int		 config_define(const char *);
void		 config_free(struct config *);

/* Read every pki's certificate and key into memory (parent, as root). */
int		 config_load_pki(struct config *, FILE *errfp);

struct table	*config_table(struct config *, const char *);
/*
 * The lifetime of a secured recipient of action a (NULL: the global
 * limits): the action's secure-expire, or days (from X-Seal-Expires)
 * when not 0, never longer than its secure-expire-max (*clamped set).
 */
int	 config_secure_lifetime(const struct config *, const struct action *,
	    unsigned int days, int *clamped);
/* The longest lifetime any action allows. */
int	 config_secure_lifetime_max(const struct config *);
struct action	*config_action(struct config *, const char *);
struct policy	*config_policy(struct config *, const char *);
struct ca	*config_ca(struct config *, const char *);

/* "none", "may", "encrypt", "verify" as enum tls_level; -1 if none. */
int		 config_tls_level(const char *);

/* Table lookups.  Keys are compared as the table kind requires. */
int		 table_has(const struct table *, const char *key);
const char	*table_get(const struct table *, const char *key);

/*
 * Case-insensitive lookups (domains), and addresses: local part exact,
 * domain case-insensitive (RFC 5321 2.4).
 */
int		 table_has_nocase(const struct table *, const char *key);
const char	*table_get_nocase(const struct table *, const char *key);
int		 table_has_address(const struct table *, const char *addr);
int		 table_address_equal(const char *, const char *);

/* Building tables: used by the parser (table.c). */
struct table	*table_new(const char *name);
void		 table_add(struct table *, const char *key, const char *value,
		    int line);
const struct table_entry *table_finish(struct table *);
int		 table_load_file(struct table *, const char *path, FILE *errfp);
void		 table_free(struct table *);

#endif
