/* test-clip-store.c — the Clipboard's store on its own: representations,
 * history bounds, restore, immutability of adopted data, and reloading the
 * state directory (including torn and foreign files) as a respawn would. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "clip_store.h"


static int mkdata(const char *s)
{
	int fd = -1;
	int r = clip_memfd_from(s, strlen(s), &fd);
	if (r < 0) {
		fprintf(stderr, "memfd: %s\n", strerror(-r));
		exit(1);
	}
	return fd;
}

/* The rep's bytes equal s exactly. */
static bool rep_is(const clip_rep *rep, const char *s)
{
	if (!rep || rep->size != strlen(s))
		return false;
	char buf[4096];
	if (rep->size > sizeof(buf))
		return false;
	if (pread(rep->fd, buf, rep->size, 0) != (ssize_t)rep->size)
		return false;
	return memcmp(buf, s, rep->size) == 0;
}

static uint64_t set_text(clip_store *s, const char *text, const char *mime)
{
	uint64_t serial = 0;
	int r = clip_store_set(s, mkdata(text), strlen(text), mime, NULL, NULL, 0, &serial);
	CHECK_EQ(r, 0);
	return serial;
}

static void test_validation(void)
{
	CHECK_EQ(clip_mime_valid("text/plain"), 0);
	CHECK_EQ(clip_mime_valid("text/plain;charset=utf-8"), 0);
	CHECK_EQ(clip_mime_valid("image/svg+xml"), 0);
	CHECK_EQ(clip_mime_valid(""), -EINVAL);
	CHECK_EQ(clip_mime_valid("text"), -EINVAL);
	CHECK_EQ(clip_mime_valid("/plain"), -EINVAL);
	CHECK_EQ(clip_mime_valid("text/"), -EINVAL);
	CHECK_EQ(clip_mime_valid("text/pl ain"), -EINVAL);
	CHECK_EQ(clip_mime_valid("a/b/c"), -EINVAL);
	CHECK_EQ(clip_mime_valid("text/plain\n"), -EINVAL);
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	big[3] = '/';
	CHECK_EQ(clip_mime_valid(big), -EINVAL);

	const char *k[] = {"a", "b", "a"}, *v[] = {"1", "2", "3"};
	CHECK_EQ(clip_metadata_valid(k, v, 2), 0);
	CHECK_EQ(clip_metadata_valid(k, v, 3), -EINVAL); /* duplicate key */
	const char *empty[] = {""};
	CHECK_EQ(clip_metadata_valid(empty, v, 1), -EINVAL);
}

static void test_adopt(void)
{
	/* A writable memfd is copied: later writes by the sender change nothing. */
	int w = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(w >= 0);
	CHECK_EQ(write(w, "hello", 5), 5);
	int kept = -1;
	CHECK_EQ(clip_adopt_fd(w, 5, &kept), 0);
	CHECK_EQ(pwrite(w, "HELLO", 5, 0), 5);
	char buf[8] = {0};
	CHECK_EQ(pread(kept, buf, 5, 0), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	/* ... and the copy is sealed against writes by anyone. */
	CHECK_EQ(pwrite(kept, "x", 1, 0), -1);
	struct stat a, b;
	fstat(w, &a);
	fstat(kept, &b);
	CHECK(a.st_ino != b.st_ino);
	close(kept);

	/* Claiming more bytes than the fd holds is refused. */
	CHECK_EQ(clip_adopt_fd(w, 6, &kept), -EINVAL);
	close(w);

	/* A sealed memfd is shared as is (no copy). */
	int s = mkdata("sealed");
	CHECK_EQ(clip_adopt_fd(s, 6, &kept), 0);
	fstat(s, &a);
	fstat(kept, &b);
	CHECK(a.st_ino == b.st_ino);
	close(kept);
	close(s);

	/* Not a file at all. */
	int p[2];
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(clip_adopt_fd(p[0], 0, &kept), -EINVAL);
	close(p[0]);
	close(p[1]);
}

static void test_memory_store(void)
{
	clip_store *s = NULL;
	CHECK_EQ(clip_store_new(NULL, 3, 0, &s), 0);
	CHECK(clip_store_current(s) == NULL);

	const char *mk[] = {"source"}, *mv[] = {"test"};
	uint64_t s1 = 0;
	CHECK_EQ(clip_store_set(s, mkdata("one"), 3, "text/plain", mk, mv, 1, &s1), 0);
	CHECK(s1 > 0);
	const clip_entry *e = clip_store_current(s);
	CHECK(e && e->serial == s1 && e->nreps == 1 && e->nmeta == 1);
	CHECK(e && strcmp(e->meta_keys[0], "source") == 0 && strcmp(e->meta_values[0], "test") == 0);
	CHECK(rep_is(clip_entry_rep(e, NULL), "one"));
	CHECK(rep_is(clip_entry_rep(e, "text/plain"), "one"));
	CHECK(clip_entry_rep(e, "text/html") == NULL);

	/* A second representation of the same entry. */
	CHECK_EQ(clip_store_add(s, s1, mkdata("<b>one</b>"), 10, "text/html"), 0);
	CHECK(rep_is(clip_entry_rep(clip_store_current(s), "text/html"), "<b>one</b>"));
	CHECK(rep_is(clip_entry_rep(clip_store_current(s), NULL), "one")); /* primary */
	CHECK_EQ(clip_store_add(s, s1, mkdata("x"), 1, "text/html"), -EEXIST);
	CHECK_EQ(clip_store_add(s, s1, mkdata("x"), 1, "bad mime"), -EINVAL);

	uint64_t s2 = set_text(s, "two", "text/plain");
	CHECK(s2 > s1);
	/* The old serial is no longer current: adding to it is stale. */
	CHECK_EQ(clip_store_add(s, s1, mkdata("x"), 1, "text/x-other"), -ESTALE);

	/* Invalid input leaves the clipboard as it was. */
	CHECK_EQ(clip_store_set(s, mkdata("bad"), 3, "nonsense", NULL, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(clip_store_current(s)->serial, s2);

	uint64_t s3 = set_text(s, "three", "text/plain");
	uint64_t s4 = set_text(s, "four", "text/plain");
	/* Bounded: three entries, the oldest went. */
	CHECK_EQ(clip_store_count(s), 3);
	CHECK(clip_store_find(s, s1) == NULL);
	CHECK_EQ(clip_store_at(s, 0)->serial, s4);
	CHECK_EQ(clip_store_at(s, 1)->serial, s3);
	CHECK_EQ(clip_store_at(s, 2)->serial, s2);
	CHECK(clip_store_at(s, 3) == NULL);

	/* Restore "two": it becomes current with a new serial. */
	uint64_t s5 = 0;
	CHECK_EQ(clip_store_restore(s, s2, &s5), 0);
	CHECK(s5 > s4);
	CHECK(rep_is(clip_entry_rep(clip_store_current(s), NULL), "two"));
	CHECK_EQ(clip_store_count(s), 3);
	CHECK_EQ(clip_store_restore(s, 999, NULL), -ENOENT);

	/* Shrinking the bound trims at once; the current entry survives. */
	CHECK_EQ(clip_store_set_limits(s, 1, 0), 0);
	CHECK_EQ(clip_store_count(s), 1);
	CHECK_EQ(clip_store_current(s)->serial, s5);
	CHECK_EQ(clip_store_set_limits(s, 0, 0), -EINVAL);

	/* Byte bound: the current entry stays even when it alone is over. */
	CHECK_EQ(clip_store_set_limits(s, 10, 4), 0);
	set_text(s, "abc", "text/plain");
	set_text(s, "defgh", "text/plain");
	CHECK_EQ(clip_store_count(s), 1);
	CHECK(rep_is(clip_entry_rep(clip_store_current(s), NULL), "defgh"));

	CHECK_EQ(clip_store_set_limits(s, 10, 1 << 20), 0);
	set_text(s, "x", "text/plain");
	CHECK_EQ(clip_store_count(s), 2);
	CHECK_EQ(clip_store_clear_history(s), 0);
	CHECK_EQ(clip_store_count(s), 1);
	CHECK(rep_is(clip_entry_rep(clip_store_current(s), NULL), "x"));
	clip_store_free(s);
}

static void test_persistence(void)
{
	char dir[] = "/tmp/haven-clip-store-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char state[512];
	snprintf(state, sizeof(state), "%s/state", dir);

	clip_store *s = NULL;
	CHECK_EQ(clip_store_new(state, 4, 0, &s), 0);
	const char *mk[] = {"app", "kind"}, *mv[] = {"editor", "selection"};
	uint64_t s1 = 0;
	CHECK_EQ(clip_store_set(s, mkdata("first"), 5, "text/plain", mk, mv, 2, &s1), 0);
	CHECK_EQ(clip_store_add(s, s1, mkdata("<i>first</i>"), 12, "text/html"), 0);
	uint64_t s2 = set_text(s, "second", "text/plain");
	uint64_t s3 = set_text(s, "", "application/octet-stream"); /* empty is data too */
	uint64_t s4 = 0;
	CHECK_EQ(clip_store_restore(s, s2, &s4), 0);
	clip_store_free(s); /* as if the service died here */

	/* Leftovers a crash could produce, and files that are not ours. */
	char path[600];
	snprintf(path, sizeof(path), "%s/.entry-00000000000000aa.1a2b3c", state);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("half written", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/.tmp-00000000000000ab", state); /* an older Clipboard's */
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("half written", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/entry-00000000000000ff", state);
	f = fopen(path, "w");
	fputs("HVCLIP1", f); /* truncated header */
	fclose(f);
	snprintf(path, sizeof(path), "%s/README", state);
	f = fopen(path, "w");
	fputs("not an entry", f);
	fclose(f);

	CHECK_EQ(clip_store_new(state, 4, 0, &s), 0);
	CHECK_EQ(clip_store_count(s), 3);
	const clip_entry *e = clip_store_current(s);
	CHECK(e && e->serial == s4);
	CHECK(rep_is(clip_entry_rep(e, NULL), "second"));
	e = clip_store_find(s, s1);
	CHECK(e && e->nreps == 2 && e->nmeta == 2);
	CHECK(rep_is(clip_entry_rep(e, "text/plain"), "first"));
	CHECK(rep_is(clip_entry_rep(e, "text/html"), "<i>first</i>"));
	CHECK(e && strcmp(e->meta_keys[1], "kind") == 0 && strcmp(e->meta_values[1], "selection") == 0);
	e = clip_store_find(s, s3);
	CHECK(rep_is(clip_entry_rep(e, NULL), ""));
	/* Loaded data is sealed like fresh data. */
	CHECK_EQ(pwrite(clip_entry_rep(e, NULL)->fd, "x", 1, 0), -1);
	/* Serials keep growing after a reload. */
	CHECK(set_text(s, "after", "text/plain") > s4);

	/* The torn and temporary files were removed, foreign ones left alone. */
	snprintf(path, sizeof(path), "%s/.entry-00000000000000aa.1a2b3c", state);
	CHECK(access(path, F_OK) < 0);
	snprintf(path, sizeof(path), "%s/.tmp-00000000000000ab", state);
	CHECK(access(path, F_OK) < 0);
	snprintf(path, sizeof(path), "%s/entry-00000000000000ff", state);
	CHECK(access(path, F_OK) < 0);
	snprintf(path, sizeof(path), "%s/README", state);
	CHECK(access(path, F_OK) == 0);
	unlink(path);
	clip_store_free(s);

	/* Reopening with a smaller bound trims the files too. */
	CHECK_EQ(clip_store_new(state, 1, 0, &s), 0);
	CHECK_EQ(clip_store_count(s), 1);
	CHECK(rep_is(clip_entry_rep(clip_store_current(s), NULL), "after"));
	CHECK_EQ(clip_store_clear_history(s), 0);
	clip_store_free(s);
	CHECK_EQ(clip_store_new(state, 8, 0, &s), 0);
	CHECK_EQ(clip_store_count(s), 1);
	clip_store_free(s);

	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_EQ(system(cmd), 0);
}

/* Read a whole small file into buf; its length. */
static size_t slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	ssize_t n = read(fd, buf, size);
	close(fd);
	CHECK(n > 0);
	return n > 0 ? (size_t)n : 0;
}

static void spit(const char *path, const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Found by fuzz-clipboard-state: entry files holding what no client can
 * set (one MIME type twice, empty or repeated metadata keys, metadata that
 * is not UTF-8, so no reply could carry it) loaded; and
 * a file named with uppercase hex loaded as a second entry of a serial. */
static void test_load_rejects(void)
{
	char dir[] = "/tmp/haven-clip-store-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char state[512], path[600], buf[1024], bad[1024];
	snprintf(state, sizeof(state), "%s/state", dir);
	clip_store *s = NULL;
	CHECK_EQ(clip_store_new(state, 4, 0, &s), 0);
	const char *mk[] = {"k1", "k2"}, *mv[] = {"v1", "v2"};
	uint64_t s1 = 0;
	CHECK_EQ(clip_store_set(s, mkdata("one"), 3, "text/plain", mk, mv, 2, &s1), 0);
	CHECK_EQ(clip_store_add(s, s1, mkdata("two"), 3, "text/plaiX"), 0);
	CHECK_EQ(s1, 1);
	clip_store_free(s);
	snprintf(path, sizeof(path), "%s/entry-0000000000000001", state);
	size_t len = slurp(path, buf, sizeof(buf));
	char *m = memmem(buf, len, "plaiX", 5), *k = memmem(buf, len, "k2", 2);
	CHECK(m && k);
	if (!m || !k)
		abort();

	/* one MIME type twice */
	memcpy(bad, buf, len);
	bad[m - buf + 4] = 'n';
	spit(path, bad, len);
	CHECK_EQ(clip_store_new(state, 4, 0, &s), 0);
	CHECK_EQ(clip_store_count(s), 0);
	CHECK(access(path, F_OK) < 0); /* reported and removed */
	clip_store_free(s);

	/* a metadata key twice; then an empty one */
	memcpy(bad, buf, len);
	bad[k - buf + 1] = '1';
	spit(path, bad, len);
	CHECK_EQ(clip_store_new(state, 4, 0, &s), 0);
	CHECK_EQ(clip_store_count(s), 0);
	clip_store_free(s);
	memcpy(bad, buf, len);
	memset(k - 4 - buf + bad, 0, 4); /* length of "k2" := 0 */
	memmove(k - buf + bad, k - buf + bad + 2, len - (size_t)(k - buf) - 2);
	spit(path, bad, len - 2);
	CHECK_EQ(clip_store_new(state, 4, 0, &s), 0);
	CHECK_EQ(clip_store_count(s), 0);
	clip_store_free(s);

	/* a metadata value that is not UTF-8 */
	memcpy(bad, buf, len);
	char *v = memmem(bad, len, "v1", 2);
	CHECK(v != NULL);
	if (v)
		v[0] = (char)0xff;
	spit(path, bad, len);
	CHECK_EQ(clip_store_new(state, 4, 0, &s), 0);
	CHECK_EQ(clip_store_count(s), 0);
	clip_store_free(s);

	/* the good file loads; an uppercase twin of serial 10 does not */
	spit(path, buf, len);
	snprintf(path, sizeof(path), "%s/entry-000000000000000a", state);
	spit(path, buf, len);
	snprintf(path, sizeof(path), "%s/entry-000000000000000A", state);
	spit(path, buf, len);
	CHECK_EQ(clip_store_new(state, 4, 0, &s), 0);
	CHECK_EQ(clip_store_count(s), 2);
	const clip_entry *e = clip_store_find(s, 1);
	CHECK(e && e->nreps == 2 && e->nmeta == 2);
	CHECK(clip_store_find(s, 10) != NULL);
	uint64_t ns = 0;
	CHECK_EQ(clip_store_restore(s, 10, &ns), 0);
	CHECK_EQ(ns, 11);
	clip_store_free(s);

	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_EQ(system(cmd), 0);
}

int main(void)
{
	test_validation();
	test_adopt();
	test_memory_store();
	test_persistence();
	test_load_rejects();
	int r = check_result();
	if (r == 0)
		printf("ok\n");
	return r;
}
