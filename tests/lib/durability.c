/* durability.c — see durability.h. */
#include "durability.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

bool dur_begin(const char *log)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)log;
	fprintf(stderr, "durability: skipped under AddressSanitizer\n");
	return false;
#else
	const char *shim = getenv("HV_DURABILITY_SHIM");
	if (!shim || access(shim, R_OK) != 0) {
		fprintf(stderr, "durability: no HV_DURABILITY_SHIM, skipped\n");
		return false;
	}
	setenv("LD_PRELOAD", shim, 1);
	setenv("HV_DURABILITY_LOG", log, 1);
	return true;
#endif
}

void dur_end(void)
{
	unsetenv("LD_PRELOAD");
	unsetenv("HV_DURABILITY_LOG");
}

struct ev {
	int pid;
	char op[8], kind[8], name[256];
	unsigned long ino;
};

void dur_check(const char *log, const char *path, int min)
{
	FILE *f = fopen(log, "re");
	CHECK_MSG(f != NULL, "durability: no log %s (did the shim load?)", log);
	if (!f)
		return;
	size_t n = 0, cap = 0;
	struct ev *e = NULL;
	char line[600];
	while (fgets(line, sizeof(line), f)) {
		if (n == cap && !(e = realloc(e, (cap = cap ? 2 * cap : 256) * sizeof(*e))))
			abort();
		if (sscanf(line, "%d %7s %7s %lu %255s", &e[n].pid, e[n].op, e[n].kind, &e[n].ino, e[n].name) == 5)
			n++;
	}
	fclose(f);
	char *pc = strdup(path), *pd = strdup(path);
	const char *base = basename(pc);
	struct stat fst, dst;
	bool have = stat(path, &fst) == 0;
	CHECK_MSG(have, "durability: %s does not exist", path);
	CHECK(stat(dirname(pd), &dst) == 0);
	int renames = 0;
	unsigned long last_ino = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(e[i].op, "rename") || strcmp(basename(e[i].name), base))
			continue;
		renames++;
		/* Before: the renamed file's fsync, and no write to it since. */
		size_t j = i, fs = (size_t)-1;
		while (j-- > 0) {
			if (e[j].pid != e[i].pid)
				continue;
			if (!strcmp(e[j].op, "rename"))
				break; /* the previous replace: not this one's */
			if (!strcmp(e[j].op, "fsync") && !strcmp(e[j].kind, "file")) {
				fs = j;
				break;
			}
		}
		CHECK_MSG(fs != (size_t)-1, "durability: %s renamed into place without an fsync of the file first",
			  base);
		if (fs == (size_t)-1)
			continue;
		for (size_t k = fs + 1; k < i; k++)
			CHECK_MSG(!(e[k].pid == e[i].pid && !strcmp(e[k].op, "write") && e[k].ino == e[fs].ino),
				  "durability: %s written after its fsync, before the rename", base);
		last_ino = e[fs].ino;
		/* After: the directory's fsync (one covering several renames
		 * will do), before this name is replaced again. */
		size_t d = (size_t)-1;
		for (size_t k = i + 1; k < n; k++) {
			if (e[k].pid != e[i].pid)
				continue;
			if (!strcmp(e[k].op, "rename") && !strcmp(basename(e[k].name), base))
				break;
			if (!strcmp(e[k].op, "fsync") && !strcmp(e[k].kind, "dir") && e[k].ino == dst.st_ino) {
				d = k;
				break;
			}
		}
		CHECK_MSG(d != (size_t)-1, "durability: %s renamed but its directory never fsync'd after", base);
	}
	CHECK_MSG(renames >= min, "durability: %d renames onto %s logged, expected at least %d", renames, base,
		  min);
	if (have && renames)
		CHECK_MSG(last_ino == fst.st_ino, "durability: the file on disk is not the last one fsync'd and renamed");
	free(pc);
	free(pd);
	free(e);
}
