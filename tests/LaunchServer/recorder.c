/* recorder — the "application" of LaunchServer's tests and benchmark: it
 * writes its argv, NUL-separated, to $REC_DIR/<name it was run as>.<pid>
 * (through a temporary name, so a reader never sees half of it) and exits.
 * Installed under several names (symlinks), it stands for a viewer, a
 * browser, a mailer... */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *dir = getenv("REC_DIR");
	if (!dir)
		return 1;
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/%s.%d", dir, basename(argv[0]), (int)getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return 1;
	for (int i = 0; i < argc; i++)
		fwrite(argv[i], 1, strlen(argv[i]) + 1, f);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return 1;
	return 0;
}
