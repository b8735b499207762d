/*
 * The fuzz targets without libFuzzer: every input named on the command
 * line (files, or directories of them) is passed once to
 * LLVMFuzzerTestOneInput.  make check builds each target with the
 * project's own compiler and flags and replays its seed corpus, so a
 * harness that no longer links (a new xo_* call without its stub in
 * fuzz_session.c) or a seed that crashes fails the ordinary test run,
 * not only the clang-built fuzz step.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

/* Larger inputs are not seeds; libFuzzer's default cap is 4 KiB. */
#define REPLAY_MAX	(1024 * 1024)

static int	replay_file(const char *);
static int	replay_path(const char *, int *);

static int
replay_file(const char *path)
{
	static uint8_t buf[REPLAY_MAX];
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (len < sizeof(buf) &&
	    (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len == sizeof(buf)) {
		fprintf(stderr, "replay: %s: larger than %d bytes\n", path,
		    REPLAY_MAX);
		return -1;
	}
	/* A copy of exactly its length, so that ASan sees a read past it. */
	{
		uint8_t *in = malloc(len ? len : 1);

		if (in == NULL) {
			fprintf(stderr, "replay: out of memory\n");
			return -1;
		}
		memcpy(in, buf, len);
		LLVMFuzzerTestOneInput(in, len);
		free(in);
	}
	return 0;
}

static int
replay_path(const char *path, int *count)
{
	char sub[PATH_MAX];
	struct dirent **ents;
	struct stat st;
	int i, n, rc = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	/* Sorted, so that a failure names the same input on every run. */
	if ((n = scandir(path, &ents, NULL, alphasort)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' && rc == 0) {
			snprintf(sub, sizeof(sub), "%s/%s", path,
			    ents[i]->d_name);
			rc = replay_path(sub, count);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int
main(int argc, char **argv)
{
	int i, count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR ...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) == -1)
			return 1;
	printf("%s: %d inputs replayed\n", argv[0], count);
	return 0;
}
