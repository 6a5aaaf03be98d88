/*
 * policy_message.c: placeholder until the policy for the message side lands.
 * Any message is a protocol violation for now.
 */
#include "log.h"
#include "policyd.h"
#include "proto.h"

void
policy_message_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("unexpected %s", proto_imsg_name(imsg->hdr.type));
}
