/*
 * hdrfilter.h: what of a message's top-level header never leaves
 * sealrelay (pure; used by deliveryd, the queue and cryptd).
 *
 * A byte filter over a message that can be fed in chunks cut anywhere
 * and passes every byte on unchanged except:
 *  - every field of the top-level header whose name starts with
 *    "X-Seal-" (any case), with its continuation lines and line ends:
 *    the directives of sealrelay-headers(7);
 *  - in the top-level Subject field, every subject trigger of the
 *    configuration (policy ... { trigger "TEXT" ... }, any case), with
 *    one blank next to it.
 * A line ends at CR, LF or CRLF, as for deliveryd, so no reading of the
 * bytes finds a header line the filter did not see.  The header ends at
 * the first empty line.  A Subject field longer than HDRFILTER_SUBJECT_MAX
 * is passed on as it is (counted in subject_long).  A consumer that pairs
 * a CR with the LF after it must check that drops did not change in
 * between: the two were not neighbours then.
 */
#ifndef SEAL_HDRFILTER_H
#define SEAL_HDRFILTER_H

#include <stddef.h>

#define HDRFILTER_PREFIX	"X-Seal-"
#define HDRFILTER_NAME_HOLD	64	/* bytes of a field name looked at */
#define HDRFILTER_SUBJECT_MAX	8192	/* a Subject field, all its lines */

struct config;

typedef void (*hdrfilter_emit)(void *, const char *, size_t);

struct hdrfilter {
	const char *const	*triggers;	/* not owned */
	size_t			 ntriggers;
	hdrfilter_emit		 emit;
	void			*arg;
	int			 state;
	int			 fate;		/* of the current field */
	int			 cr;		/* last byte was a CR */
	size_t			 nhold;
	char			 hold[HDRFILTER_NAME_HOLD];
	size_t			 nsubj;
	char			 subj[HDRFILTER_SUBJECT_MAX];
	/* What was done, for logs and tests. */
	size_t			 removed;	/* control fields dropped */
	size_t			 drops;		/* runs of bytes dropped */
	size_t			 triggers_removed;
	size_t			 subject_long;
};

void	hdrfilter_init(struct hdrfilter *, const char *const *triggers,
	    size_t ntriggers, hdrfilter_emit, void *);
void	hdrfilter_add(struct hdrfilter *, const char *, size_t);
void	hdrfilter_finish(struct hdrfilter *);

/* The whole of in (len bytes) filtered into a new buffer (*outlen). */
char	*hdrfilter_buf(const char *in, size_t len,
	    const char *const *triggers, size_t ntriggers, size_t *outlen);

/* True if a header line (name:...) is a control header. */
int	hdrfilter_is_control(const char *, size_t);

/*
 * Remove every trigger from the text s (NUL-terminated, in place), with
 * one blank next to each; returns how many were removed.
 */
size_t	hdrfilter_strip_triggers(char *s, const char *const *triggers,
	    size_t ntriggers);

/*
 * Every distinct trigger text of every policy of cfg, in a new array
 * (the strings belong to cfg); *n is how many.  NULL if none.
 */
const char **hdrfilter_config_triggers(const struct config *, size_t *n);

#endif
