/*
 * parse_int.h: state and helpers shared by the files of the smtpd.conf(5)
 * parser (parse.c, parse_lex.c, parse_settings.c, parse_object.c,
 * parse_action.c, parse_policy.c).  Private to them: everything else uses
 * config.h.
 */
#ifndef PARSE_INT_H
#define PARSE_INT_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stdio.h>

#include "config.h"

#define CONFIG_INCLUDE_MAX	8		/* nested include depth */
#define CONFIG_FILE_MAX		(4 * 1024 * 1024)
#define CONFIG_TOKEN_MAX	8192
#define CONFIG_NAME_MAX		64		/* table, pki, action, tag */
#define PKI_FILE_MAX		(1024 * 1024)

enum token_type {
	T_EOF,
	T_NL,
	T_WORD,			/* bare word: keywords and values */
	T_STRING,		/* "quoted", or a $macro: a value only */
	T_TABLE,		/* <name> */
	T_LBRACE,
	T_RBRACE,
	T_COMMA,
	T_EQ,
	T_BANG,
	T_ERR,			/* already reported by the lexer */
};

struct token {
	enum token_type	 type;
	char		*s;
	int		 line;
};

/* One file being read; includes stack up. */
struct lexer {
	struct lexer	*parent;
	const char	*file;		/* interned in config.files */
	char		*buf;
	size_t		 len;
	size_t		 pos;
	int		 line;
	int		 braces;
	dev_t		 dev;
	ino_t		 ino;
};

struct macro {
	TAILQ_ENTRY(macro)	 entry;
	char			*name;
	char			*value;
	int			 persist;	/* from -D: the file can't change it */
};

enum fixup_kind {
	FIX_LISTEN_PKI,
	FIX_LISTEN_AUTH,
	FIX_ACTION_AUTH,
	FIX_ACTION_CA,
	FIX_ACTION_TLS_POLICY,
	FIX_MATCH_ACTION,
	FIX_MATCH_FROM_TABLE,
	FIX_MATCH_FOR_TABLE,
	FIX_MATCH_POLICY,
	FIX_POLICY_TABLE,	/* obj: the struct table * to set */
	FIX_POLICY_MAP,		/* the same, and it must map keys */
	FIX_POLICY_WORDS,	/* obj: the policy; idx: its rule */
};

/* A name used before it may be defined: resolved at end of parse. */
struct fixup {
	TAILQ_ENTRY(fixup)	 entry;
	enum fixup_kind		 kind;
	void			*obj;
	char			*name;
	const char		*file;
	int			 line;
	size_t			 idx;		/* FIX_POLICY_WORDS: the rule */
};

/* Settings that may appear only once. */
#define SET_HOSTNAME	0x01
#define SET_SPOOL	0x02
#define SET_VAULT	0x04
#define SET_EMPTY	0x08
#define SET_CONTROL	0x10
#define SET_RESOLVER	0x20

struct parser {
	struct config		*conf;
	FILE			*errfp;
	int			 errors;
	struct lexer		*lx;
	int			 depth;		/* of includes */
	struct token		 tok;		/* lookahead */
	int			 have;
	int			 skipping;	/* no lexer errors while set */
	char			*include;	/* pending, pushed after NL */
	int			 include_line;
	int			 set;
	int			 nlisteners;
	const char		*retry_file;
	int			 retry_line;
	TAILQ_HEAD(, macro)	 macros;
	TAILQ_HEAD(fixuplist, fixup) fixups;
};

struct keyword {
	const char	*name;
	int		(*parse)(struct parser *, int);
};

enum limit_kind {
	LIMIT_COUNT,
	LIMIT_SIZE,		/* bytes, with K, M or G */
	LIMIT_DURATION,		/* seconds, with s, m, h or d */
};

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* parse_lex.c: errors, lexer, tokens, macros */
void		 perr(struct parser *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 perr_at(struct parser *, const char *, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
char		*path_relative(const char *, const char *);
int		 read_file(const char *, size_t, char **, size_t *,
		    struct stat *);
int		 lexer_push(struct parser *, const char *, int);
void		 lexer_pop(struct parser *);
struct token	*peek(struct parser *);
void		 advance(struct parser *);
char		*take(struct parser *);
int		 tok_accept(struct parser *, const char *);
int		 at_end(struct parser *);
const char	*tok_desc(const struct token *, char *, size_t);
void		 unexpected(struct parser *, const char *);
int		 get_value(struct parser *, const char *, char **);
int		 get_name(struct parser *, const char *, char **);
int		 get_tableref(struct parser *, const char *, char **);
void		 skip_statement(struct parser *);
int		 valid_hostname(const char *);
int		 parse_macro(struct parser *, char *, int);
void		 macros_init(struct parser *);
void		 macros_free(struct parser *);

/* parse.c: statement loop, fixups */
void		 add_fixup(struct parser *, enum fixup_kind, void *,
		    const char *, int);

/* parse_settings.c: hostname ... resolver, limit, secure */
int		 parse_hostname(struct parser *, int);
int		 parse_spool(struct parser *, int);
int		 parse_vault(struct parser *, int);
int		 parse_chroot(struct parser *, int);
int		 parse_control(struct parser *, int);
int		 parse_resolver(struct parser *, int);
int		 parse_limit(struct parser *, int);
int		 parse_secure(struct parser *, int);
int		 parse_number(const char *, int, long long, long long,
		    long long *, const char **);

/* parse_object.c: table, pki, ca */
int		 parse_table(struct parser *, int);
int		 parse_pki(struct parser *, int);
int		 parse_ca(struct parser *, int);

/* parse_action.c: action, match */
int		 parse_action(struct parser *, int);
int		 parse_match(struct parser *, int);

/* parse_policy.c: policy blocks */
int		 parse_policy(struct parser *, int);
void		 resolve_policy(struct parser *, struct fixup *);
void		 policy_free(struct policy *);

#endif /* PARSE_INT_H */
