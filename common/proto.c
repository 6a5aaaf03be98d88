/*
 * proto.c: names of processes and message types, for logs and traces,
 * and the payload checks every receiver uses.
 */
#include <string.h>

#include "proto.h"

static const char *const proc_names[PROC_MAX] = {
	[PROC_PARENT] = "parent",
	[PROC_SMTP] = "smtp",
	[PROC_QUEUE] = "queue",
	[PROC_CONTROL] = "control",
	[PROC_POLICY] = "policy",
	[PROC_DELIVERY] = "delivery",
	[PROC_CRYPT] = "crypt",
	[PROC_PORTAL] = "portal",
};

#define N(x)	[x] = #x
static const char *const imsg_names[IMSG_TYPE_MAX] = {
	N(IMSG_NONE),
	N(IMSG_PARENT_HELLO),
	N(IMSG_ANY_PEER),
	N(IMSG_ANY_GO),
	N(IMSG_CTL_HELLO),
	N(IMSG_CTL_OK),
	N(IMSG_CTL_FAIL),
	N(IMSG_CTL_TEXT),
	N(IMSG_CTL_END),
	N(IMSG_CTL_VERBOSE),
	N(IMSG_CTL_SHOW_QUEUE),
	N(IMSG_CTL_SCHEDULE),
	N(IMSG_PARENT_VERBOSE),
	N(IMSG_ANY_VERBOSE),
	N(IMSG_QUEUE_CTL_SHOW),
	N(IMSG_QUEUE_CTL_SCHEDULE),
	N(IMSG_CONTROL_TEXT),
	N(IMSG_CONTROL_END),
	N(IMSG_CONTROL_FAIL),
	N(IMSG_POLICY_AUTH),
	N(IMSG_SMTP_AUTH_RESULT),
	N(IMSG_POLICY_RCPT),
	N(IMSG_SMTP_RCPT_RESULT),
	N(IMSG_QUEUE_MESSAGE_CREATE),
	N(IMSG_SMTP_MESSAGE_FILE),
	N(IMSG_QUEUE_ENVELOPE),
	N(IMSG_QUEUE_RCPT),
	N(IMSG_QUEUE_MESSAGE_COMMIT),
	N(IMSG_QUEUE_MESSAGE_ABORT),
	N(IMSG_SMTP_COMMIT_RESULT),
	N(IMSG_POLICY_MESSAGE),
	N(IMSG_POLICY_MESSAGE_RCPT),
	N(IMSG_POLICY_MESSAGE_END),
	N(IMSG_QUEUE_DECISION),
	N(IMSG_QUEUE_DECISION_END),
	N(IMSG_DELIVERY_MESSAGE),
	N(IMSG_DELIVERY_RCPT),
	N(IMSG_DELIVERY_GO),
	N(IMSG_QUEUE_DELIVERY_RESULT),
	N(IMSG_QUEUE_DELIVERY_DONE),
	N(IMSG_CRYPT_SEAL),
	N(IMSG_CRYPT_SEAL_RCPT),
	N(IMSG_CRYPT_SEAL_END),
	N(IMSG_QUEUE_SEAL_RESULT),
	N(IMSG_QUEUE_SEAL_DONE),
	N(IMSG_CRYPT_EVENT),
	N(IMSG_QUEUE_CODE_SEND),
	N(IMSG_CRYPT_LOOKUP),
	N(IMSG_PORTAL_LOOKUP_RESULT),
	N(IMSG_CRYPT_CODE_ISSUE),
	N(IMSG_PORTAL_CODE_ISSUED),
	N(IMSG_CRYPT_CODE_CHECK),
	N(IMSG_PORTAL_CODE_RESULT),
	N(IMSG_CRYPT_OPEN),
	N(IMSG_PORTAL_OPEN_RESULT),
	N(IMSG_CRYPT_REPLY),
	N(IMSG_PORTAL_REPLY_RESULT),
	N(IMSG_CTL_SECURE_SHOW),
	N(IMSG_CTL_SECURE_LOG),
	N(IMSG_CTL_SECURE_REVOKE),
	N(IMSG_CRYPT_CTL_SHOW),
	N(IMSG_CRYPT_CTL_LOG),
	N(IMSG_CRYPT_CTL_REVOKE),
};
#undef N

const char *
proto_imsg_name(uint32_t type)
{
	if (type < IMSG_TYPE_MAX && imsg_names[type] != NULL)
		return imsg_names[type] + strlen("IMSG_");
	return "UNKNOWN";
}

const char *
proto_proc_name(enum proc_id id)
{
	if ((unsigned int)id < PROC_MAX)
		return proc_names[id];
	return "unknown";
}

int
proto_str_ok(const char *buf, size_t size)
{
	return memchr(buf, '\0', size) != NULL;
}
