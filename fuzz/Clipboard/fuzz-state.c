/* fuzz-state — the Clipboard's saved entries on arbitrary bytes: the input
 * is put in a state directory as "entry-0000000000000001" and a store is
 * opened there, as a respawned Clipboard does. Beyond "no crash, no leak, no
 * fd left open": an entry that loads must be one a client could have made
 * (valid, distinct MIME types; valid UTF-8 metadata; data of the stated size),
 * and once the store writes it again (adding a representation) a new store
 * must load exactly the same entry back. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "clip_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz-clipboard-state: %s\n", what);
	abort();
}

static void rm_dir_files(void)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

static void cleanup_dir(void)
{
	rm_dir_files();
	rmdir(dir);
}

/* What a client could have set: the store's own checks all hold. */
static void check_entry(const clip_entry *e)
{
	if (e->nreps == 0 || e->nreps > CLIP_MAX_REPRESENTATIONS)
		fail("entry without representations");
	uint64_t bytes = 0;
	for (size_t i = 0; i < e->nreps; i++) {
		if (clip_mime_valid(e->reps[i].mime) < 0)
			fail("invalid MIME type loaded");
		for (size_t j = 0; j < i; j++)
			if (strcmp(e->reps[i].mime, e->reps[j].mime) == 0)
				fail("two representations with one MIME type loaded");
		struct stat st;
		if (fstat(e->reps[i].fd, &st) < 0 || (uint64_t)st.st_size != e->reps[i].size)
			fail("representation data is not of its stated size");
		bytes += e->reps[i].size;
	}
	if (bytes != e->bytes)
		fail("entry byte count is not the sum of its representations");
	if (clip_metadata_valid((const char *const *)e->meta_keys,
				(const char *const *)e->meta_values, e->nmeta) < 0)
		fail("invalid metadata loaded");
	/* metadata goes out as IPC Strings, which must be UTF-8 */
	for (size_t i = 0; i < e->nmeta; i++)
		if (!hv_utf8_valid(e->meta_keys[i], strlen(e->meta_keys[i])) ||
		    !hv_utf8_valid(e->meta_values[i], strlen(e->meta_values[i])))
			fail("metadata that is not UTF-8 loaded");
}

static bool same_data(int a, int b, uint64_t size)
{
	char x[4096], y[4096];
	for (uint64_t off = 0; off < size;) {
		size_t n = (size_t)HV_MIN(size - off, (uint64_t)sizeof(x));
		if (pread(a, x, n, (off_t)off) != (ssize_t)n || pread(b, y, n, (off_t)off) != (ssize_t)n ||
		    memcmp(x, y, n) != 0)
			return false;
		off += n;
	}
	return true;
}

static void check_same(const clip_entry *a, const clip_entry *b)
{
	if (a->serial != b->serial || a->time_ms != b->time_ms || a->nreps != b->nreps ||
	    a->nmeta != b->nmeta || a->bytes != b->bytes)
		fail("entry differs after being written and loaded again");
	for (size_t i = 0; i < a->nreps; i++)
		if (strcmp(a->reps[i].mime, b->reps[i].mime) != 0 || a->reps[i].size != b->reps[i].size ||
		    !same_data(a->reps[i].fd, b->reps[i].fd, a->reps[i].size))
			fail("representation differs after being written and loaded again");
	for (size_t i = 0; i < a->nmeta; i++)
		if (strcmp(a->meta_keys[i], b->meta_keys[i]) != 0 ||
		    strcmp(a->meta_values[i], b->meta_values[i]) != 0)
			fail("metadata differs after being written and loaded again");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		hv_log_set_level(HV_LOG_ERROR);
		/* tmpfs: the store fsyncs every write */
		strcpy(dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/fuzz-clip-XXXXXX"
							   : "/tmp/fuzz-clip-XXXXXX");
		if (!mkdtemp(dir))
			fail("cannot create a state directory");
		atexit(cleanup_dir);
	}
	char path[128];
	snprintf(path, sizeof(path), "%s/entry-0000000000000001", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || hv_write_full(fd, data, size) < 0)
		fail("cannot write the entry file");
	close(fd);

	clip_store *s = NULL, *s2 = NULL;
	if (clip_store_new(dir, 4, 0, &s) < 0)
		fail("a bad entry file made the whole store fail");
	const clip_entry *e = clip_store_current(s);
	if (!e && access(path, F_OK) == 0)
		fail("an entry file that does not load is left behind");
	if (e) {
		check_entry(e);
		int dfd;
		if (clip_memfd_from("fuzz", 4, &dfd) < 0)
			fail("memfd");
		/* Rewrites the whole file from what was loaded. */
		int r = clip_store_add(s, e->serial, dfd, 4, "application/x-fuzz");
		if (r < 0 && r != -EEXIST && r != -E2BIG)
			fail("cannot add a representation to a loaded entry");
		if (r == 0) {
			if (clip_store_new(dir, 4, 0, &s2) < 0 || clip_store_count(s2) != 1)
				fail("a rewritten entry does not load");
			check_same(clip_store_current(s), clip_store_current(s2));
		}
	}
	clip_store_free(s2);
	clip_store_free(s);
	rm_dir_files();
	return 0;
}
