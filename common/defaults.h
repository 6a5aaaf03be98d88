/*
 * defaults.h: every compiled-in default of sealrelay in one place.
 *
 * Paths, users, limits and timeouts.  smtpd.conf(5) names each of these;
 * change one here and change the manual page in the same commit.
 */
#ifndef SEAL_DEFAULTS_H
#define SEAL_DEFAULTS_H

#ifndef SEAL_SYSCONFDIR
#define SEAL_SYSCONFDIR		"/etc/sealrelay"
#endif
#ifndef SEAL_LIBEXECDIR
#define SEAL_LIBEXECDIR		"/usr/local/libexec/sealrelay"
#endif

#define SEAL_CONFIG		SEAL_SYSCONFDIR "/smtpd.conf"
#define SEAL_SPOOL		"/var/spool/sealrelay"
#define SEAL_VAULT		"/var/lib/sealrelay/vault"
#define SEAL_EMPTY		"/var/lib/sealrelay/empty"
#define SEAL_CONTROL_SOCKET	"/run/sealrelay.sock"

/* One unprivileged user (and group of the same name) per process. */
#define SEAL_USER_SMTP		"_sealsmtp"
#define SEAL_USER_QUEUE		"_sealqueue"
#define SEAL_USER_CONTROL	"_sealctl"
#define SEAL_USER_POLICY	"_sealpolicy"
#define SEAL_USER_DELIVERY	"_sealdeliver"
#define SEAL_USER_CRYPT		"_sealcrypt"
#define SEAL_USER_PORTAL	"_sealportal"

/* SMTP server limits (smtpd.conf: limit ...). */
#define DEF_MAX_LINE		4096		/* command line, bytes */
#define DEF_MAX_MESSAGE_SIZE	(35 * 1024 * 1024)
#define DEF_MAX_RCPT		1000		/* recipients per message */
#define DEF_MAX_SESSIONS	1000		/* sessions in total */
#define DEF_MAX_SESSIONS_PER_IP	50
#define DEF_MAX_BAD_COMMANDS	20
#define DEF_MAX_MAILS_PER_SESSION 1000
#define DEF_TIMEOUT_COMMAND	300		/* seconds, RFC 5321 4.5.3.2.7 */
#define DEF_TIMEOUT_DATA	600		/* seconds, whole DATA phase */
#define DEF_MAX_DATA_LINE	(1024 * 1024)	/* longest line kept in DATA */

/* Delivery. */
#define DEF_EXPIRE		(4 * 24 * 3600)	/* queue lifetime, seconds */
#define DEF_RETRY_MIN		60
#define DEF_RETRY_MAX		(60 * 60)
#define DEF_SMTP_PORT		25
#define DEF_SUBMISSION_PORT	587
#define DEF_SMTPS_PORT		465
#define DEF_TIMEOUT_DELIVERY	300		/* per remote reply, seconds */
#define DEF_MTA_CONNECT_TIMEOUT	30		/* seconds */
#define DEF_MTA_SESSIONS_PER_DEST 10		/* connections to one place */
#define DEF_MTA_MAILS_PER_SESSION 100		/* then QUIT and reconnect */
#define DEF_MTA_IDLE_TIMEOUT	10		/* idle connection kept, s */
#define DEF_MTA_ROUTE_TTL	300		/* MX/A answers kept, s */
#define DEF_MTA_DEST_SWEEP	60		/* idle destinations freed, s */
#define DEF_MTA_RCPT_PER_TX	100		/* RFC 5321 4.5.3.1.8 */
#define DEF_MTA_BODY_CHUNK	65536		/* message file read per step */
#define DEF_MTA_CA_FILE		"/etc/ssl/certs/ca-certificates.crt"

/* Secured delivery: cryptd (smtpd.conf: limit secure-... and code-...). */
#define DEF_SECURE_EXPIRE	(14 * 24 * 3600)	/* link lifetime, s */
#define DEF_SECURE_EXPIRE_MAX	(90 * 24 * 3600)	/* longest asked for */
#define DEF_SECURE_SWEEP	60		/* expiry sweep interval, s */
#define DEF_SECURE_SESSION	(30 * 60)	/* portal session, s */
#define DEF_CODE_LIFETIME	(10 * 60)	/* one-time code, s */
#define DEF_CODE_ATTEMPTS	5		/* wrong codes, then locked */
#define DEF_SECURE_LANGUAGE	"nl"		/* notices: secure language */
#define DEF_SECURE_TEMPLATES	SEAL_SYSCONFDIR "/templates"
#define DEF_SECURE_COLOUR	"#1f4e79"	/* secure colour */
#define DEF_SECURE_PORTAL_PATH	"/m/"		/* https://HOSTNAME/m/ */
#define CRYPT_CHUNK_SIZE	65536		/* secretstream chunk */
#define CRYPT_MAX_MESSAGE	(64 * 1024 * 1024) /* sealed or opened */

/* Queue (sealrelay-spool(5)). */
#define DEF_TIMEOUT_POLICY	30		/* policy's decisions, s */
#define QUEUE_MAX_BATCHES	256		/* batches at deliveryd */
#define QUEUE_BATCH_MAX_RCPT	100		/* recipients per batch */
#define QUEUE_DEST_DOWN_AFTER	3		/* all-4xx batches in a row */

/* Internal. */
#define CHILD_STOP_GRACE	5		/* seconds before SIGKILL */
#define HELPER_START_TIMEOUT	10		/* seconds for the handshake */

#endif
