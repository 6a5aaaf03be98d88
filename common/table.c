/*
 * table.c: the tables of smtpd.conf(5): building them, reading "file:"
 * tables, and looking keys up.
 *
 * Used by the config parser (parse.c) in every process before it chroots,
 * and by ruleset.c and the processes that check credentials afterwards.
 * Invariant: once table_finish() has run, ent[] is sorted by
 * (strcasecmp, strcmp) and holds no two identical keys, so one binary
 * search answers both the exact and the case-insensitive question.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "util.h"

#define TABLE_LINE_MAX	8192		/* longest line of a file: table */

static int	table_entry_cmp(const void *, const void *);
static int	table_search(const struct table *, const char *, int,
		    size_t *, size_t *);

struct table *
table_new(const char *name)
{
	struct table	*t;

	t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->kind = TABLE_LIST;
	return t;
}

void
table_add(struct table *t, const char *key, const char *value, int line)
{
	struct table_entry	*e;

	t->ent = xreallocarray(t->ent, t->nent + 1, sizeof(*t->ent));
	e = &t->ent[t->nent++];
	e->key = xstrdup(key);
	e->value = value != NULL ? xstrdup(value) : NULL;
	e->line = line;
	if (value != NULL)
		t->kind = TABLE_MAP;
}

static int
table_entry_cmp(const void *a, const void *b)
{
	const struct table_entry	*ea = a, *eb = b;
	int				 r;

	if ((r = strcasecmp(ea->key, eb->key)) != 0)
		return r;
	if ((r = strcmp(ea->key, eb->key)) != 0)
		return r;
	return (ea->line > eb->line) - (ea->line < eb->line);
}

/*
 * Sort the entries.  Returns NULL, or the later of two identical keys
 * (the caller reports it with its line).
 */
const struct table_entry *
table_finish(struct table *t)
{
	size_t	i;

	if (t->nent > 1)
		qsort(t->ent, t->nent, sizeof(*t->ent), table_entry_cmp);
	for (i = 1; i < t->nent; i++)
		if (strcmp(t->ent[i - 1].key, t->ent[i].key) == 0)
			return &t->ent[i];
	return NULL;
}

/*
 * Find the range [*lo, *hi) of entries equal to key: exactly, or
 * ignoring ASCII case.  Returns the number of entries found.
 */
static int
table_search(const struct table *t, const char *key, int nocase,
    size_t *lo, size_t *hi)
{
	size_t	l, h, m;
	int	r;

	/* Lower bound. */
	l = 0;
	h = t->nent;
	while (l < h) {
		m = l + (h - l) / 2;
		r = strcasecmp(t->ent[m].key, key);
		if (r == 0 && !nocase)
			r = strcmp(t->ent[m].key, key);
		if (r < 0)
			l = m + 1;
		else
			h = m;
	}
	*lo = l;
	/* Upper bound. */
	h = t->nent;
	while (l < h) {
		m = l + (h - l) / 2;
		r = strcasecmp(t->ent[m].key, key);
		if (r == 0 && !nocase)
			r = strcmp(t->ent[m].key, key);
		if (r <= 0)
			l = m + 1;
		else
			h = m;
	}
	*hi = l;
	return (int)(*hi - *lo);
}

int
table_has(const struct table *t, const char *key)
{
	size_t	lo, hi;

	if (t == NULL || key == NULL)
		return 0;
	return table_search(t, key, 0, &lo, &hi) > 0;
}

const char *
table_get(const struct table *t, const char *key)
{
	size_t	lo, hi;

	if (t == NULL || key == NULL)
		return NULL;
	if (table_search(t, key, 0, &lo, &hi) == 0)
		return NULL;
	return t->ent[lo].value;
}

int
table_has_nocase(const struct table *t, const char *key)
{
	size_t	lo, hi;

	if (t == NULL || key == NULL)
		return 0;
	return table_search(t, key, 1, &lo, &hi) > 0;
}

const char *
table_get_nocase(const struct table *t, const char *key)
{
	size_t	lo, hi;

	if (t == NULL || key == NULL)
		return NULL;
	if (table_search(t, key, 1, &lo, &hi) == 0)
		return NULL;
	return t->ent[lo].value;
}

/*
 * Two addresses are equal when their local parts are identical and their
 * domains are equal ignoring case: RFC 5321 2.4 lets the local part be
 * case-sensitive, the domain never is.
 */
int
table_address_equal(const char *a, const char *b)
{
	const char	*da, *db;

	da = strrchr(a, '@');
	db = strrchr(b, '@');
	if (da == NULL || db == NULL)
		return strcmp(a, b) == 0;
	if (da - a != db - b || strncmp(a, b, da - a) != 0)
		return 0;
	return strcasecmp(da, db) == 0;
}

int
table_has_address(const struct table *t, const char *addr)
{
	size_t	lo, hi, i;

	if (t == NULL || addr == NULL)
		return 0;
	/* Candidates are equal ignoring case; then refine. */
	if (table_search(t, addr, 1, &lo, &hi) == 0)
		return 0;
	for (i = lo; i < hi; i++)
		if (table_address_equal(t->ent[i].key, addr))
			return 1;
	return 0;
}

/*
 * Read a "file:" table: one key a line (list) or "key value" a line
 * (map; the value is the rest of the line).  '#' starts a comment at the
 * beginning of a line or after blanks.  Errors are "FILE:LINE: message"
 * with the table file's own line.  Returns 0, -1 after reporting, or -2
 * with errno set if the file cannot be opened (the caller reports that
 * at the line that named the file).
 */
int
table_load_file(struct table *t, const char *path, FILE *errfp)
{
	FILE		*fp;
	char		*buf = NULL, *key, *val, *p, *end;
	size_t		 bufsz = 0;
	ssize_t		 n;
	int		 lineno = 0, errors = 0, kind = -1, kindline = 0;
	const struct table_entry *dup;

	if ((fp = fopen(path, "re")) == NULL)
		return -2;
	while ((n = getline(&buf, &bufsz, fp)) != -1) {
		lineno++;
		if (n > TABLE_LINE_MAX) {
			fprintf(errfp, "%s:%d: line too long (limit %d)\n",
			    path, lineno, TABLE_LINE_MAX);
			errors++;
			continue;
		}
		if ((size_t)n != strlen(buf)) {
			fprintf(errfp, "%s:%d: NUL byte in line\n", path,
			    lineno);
			errors++;
			continue;
		}
		/* Comments: at the start or after a blank. */
		for (p = buf; *p != '\0'; p++) {
			if (*p == '#' && (p == buf || p[-1] == ' ' ||
			    p[-1] == '\t')) {
				*p = '\0';
				break;
			}
		}
		end = buf + strlen(buf);
		while (end > buf && (end[-1] == '\n' || end[-1] == '\r' ||
		    end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		key = buf + strspn(buf, " \t");
		if (*key == '\0')
			continue;
		val = key + strcspn(key, " \t");
		if (*val != '\0') {
			*val++ = '\0';
			val += strspn(val, " \t");
		} else
			val = NULL;
		if (kind == -1) {
			kind = val != NULL ? TABLE_MAP : TABLE_LIST;
			kindline = lineno;
		} else if (kind != (val != NULL ? TABLE_MAP : TABLE_LIST)) {
			fprintf(errfp, "%s:%d: %s line in a %s table "
			    "(line %d has %s)\n", path, lineno,
			    val != NULL ? "key-value" : "single-key",
			    kind == TABLE_MAP ? "map" : "list", kindline,
			    kind == TABLE_MAP ? "a key and a value" :
			    "one key");
			errors++;
			continue;
		}
		table_add(t, key, val, lineno);
	}
	if (ferror(fp)) {
		fprintf(errfp, "%s:%d: read error: %s\n", path, lineno,
		    strerror(errno));
		errors++;
	}
	free(buf);
	fclose(fp);
	t->kind = kind == TABLE_MAP ? TABLE_MAP : TABLE_LIST;
	if ((dup = table_finish(t)) != NULL) {
		fprintf(errfp, "%s:%d: duplicate key \"%s\"\n", path,
		    dup->line, dup->key);
		errors++;
	}
	return errors ? -1 : 0;
}

void
table_free(struct table *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nent; i++) {
		free(t->ent[i].key);
		if (t->ent[i].value != NULL)
			freezero(t->ent[i].value, strlen(t->ent[i].value));
	}
	free(t->ent);
	free(t->name);
	free(t->path);
	free(t);
}
