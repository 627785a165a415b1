/* test_store.c — ConfigServer's store against real files in a temp dir:
 * round trips of awkward values through inih, defaults layering, atomic
 * batches, change events, name validation, parse errors with file:line,
 * hand edits picked up by inotify, and a writer killed with SIGKILL at
 * random moments losing no acknowledged write and never tearing a file.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "check.h"

static char root[64];
static char user_dir[128], defs_dir[128];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = malloc(CFG_MAX_FILE_SIZE + 1);
	size_t n = fread(buf, 1, CFG_MAX_FILE_SIZE, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* --- recorded change events ------------------------------------------- */
typedef struct rec {
	char text[64][160];
	int n;
} rec;

static void record(const cfg_change *c, void *origin, void *ud)
{
	rec *r = ud;
	static const char *kinds[] = {"", "changed", "removed-key", "removed-group", "added-group"};
	if (r->n < 64)
		snprintf(r->text[r->n++], sizeof(r->text[0]), "%s %s %s %s %.40s%s", kinds[c->kind],
			 c->domain, c->group, c->key ? c->key : "-", c->value ? c->value : "-",
			 origin ? " (origin)" : "");
}

static int set1(cfg_store *s, const char *d, const char *g, const char *k, const char *v)
{
	cfg_op op = {.kind = CFG_SET, .group = g, .key = k, .value = v};
	const char *why = NULL;
	return cfg_store_apply(s, d, &op, 1, NULL, &why);
}

static void rm_rf(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

/* Every line of every file we write must fit inih's line buffer. */
static void check_lines_short(const char *path)
{
	char *text = read_all(path);
	CHECK(text != NULL);
	if (!text)
		return;
	size_t ll = 0;
	for (char *p = text; *p; p++) {
		if (*p == '\n') {
			CHECK(ll <= 198);
			ll = 0;
		} else
			ll++;
	}
	free(text);
}

static void test_round_trip(void)
{
	cfg_store *s;
	CHECK_EQ(cfg_store_open(user_dir, defs_dir, &s), 0);

	/* Values inih would mangle if written plainly. */
	static char long_val[20000];
	for (size_t i = 0; i < sizeof(long_val) - 1; i++)
		long_val[i] = (i % 7 == 0) ? ' ' : (i % 13 == 0) ? ';' : (char)('a' + i % 26);
	long_val[sizeof(long_val) - 1] = '\0';
	const char *values[] = {
		"",
		"plain",
		"  leading and trailing  ",
		"semi ; colon # hash",
		"\"already quoted\"",
		"line1\nline2\r\n\ttabbed",
		"back\\slash \\x41 \\n",
		"ends with backslash\\",
		"\"",
		"\\\"",
		"ünïcødé ✓",
		"\x01\x02\x7f control",
		"= : [ ] equals",
		long_val,
	};
	char key[32];
	for (size_t i = 0; i < HV_ARRAY_SIZE(values); i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		CHECK_EQ(set1(s, "RoundTrip", "Values", key, values[i]), 0);
	}
	cfg_store_free(s);

	/* A fresh store reads the file back exactly. */
	CHECK_EQ(cfg_store_open(user_dir, defs_dir, &s), 0);
	for (size_t i = 0; i < HV_ARRAY_SIZE(values); i++) {
		const char *v = NULL, *why = NULL;
		snprintf(key, sizeof(key), "k%zu", i);
		CHECK_EQ(cfg_store_get(s, "RoundTrip", "Values", key, &v, &why), 0);
		if (v && strcmp(v, values[i]) != 0) {
			fprintf(stderr, "value %zu differs: got \"%.60s\" want \"%.60s\"\n", i, v,
				values[i]);
			check_failures++;
		}
	}
	char path[256];
	cfg_store_user_path(s, "RoundTrip", path, sizeof(path));
	check_lines_short(path);
	/* Nothing changed: no write at all (same inode). */
	struct stat a, b;
	CHECK_EQ(stat(path, &a), 0);
	CHECK_EQ(set1(s, "RoundTrip", "Values", "k1", "plain"), 0);
	CHECK_EQ(stat(path, &b), 0);
	CHECK(a.st_ino == b.st_ino);
	cfg_store_free(s);
}

/* Random values (any byte but NUL, up to 600 bytes, blanks and escapes
 * over-represented) survive a write and a fresh load. Seeded: repeatable. */
static void test_random_round_trip(void)
{
	cfg_store *s;
	CHECK_EQ(cfg_store_open(user_dir, NULL, &s), 0);
	static const char tricky[] = " \t\n\r\\\";#[]=:";
	unsigned seed = 12345;
	enum { N = 300 };
	static char vals[N][601];
	for (int i = 0; i < N; i++) {
		size_t len = (size_t)rand_r(&seed) % 601;
		for (size_t j = 0; j < len; j++) {
			int r = rand_r(&seed) % 4;
			vals[i][j] = r == 0 ? tricky[rand_r(&seed) % (sizeof(tricky) - 1)]
					    : (char)(1 + rand_r(&seed) % 255);
		}
		vals[i][len] = '\0';
		char key[16];
		snprintf(key, sizeof(key), "r%d", i);
		CHECK_EQ(set1(s, "Random", "G", key, vals[i]), 0);
	}
	cfg_store_free(s);
	CHECK_EQ(cfg_store_open(user_dir, NULL, &s), 0);
	for (int i = 0; i < N; i++) {
		char key[16];
		const char *v = NULL, *why = NULL;
		snprintf(key, sizeof(key), "r%d", i);
		CHECK_EQ(cfg_store_get(s, "Random", "G", key, &v, &why), 0);
		if (v && strcmp(v, vals[i]) != 0) {
			fprintf(stderr, "random value %d did not survive\n", i);
			check_failures++;
		}
	}
	char path[256];
	cfg_store_user_path(s, "Random", path, sizeof(path));
	check_lines_short(path);
	cfg_store_free(s);
}

static void test_layering_and_events(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/Layered.ini", defs_dir);
	write_file(path, "; shipped defaults\n[Window]\nwidth = 640\nheight = 480\n\n[Theme]\nname = "
			 "Default\n[Empty]\n");
	cfg_store *s;
	CHECK_EQ(cfg_store_open(user_dir, defs_dir, &s), 0);
	rec r = {0};
	cfg_store_set_change_cb(s, record, &r);

	const char *v = NULL, *why = NULL;
	CHECK_EQ(cfg_store_get(s, "Layered", "Window", "width", &v, &why), 0);
	CHECK_STR(v, "640");
	CHECK_EQ(cfg_store_get(s, "Layered", "Window", "depth", &v, &why), -ENOENT);

	const char **names = NULL;
	size_t n = 0;
	CHECK_EQ(cfg_store_list_groups(s, "Layered", &names, &n, &why), 0);
	CHECK_EQ(n, 3);
	if (n == 3) {
		CHECK_STR(names[0], "Window");
		CHECK_STR(names[2], "Empty"); /* an empty group is still a group */
	}
	free(names);

	int origin_token;
	cfg_op ops[] = {
		{.kind = CFG_SET, .type = CFG_TYPE_I32, .group = "Window", .key = "width",
		 .value = "1024"},
		{.kind = CFG_SET, .group = "Fonts", .key = "mono", .value = "Hack"},
		{.kind = CFG_ADD_GROUP, .group = "Plugins"},
	};
	CHECK_EQ(cfg_store_apply(s, "Layered", ops, 3, &origin_token, &why), 0);
	CHECK_EQ(r.n, 4);
	CHECK_STR(r.text[0], "changed Layered Window width 1024 (origin)");
	CHECK_STR(r.text[1], "added-group Layered Fonts - - (origin)");
	CHECK_STR(r.text[2], "changed Layered Fonts mono Hack (origin)");
	CHECK_STR(r.text[3], "added-group Layered Plugins - - (origin)");

	CHECK_EQ(cfg_store_list_keys(s, "Layered", "Window", &names, &n, &why), 0);
	CHECK_EQ(n, 2); /* width (user) and height (default) */
	free(names);

	/* Removing the user's value shows the default again. */
	r.n = 0;
	cfg_op rm = {.kind = CFG_REMOVE_KEY, .group = "Window", .key = "width"};
	CHECK_EQ(cfg_store_apply(s, "Layered", &rm, 1, NULL, &why), 0);
	CHECK_EQ(r.n, 1);
	CHECK_STR(r.text[0], "changed Layered Window width 640");
	cfg_op rmg = {.kind = CFG_REMOVE_GROUP, .group = "Fonts"};
	r.n = 0;
	CHECK_EQ(cfg_store_apply(s, "Layered", &rmg, 1, NULL, &why), 0);
	CHECK_EQ(r.n, 1);
	CHECK_STR(r.text[0], "removed-group Layered Fonts - -");
	/* Removing what is absent is not an error and announces nothing. */
	r.n = 0;
	CHECK_EQ(cfg_store_apply(s, "Layered", &rmg, 1, NULL, &why), 0);
	CHECK_EQ(r.n, 0);
	cfg_store_free(s);
}

static void test_atomic_batch(void)
{
	cfg_store *s;
	CHECK_EQ(cfg_store_open(user_dir, NULL, &s), 0);
	CHECK_EQ(set1(s, "Atomic", "G", "a", "1"), 0);
	char path[256];
	cfg_store_user_path(s, "Atomic", path, sizeof(path));
	char *before = read_all(path);
	rec r = {0};
	cfg_store_set_change_cb(s, record, &r);
	cfg_op ops[] = {
		{.kind = CFG_SET, .group = "G", .key = "a", .value = "2"},
		{.kind = CFG_SET, .group = "G", .key = "b", .value = "3"},
		{.kind = CFG_SET, .group = "G", .key = "bad=key", .value = "4"},
	};
	const char *why = NULL;
	CHECK_EQ(cfg_store_apply(s, "Atomic", ops, 3, NULL, &why), -EINVAL);
	CHECK(why && strstr(why, "[ ] = : ; #"));
	CHECK_EQ(r.n, 0);
	const char *v = NULL;
	CHECK_EQ(cfg_store_get(s, "Atomic", "G", "a", &v, &why), 0);
	CHECK_STR(v, "1");
	CHECK_EQ(cfg_store_get(s, "Atomic", "G", "b", &v, &why), -ENOENT);
	char *after = read_all(path);
	CHECK(before && after && strcmp(before, after) == 0);
	free(before);
	free(after);

	/* Oversized value rejected, also inside a batch. */
	char *big = malloc(CFG_MAX_VALUE_LEN + 2);
	memset(big, 'x', CFG_MAX_VALUE_LEN + 1);
	big[CFG_MAX_VALUE_LEN + 1] = '\0';
	CHECK_EQ(set1(s, "Atomic", "G", "big", big), -E2BIG);
	free(big);
	cfg_store_free(s);
}

static void test_names(void)
{
	cfg_store *s;
	CHECK_EQ(cfg_store_open(user_dir, defs_dir, &s), 0);
	const char *bad_domains[] = {"", "../evil", "a/b", "..", ".hidden", "x..y", "bad\xff",
				     "tab\there"};
	for (size_t i = 0; i < HV_ARRAY_SIZE(bad_domains); i++) {
		const char *why = NULL;
		CHECK_EQ(set1(s, bad_domains[i], "G", "k", "v"), -EINVAL);
		CHECK_EQ(cfg_check_domain(bad_domains[i], &why), -EINVAL);
		CHECK(why != NULL);
	}
	char longname[200];
	memset(longname, 'd', 129);
	longname[129] = '\0';
	CHECK_EQ(set1(s, longname, "G", "k", "v"), -EINVAL);
	longname[128] = '\0';
	CHECK_EQ(set1(s, longname, "G", "k", "v"), 0);
	/* Names inih could not read back are refused. */
	const char *bad_names[] = {"", "a=b", "a:b", "[x]", ";c", "#c", " lead", "trail ",
				   "new\nline", "\xc3\x28"};
	for (size_t i = 0; i < HV_ARRAY_SIZE(bad_names); i++) {
		CHECK_EQ(set1(s, "Names", bad_names[i], "k", "v"), -EINVAL);
		CHECK_EQ(set1(s, "Names", "G", bad_names[i], "v"), -EINVAL);
	}
	memset(longname, 'n', 49);
	longname[49] = '\0';
	CHECK_EQ(set1(s, "Names", "G", longname, "v"), -EINVAL);
	longname[48] = '\0';
	CHECK_EQ(set1(s, "Names", longname, longname, "v"), 0);
	cfg_store_free(s);
	/* nothing escaped the user directory */
	char path[256];
	snprintf(path, sizeof(path), "%s/evil.ini", root);
	CHECK(access(path, F_OK) < 0);
}

static void test_parse_errors(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/Broken.ini", user_dir);
	write_file(path, "[G]\na = 1\nthis line has no separator\n");
	cfg_store *s;
	CHECK_EQ(cfg_store_open(user_dir, defs_dir, &s), 0);
	const char *v = NULL, *why = NULL;
	CHECK_EQ(cfg_store_get(s, "Broken", "G", "a", &v, &why), -EBADMSG);
	CHECK(why && strstr(why, "Broken.ini:3:"));

	char line[400];
	memset(line, 'x', sizeof(line));
	memcpy(line, "[G]\nk = ", 8);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	snprintf(path, sizeof(path), "%s/Long.ini", user_dir);
	write_file(path, line);
	why = NULL;
	CHECK_EQ(cfg_store_get(s, "Long", "G", "k", &v, &why), -EBADMSG);
	CHECK(why && strstr(why, "Long.ini:2: line is longer than 198 bytes"));

	/* Found by fuzz-configserver-ini: names in Latin-1 loaded (and listed),
	 * and then every reply listing them failed to encode. Values stay
	 * bytes (see test_random_round_trip). */
	snprintf(path, sizeof(path), "%s/Latin.ini", user_dir);
	write_file(path, "[G]\nstra\xdf" "e = x\n");
	why = NULL;
	CHECK_EQ(cfg_store_get(s, "Latin", "G", "x", &v, &why), -EBADMSG);
	CHECK(why && strstr(why, "Latin.ini:2: key name is not valid UTF-8"));
	snprintf(path, sizeof(path), "%s/Latin2.ini", user_dir);
	write_file(path, "[Gr\xfc\xdf" "e]\n");
	why = NULL;
	CHECK_EQ(cfg_store_get(s, "Latin2", "G", "x", &v, &why), -EBADMSG);
	CHECK(why && strstr(why, "Latin2.ini:1: group name is not valid UTF-8"));
	cfg_store_free(s);
}

static int wait_inotify(cfg_store *s)
{
	struct pollfd p = {.fd = cfg_store_inotify_fd(s), .events = POLLIN};
	int r = poll(&p, 1, 10000);
	CHECK_EQ(r, 1);
	return cfg_store_process_inotify(s);
}

static void test_hand_edits(void)
{
	cfg_store *s;
	CHECK_EQ(cfg_store_open(user_dir, defs_dir, &s), 0);
	CHECK_EQ(set1(s, "Hand", "G", "a", "1"), 0);
	CHECK_EQ(set1(s, "Hand", "G", "b", "2"), 0);
	/* Our own writes are not re-announced as hand edits. */
	rec r = {0};
	cfg_store_set_change_cb(s, record, &r);
	CHECK_EQ(wait_inotify(s), 0);
	CHECK_EQ(r.n, 0);

	/* An editor that writes in place. */
	char path[256];
	cfg_store_user_path(s, "Hand", path, sizeof(path));
	write_file(path, "[G]\na = 10\n[New]\nx = y\n");
	CHECK_EQ(wait_inotify(s), 0);
	CHECK_EQ(r.n, 4);
	CHECK_STR(r.text[0], "changed Hand G a 10");
	CHECK_STR(r.text[1], "added-group Hand New - -");
	CHECK_STR(r.text[2], "changed Hand New x y");
	CHECK_STR(r.text[3], "removed-key Hand G b -");

	/* An editor that renames a new file over the old one. */
	r.n = 0;
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s/Hand.ini~", user_dir);
	write_file(tmp, "[G]\na = 11\n");
	CHECK_EQ(rename(tmp, path), 0);
	CHECK_EQ(wait_inotify(s), 0);
	const char *v = NULL, *why = NULL;
	CHECK_EQ(cfg_store_get(s, "Hand", "G", "a", &v, &why), 0);
	CHECK_STR(v, "11");
	CHECK_EQ(r.n, 2);
	CHECK_STR(r.text[1], "removed-group Hand New - -");

	/* A broken edit keeps the last good state. */
	r.n = 0;
	write_file(path, "[G\n");
	CHECK_EQ(wait_inotify(s), 0);
	CHECK_EQ(cfg_store_get(s, "Hand", "G", "a", &v, &why), 0);
	CHECK_STR(v, "11");
	CHECK_EQ(r.n, 0);
	/* Deleting the file removes the values. */
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(wait_inotify(s), 0);
	CHECK_EQ(cfg_store_get(s, "Hand", "G", "a", &v, &why), -ENOENT);
	CHECK_EQ(r.n, 1);
	cfg_store_free(s);
}

/* A loaded domain's file replaced by a symbolic link (issue 12): refused
 * with -ELOOP, as for a domain not loaded yet. A write must neither turn
 * the link into a copy (rename over it) nor write through it, and the
 * domain keeps its last good state until the file is a file again. */
static void test_symlink_refused(void)
{
	cfg_store *s;
	CHECK_EQ(cfg_store_open(user_dir, defs_dir, &s), 0);
	CHECK_EQ(set1(s, "Linked", "G", "a", "1"), 0);
	char path[256], target[256], tmp[256];
	cfg_store_user_path(s, "Linked", path, sizeof(path));
	snprintf(target, sizeof(target), "%s/elsewhere.ini", root);
	write_file(target, "[G]\na = theirs\n");
	snprintf(tmp, sizeof(tmp), "%s/Linked.lnk", user_dir);
	CHECK_EQ(symlink(target, tmp), 0);
	CHECK_EQ(rename(tmp, path), 0);
	CHECK_EQ(wait_inotify(s), 0);
	const char *v = NULL, *why = NULL;
	CHECK_EQ(cfg_store_get(s, "Linked", "G", "a", &v, &why), 0);
	CHECK_STR(v, "1");

	CHECK_EQ(set1(s, "Linked", "G", "a", "2"), -ELOOP);
	struct stat st;
	CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
	char *text = read_all(target);
	CHECK_STR(text, "[G]\na = theirs\n");
	free(text);
	CHECK_EQ(cfg_store_get(s, "Linked", "G", "a", &v, &why), 0);
	CHECK_STR(v, "1");

	/* A file again (here: none): writes work again. */
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(wait_inotify(s), 0);
	CHECK_EQ(set1(s, "Linked", "G", "a", "3"), 0);
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
	cfg_store_free(s);
	unlink(target);
}

/* Issue 12, "acknowledged means durable": with the settings directory full,
 * then read-only, a write fails with -ENOSPC / -EROFS and a sentence
 * saying so, changes nothing in memory, announces nothing, and leaves
 * the file as it was. Runs in a child with a mount namespace of its own,
 * where a 64 KiB tmpfs is the directory (skipped where there is none). */
static void full_readonly_child(void)
{
	char dir[200];
	snprintf(dir, sizeof(dir), "%s/tiny", root);
	REQUIRE_EQ(mkdir(dir, 0700), 0);
	REQUIRE_EQ(mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700"), 0);
	cfg_store *s;
	REQUIRE_EQ(cfg_store_open(dir, NULL, &s), 0);
	CHECK_EQ(set1(s, "Tiny", "G", "a", "small"), 0);
	rec r = {0};
	cfg_store_set_change_cb(s, record, &r);
	static char big[60000];
	memset(big, 'x', sizeof(big) - 1);
	const char *why = NULL, *v = NULL;
	cfg_op op = {.kind = CFG_SET, .group = "G", .key = "b", .value = big};
	/* The new file goes beside the old one: 64 KiB cannot hold both. */
	CHECK_EQ(cfg_store_apply(s, "Tiny", &op, 1, NULL, &why), -ENOSPC);
	CHECK_STR(why, "the settings directory is full");
	CHECK_EQ(cfg_store_get(s, "Tiny", "G", "b", &v, NULL), -ENOENT);

	REQUIRE_EQ(mount("tmpfs", dir, "tmpfs", MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL), 0);
	op.value = "changed";
	op.key = "a";
	why = NULL;
	CHECK_EQ(cfg_store_apply(s, "Tiny", &op, 1, NULL, &why), -EROFS);
	CHECK_STR(why, "the settings directory is read-only");
	CHECK_EQ(cfg_store_get(s, "Tiny", "G", "a", &v, NULL), 0);
	CHECK_STR(v, "small");
	CHECK_EQ(r.n, 0);
	cfg_store_free(s);
	/* What is on disk is what was acknowledged. */
	CHECK_EQ(cfg_store_open(dir, NULL, &s), 0);
	CHECK_EQ(cfg_store_get(s, "Tiny", "G", "a", &v, NULL), 0);
	CHECK_STR(v, "small");
	cfg_store_free(s);
	CHECK_EQ(umount2(dir, MNT_DETACH), 0);
}

static void test_full_and_readonly(void)
{
	check_in_mount_namespace("the full/read-only directory case", full_readonly_child);
}

/* cfg_store_forget (the fuzzer's reset): the next use reads the
 * files again; other domains and unknown names are left alone. */
static void test_forget(void)
{
	cfg_store *s;
	CHECK_EQ(cfg_store_open(user_dir, defs_dir, &s), 0);
	CHECK_EQ(set1(s, "Forget", "G", "a", "1"), 0);
	CHECK_EQ(set1(s, "Kept", "G", "a", "k"), 0);
	char path[256];
	cfg_store_user_path(s, "Forget", path, sizeof(path));
	write_file(path, "[G]\na = 2\n"); /* no inotify processing on purpose */
	const char *v = NULL, *why = NULL;
	CHECK_EQ(cfg_store_get(s, "Forget", "G", "a", &v, &why), 0);
	CHECK_STR(v, "1");
	cfg_store_forget(s, "Forget");
	cfg_store_forget(s, "NeverLoaded");
	CHECK_EQ(cfg_store_get(s, "Forget", "G", "a", &v, &why), 0);
	CHECK_STR(v, "2");
	CHECK_EQ(cfg_store_get(s, "Kept", "G", "a", &v, &why), 0);
	CHECK_STR(v, "k");
	cfg_store_free(s);
}

static void test_stale_temp_removed(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/.Stale.ini.Ab12Cd", user_dir);
	write_file(path, "[G]\nk = half-writ");
	char keep[256];
	snprintf(keep, sizeof(keep), "%s/.notes.ini.bak", user_dir);
	write_file(keep, "mine");
	cfg_store *s;
	CHECK_EQ(cfg_store_open(user_dir, defs_dir, &s), 0);
	CHECK(access(path, F_OK) < 0);
	CHECK(access(keep, F_OK) == 0); /* not ours: left alone */
	cfg_store_free(s);
}

/* A child writes k<i> = v<i> in a loop, reporting each acknowledged i on a
 * pipe; we SIGKILL it at a random moment, then check every acknowledged
 * value is on disk and the file parses. Repeated, each round continuing
 * where the last one stopped. */
static void test_sigkill_durability(void)
{
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	unsigned next = 0;
	for (int round = 0; round < 12; round++) {
		int p[2];
		CHECK_EQ(pipe(p), 0);
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			cfg_store *s;
			if (cfg_store_open(user_dir, NULL, &s) < 0)
				_exit(3);
			for (unsigned i = next;; i++) {
				char k[32], v[64];
				snprintf(k, sizeof(k), "k%u", i % 200);
				snprintf(v, sizeof(v), "value %u with some padding to write", i);
				/* alternate single writes and batches */
				cfg_op ops[2] = {
					{.kind = CFG_SET, .group = "Kill", .key = k, .value = v},
					{.kind = CFG_SET, .group = "Last", .key = "i", .value = v},
				};
				const char *why = NULL;
				if (cfg_store_apply(s, "Durable", ops, 1 + i % 2, NULL, &why) < 0)
					_exit(4);
				if (write(p[1], &i, sizeof(i)) != sizeof(i))
					_exit(5);
			}
		}
		close(p[1]);
		/* Let it run a random while (counted in acks, not time). */
		unsigned want = 5 + (unsigned)rand() % 60, got = 0, last = next, v;
		while (got < want && read(p[0], &v, sizeof(v)) == sizeof(v)) {
			last = v;
			got++;
		}
		/* usleep a random bit so the kill can land mid-write */
		usleep((useconds_t)(rand() % 3000));
		kill(pid, SIGKILL);
		/* acks written before the kill are acknowledged writes too */
		while (read(p[0], &v, sizeof(v)) == sizeof(v)) {
			last = v;
			got++;
		}
		close(p[0]);
		int st;
		waitpid(pid, &st, 0);
		CHECK(WIFSIGNALED(st));
		CHECK(got > 0);

		cfg_store *s;
		CHECK_EQ(cfg_store_open(user_dir, NULL, &s), 0);
		/* every acknowledged write of this round (the last 200 keys) */
		for (unsigned i = last >= 199 ? last - 199 : 0; i <= last; i++) {
			if (i < next)
				continue;
			char k[32], want_v[64];
			snprintf(k, sizeof(k), "k%u", i % 200);
			const char *val = NULL, *why = NULL;
			int r = cfg_store_get(s, "Durable", "Kill", k, &val, &why);
			CHECK_EQ(r, 0);
			if (r < 0)
				break;
			/* it holds this write or a later one (never an older one) */
			unsigned seen = 0;
			CHECK(sscanf(val, "value %u", &seen) == 1);
			CHECK(seen >= i);
			(void)want_v;
		}
		cfg_store_free(s);
		next = last + 1;
	}
	/* no temp file survives a reopen */
	char path[256];
	snprintf(path, sizeof(path), "%s/Durable.ini", user_dir);
	check_lines_short(path);
}

int main(void)
{
	hv_log_set_level(HV_LOG_ERROR);
	snprintf(root, sizeof(root), "/tmp/hv-config-store-XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(user_dir, sizeof(user_dir), "%s/home/.config/haven", root);
	snprintf(defs_dir, sizeof(defs_dir), "%s/defaults", root);
	mkdir(defs_dir, 0755);

	test_round_trip();
	test_random_round_trip();
	test_layering_and_events();
	test_atomic_batch();
	test_names();
	test_parse_errors();
	test_hand_edits();
	test_symlink_refused();
	test_full_and_readonly();
	test_forget();
	test_stale_temp_removed();
	test_sigkill_durability();

	rm_rf(root);
	int r = check_result();
	if (r == 0)
		printf("ok\n");
	return r;
}
