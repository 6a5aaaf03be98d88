/*
 * smtp_parse.c: parsers for SMTP command lines, paths and parameters
 * (linked into the smtp front end process; unit-tested on its own).
 *
 * Bytes in, results out: no I/O, no logging, no allocation, no state.
 * Invariant: anything accepted is free of control characters and fits
 * the PROTO_* field it is meant for; source routes are dropped (RFC 5321
 * 4.1.1.3 and appendix C: the route is ignored, the mailbox kept), and
 * '%' or '!' in a recipient's local part is refused as a relay attempt.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "smtp_parse.h"

static int	is_atext(unsigned char, int);
static int	utf8_seq(const unsigned char *, size_t);
static int	parse_local(const char *, size_t *, int);
static int	parse_domain_part(const char *, size_t *, int);
static int	param_next(const char **, char *, size_t, char *, size_t);
static int	hexval(int);

static int
is_atext(unsigned char c, int utf8)
{
	if (isalnum(c))
		return 1;
	if (c >= 0x80)
		return utf8;
	return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != '\0';
}

/* Length of the well-formed UTF-8 sequence at s, or 0. */
static int
utf8_seq(const unsigned char *s, size_t len)
{
	int	n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if ((size_t)n > len)
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong, surrogates and beyond U+10FFFF. */
	if (s[0] == 0xe0 && s[1] < 0xa0)
		return 0;
	if (s[0] == 0xed && s[1] >= 0xa0)
		return 0;
	if (s[0] == 0xf0 && s[1] < 0x90)
		return 0;
	if (s[0] == 0xf4 && s[1] >= 0x90)
		return 0;
	return n;
}

int
smtp_parse_cmdline(const char *line, size_t len, struct smtp_cmdline *cmd)
{
	size_t	i, v;

	memset(cmd, 0, sizeof(*cmd));
	for (i = 0; i < len; i++) {
		unsigned char c = line[i];
		if (c < 0x20 || c == 0x7f)
			return -1;
	}
	for (v = 0; v < len && line[v] != ' '; v++) {
		if (!isalpha((unsigned char)line[v]) || v + 1 >= SMTP_VERB_MAX)
			return -1;
		cmd->verb[v] = toupper((unsigned char)line[v]);
	}
	if (v == 0)
		return -1;
	cmd->verb[v] = '\0';
	cmd->args = line + v;
	while (*cmd->args == ' ')
		cmd->args++;
	return 0;
}

int
smtp_valid_domain(const char *s, size_t len, int utf8)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i, lab = 0;
	int			 n;

	if (len == 0 || len > SMTP_DOMAIN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (u[i] == '.') {
			if (lab == 0 || u[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (u[i] >= 0x80) {
			if (!utf8 || (n = utf8_seq(u + i, len - i)) == 0)
				return 0;
			i += n - 1;
			lab += n;
		} else if (isalnum(u[i]) || u[i] == '_') {
			lab++;
		} else if (u[i] == '-') {
			if (lab == 0)
				return 0;
			lab++;
		} else
			return 0;
		if (lab > 63)
			return 0;
	}
	return lab > 0 && u[len - 1] != '-';
}

int
smtp_valid_addr_literal(const char *s, size_t len)
{
	char		buf[64];
	uint8_t		a[16];

	if (len < 3 || s[0] != '[' || s[len - 1] != ']' ||
	    len - 2 >= sizeof(buf))
		return 0;
	memcpy(buf, s + 1, len - 2);
	buf[len - 2] = '\0';
	if (strncasecmp(buf, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, buf + 5, a) == 1;
	return strchr(buf, ':') == NULL && inet_pton(AF_INET, buf, a) == 1;
}

/* Local part at s; *n is set to its length.  Returns SMTP_P*. */
static int
parse_local(const char *s, size_t *n, int flags)
{
	const unsigned char	*u = (const unsigned char *)s;
	int			 utf8 = (flags & SMTP_PATH_UTF8) != 0, k;
	size_t			 i = 0;

	if (u[0] == '"') {
		for (i = 1; u[i] != '"'; i++) {
			if (u[i] == '\0')
				return SMTP_PERR_SYNTAX;
			if (u[i] == '\\') {
				i++;
				if (u[i] < 32 || u[i] > 126)
					return SMTP_PERR_SYNTAX;
			} else if (u[i] >= 0x80) {
				if ((k = utf8_seq(u + i, strlen(s + i))) == 0)
					return SMTP_PERR_SYNTAX;
				if (!utf8)
					return SMTP_PERR_UTF8;
				i += k - 1;
			} else if (u[i] < 32 || u[i] > 126)
				return SMTP_PERR_SYNTAX;
		}
		i++;
	} else {
		for (;;) {
			size_t	start = i;

			while (u[i] != '\0' && is_atext(u[i], 1)) {
				if (u[i] >= 0x80) {
					k = utf8_seq(u + i, strlen(s + i));
					if (k == 0)
						return SMTP_PERR_SYNTAX;
					if (!utf8)
						return SMTP_PERR_UTF8;
					i += k;
				} else
					i++;
			}
			if (i == start)
				return SMTP_PERR_SYNTAX;
			if (u[i] != '.')
				break;
			i++;
		}
	}
	if (i > SMTP_LOCAL_MAX)
		return SMTP_PERR_TOOLONG;
	*n = i;
	return SMTP_POK;
}

/* A domain or address literal at s, ended by '>' or ',' or ':'. */
static int
parse_domain_part(const char *s, size_t *n, int flags)
{
	size_t	len;

	if (s[0] == '[') {
		const char *e = strchr(s, ']');

		if (e == NULL)
			return SMTP_PERR_SYNTAX;
		len = e - s + 1;
		if (!smtp_valid_addr_literal(s, len))
			return SMTP_PERR_SYNTAX;
	} else {
		len = strcspn(s, ">,:");
		if (len > SMTP_DOMAIN_MAX)
			return SMTP_PERR_TOOLONG;
		if (!smtp_valid_domain(s, len, 1))
			return SMTP_PERR_SYNTAX;
		if (!(flags & SMTP_PATH_UTF8)) {
			size_t	i;

			for (i = 0; i < len; i++)
				if ((unsigned char)s[i] >= 0x80)
					return SMTP_PERR_UTF8;
		}
	}
	*n = len;
	return SMTP_POK;
}

enum smtp_perr
smtp_parse_path(const char *s, int flags, struct smtp_path *p,
    const char **end)
{
	const char	*start;
	size_t		 ln, dn, i;
	int		 r;

	memset(p, 0, sizeof(*p));
	if (*s != '<')
		return SMTP_PERR_SYNTAX;
	s++;
	if (*s == '>') {
		if (!(flags & SMTP_PATH_NULL_OK))
			return SMTP_PERR_SYNTAX;
		p->is_null = 1;
		*end = s + 1;
		return SMTP_POK;
	}
	start = s - 1;
	/* A-d-l ":" -- the source route, ignored (RFC 5321 appendix C). */
	if (*s == '@') {
		for (;;) {
			if (*s != '@')
				return SMTP_PERR_SYNTAX;
			s++;
			if ((r = parse_domain_part(s, &dn, flags)) != SMTP_POK)
				return r;
			s += dn;
			if (*s == ',')
				s++;
			else if (*s == ':') {
				s++;
				break;
			} else
				return SMTP_PERR_SYNTAX;
		}
		p->routed = 1;
	}
	if ((r = parse_local(s, &ln, flags)) != SMTP_POK)
		return r;
	if (s[ln] == '>' && !p->routed && (flags & SMTP_PATH_POSTMASTER) &&
	    ln == 10 && strncasecmp(s, "postmaster", 10) == 0) {
		memcpy(p->addr, s, ln);
		p->addr[ln] = '\0';
		p->postmaster = 1;
		*end = s + ln + 1;
		return SMTP_POK;
	}
	if (s[ln] != '@')
		return SMTP_PERR_SYNTAX;
	if ((r = parse_domain_part(s + ln + 1, &dn, flags)) != SMTP_POK)
		return r;
	if (s[ln + 1 + dn] != '>')
		return SMTP_PERR_SYNTAX;
	if ((size_t)(s + ln + 1 + dn + 1 - start) > SMTP_PATH_MAX &&
	    !p->routed)
		return SMTP_PERR_TOOLONG;
	if (ln + 1 + dn >= sizeof(p->addr))
		return SMTP_PERR_TOOLONG;
	if (flags & SMTP_PATH_NORELAY) {
		for (i = 0; i < ln; i++)
			if (s[i] == '%' || s[i] == '!')
				return SMTP_PERR_RELAY;
	}
	for (i = 0; i < ln + 1 + dn; i++)
		if ((unsigned char)s[i] >= 0x80)
			p->eightbit = 1;
	memcpy(p->addr, s, ln + 1 + dn);
	p->addr[ln + 1 + dn] = '\0';
	*end = s + ln + 1 + dn + 1;
	return SMTP_POK;
}

enum smtp_perr
smtp_parse_mailrcpt(const char *args, const char *kw, int flags,
    struct smtp_path *p, const char **rest)
{
	size_t		 kl = strlen(kw);
	const char	*end;
	int		 r;

	if (strncasecmp(args, kw, kl) != 0 || args[kl] != ':')
		return SMTP_PERR_SYNTAX;
	args += kl + 1;
	/* Tolerated, as most servers do: "MAIL FROM: <a@b>". */
	while (*args == ' ')
		args++;
	if ((r = smtp_parse_path(args, flags, p, &end)) != SMTP_POK)
		return r;
	if (*end != '\0' && *end != ' ')
		return SMTP_PERR_SYNTAX;
	while (*end == ' ')
		end++;
	*rest = end;
	return SMTP_POK;
}

/*
 * Take the next "KEY[=VALUE]" from *s.  Returns 1 if one was taken, 0
 * at the end, -1 if a part is too long.
 */
static int
param_next(const char **s, char *key, size_t keysz, char *val, size_t valsz)
{
	const char	*p = *s, *e, *eq;
	size_t		 kl, vl;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 0;
	e = p + strcspn(p, " ");
	eq = memchr(p, '=', e - p);
	kl = (eq != NULL ? eq : e) - p;
	if (kl == 0 || kl >= keysz)
		return -1;
	memcpy(key, p, kl);
	key[kl] = '\0';
	if (eq != NULL) {
		vl = e - eq - 1;
		if (vl >= valsz)
			return -1;
		memcpy(val, eq + 1, vl);
		val[vl] = '\0';
	} else
		val[0] = '\0';
	*s = e;
	return eq != NULL ? 2 : 1;
}

enum smtp_perr
smtp_parse_mail_params(const char *s, struct smtp_mail_params *mp)
{
	char		 key[32], val[PROTO_ADDR_MAX];
	unsigned int	 seen = 0;
	size_t		 i;
	int		 r;

	memset(mp, 0, sizeof(*mp));
	mp->body = BODY_7BIT;
	while ((r = param_next(&s, key, sizeof(key), val, sizeof(val))) != 0) {
		if (r == -1)
			return SMTP_PERR_PARAMVAL;
		if (strcasecmp(key, "SIZE") == 0) {
			uint64_t	v = 0;

			if (seen & 0x01)
				return SMTP_PERR_DUP;
			seen |= 0x01;
			if (r != 2 || val[0] == '\0' || strlen(val) > 20)
				return SMTP_PERR_PARAMVAL;
			for (i = 0; val[i] != '\0'; i++) {
				if (!isdigit((unsigned char)val[i]) ||
				    v > (UINT64_MAX - 9) / 10)
					return SMTP_PERR_PARAMVAL;
				v = v * 10 + (val[i] - '0');
			}
			mp->size = v;
			mp->has_size = 1;
		} else if (strcasecmp(key, "BODY") == 0) {
			if (seen & 0x02)
				return SMTP_PERR_DUP;
			seen |= 0x02;
			if (r == 2 && strcasecmp(val, "7BIT") == 0)
				mp->body = BODY_7BIT;
			else if (r == 2 && strcasecmp(val, "8BITMIME") == 0)
				mp->body = BODY_8BITMIME;
			else	/* BINARYMIME needs CHUNKING, not offered */
				return SMTP_PERR_PARAMVAL;
		} else if (strcasecmp(key, "SMTPUTF8") == 0) {
			if (seen & 0x04)
				return SMTP_PERR_DUP;
			seen |= 0x04;
			if (r != 1)
				return SMTP_PERR_PARAMVAL;
			mp->smtputf8 = 1;
		} else if (strcasecmp(key, "RET") == 0) {
			if (seen & 0x08)
				return SMTP_PERR_DUP;
			seen |= 0x08;
			if (r == 2 && strcasecmp(val, "FULL") == 0)
				mp->ret = DSN_RET_FULL;
			else if (r == 2 && strcasecmp(val, "HDRS") == 0)
				mp->ret = DSN_RET_HDRS;
			else
				return SMTP_PERR_PARAMVAL;
		} else if (strcasecmp(key, "ENVID") == 0) {
			if (seen & 0x10)
				return SMTP_PERR_DUP;
			seen |= 0x10;
			if (r != 2 || smtp_xtext_decode(val, strlen(val),
			    mp->envid, sizeof(mp->envid)) <= 0)
				return SMTP_PERR_PARAMVAL;
		} else if (strcasecmp(key, "AUTH") == 0) {
			char	tmp[PROTO_ADDR_MAX];

			/* RFC 4954 5: accepted, not trusted, not kept. */
			if (seen & 0x20)
				return SMTP_PERR_DUP;
			seen |= 0x20;
			if (r != 2 || (strcmp(val, "<>") != 0 &&
			    smtp_xtext_decode(val, strlen(val), tmp,
			    sizeof(tmp)) <= 0))
				return SMTP_PERR_PARAMVAL;
		} else
			return SMTP_PERR_PARAM;
	}
	return SMTP_POK;
}

enum smtp_perr
smtp_parse_rcpt_params(const char *s, int utf8, struct smtp_rcpt_params *rp)
{
	char		 key[32], val[PROTO_ADDR_MAX], dec[PROTO_ADDR_MAX];
	char		*semi, *tok, *save;
	unsigned int	 seen = 0;
	int		 r;

	memset(rp, 0, sizeof(*rp));
	while ((r = param_next(&s, key, sizeof(key), val, sizeof(val))) != 0) {
		if (r == -1)
			return SMTP_PERR_PARAMVAL;
		if (strcasecmp(key, "NOTIFY") == 0) {
			if (seen & 0x01)
				return SMTP_PERR_DUP;
			seen |= 0x01;
			if (r != 2 || val[0] == '\0')
				return SMTP_PERR_PARAMVAL;
			if (val[strlen(val) - 1] == ',' || val[0] == ',' ||
			    strstr(val, ",,") != NULL)
				return SMTP_PERR_PARAMVAL;
			if (strcasecmp(val, "NEVER") == 0) {
				rp->notify = DSN_NOTIFY_NEVER;
				continue;
			}
			for (tok = strtok_r(val, ",", &save); tok != NULL;
			    tok = strtok_r(NULL, ",", &save)) {
				if (strcasecmp(tok, "SUCCESS") == 0)
					rp->notify |= DSN_NOTIFY_SUCCESS;
				else if (strcasecmp(tok, "FAILURE") == 0)
					rp->notify |= DSN_NOTIFY_FAILURE;
				else if (strcasecmp(tok, "DELAY") == 0)
					rp->notify |= DSN_NOTIFY_DELAY;
				else
					return SMTP_PERR_PARAMVAL;
			}
			if (rp->notify == 0)
				return SMTP_PERR_PARAMVAL;
		} else if (strcasecmp(key, "ORCPT") == 0) {
			if (seen & 0x02)
				return SMTP_PERR_DUP;
			seen |= 0x02;
			if (r != 2 || (semi = strchr(val, ';')) == NULL)
				return SMTP_PERR_PARAMVAL;
			*semi++ = '\0';
			if (strcasecmp(val, "rfc822") != 0 &&
			    !(utf8 && strcasecmp(val, "utf-8") == 0))
				return SMTP_PERR_PARAMVAL;
			if (smtp_xtext_decode(semi, strlen(semi), dec,
			    sizeof(dec)) <= 0)
				return SMTP_PERR_PARAMVAL;
			if (snprintf(rp->orcpt, sizeof(rp->orcpt), "%s;%s",
			    val, dec) >= (int)sizeof(rp->orcpt))
				return SMTP_PERR_PARAMVAL;
		} else
			return SMTP_PERR_PARAM;
	}
	return SMTP_POK;
}

int
smtp_parse_helo(const char *s, char *out, size_t outsz)
{
	size_t	len = strlen(s);

	while (len > 0 && s[len - 1] == ' ')
		len--;
	if (len == 0 || len >= outsz)
		return -1;
	if (s[0] == '[') {
		if (!smtp_valid_addr_literal(s, len))
			return -1;
	} else if (!smtp_valid_domain(s, len, 1))
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
smtp_xtext_decode(const char *in, size_t len, char *out, size_t outsz)
{
	size_t	i, o = 0;
	int	c, h, l;

	if (outsz == 0)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (c == '+') {
			if (i + 2 >= len)
				return -1;
			h = hexval((unsigned char)in[i + 1]);
			l = hexval((unsigned char)in[i + 2]);
			if (h == -1 || l == -1)
				return -1;
			c = h * 16 + l;
			i += 2;
			/* Printable US-ASCII only (RFC 3461 4.4). */
			if (c < 0x20 || c > 0x7e)
				return -1;
		} else if (c < 33 || c > 126 || c == '=')
			return -1;
		if (o + 1 >= outsz)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return (int)o;
}

int
smtp_base64_decode(const char *in, size_t len, uint8_t *out, size_t outsz)
{
	static const char	 b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t		 acc = 0;
	size_t			 i, o = 0, pad = 0;
	int			 bits = 0;
	const char		*p;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (in[i] == '=') {
			/* Only at the end, at most two. */
			if (i < len - 2 || (i == len - 2 && in[len - 1] != '='))
				return -1;
			pad++;
			continue;
		}
		if (in[i] == '\0' || (p = strchr(b64, in[i])) == NULL)
			return -1;
		acc = (acc << 6) | (uint32_t)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsz)
				return -1;
			out[o++] = (acc >> bits) & 0xff;
		}
	}
	if (pad > 2)
		return -1;
	return (int)o;
}

int
smtp_parse_auth_plain(const char *b64, char *user, size_t usersz,
    char *pass, size_t passsz)
{
	uint8_t	 buf[PROTO_NAME_MAX * 3];
	size_t	 i, z1 = 0, z2 = 0, nz = 0, ul, pl;
	int	 n;

	n = smtp_base64_decode(b64, strlen(b64), buf, sizeof(buf));
	if (n <= 0)
		goto bad;
	for (i = 0; i < (size_t)n; i++) {
		if (buf[i] != '\0')
			continue;
		if (nz == 0)
			z1 = i;
		else if (nz == 1)
			z2 = i;
		nz++;
	}
	if (nz != 2)
		goto bad;
	ul = z2 - z1 - 1;
	pl = n - z2 - 1;
	if (ul == 0 || pl == 0 || ul >= usersz || pl >= passsz)
		goto bad;
	/* An authzid is only accepted if it names the same user. */
	if (z1 != 0 && (z1 != ul || memcmp(buf, buf + z1 + 1, ul) != 0))
		goto bad;
	for (i = 0; i < ul; i++)
		if (buf[z1 + 1 + i] < 0x20 || buf[z1 + 1 + i] == 0x7f)
			goto bad;
	memcpy(user, buf + z1 + 1, ul);
	user[ul] = '\0';
	memcpy(pass, buf + z2 + 1, pl);
	pass[pl] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
bad:
	explicit_bzero(buf, sizeof(buf));
	return -1;
}

int
smtp_parse_auth_login(const char *b64, char *out, size_t outsz)
{
	uint8_t	 buf[PROTO_NAME_MAX * 3];
	int	 n, i;

	n = smtp_base64_decode(b64, strlen(b64), buf, sizeof(buf));
	if (n <= 0 || (size_t)n >= outsz)
		goto bad;
	for (i = 0; i < n; i++)
		if (buf[i] == '\0')
			goto bad;
	memcpy(out, buf, n);
	out[n] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
bad:
	explicit_bzero(buf, sizeof(buf));
	return -1;
}
