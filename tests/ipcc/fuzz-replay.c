/* fuzz-replay.c — runs a fuzz target's entry point (fuzz-ipcc-parse or
 * fuzz-ipcc-stubs, whichever it is linked with) over every file of the
 * given directories (seed corpus, fixtures), so the target is built and
 * exercised by every ordinary build, sanitizers included. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	static uint8_t buf[64 * 1024];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	/* Every prefix too: truncated input is the commonest malformed input. */
	for (size_t k = 0; k < n; k += 1 + n / 64)
		LLVMFuzzerTestOneInput(buf, k);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0;
	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		if (!d) {
			perror(argv[i]);
			return 1;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.' || e->d_type == DT_DIR)
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (replay(path) < 0) {
				perror(path);
				closedir(d);
				return 1;
			}
			files++;
		}
		closedir(d);
	}
	printf("replayed %d files\n", files);
	return files > 0 ? 0 : 1;
}
