/*
 * t_fuzz_replay.c: the fuzz targets of regress/fuzz/ as a unit test.
 *
 * Runs every file of regress/fuzz/corpus/TARGET/ (a small minimized
 * corpus) and regress/fuzz/crashes/TARGET/ (inputs that once crashed or
 * broke an invariant) through the same target function libFuzzer calls,
 * and prints TAP: one line per crash reproducer, one per corpus folder.
 * A corpus input that crashes ends the program without its plan, so
 * prove reports the failure (the last "# running" line names the file);
 * a crash reproducer runs in a child of its own, so each gets its line.
 * A reproducer named "open-*" is a fault not fixed yet (in code another
 * engineer owns): its line is a TODO, which prove does not count as a
 * failure, and which it reports as a bonus once the fault is gone --
 * then drop the "open-" from its name.  Runs from the top of the tree,
 * as make check does; with arguments "TARGET FILE...", runs just those.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "fuzz.h"

#define FUZZ_DIR	"regress/fuzz"
#define CORPUS_MAX	(2 * 1024 * 1024)

static const struct {
	const char	*name;
	int		(*fn)(const uint8_t *, size_t);
} targets[] = {
	{ "smtp_parse",	fuzz_smtp_parse },
	{ "smtp_data",	fuzz_smtp_data },
	{ "policy",	fuzz_policy },
	{ "detect",	fuzz_detect },
	{ "mta_reply",	fuzz_mta_reply },
	{ "mta_body",	fuzz_mta_body },
	{ "queue_env",	fuzz_queue_env },
	{ "imsg",	fuzz_imsg },
	{ "config",	fuzz_config },
	{ "notice",	fuzz_notice },
	{ "token",	fuzz_token },
};
#define NTARGETS	(sizeof(targets) / sizeof(targets[0]))

static size_t	total_bytes;

/* Run one file; -1 if it cannot be read. */
static int
run_file(int (*fn)(const uint8_t *, size_t), const char *path)
{
	FILE		*fp;
	uint8_t		*buf;
	long		 len;
	int		 r = -1;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) >= 0 &&
	    len <= CORPUS_MAX && fseek(fp, 0, SEEK_SET) == 0) {
		/* Exactly len bytes, so ASan sees a read past the input. */
		if ((buf = malloc(len > 0 ? (size_t)len : 1)) == NULL)
			abort();
		if (fread(buf, 1, (size_t)len, fp) == (size_t)len) {
			printf("# running %s\n", path);
			fflush(stdout);
			fn(buf, (size_t)len);
			total_bytes += (size_t)len;
			r = 0;
		}
		free(buf);
	}
	fclose(fp);
	return r;
}

/* Run one file in a child; 0 if it neither crashed nor failed. */
static int
run_child(int (*fn)(const uint8_t *, size_t), const char *path)
{
	pid_t	pid;
	int	status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0)
		_exit(run_file(fn, path) == 0 ? 0 : 1);
	if (waitpid(pid, &status, 0) == -1)
		abort();
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, sorted; *n set.  NULL if dir is missing. */
static char **
list_dir(const char *dir, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		**v = NULL, path[1024];

	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if ((v = realloc(v, (*n + 2) * sizeof(*v))) == NULL ||
		    (v[*n] = strdup(path)) == NULL)
			abort();
		(*n)++;
	}
	closedir(d);
	if (v == NULL && (v = calloc(1, sizeof(*v))) == NULL)
		abort();
	qsort(v, *n, sizeof(*v), name_cmp);
	return v;
}

static void
replay(size_t t)
{
	char	 dir[256], **files;
	size_t	 n, i, bad;
	int	 r;

	(void)snprintf(dir, sizeof(dir), FUZZ_DIR "/corpus/%s",
	    targets[t].name);
	if ((files = list_dir(dir, &n)) == NULL) {
		ok(0, "%s: corpus %s missing", targets[t].name, dir);
	} else {
		for (bad = 0, i = 0; i < n; i++) {
			if (run_file(targets[t].fn, files[i]) == -1)
				bad++;
			free(files[i]);
		}
		free(files);
		ok(n > 0 && bad == 0, "%s: %zu corpus inputs", targets[t].name,
		    n);
	}
	(void)snprintf(dir, sizeof(dir), FUZZ_DIR "/crashes/%s",
	    targets[t].name);
	if ((files = list_dir(dir, &n)) == NULL)
		return;		/* no crash ever found: fine */
	for (i = 0; i < n; i++) {
		const char	*base = strrchr(files[i], '/') + 1;

		if (strncmp(base, "open-", 5) != 0) {
			ok(run_child(targets[t].fn, files[i]) == 0,
			    "%s: crash %s", targets[t].name, base);
			free(files[i]);
			continue;
		}
		/* tap.h counts every "not ok"; a TODO must not count. */
		r = run_child(targets[t].fn, files[i]);
		printf("%s %d - %s: crash %s # TODO open fault, not fixed "
		    "yet\n", r == 0 ? "ok" : "not ok", ++tap_n,
		    targets[t].name, base);
		free(files[i]);
	}
	free(files);
}

int
main(int argc, char *argv[])
{
	size_t	t;
	int	i;

	if (argc > 1) {
		for (t = 0; t < NTARGETS; t++)
			if (strcmp(argv[1], targets[t].name) == 0)
				break;
		if (t == NTARGETS) {
			fprintf(stderr, "usage: %s [target file ...]\n",
			    argv[0]);
			return 2;
		}
		for (i = 2; i < argc; i++)
			ok(run_file(targets[t].fn, argv[i]) == 0, "%s: %s",
			    targets[t].name, argv[i]);
		return done_testing();
	}
	for (t = 0; t < NTARGETS; t++)
		replay(t);
	ok(total_bytes <= CORPUS_MAX, "%zu bytes replayed in all",
	    total_bytes);
	return done_testing();
}
