/*
 * proto.h: every message exchanged between sealrelay's processes, in one
 * enum, with its payload struct.
 *
 * Rules: payloads are fixed-size structs of fixed-width fields and
 * NUL-terminated char arrays; a receiver checks the exact length with
 * PROTO_CHECK_LEN() and every string with proto_str_ok() before use, and
 * treats any violation as an attack (fatalx: the daemon stops).  Message
 * bodies never travel in a payload, only as descriptors.
 *
 * Names are prefixed by the process that receives them.  Bump
 * SEAL_PROTO_VERSION whenever a payload or the meaning of a type changes:
 * processes (and smtpctl) of different builds refuse to talk.
 */
#ifndef SEAL_PROTO_H
#define SEAL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "imsg.h"

#define SEAL_PROTO_VERSION	1

enum proc_id {
	PROC_PARENT,
	PROC_SMTP,
	PROC_QUEUE,
	PROC_CONTROL,
	PROC_POLICY,
	PROC_DELIVERY,
	PROC_CRYPT,
	PROC_PORTAL,
	PROC_MAX
};

enum imsg_type {
	IMSG_NONE,

	/* Start-up, between the parent and every child. */
	IMSG_PARENT_HELLO,	/* child -> parent: struct proto_hello */
	IMSG_ANY_PEER,		/* parent -> child: struct proto_peer + fd */
	IMSG_ANY_GO,		/* parent -> child: every peer sent; serve */

	/* smtpctl <-> control, and control -> parent/queue. */
	IMSG_CTL_HELLO,		/* smtpctl -> control: struct proto_hello */
	IMSG_CTL_OK,		/* control -> smtpctl: empty */
	IMSG_CTL_FAIL,		/* control -> smtpctl: struct proto_text */
	IMSG_CTL_TEXT,		/* control -> smtpctl: struct proto_text */
	IMSG_CTL_END,		/* control -> smtpctl: end of a listing */
	IMSG_CTL_VERBOSE,	/* smtpctl -> control: struct proto_verbose */
	IMSG_PARENT_VERBOSE,	/* control -> parent: struct proto_verbose */
	IMSG_ANY_VERBOSE,	/* parent -> every child: proto_verbose */

	IMSG_TYPE_MAX
};

struct proto_hello {
	uint32_t	version;	/* SEAL_PROTO_VERSION */
	uint32_t	proc;		/* enum proc_id of the sender */
	uint32_t	pid;
};

struct proto_peer {
	uint32_t	proc;		/* enum proc_id at the other end */
};

struct proto_verbose {
	int32_t		level;		/* 0 brief, 1 verbose, 2 debug */
};

#define PROTO_TEXT_MAX	1024
struct proto_text {
	char		text[PROTO_TEXT_MAX];
};

const char	*proto_imsg_name(uint32_t);
const char	*proto_proc_name(enum proc_id);

/* True if buf (of size bytes) holds a NUL-terminated string. */
int		 proto_str_ok(const char *buf, size_t size);

/*
 * Exact-length check for a payload from an internal peer: a mismatch is
 * a protocol violation and stops the daemon.
 */
#define PROTO_CHECK_LEN(imsg, ptype) do {				\
	if ((imsg)->datalen != sizeof(ptype))				\
		fatalx("%s: bad length %zu for %s (want %zu)",		\
		    __func__, (imsg)->datalen,				\
		    proto_imsg_name((imsg)->hdr.type), sizeof(ptype));	\
} while (0)

#define PROTO_CHECK_STR(field) do {					\
	if (!proto_str_ok((field), sizeof(field)))			\
		fatalx("%s: unterminated string %s", __func__, #field);	\
} while (0)

#endif
