/* crash — read CrashDaemon's reports, run a program under its crash
 * handler, install it as the kernel's core handler (docs/crashdaemon.md).
 *
 * Reports are read from the store directly (crash-store, the store's
 * library): system mode has no daemon to ask, and a person reads their
 * crashes whether or not the daemon runs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <haven/crash.h>
#include <haven/log.h>
#include <haven/util.h>

#include "cli.h"
#include "store.h"
#include "unwind.h"

#define CORE_PATTERN "/proc/sys/kernel/core_pattern"
#define SAVED_PATTERN "core_pattern.saved"

struct options {
	const char *store_dir, *socket_path;
	bool json;
	crash_store *store;
};

static void usage(FILE *f)
{
	fputs("Usage: crash [--store DIR] [--socket PATH] [--json] VERB [ARGS...]\n"
	      "CrashDaemon's crash reports.\n"
	      "\n"
	      "  list                 the reports: id, count, last time, signal, executable\n"
	      "  show ID              a report (ID: its first hex digits suffice)\n"
	      "  rm ID                remove a report and its core\n"
	      "  core ID              the core (system mode) decompressed on stdout\n"
	      "  gdb ID               gdb on the executable and the core\n"
	      "  run -- PROG ARGS...  run PROG with the crash handler preloaded\n"
	      "  install-handler [DAEMON]  make CrashDaemon --kernel the core_pattern\n"
	      "                       (root; the previous pattern is saved in the store)\n"
	      "  restore-handler      put the saved core_pattern back\n"
	      "\n"
	      "  --store DIR    the store (default $XDG_STATE_HOME/haven/CrashDaemon)\n"
	      "  --socket PATH  CrashDaemon's socket for run (default: the \"crash\" portal)\n"
	      "  --json         list and show print JSON\n"
	      "Exit status: 0 ok, 1 error, 2 usage.\n",
	      f);
}

static int open_store(struct options *o)
{
	if (o->store)
		return 0;
	_hv_free_ char *def = NULL;
	const char *dir = o->store_dir;
	if (!dir) {
		if (crash_store_default_path(&def) < 0) {
			fprintf(stderr, "crash: no store: set XDG_STATE_HOME or HOME, or give --store\n");
			return -ENOENT;
		}
		dir = def;
	}
	int r = crash_store_open(dir, &o->store);
	if (r < 0)
		fprintf(stderr, "crash: cannot open the store %s: %s\n", dir, strerror(-r));
	return r;
}

static void iso_time(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, 32, "%" PRId64, t);
}

static int cmd_list(int argc, char **argv, void *ud)
{
	struct options *o = ud;
	if (open_store(o) < 0)
		return 1;
	_hv_free_ crash_entry *v = NULL;
	size_t n = 0;
	int r = crash_store_list(o->store, &v, &n);
	if (r < 0) {
		fprintf(stderr, "crash: cannot read the index: %s\n", strerror(-r));
		return 1;
	}
	if (o->json)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		char last[32], first[32];
		iso_time(v[i].last, last);
		iso_time(v[i].first, first);
		if (!o->json) {
			printf("%s %6" PRIu64 " %s %-7s %s\n", v[i].id, v[i].count, last,
			       crash_signal_name(v[i].signo), v[i].exe);
			continue;
		}
		printf("%s{\"id\":\"%s\",\"count\":%" PRIu64 ",\"first\":\"%s\",\"last\":\"%s\","
		       "\"bytes\":%" PRIu64 ",\"signal\":%d,\"signal_name\":\"%s\",\"executable\":",
		       i ? "," : "", v[i].id, v[i].count, first, last, v[i].bytes, v[i].signo,
		       crash_signal_name(v[i].signo));
		cli_json_string(stdout, v[i].exe);
		putchar('}');
	}
	if (o->json)
		puts("]");
	return 0;
}

static int resolve(struct options *o, const char *arg, char id[CRASH_ID_LEN + 1])
{
	if (open_store(o) < 0)
		return -1;
	int r = crash_store_resolve(o->store, arg, id);
	if (r == -EINVAL)
		fprintf(stderr, "crash: %s: not a report id (hex digits)\n", arg);
	else if (r == -EEXIST)
		fprintf(stderr, "crash: %s: more than one report starts so\n", arg);
	else if (r < 0)
		fprintf(stderr, "crash: %s: no such report\n", arg);
	return r;
}

static int find_entry(struct options *o, const char *id, crash_entry *out)
{
	_hv_free_ crash_entry *v = NULL;
	size_t n = 0;
	int r = crash_store_list(o->store, &v, &n);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (!strcmp(v[i].id, id)) {
			*out = v[i];
			return 0;
		}
	return r < 0 ? r : -ENOENT;
}

static int cmd_show(int argc, char **argv, void *ud)
{
	struct options *o = ud;
	char id[CRASH_ID_LEN + 1];
	crash_entry e;
	if (resolve(o, argv[1], id) < 0 || find_entry(o, id, &e) < 0)
		return 1;
	_hv_free_ char *text = NULL;
	size_t len;
	int r = crash_store_read(o->store, id, &text, &len);
	if (r < 0) {
		fprintf(stderr, "crash: %s: cannot read the report: %s\n", id, strerror(-r));
		return 1;
	}
	char first[32], last[32];
	iso_time(e.first, first);
	iso_time(e.last, last);
	if (o->json) {
		printf("{\"id\":\"%s\",\"count\":%" PRIu64 ",\"first\":\"%s\",\"last\":\"%s\",\"report\":",
		       id, e.count, first, last);
		cli_json_string(stdout, text);
		puts("}");
		return 0;
	}
	printf("id: %s\ncount: %" PRIu64 "\nfirst: %s\nlast: %s\n%s", id, e.count, first, last, text);
	return 0;
}

static int cmd_rm(int argc, char **argv, void *ud)
{
	struct options *o = ud;
	char id[CRASH_ID_LEN + 1];
	if (resolve(o, argv[1], id) < 0)
		return 1;
	int r = crash_store_remove(o->store, id);
	if (r < 0) {
		fprintf(stderr, "crash: %s: cannot remove: %s\n", id, strerror(-r));
		return 1;
	}
	return 0;
}

static int open_core(struct options *o, const char *arg, char id[CRASH_ID_LEN + 1])
{
	if (resolve(o, arg, id) < 0)
		return -1;
	int fd = crash_store_open_core(o->store, id);
	if (fd == -ENOENT)
		fprintf(stderr, "crash: %s: no core (session-mode reports have none)\n", id);
	else if (fd < 0)
		fprintf(stderr, "crash: %s: cannot open the core: %s\n", id, strerror(-fd));
	return fd;
}

static int cmd_core(int argc, char **argv, void *ud)
{
	struct options *o = ud;
	char id[CRASH_ID_LEN + 1];
	if (isatty(STDOUT_FILENO)) {
		fprintf(stderr, "crash: core: stdout is a terminal; redirect it to a file\n");
		return 1;
	}
	_hv_close_ int fd = open_core(o, argv[1], id);
	if (fd < 0)
		return 1;
	int r = crash_zstd_unstream(fd, STDOUT_FILENO);
	if (r < 0) {
		fprintf(stderr, "crash: %s: cannot decompress the core: %s\n", id, strerror(-r));
		return 1;
	}
	return 0;
}

static int cmd_gdb(int argc, char **argv, void *ud)
{
	struct options *o = ud;
	char id[CRASH_ID_LEN + 1];
	crash_entry e;
	_hv_close_ int fd = open_core(o, argv[1], id);
	if (fd < 0 || find_entry(o, id, &e) < 0)
		return 1;
	/* In memory, not on disk: gdb opens it through /proc/self/fd. */
	int mem = memfd_create("core", 0);
	int r = mem < 0 ? -errno : crash_zstd_unstream(fd, mem);
	if (r < 0) {
		fprintf(stderr, "crash: %s: cannot decompress the core: %s\n", id, strerror(-r));
		return 1;
	}
	char core[64];
	snprintf(core, sizeof(core), "/proc/self/fd/%d", mem);
	execlp("gdb", "gdb", "-q", e.exe, core, (char *)NULL);
	fprintf(stderr, "crash: cannot run gdb: %m\n");
	return 1;
}

/* A file shipped beside us: in the build tree (this binary's folder, then
 * rel), else installed (fallback). */
static int sibling_path(const char *rel, const char *installed, char out[PATH_MAX])
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(out, PATH_MAX, "%s/%s", self, rel) < PATH_MAX &&
			    access(out, R_OK) == 0)
				return 0;
		}
	}
	snprintf(out, PATH_MAX, "%s", installed);
	return access(out, R_OK) == 0 ? 0 : -ENOENT;
}

static int cmd_run(int argc, char **argv, void *ud)
{
	struct options *o = ud;
	char so[PATH_MAX], sock[256];
	const char *env = getenv("HAVEN_CRASH_PRELOAD");
	if (env && *env)
		snprintf(so, sizeof(so), "%s", env);
	else if (sibling_path("../../services/CrashDaemon/libhaven-crash.so",
			      CRASH_LIBDIR "/libhaven-crash.so", so) < 0) {
		fprintf(stderr, "crash: cannot find libhaven-crash.so (set HAVEN_CRASH_PRELOAD)\n");
		return 1;
	}
	if (o->socket_path)
		snprintf(sock, sizeof(sock), "%s", o->socket_path);
	else if (hv_portal_path(HV_CRASH_PORTAL, sock, sizeof(sock)) < 0) {
		fprintf(stderr, "crash: no \"crash\" portal: give --socket\n");
		return 1;
	}
	const char *old = getenv("LD_PRELOAD");
	_hv_free_ char *preload = NULL;
	if (asprintf(&preload, "%s%s%s", so, old && *old ? " " : "", old ? old : "") < 0)
		return 1;
	setenv("LD_PRELOAD", preload, 1);
	setenv(HV_CRASH_ENV_SOCKET, sock, 1);
	execvp(argv[1], argv + 1);
	fprintf(stderr, "crash: cannot run %s: %m\n", argv[1]);
	return 127;
}

/* The kernel's core_pattern; HAVEN_CORE_PATTERN names another file (the
 * tests use one: they never change the machine's). */
static const char *pattern_file(void)
{
	const char *f = getenv("HAVEN_CORE_PATTERN");
	return f && *f ? f : CORE_PATTERN;
}

static int write_pattern(const char *text)
{
	_hv_close_ int fd = open(pattern_file(), O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || hv_write_full(fd, text, strlen(text)) < 0) {
		fprintf(stderr, "crash: cannot write %s: %m\n", pattern_file());
		return -1;
	}
	return 0;
}

static int cmd_install(int argc, char **argv, void *ud)
{
	struct options *o = ud;
	char daemon[PATH_MAX], real[PATH_MAX];
	if (argc > 1)
		snprintf(daemon, sizeof(daemon), "%s", argv[1]);
	else if (sibling_path("../../services/CrashDaemon/CrashDaemon", CRASH_BINDIR "/CrashDaemon",
			      daemon) < 0) {
		fprintf(stderr, "crash: cannot find CrashDaemon: name it\n");
		return 1;
	}
	if (!realpath(daemon, real)) {
		fprintf(stderr, "crash: %s: %m\n", daemon);
		return 1;
	}
	if (open_store(o) < 0)
		return 1;
	_hv_free_ uint8_t *cur = NULL;
	size_t len = 0;
	int r = hv_read_file_at(AT_FDCWD, pattern_file(), 0, 4096, &cur, &len);
	if (r < 0) {
		fprintf(stderr, "crash: cannot read %s: %s\n", pattern_file(), strerror(-r));
		return 1;
	}
	if (strstr((char *)cur, "--kernel")) {
		fprintf(stderr, "crash: CrashDaemon is already the core handler\n");
		return 1;
	}
	r = hv_replace_file_data_at(o->store->dirfd, SAVED_PATTERN, 0600, 0, cur, len, NULL);
	if (r < 0) {
		fprintf(stderr, "crash: cannot save the pattern: %s\n", strerror(-r));
		return 1;
	}
	_hv_free_ char *pattern = NULL;
	if (asprintf(&pattern, "|%s --kernel --store %s %%P %%u %%g %%s %%t %%e\n", real,
		     o->store->path) < 0)
		return 1;
	if (strlen(pattern) > 127) {
		fprintf(stderr, "crash: the pattern is over the kernel's 127 bytes: %s", pattern);
		return 1;
	}
	if (write_pattern(pattern) < 0)
		return 1;
	printf("core_pattern: %s", pattern);
	return 0;
}

static int cmd_restore(int argc, char **argv, void *ud)
{
	struct options *o = ud;
	if (open_store(o) < 0)
		return 1;
	_hv_free_ uint8_t *saved = NULL;
	size_t len = 0;
	int r = hv_read_file_at(o->store->dirfd, SAVED_PATTERN, O_NOFOLLOW, 4096, &saved, &len);
	if (r < 0) {
		fprintf(stderr, "crash: no saved pattern in %s: %s\n", o->store->path, strerror(-r));
		return 1;
	}
	if (write_pattern((char *)saved) < 0)
		return 1;
	unlinkat(o->store->dirfd, SAVED_PATTERN, 0);
	printf("core_pattern: %s", (char *)saved);
	return 0;
}

static const hv_verb verbs[] = {
	{"list", 0, 0, cmd_list},
	{"show", 1, 1, cmd_show},
	{"rm", 1, 1, cmd_rm},
	{"core", 1, 1, cmd_core},
	{"gdb", 1, 1, cmd_gdb},
	{"run", 1, HV_VERB_ANY, cmd_run},
	{"install-handler", 0, 1, cmd_install},
	{"restore-handler", 0, 0, cmd_restore},
	{0},
};

int main(int argc, char **argv)
{
	struct options o = {0};
	char *args[argc + 1];
	int n = 0;
	cli_init("crash", "CrashDaemon", usage);
	for (int i = 1; i < argc; i++) {
		if (n > 0 && !strcmp(args[0], "run")) {
			if (n == 1 && !strcmp(argv[i], "--"))
				continue;
			args[n++] = argv[i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if ((!strcmp(argv[i], "--store") || !strcmp(argv[i], "--socket")) &&
			   i + 1 < argc) {
			*(argv[i][3] == 't' ? &o.store_dir : &o.socket_path) = argv[i + 1];
			i++;
		} else if (!strcmp(argv[i], "--json")) {
			o.json = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("unknown option '%s'", argv[i]);
		} else {
			args[n++] = argv[i];
		}
	}
	args[n] = NULL;
	hv_log_set_level(HV_LOG_WARN);
	int ret = cli_dispatch(n, args, verbs, &o);
	crash_store_close(o.store);
	return ret;
}
