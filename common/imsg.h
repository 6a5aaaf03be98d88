/*
 * imsg.h: framed messages between sealrelay's processes.
 *
 * A message is a fixed header (type, length, flags, peer id, pid) and a
 * payload of at most IMSG_MAX_PAYLOAD bytes, sent over a stream Unix
 * socketpair, optionally carrying one file descriptor (SCM_RIGHTS).
 * Partial reads and writes are handled; the reader hands out a message
 * only when all of it is there.  imsgbuf_*() do no event handling;
 * imsgev_*() tie an imsgbuf to libevent.
 *
 * Invariant: a received message is handed out only if its header is sane
 * (length within bounds, known flags, an fd present iff flagged); anything
 * else is a protocol violation and the caller treats the peer as hostile.
 */
#ifndef SEAL_IMSG_H
#define SEAL_IMSG_H

#include <sys/queue.h>
#include <sys/types.h>

#include <event.h>
#include <stddef.h>
#include <stdint.h>

#define IMSG_MAX_PAYLOAD	16384
#define IMSG_RBUF_SIZE		65536
#define IMSG_MAX_FDS		16	/* received, not yet claimed */

#define IMSGF_HASFD		0x0001

struct imsg_hdr {
	uint32_t	type;
	uint32_t	len;		/* header + payload */
	uint32_t	flags;
	uint32_t	peerid;
	uint32_t	pid;
};

#define IMSG_HEADER_SIZE	sizeof(struct imsg_hdr)

struct imsg {
	struct imsg_hdr	 hdr;
	int		 fd;		/* -1 if none */
	void		*data;		/* NULL if no payload */
	size_t		 datalen;
};

struct ibuf {
	TAILQ_ENTRY(ibuf) entry;
	uint8_t		*buf;
	size_t		 len;
	size_t		 off;		/* bytes already written */
	int		 fd;		/* sent with the first byte */
};

struct imsgbuf {
	int		 fd;
	pid_t		 pid;
	uint8_t		 rbuf[IMSG_RBUF_SIZE];
	size_t		 rlen;
	int		 rfds[IMSG_MAX_FDS];
	size_t		 nrfds;
	TAILQ_HEAD(, ibuf) wq;
	size_t		 wqlen;		/* messages queued */
};

void	imsgbuf_init(struct imsgbuf *, int fd);
void	imsgbuf_clear(struct imsgbuf *);	/* frees queues, closes fds */

/*
 * Queue a message.  fd, if not -1, is passed and closed once sent.
 * Returns -1 (errno EMSGSIZE) if the payload is too large.
 */
int	imsg_compose(struct imsgbuf *, uint32_t type, uint32_t peerid,
	    pid_t pid, int fd, const void *data, size_t datalen);
int	imsg_composev(struct imsgbuf *, uint32_t type, uint32_t peerid,
	    pid_t pid, int fd, const struct iovec *, int iovcnt);

/* Read what is there.  Returns bytes read, 0 on EOF, -1 on error. */
ssize_t	imsgbuf_read(struct imsgbuf *);
/* Write what the socket takes.  Returns 0, or -1 on error (not EAGAIN). */
int	imsgbuf_write(struct imsgbuf *);

/*
 * Take the next complete message.  Returns 1 and fills imsg (free it with
 * imsg_free), 0 if none is complete, -1 (errno EBADMSG) if the stream is
 * malformed: the peer must be dropped.
 */
int	imsg_get(struct imsgbuf *, struct imsg *);
void	imsg_free(struct imsg *);

/* libevent glue. */
struct imsgev;
typedef void (*imsgev_handler)(struct imsgev *, struct imsg *);

struct imsgev {
	struct imsgbuf	 ibuf;
	struct event	 ev;
	short		 events;
	imsgev_handler	 handler;	/* imsg NULL: the peer closed */
	const char	*self;		/* names for traces and logs */
	const char	*peer;
	void		*arg;
	int		 closed;
};

void	imsgev_init(struct imsgev *, int fd, const char *self,
	    const char *peer, imsgev_handler, void *arg);
int	imsgev_compose(struct imsgev *, uint32_t type, uint32_t peerid,
	    pid_t pid, int fd, const void *data, size_t datalen);
int	imsgev_composev(struct imsgev *, uint32_t type, uint32_t peerid,
	    pid_t pid, int fd, const struct iovec *, int iovcnt);
/* Write everything queued, blocking if need be (before exit). */
void	imsgev_flush(struct imsgev *);
void	imsgev_close(struct imsgev *);

/* Names of message types, for traces; set by the protocol module. */
extern const char *(*imsg_type_name)(uint32_t);

#endif
