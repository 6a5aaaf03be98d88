/*
 * imsg.c: framing, fd passing and libevent glue for messages between
 * sealrelay's processes (every process links it).
 *
 * Writes queue whole messages and send as much as the socket takes; a
 * passed descriptor travels with the first byte of its own message and
 * is never sent with the tail of an earlier one.  Reads collect bytes and
 * descriptors; a message is handed out only once complete and sane.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "log.h"
#include "util.h"

#define IMSG_CMSG_FDS	8	/* descriptors taken per recvmsg */
#define IMSG_IOV_MAX	64

static const char *imsg_type_number(uint32_t);

const char *(*imsg_type_name)(uint32_t) = imsg_type_number;

static const char *
imsg_type_number(uint32_t type)
{
	static char	buf[16];

	(void)snprintf(buf, sizeof(buf), "%u", type);
	return buf;
}

void
imsgbuf_init(struct imsgbuf *ibuf, int fd)
{
	memset(ibuf, 0, sizeof(*ibuf));
	ibuf->fd = fd;
	ibuf->pid = getpid();
	TAILQ_INIT(&ibuf->wq);
}

static void
ibuf_free(struct ibuf *b)
{
	if (b->fd != -1)
		close(b->fd);
	free(b->buf);
	free(b);
}

void
imsgbuf_clear(struct imsgbuf *ibuf)
{
	struct ibuf	*b;
	size_t		 i;

	while ((b = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		TAILQ_REMOVE(&ibuf->wq, b, entry);
		ibuf_free(b);
	}
	ibuf->wqlen = 0;
	for (i = 0; i < ibuf->nrfds; i++)
		close(ibuf->rfds[i]);
	ibuf->nrfds = 0;
	ibuf->rlen = 0;
}

int
imsg_composev(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const struct iovec *iov, int iovcnt)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*b;
	size_t		 len = 0, off;
	int		 i;

	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > IMSG_MAX_PAYLOAD ||
		    len + iov[i].iov_len > IMSG_MAX_PAYLOAD) {
			errno = EMSGSIZE;
			return -1;
		}
		len += iov[i].iov_len;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = IMSG_HEADER_SIZE + len;
	hdr.flags = fd != -1 ? IMSGF_HASFD : 0;
	hdr.peerid = peerid;
	hdr.pid = pid != 0 ? (uint32_t)pid : (uint32_t)ibuf->pid;

	b = xcalloc(1, sizeof(*b));
	b->buf = xmalloc(hdr.len);
	b->len = hdr.len;
	b->fd = fd;
	memcpy(b->buf, &hdr, IMSG_HEADER_SIZE);
	off = IMSG_HEADER_SIZE;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		memcpy(b->buf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	TAILQ_INSERT_TAIL(&ibuf->wq, b, entry);
	ibuf->wqlen++;
	return 0;
}

int
imsg_compose(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const void *data, size_t datalen)
{
	struct iovec	iov;

	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = data != NULL ? datalen : 0;
	return imsg_composev(ibuf, type, peerid, pid, fd, &iov, 1);
}

int
imsgbuf_write(struct imsgbuf *ibuf)
{
	struct iovec	 iov[IMSG_IOV_MAX];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ibuf	*b, *next;
	ssize_t		 n;
	size_t		 left;
	int		 i;

	while ((b = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		memset(&msg, 0, sizeof(msg));
		i = 0;
		TAILQ_FOREACH(next, &ibuf->wq, entry) {
			/* A descriptor goes only with its own first byte. */
			if (i > 0 && next->fd != -1)
				break;
			iov[i].iov_base = next->buf + next->off;
			iov[i].iov_len = next->len - next->off;
			if (++i == IMSG_IOV_MAX)
				break;
		}
		msg.msg_iov = iov;
		msg.msg_iovlen = i;
		if (b->fd != -1 && b->off == 0) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			memcpy(CMSG_DATA(cmsg), &b->fd, sizeof(int));
		}
		n = sendmsg(ibuf->fd, &msg, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS)
				return 0;
			return -1;
		}
		left = (size_t)n;
		while (left > 0 && (b = TAILQ_FIRST(&ibuf->wq)) != NULL) {
			if (b->fd != -1) {
				/* The kernel holds its own reference now. */
				close(b->fd);
				b->fd = -1;
			}
			if (left >= b->len - b->off) {
				left -= b->len - b->off;
				TAILQ_REMOVE(&ibuf->wq, b, entry);
				ibuf->wqlen--;
				ibuf_free(b);
			} else {
				b->off += left;
				left = 0;
			}
		}
	}
	return 0;
}

ssize_t
imsgbuf_read(struct imsgbuf *ibuf)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * IMSG_CMSG_FDS)];
	} cmsgbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	ssize_t		 n;
	size_t		 nfd, i;
	int		 fds[IMSG_CMSG_FDS], bad = 0;

	if (ibuf->rlen == sizeof(ibuf->rbuf)) {
		errno = EBADMSG;
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = ibuf->rbuf + ibuf->rlen;
	iov.iov_len = sizeof(ibuf->rbuf) - ibuf->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	do {
		n = recvmsg(ibuf->fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;

	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfd > IMSG_CMSG_FDS)
			nfd = IMSG_CMSG_FDS;
		memcpy(fds, CMSG_DATA(cmsg), nfd * sizeof(int));
		for (i = 0; i < nfd; i++) {
			if (ibuf->nrfds < IMSG_MAX_FDS)
				ibuf->rfds[ibuf->nrfds++] = fds[i];
			else {
				close(fds[i]);
				bad = 1;
			}
		}
	}
	if (msg.msg_flags & MSG_CTRUNC)
		bad = 1;
	if (bad) {
		errno = EBADMSG;
		return -1;
	}
	ibuf->rlen += (size_t)n;
	return n;
}

int
imsg_get(struct imsgbuf *ibuf, struct imsg *imsg)
{
	struct imsg_hdr	hdr;
	size_t		datalen;

	memset(imsg, 0, sizeof(*imsg));
	imsg->fd = -1;
	if (ibuf->rlen < IMSG_HEADER_SIZE)
		return 0;
	memcpy(&hdr, ibuf->rbuf, IMSG_HEADER_SIZE);
	if (hdr.len < IMSG_HEADER_SIZE ||
	    hdr.len > IMSG_HEADER_SIZE + IMSG_MAX_PAYLOAD ||
	    (hdr.flags & ~IMSGF_HASFD) != 0) {
		errno = EBADMSG;
		return -1;
	}
	if (hdr.len > ibuf->rlen)
		return 0;
	if (hdr.flags & IMSGF_HASFD) {
		if (ibuf->nrfds == 0) {
			errno = EBADMSG;
			return -1;
		}
		imsg->fd = ibuf->rfds[0];
		memmove(ibuf->rfds, ibuf->rfds + 1,
		    (ibuf->nrfds - 1) * sizeof(int));
		ibuf->nrfds--;
	}
	imsg->hdr = hdr;
	datalen = hdr.len - IMSG_HEADER_SIZE;
	imsg->datalen = datalen;
	if (datalen > 0) {
		imsg->data = xmalloc(datalen);
		memcpy(imsg->data, ibuf->rbuf + IMSG_HEADER_SIZE, datalen);
	}
	memmove(ibuf->rbuf, ibuf->rbuf + hdr.len, ibuf->rlen - hdr.len);
	ibuf->rlen -= hdr.len;
	return 1;
}

void
imsg_free(struct imsg *imsg)
{
	free(imsg->data);
	imsg->data = NULL;
	if (imsg->fd != -1)
		close(imsg->fd);
	imsg->fd = -1;
}

/* libevent glue */

static void imsgev_dispatch(int, short, void *);

static void
imsgev_update(struct imsgev *iev)
{
	short	events = EV_READ;

	if (iev->closed)
		return;
	if (iev->ibuf.wqlen > 0)
		events |= EV_WRITE;
	if (events == iev->events)
		return;
	if (iev->events != 0)
		event_del(&iev->ev);
	iev->events = events;
	event_set(&iev->ev, iev->ibuf.fd, events | EV_PERSIST,
	    imsgev_dispatch, iev);
	event_add(&iev->ev, NULL);
}

void
imsgev_init(struct imsgev *iev, int fd, const char *self, const char *peer,
    imsgev_handler handler, void *arg)
{
	int	flags;

	memset(iev, 0, sizeof(*iev));
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("imsgev_init: fcntl");
	imsgbuf_init(&iev->ibuf, fd);
	iev->self = self;
	iev->peer = peer;
	iev->handler = handler;
	iev->arg = arg;
	imsgev_update(iev);
}

static void
imsgev_trace(struct imsgev *iev, const char *dir, uint32_t type,
    size_t len, int fd)
{
	if ((log_trace & TRACE_IMSG) == 0)
		return;
	log_trace_msg(TRACE_IMSG, "imsg: %s %s %s: %s len=%zu%s", iev->self,
	    dir, iev->peer, imsg_type_name(type), len,
	    fd != -1 ? " fd" : "");
}

int
imsgev_composev(struct imsgev *iev, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const struct iovec *iov, int iovcnt)
{
	size_t	len = 0;
	int	i;

	if (iev->closed) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (imsg_composev(&iev->ibuf, type, peerid, pid, fd, iov,
	    iovcnt) == -1)
		return -1;
	imsgev_trace(iev, "->", type, len, fd);
	imsgev_update(iev);
	return 0;
}

int
imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const void *data, size_t datalen)
{
	struct iovec	iov;

	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = data != NULL ? datalen : 0;
	return imsgev_composev(iev, type, peerid, pid, fd, &iov, 1);
}

void
imsgev_flush(struct imsgev *iev)
{
	struct pollfd	pfd;

	while (!iev->closed && iev->ibuf.wqlen > 0) {
		if (imsgbuf_write(&iev->ibuf) == -1)
			return;
		if (iev->ibuf.wqlen == 0)
			break;
		pfd.fd = iev->ibuf.fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 1000) <= 0)
			return;
	}
}

void
imsgev_close(struct imsgev *iev)
{
	if (iev->closed)
		return;
	if (iev->events != 0)
		event_del(&iev->ev);
	iev->events = 0;
	imsgbuf_clear(&iev->ibuf);
	close(iev->ibuf.fd);
	iev->closed = 1;
}

static void
imsgev_dispatch(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 r;

	if (event & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1) {
			imsgev_close(iev);
			iev->handler(iev, NULL);
			return;
		}
	}
	if (event & EV_READ) {
		n = imsgbuf_read(&iev->ibuf);
		if (n == -1 && errno == EBADMSG)
			goto malformed;
		if (n == 0 || (n == -1 && errno != EAGAIN &&
		    errno != EWOULDBLOCK)) {
			imsgev_close(iev);
			iev->handler(iev, NULL);
			return;
		}
		for (;;) {
			r = imsg_get(&iev->ibuf, &imsg);
			if (r == -1)
				goto malformed;
			if (r == 0)
				break;
			imsgev_trace(iev, "<-", imsg.hdr.type, imsg.datalen,
			    imsg.fd);
			iev->handler(iev, &imsg);
			imsg_free(&imsg);
			if (iev->closed) {
				iev->handler(iev, NULL);
				return;
			}
		}
	}
	imsgev_update(iev);
	return;

malformed:
	log_warnx("%s: malformed message stream from %s", iev->self,
	    iev->peer);
	imsgev_close(iev);
	iev->handler(iev, NULL);
}
