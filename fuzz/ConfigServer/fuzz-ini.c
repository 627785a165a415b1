/* fuzz-ini — ConfigServer's domain files on arbitrary bytes. The input is
 * up to three files separated by a line "%%": the user's file, the
 * defaults under it, and a hand edit of the user's file that inotify
 * reports. Beyond "no crash, no leak": every name that loads is UTF-8 (it
 * goes out in IPC Strings), every value the store loads and a
 * client could have written (valid names) must survive the store's own
 * writer — written to another domain and loaded by a fresh store, it reads
 * back byte for byte — and a hand edit that loads must show through. */
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

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64], user_dir[96], defs_dir[96];
/* Opened once: an inotify instance per input would cost milliseconds to
 * close. Each input starts with its domains forgotten and files removed. */
static cfg_store *store, *fresh;

static void fail(const char *what, const char *g, const char *k)
{
	fprintf(stderr, "fuzz-configserver-ini: %s [%s] %s\n", what, g ? g : "", k ? k : "");
	abort();
}

static void rm_files(const char *dir)
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

static void cleanup_dirs(void)
{
	cfg_store_free(store);
	cfg_store_free(fresh);
	rm_files(user_dir);
	rm_files(defs_dir);
	rmdir(user_dir);
	rmdir(defs_dir);
	rmdir(root);
}

static void put_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || hv_write_full(fd, p, n) < 0)
		fail("cannot write a test file", NULL, NULL);
	close(fd);
}

/* Copy every effective value with client-valid names of domain "D" into
 * domain "W" in one batch; then a fresh store must read the same values. */
static void check_writer_roundtrip(cfg_store *s)
{
	const char **groups = NULL;
	size_t ng = 0;
	if (cfg_store_list_groups(s, "D", &groups, &ng, NULL) < 0)
		return;
	cfg_op *ops = NULL;
	size_t nops = 0;
	for (size_t i = 0; i < ng; i++) {
		if (cfg_check_name(groups[i], NULL) < 0)
			continue;
		const char **keys = NULL;
		size_t nk = 0;
		if (cfg_store_list_keys(s, "D", groups[i], &keys, &nk, NULL) < 0)
			fail("cannot list the keys of a listed group", groups[i], NULL);
		for (size_t j = 0; j < nk; j++) {
			const char *v;
			if (cfg_check_name(keys[j], NULL) < 0)
				continue;
			if (cfg_store_get(s, "D", groups[i], keys[j], &v, NULL) < 0)
				fail("a listed key cannot be read", groups[i], keys[j]);
			if (cfg_check_value(v, NULL) < 0)
				continue;
			cfg_op *n = reallocarray(ops, nops + 1, sizeof(*ops));
			if (!n)
				abort();
			ops = n;
			ops[nops++] = (cfg_op){.kind = CFG_SET, .group = groups[i],
						     .key = keys[j], .value = v};
		}
		free(keys);
	}
	const char *why = NULL;
	int r = nops ? cfg_store_apply(s, "W", ops, nops, NULL, &why) : 0;
	if (r < 0 && r != -EFBIG && r != -E2BIG)
		fail(why ? why : "cannot write loaded values", NULL, NULL);
	if (r == 0 && nops) {
		cfg_store *s2 = fresh;
		cfg_store_forget(s2, "W");
		for (size_t i = 0; i < nops; i++) {
			const char *v2;
			if (cfg_store_get(s2, "W", ops[i].group, ops[i].key, &v2, &why) < 0)
				fail("a written value is missing after a reload", ops[i].group, ops[i].key);
			if (strcmp(v2, ops[i].value) != 0)
				fail("a written value reads back differently", ops[i].group, ops[i].key);
		}
	}
	free(ops);
	free(groups);
}

/* Two stores show the same effective domain D: groups, keys, values. */
static void check_same_view(cfg_store *a, cfg_store *b)
{
	const char **ga = NULL, **gb = NULL;
	size_t nga = 0, ngb = 0;
	if (cfg_store_list_groups(a, "D", &ga, &nga, NULL) < 0 ||
	    cfg_store_list_groups(b, "D", &gb, &ngb, NULL) < 0)
		fail("cannot list groups", NULL, NULL);
	if (nga != ngb)
		fail("a picked-up hand edit differs from a fresh load (groups)", NULL, NULL);
	for (size_t i = 0; i < nga; i++) {
		if (strcmp(ga[i], gb[i]) != 0)
			fail("a picked-up hand edit differs from a fresh load (group)", ga[i], NULL);
		const char **ka = NULL, **kb = NULL;
		size_t nka = 0, nkb = 0;
		if (cfg_check_name(ga[i], NULL) < 0)
			continue;
		if (cfg_store_list_keys(a, "D", ga[i], &ka, &nka, NULL) < 0 ||
		    cfg_store_list_keys(b, "D", gb[i], &kb, &nkb, NULL) < 0 || nka != nkb)
			fail("a picked-up hand edit differs from a fresh load (keys)", ga[i], NULL);
		for (size_t j = 0; j < nka; j++) {
			const char *va, *vb;
			if (strcmp(ka[j], kb[j]) != 0)
				fail("a picked-up hand edit differs from a fresh load (key)", ga[i], ka[j]);
			if (cfg_check_name(ka[j], NULL) < 0)
				continue;
			if (cfg_store_get(a, "D", ga[i], ka[j], &va, NULL) < 0 ||
			    cfg_store_get(b, "D", ga[i], ka[j], &vb, NULL) < 0 || strcmp(va, vb) != 0)
				fail("a picked-up hand edit differs from a fresh load (value)", ga[i], ka[j]);
		}
		free(ka);
		free(kb);
	}
	free(ga);
	free(gb);
}

static bool utf8(const char *s) { return hv_utf8_valid(s, strlen(s)); }

/* Names go out as IPC Strings, which must be UTF-8. */
static void check_utf8(cfg_store *s)
{
	const char **groups = NULL;
	size_t ng = 0;
	if (cfg_store_list_groups(s, "D", &groups, &ng, NULL) < 0)
		return;
	for (size_t i = 0; i < ng; i++) {
		if (!utf8(groups[i]))
			fail("a group name that is not UTF-8 loaded", NULL, NULL);
		const char **keys = NULL;
		size_t nk = 0;
		if (cfg_check_name(groups[i], NULL) < 0 ||
		    cfg_store_list_keys(s, "D", groups[i], &keys, &nk, NULL) < 0)
			continue;
		for (size_t j = 0; j < nk; j++) {
			if (!utf8(keys[j]))
				fail("a key name that is not UTF-8 loaded", groups[i], NULL);
			/* Values are bytes in the store (store.h): not checked. */
		}
		free(keys);
	}
	free(groups);
}

static const uint8_t *next_part(const uint8_t *p, const uint8_t *end, size_t *len)
{
	static const char sep[] = "\n%%\n";
	const uint8_t *m = memmem(p, (size_t)(end - p), sep, 4);
	*len = (size_t)((m ? m : end) - p);
	return m ? m + 4 : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!root[0]) {
		hv_log_set_level(HV_LOG_ERROR);
		/* tmpfs: every write is fsynced */
		strcpy(root, access("/dev/shm", W_OK) == 0 ? "/dev/shm/fuzz-config-XXXXXX"
							    : "/tmp/fuzz-config-XXXXXX");
		if (!mkdtemp(root))
			fail("cannot create a directory", NULL, NULL);
		snprintf(user_dir, sizeof(user_dir), "%s/user", root);
		snprintf(defs_dir, sizeof(defs_dir), "%s/defaults", root);
		if (mkdir(user_dir, 0700) < 0 || mkdir(defs_dir, 0700) < 0)
			fail("cannot create a directory", NULL, NULL);
		if (cfg_store_open(user_dir, defs_dir, &store) < 0 ||
		    cfg_store_open(user_dir, defs_dir, &fresh) < 0)
			fail("cannot open the store", NULL, NULL);
		atexit(cleanup_dirs);
	}
	cfg_store_forget(store, "D");
	cfg_store_forget(store, "W");
	cfg_store_forget(fresh, "D");
	cfg_store_forget(fresh, "W");
	rm_files(user_dir);
	rm_files(defs_dir);
	/* drain what the last input's files caused (no domain is loaded) */
	cfg_store_process_inotify(store);
	cfg_store_process_inotify(fresh);
	const uint8_t *end = data + size, *p = data, *parts[3] = {0};
	size_t lens[3] = {0}, n = 0;
	while (p && n < 3) {
		parts[n] = p;
		p = next_part(p, end, &lens[n]);
		n++;
	}
	put_file(user_dir, "D.ini", parts[0], lens[0]);
	if (n > 1)
		put_file(defs_dir, "D.ini", parts[1], lens[1]);

	cfg_store *s = store;
	if (cfg_store_load(s, "D", NULL) == 0) {
		check_utf8(s);
		check_writer_roundtrip(s);
		if (n > 2) {
			/* A hand edit, the way an editor saves: a new file renamed over. */
			put_file(user_dir, ".edit", parts[2], lens[2]);
			char from[160], to[160];
			snprintf(from, sizeof(from), "%s/.edit", user_dir);
			snprintf(to, sizeof(to), "%s/D.ini", user_dir);
			if (rename(from, to) < 0)
				fail("rename", NULL, NULL);
			if (cfg_store_process_inotify(s) < 0)
				fail("inotify processing failed", NULL, NULL);
			cfg_store_forget(fresh, "D");
			if (cfg_store_load(fresh, "D", NULL) == 0)
				check_same_view(s, fresh);
			check_utf8(s);
			check_writer_roundtrip(s);
		}
	}
	return 0;
}
