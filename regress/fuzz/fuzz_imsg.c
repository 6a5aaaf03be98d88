/*
 * fuzz_imsg.c: the imsg reader of every process (imsgbuf_read and
 * imsg_get, common/imsg.c) on bytes from a hostile peer.
 *
 * Input: one byte of settings (how many descriptors ride along, the seed
 * of the piece sizes), then the byte stream, written in pieces into one
 * end of a fresh socketpair and read from the other as the processes do.
 * Invariants checked: a message handed out has a sane header, its whole
 * payload, and a descriptor exactly when flagged; a malformed stream is
 * refused (EBADMSG), and nothing leaks (descriptors are closed).
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "fuzz.h"

static int
send_piece(int fd, const uint8_t *p, size_t n, int nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*c;
	int		 fds[4], i, r;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)p;
	iov.iov_len = n;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		for (i = 0; i < nfds; i++)
			if ((fds[i] = open("/dev/null", O_RDONLY)) == -1)
				abort();
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	r = sendmsg(fd, &msg, 0) == (ssize_t)n ? 0 : -1;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return r;
}

FUZZ_TARGET(imsg)
{
	struct imsgbuf	 ibuf;
	struct imsg	 imsg;
	int		 sp[2], nfds, r, bad = 0;
	uint32_t	 seed;
	size_t		 off = 1, k;
	ssize_t		 n;

	if (size < 1)
		return 0;
	nfds = data[0] & 3;
	seed = data[0] | 1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		abort();
	imsgbuf_init(&ibuf, sp[1]);
	while (off < size && !bad) {
		seed = seed * 1103515245 + 12345;
		k = 1 + (seed >> 16) % 4096;
		if (k > size - off)
			k = size - off;
		if (send_piece(sp[0], data + off, k, off == 1 ? nfds : 0) == -1)
			abort();
		off += k;
		if ((n = imsgbuf_read(&ibuf)) == -1) {
			if (errno != EBADMSG)
				fuzz_fail("read: %s", strerror(errno));
			break;
		}
		if (n == 0)
			fuzz_fail("EOF before the writer closed");
		while ((r = imsg_get(&ibuf, &imsg)) == 1) {
			if (imsg.hdr.len < IMSG_HEADER_SIZE ||
			    imsg.hdr.len > IMSG_HEADER_SIZE + IMSG_MAX_PAYLOAD ||
			    imsg.datalen != imsg.hdr.len - IMSG_HEADER_SIZE)
				fuzz_fail("bad message handed out");
			if ((imsg.datalen > 0) != (imsg.data != NULL))
				fuzz_fail("payload pointer and length differ");
			if (((imsg.hdr.flags & IMSGF_HASFD) != 0) !=
			    (imsg.fd != -1))
				fuzz_fail("fd %d, flags %x", imsg.fd,
				    imsg.hdr.flags);
			if (imsg.fd != -1 && fcntl(imsg.fd, F_GETFD) == -1)
				fuzz_fail("handed out a closed fd");
			imsg_free(&imsg);
		}
		if (r == -1) {
			if (errno != EBADMSG)
				fuzz_fail("get: errno %d", errno);
			bad = 1;
		}
		if (ibuf.rlen > sizeof(ibuf.rbuf))
			fuzz_fail("rlen %zu", ibuf.rlen);
	}
	imsgbuf_clear(&ibuf);
	close(sp[0]);
	close(sp[1]);
	return 0;
}
