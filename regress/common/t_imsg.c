/*
 * t_imsg.c: unit tests of the imsg framing (common/imsg.c): messages cut
 * into pieces, several messages in one read, descriptor passing, and
 * malformed streams refused.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "../lib/tap.h"

static void
wr(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		printf("# short write\n");
}

static int
pair(int sp[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
}

/* Read until a message is complete or the stream fails. */
static int
get_one(struct imsgbuf *ib, struct imsg *m)
{
	int	r;

	for (;;) {
		if ((r = imsg_get(ib, m)) != 0)
			return r;
		if (imsgbuf_read(ib) <= 0)
			return -2;
	}
}

static void
test_roundtrip(void)
{
	struct imsgbuf	a, b;
	struct imsg	m;
	int		sp[2];
	char		payload[100];

	if (pair(sp) == -1)
		exit(1);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	memset(payload, 'x', sizeof(payload));
	ok(imsg_compose(&a, 7, 42, 1234, -1, payload, sizeof(payload)) == 0,
	    "compose");
	ok(imsgbuf_write(&a) == 0 && a.wqlen == 0, "write all");
	is_int(get_one(&b, &m), 1, "one message read");
	is_int(m.hdr.type, 7, "type kept");
	is_int(m.hdr.peerid, 42, "peer id kept");
	is_int(m.hdr.pid, 1234, "pid kept");
	is_int(m.datalen, sizeof(payload), "length kept");
	ok(m.data != NULL && memcmp(m.data, payload, sizeof(payload)) == 0,
	    "payload kept");
	is_int(m.fd, -1, "no descriptor");
	imsg_free(&m);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sp[0]);
	close(sp[1]);
}

/* A message written one byte at a time is handed out only when whole. */
static void
test_fragmented(void)
{
	struct imsgbuf	a, b;
	struct imsg	m;
	struct ibuf	*buf;
	uint8_t		*raw;
	size_t		 len, i;
	int		 sp[2], early = 0;

	if (pair(sp) == -1)
		exit(1);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	imsg_compose(&a, 9, 0, 0, -1, "hello, world", 12);
	buf = TAILQ_FIRST(&a.wq);
	len = buf->len;
	raw = malloc(len);
	memcpy(raw, buf->buf, len);
	for (i = 0; i < len; i++) {
		if (write(sp[0], raw + i, 1) != 1)
			break;
		if (imsgbuf_read(&b) != 1)
			break;
		if (i + 1 < len && imsg_get(&b, &m) != 0)
			early = 1;
	}
	ok(!early, "no message before its last byte (%zu bytes)", len);
	is_int(imsg_get(&b, &m), 1, "complete after the last byte");
	ok(m.datalen == 12 && memcmp(m.data, "hello, world", 12) == 0,
	    "fragmented payload intact");
	imsg_free(&m);
	free(raw);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sp[0]);
	close(sp[1]);
}

static void
test_many_in_one_read(void)
{
	struct imsgbuf	a, b;
	struct imsg	m;
	uint32_t	i, n = 0, inorder = 1;
	int		sp[2];

	if (pair(sp) == -1)
		exit(1);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	for (i = 0; i < 50; i++)
		imsg_compose(&a, 100 + i, 0, 0, -1, &i, sizeof(i));
	imsgbuf_write(&a);
	ok(imsgbuf_read(&b) > 0, "one read");
	while (imsg_get(&b, &m) == 1) {
		if (m.hdr.type != 100 + n || m.datalen != sizeof(i) ||
		    memcmp(m.data, &n, sizeof(n)) != 0)
			inorder = 0;
		n++;
		imsg_free(&m);
	}
	is_int(n, 50, "50 messages from one read");
	ok(inorder, "in order, payloads intact");
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sp[0]);
	close(sp[1]);
}

static void
test_fd_passing(void)
{
	struct imsgbuf	a, b;
	struct imsg	m;
	struct stat	st1, st2;
	char		path[] = "/tmp/t_imsg.XXXXXX";
	int		sp[2], fd, got = 0, n;

	if (pair(sp) == -1)
		exit(1);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	fd = mkstemp(path);
	unlink(path);
	fstat(fd, &st1);
	/* A message without fd, then two with, then one without. */
	imsg_compose(&a, 1, 0, 0, -1, "a", 1);
	imsg_compose(&a, 2, 0, 0, fd, "b", 1);
	imsg_compose(&a, 3, 0, 0, dup(0), "c", 1);
	imsg_compose(&a, 4, 0, 0, -1, "d", 1);
	imsgbuf_write(&a);
	for (n = 0; n < 4; n++) {
		if (get_one(&b, &m) != 1)
			break;
		if (m.hdr.type == 1 || m.hdr.type == 4)
			ok(m.fd == -1, "message %u has no descriptor",
			    m.hdr.type);
		else if (m.fd != -1) {
			got++;
			if (m.hdr.type == 2) {
				fstat(m.fd, &st2);
				ok(st1.st_ino == st2.st_ino &&
				    st1.st_dev == st2.st_dev,
				    "descriptor reaches its own message");
			}
		}
		imsg_free(&m);
	}
	is_int(got, 2, "two descriptors received");
	ok(fcntl(fd, F_GETFD) == -1 && errno == EBADF,
	    "sender closed its descriptor once sent");
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sp[0]);
	close(sp[1]);
}

static void
test_refused(void)
{
	struct imsgbuf	a, b;
	struct imsg	m;
	struct imsg_hdr	h;
	char		big[IMSG_MAX_PAYLOAD + 1];
	int		sp[2];

	if (pair(sp) == -1)
		exit(1);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	memset(big, 0, sizeof(big));
	ok(imsg_compose(&a, 1, 0, 0, -1, big, sizeof(big)) == -1 &&
	    errno == EMSGSIZE, "oversize payload refused by the sender");
	ok(imsg_compose(&a, 1, 0, 0, -1, big, IMSG_MAX_PAYLOAD) == 0,
	    "maximum payload accepted");
	imsgbuf_clear(&a);

	/* A header announcing more than the maximum. */
	memset(&h, 0, sizeof(h));
	h.type = 1;
	h.len = IMSG_HEADER_SIZE + IMSG_MAX_PAYLOAD + 1;
	wr(sp[0], &h, sizeof(h));
	imsgbuf_read(&b);
	ok(imsg_get(&b, &m) == -1 && errno == EBADMSG,
	    "oversize length refused by the receiver");
	imsgbuf_clear(&b);

	/* A length shorter than the header. */
	h.len = 4;
	wr(sp[0], &h, sizeof(h));
	imsgbuf_read(&b);
	ok(imsg_get(&b, &m) == -1, "length shorter than the header refused");
	imsgbuf_clear(&b);

	/* Unknown flags. */
	h.len = IMSG_HEADER_SIZE;
	h.flags = 0x80;
	wr(sp[0], &h, sizeof(h));
	imsgbuf_read(&b);
	ok(imsg_get(&b, &m) == -1, "unknown flags refused");
	imsgbuf_clear(&b);

	/* A message flagged with a descriptor that did not come. */
	h.flags = IMSGF_HASFD;
	wr(sp[0], &h, sizeof(h));
	imsgbuf_read(&b);
	ok(imsg_get(&b, &m) == -1, "missing descriptor refused");
	imsgbuf_clear(&b);

	/* A short message: header only partly there is not an error. */
	h.flags = 0;
	wr(sp[0], &h, 5);
	imsgbuf_read(&b);
	is_int(imsg_get(&b, &m), 0, "partial header waits");
	imsgbuf_clear(&b);
	close(sp[0]);
	close(sp[1]);
}

/* A large backlog written through a full socket arrives intact. */
static void
test_partial_writes(void)
{
	struct imsgbuf	a, b;
	struct imsg	m;
	char		payload[8000];
	int		sp[2], i, n = 0, bad = 0, flags;

	if (pair(sp) == -1)
		exit(1);
	flags = fcntl(sp[0], F_GETFL);
	fcntl(sp[0], F_SETFL, flags | O_NONBLOCK);
	flags = fcntl(sp[1], F_GETFL);
	fcntl(sp[1], F_SETFL, flags | O_NONBLOCK);
	imsgbuf_init(&a, sp[0]);
	imsgbuf_init(&b, sp[1]);
	for (i = 0; i < 200; i++) {
		memset(payload, i & 0xff, sizeof(payload));
		imsg_compose(&a, 5, (uint32_t)i, 0, -1, payload,
		    sizeof(payload));
	}
	while (a.wqlen > 0 || n < 200) {
		if (imsgbuf_write(&a) == -1)
			break;
		if (imsgbuf_read(&b) == -1 && errno != EAGAIN)
			break;
		while (imsg_get(&b, &m) == 1) {
			if (m.hdr.peerid != (uint32_t)n ||
			    m.datalen != sizeof(payload) ||
			    ((uint8_t *)m.data)[7999] != (n & 0xff))
				bad = 1;
			n++;
			imsg_free(&m);
		}
	}
	is_int(n, 200, "200 large messages through partial writes");
	ok(!bad, "all intact and in order");
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sp[0]);
	close(sp[1]);
}

int
main(void)
{
	test_roundtrip();
	test_fragmented();
	test_many_in_one_read();
	test_fd_passing();
	test_refused();
	test_partial_writes();
	return done_testing();
}
