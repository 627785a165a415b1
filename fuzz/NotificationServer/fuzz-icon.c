/* fuzz-icon — NotificationServer's icon files (icon_store.c) on arbitrary
 * bytes, through the loader a respawn uses. Beyond "no crash, no leak": an
 * icon that loads is a sealed bitmap of the size its header says, and
 * saving it again writes back exactly the bytes that were loaded. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "icon_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int dirfd_once(void)
{
	static int fd = -1;
	if (fd < 0) {
		char dir[] = "/tmp/fuzz-icon-XXXXXX";
		if (!mkdtemp(dir) || (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			abort();
	}
	return fd;
}

static void put(int dirfd, const char *name, const uint8_t *data, size_t size)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || hv_write_full(fd, data, size) < 0)
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hv_log_set_level(HV_LOG_ERROR);
	int dirfd = dirfd_once();
	uint32_t w, h, f;
	const uint8_t *px;
	int parsed = nq_icon_parse(data, size, &w, &h, &f, &px);
	put(dirfd, "icon-1", data, size);
	nq_icon *icon = NULL;
	int r = nq_icon_load(dirfd, 1, &icon);
	if ((r == 0) != (parsed == 0)) {
		fprintf(stderr, "parse says %d, load says %d\n", parsed, r);
		abort();
	}
	if (r == 0) {
		if (!icon->bitmap.buffer.readonly || icon->bitmap.width != w || icon->bitmap.height != h ||
		    icon->bitmap.format != f || !icon->saved) {
			fprintf(stderr, "loaded icon does not match its header\n");
			abort();
		}
		icon->saved = false;
		if (nq_icon_save(dirfd, 2, icon) < 0)
			abort();
		uint8_t *back = malloc(size + 1);
		int fd = openat(dirfd, "icon-2", O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (!back || fd < 0 || fstat(fd, &st) < 0 || (size_t)st.st_size != size ||
		    hv_read_full(fd, back, size) < 0 || memcmp(back, data, size) != 0) {
			fprintf(stderr, "saving a loaded icon changed its bytes\n");
			abort();
		}
		close(fd);
		free(back);
		nq_icon_free(icon);
	}
	return 0;
}
