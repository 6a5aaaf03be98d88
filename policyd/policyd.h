/*
 * policyd.h: the policy process's parts.
 *
 * policy_smtp.c answers the front end: AUTH (credential tables of
 * crypt(3) hashes) and RCPT (the ruleset: may this client send to this
 * recipient?).  policy_message.c answers the queue: the decision for each
 * recipient of a received message, read through a read-only descriptor.
 */
#ifndef SEAL_POLICYD_H
#define SEAL_POLICYD_H

#include "config.h"
#include "imsg.h"

extern struct config	*policy_cfg;

/* From smtp: IMSG_POLICY_AUTH and IMSG_POLICY_RCPT. */
void	policy_smtp_dispatch(struct imsgev *, struct imsg *);
/* From queue: IMSG_POLICY_MESSAGE, _RCPT and _END. */
void	policy_message_dispatch(struct imsgev *, struct imsg *);

#endif
