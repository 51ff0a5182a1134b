/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A standalone driver for libFuzzer harnesses (no libFuzzer needed): runs
 * LLVMFuzzerTestOneInput once on each file named, or on each file of each
 * directory named. A crash or sanitizer report fails the run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
			fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "%s: cannot read\n", path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	/* An exact-size heap copy, so that over-reads are caught by ASan when enabled. */
	buf = malloc(size > 0 ? (size_t)size : 1);
	if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)size);
	free(buf);
	return 0;
}

static int
run_dir(const char *path, int *count)
{
	struct dirent **names;
	char file[4096];
	int n, i, rc = 0;

	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: cannot read\n", path);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && rc == 0) {
			snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
			rc = run_file(file);
			(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat st;
	int i, count = 0;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count) < 0)
				return 1;
		} else {
			if (run_file(argv[i]) < 0)
				return 1;
			count++;
		}
	}
	printf("%d inputs ran\n", count);
	return count > 0 ? 0 : 1;
}
