/*
 * smtp.h: the SMTP front end process's parts.
 *
 * smtp.c      the process: listeners, TLS contexts, accept, session
 *             limits, dispatch of policy and queue answers by reqid
 * smtp_io.c   a session's socket: plain or TLS reads and writes through
 *             growing evbuffers, handshakes, timeouts, closing
 * smtp_session.c  the SMTP state machine and the command table
 * smtp_data.c the DATA phase: the pure dot-unstuffing parser and the
 *             streaming of the message into the queue's file
 * smtp_parse.c    pure parsers of command lines and parameters
 *
 * A session's id is also the reqid of every request it makes; a session
 * has at most one request outstanding, so answers are matched by id
 * alone and an answer for a session that is gone is dropped (a message
 * file is aborted).
 */
#ifndef SEAL_SMTP_H
#define SEAL_SMTP_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/cdefs.h>
#include <sys/tree.h>

#include <event.h>
#include <stdint.h>
#include <tls.h>

#include "config.h"
#include "imsg.h"
#include "proto.h"
#include "smtp_parse.h"

struct smtp_ipcount;

/* A listener as the front end sees it. */
struct smtp_listener {
	struct listener		*l;
	struct tls		*tls;		/* server context, or NULL */
	struct event		 ev;
	const char		*hostname;
	char			 name[96];	/* "127.0.0.1:25" for logs */
};

enum smtp_state {
	SMTP_S_TLS_ACCEPT,	/* TLS handshake: smtps, or after STARTTLS */
	SMTP_S_INIT,		/* greeted: HELO/EHLO expected */
	SMTP_S_HELO,		/* MAIL expected */
	SMTP_S_MAIL,		/* RCPT expected */
	SMTP_S_RCPT,		/* RCPT or DATA expected */
	SMTP_S_AUTH_PLAIN,	/* 334 sent: PLAIN response expected */
	SMTP_S_AUTH_USER,	/* 334 sent: LOGIN user name expected */
	SMTP_S_AUTH_PASS,	/* 334 sent: LOGIN password expected */
	SMTP_S_DATA,		/* 354 sent: the message streams in */
	SMTP_S_QUIT,		/* closing: output drains, input ignored */
};

/* The one request a session may have outstanding. */
enum smtp_wait {
	SMTP_W_NONE,
	SMTP_W_AUTH,		/* IMSG_POLICY_AUTH */
	SMTP_W_RCPT,		/* IMSG_POLICY_RCPT */
	SMTP_W_FILE,		/* IMSG_QUEUE_MESSAGE_CREATE */
	SMTP_W_COMMIT,		/* IMSG_QUEUE_MESSAGE_COMMIT */
	SMTP_W_TLS,		/* STARTTLS reply draining */
};

/* What stopped a DATA phase, first one wins. */
enum smtp_data_err {
	SMTP_DATA_OK,
	SMTP_DATA_BARE_LF,
	SMTP_DATA_BARE_CR,
	SMTP_DATA_NUL,
	SMTP_DATA_LINE,		/* a line longer than the limit */
	SMTP_DATA_SIZE,		/* the message is too large */
	SMTP_DATA_IO,		/* writing the file failed */
};

/*
 * The DATA parser: bytes as the client sends them in, the message as it
 * is stored out (through emit, in spans).  Ends only at CRLF "." CRLF;
 * after an error it keeps looking for that end and emits nothing more.
 */
struct smtp_dataparse {
	int		 state;
	size_t		 linelen;
	uint64_t	 size;			/* bytes emitted */
	uint64_t	 max_size;
	size_t		 max_line;
	int		 err;			/* enum smtp_data_err */
	int		 done;
	void		(*emit)(void *, const char *, size_t);
	void		*arg;
};

void	smtp_dataparse_init(struct smtp_dataparse *, uint64_t max_size,
	    size_t max_line, void (*)(void *, const char *, size_t), void *);
/* Returns the bytes consumed; stops right after the end of data. */
size_t	smtp_dataparse(struct smtp_dataparse *, const char *, size_t);
const char *smtp_data_strerr(int);

struct smtp_rcpt {
	TAILQ_ENTRY(smtp_rcpt)	 entry;
	char			*addr;
	char			*orcpt;		/* or NULL */
	uint32_t		 notify;
};

/* One mail transaction, from MAIL to the end of DATA or RSET. */
struct smtp_tx {
	char			 sender[PROTO_ADDR_MAX];
	struct smtp_mail_params	 mp;
	TAILQ_HEAD(, smtp_rcpt)	 rcpts;
	size_t			 nrcpt;
	size_t			 nrcpt_tried;
	struct smtp_rcpt	*pending;	/* waiting for policy */
	char			 msgid[PROTO_ID_MAX];
	int			 fd;		/* the queue's file, or -1 */
	char			*buf;		/* DATA output, only in DATA */
	size_t			 buflen;
	struct smtp_dataparse	 dp;
	int			 ioerr;
};

#define SMTP_F_EHLO		0x0001	/* EHLO (not HELO) was said */
#define SMTP_F_TLS		0x0002	/* TLS is up */
#define SMTP_F_AUTH		0x0004	/* authenticated */
#define SMTP_F_SKIPLINE		0x0008	/* discarding an over-long line */
#define SMTP_F_PAUSED		0x0010	/* not reading: input is full */
#define SMTP_F_CLOSING		0x0020	/* close when output is written */
#define SMTP_F_LOOP		0x0040	/* inside smtp_session_input */
#define SMTP_F_DEAD		0x0080	/* freed when the loop unwinds */

struct smtp_session {
	RB_ENTRY(smtp_session)	 entry;
	uint64_t		 id;
	struct smtp_listener	*sl;
	int			 fd;
	struct tls		*tls;
	char			 tls_info[PROTO_TAG_MAX * 2];
	struct event		 ev;
	short			 evflags;
	int			 tls_want;	/* EV_READ/EV_WRITE wanted */
	struct event		 timer;
	struct event		 ptimer;	/* waiting for policyd */
	uint32_t		 reqseq;	/* policyd request number */
	struct evbuffer		*in;
	struct evbuffer		*out;
	enum smtp_state		 state;
	enum smtp_wait		 wait;
	int			 flags;
	size_t			 nbad;
	size_t			 nmails;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 local;
	char			 ip[PROTO_IP_MAX];
	char			 helo[SMTP_DOMAIN_MAX + 1];
	char			 auth_user[PROTO_NAME_MAX];
	char			*login_user;	/* during AUTH LOGIN */
	struct smtp_tx		*tx;
	struct smtp_ipcount	*ipc;
};

/* smtp.c */
extern struct config	*smtp_cfg;
struct smtp_session	*smtp_session_find(uint64_t);
void	smtp_session_register(struct smtp_session *);
void	smtp_session_unregister(struct smtp_session *);

/* smtp_io.c */
void	smtp_io_start(struct smtp_session *);
void	smtp_io_update(struct smtp_session *);
void	smtp_io_starttls(struct smtp_session *);
void	smtp_io_timeout(struct smtp_session *, int seconds);
void	smtp_io_close(struct smtp_session *);
void	smtp_io_resume(struct smtp_session *);
/* Called by smtp_io.c. */
void	smtp_session_input(struct smtp_session *);
void	smtp_session_tls_ready(struct smtp_session *);
void	smtp_session_timeout(struct smtp_session *);
void	smtp_session_error(struct smtp_session *, const char *);

/* smtp_session.c */
struct smtp_session *smtp_session_new(struct smtp_listener *, int fd,
	    const struct sockaddr *, socklen_t);
void	smtp_session_free(struct smtp_session *, const char *why);
void	smtp_session_reply(struct smtp_session *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	smtp_session_imsg(struct smtp_session *, struct imsg *);
void	smtp_session_tx_reset(struct smtp_session *);
void	smtp_session_enter(struct smtp_session *, enum smtp_state);
const char *smtp_strstate(enum smtp_state);
const char *smtp_hostname(const struct smtp_session *);
void	smtp_session_ask_policy(struct smtp_session *, enum smtp_wait,
	    uint32_t, const void *, size_t);
void	smtp_session_bad(struct smtp_session *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
const char *smtp_esc(const char *, char *, size_t);

/* smtp_auth.c */
int	smtp_auth_check(struct smtp_session *, const char *);
void	smtp_auth_proceed(struct smtp_session *, const char *);
void	smtp_auth_line(struct smtp_session *, const char *);
void	smtp_auth_result(struct smtp_session *, struct proto_result *);

/* smtp_data.c */
int	smtp_data_begin(struct smtp_session *, int fd);
void	smtp_data_input(struct smtp_session *);
void	smtp_data_abort(struct smtp_session *);

#endif
