/* kernel.c — system mode: the kernel's core_pattern pipe handler.
 *
 *   |CrashDaemon --kernel --store DIR %P %u %g %s %t %e
 *
 * The kernel keeps /proc/PID while we read the pipe, so the metadata is
 * read first; then the core is compressed as it streams in (zstd, never
 * raw on disk), decompressed into memory (a memfd) for libdwfl, and stored
 * with its report. A core that is not one (truncated, garbage) still
 * leaves a record that says so. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/options.h>
#include <haven/util.h>

#include "CrashDaemon.h"
#include "store.h"
#include "unwind.h"

static int64_t max_core_mb = 16384;

struct incoming {
	uint64_t raw;
	int status;
};

static int fill_core(int fd, void *userdata)
{
	struct incoming *in = userdata;
	/* A failed read still leaves what came: the record says why. */
	in->status = crash_zstd_stream(STDIN_FILENO, fd, &in->raw, (uint64_t)max_core_mb << 20);
	return 0;
}

static int parse_args(char **pos, struct crash_info *ci)
{
	int64_t v[5];
	for (int i = 0; i < 5; i++)
		if (hv_parse_i64(pos[i], 0, INT64_MAX, &v[i]) < 0) {
			hv_log_error("bad argument %s (expected %%P %%u %%g %%s %%t %%e)", pos[i]);
			return -EINVAL;
		}
	ci->pid = (pid_t)v[0];
	ci->uid = (uid_t)v[1];
	ci->gid = (gid_t)v[2];
	ci->signo = (int)v[3];
	ci->time = v[4];
	snprintf(ci->exe, sizeof(ci->exe), "%s", pos[5]);
	return 0;
}

/* The report of the core in store/tmp, into *report; the signature too. */
static int analyse(crash_store *s, const char *tmp, struct crash_info *ci, const struct incoming *in,
		   char **report, size_t *len, char **signature)
{
	FILE *out = open_memstream(report, len);
	if (!out)
		return -ENOMEM;
	int r = in->status;
	if (r == 0) {
		_hv_close_ int z = openat(s->dirfd, tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		_hv_close_ int mem = memfd_create("core", MFD_CLOEXEC);
		r = z < 0 || mem < 0 ? -errno : crash_zstd_unstream(z, mem);
		if (r == 0)
			r = crash_unwind_core(ci, mem, out, signature);
		else
			crash_report_header(ci, out);
	} else {
		crash_report_header(ci, out);
	}
	if (r < 0) {
		fprintf(out, "error: the core could not be read (%s; %llu bytes came)\n", strerror(-r),
			(unsigned long long)in->raw);
		free(*signature);
		const char *base = strrchr(ci->exe, '/');
		if (asprintf(signature, "%s %s: unreadable core", base ? base + 1 : ci->exe,
			     crash_signal_name(ci->signo)) < 0)
			*signature = NULL;
	}
	fclose(out);
	return *signature ? 0 : -ENOMEM;
}

int crash_kernel_main(int argc, char **argv)
{
	bool kernel = false;
	const hv_option opts[] = {
		HV_OPT_FLAG("kernel", &kernel, "system mode: the core on stdin"),
		HV_OPT_STRING("store", "DIR", &crash_store_dir, "where reports are kept"),
		HV_OPT_INT("max-reports", "N", &crash_max_reports, 1, 100000, "reports kept (100)"),
		HV_OPT_INT("max-mb", "N", &crash_max_mb, 1, 1 << 20, "MiB kept (1024)"),
		HV_OPT_INT("max-core-mb", "N", &max_core_mb, 1, 1 << 24, "largest core read (16384)"),
		{0}};
	const hv_option *tables[] = {opts, NULL};
	const hv_cmdline cmd = {.name = "CrashDaemon --kernel", .args = "PID UID GID SIGNAL TIME EXE",
				.summary = "Reads a core on stdin (core_pattern %P %u %g %s %t %e).",
				.tables = tables, .min_args = 6, .max_args = 6};
	int first;
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r != 1)
		return hv_options_exit_code(r);
	struct crash_info ci = {.mode = "kernel"};
	if (parse_args(argv + first, &ci) < 0)
		return 2;
	crash_info_from_proc(&ci);
	_hv_cleanup_(crash_store_closep) crash_store *s = NULL;
	if (!crash_store_dir && crash_store_default_path((char **)&crash_store_dir) < 0)
		crash_store_dir = "/var/lib/haven/CrashDaemon";
	if ((r = crash_store_open(crash_store_dir, &s)) < 0) {
		hv_log_error("cannot open the store %s: %s", crash_store_dir, strerror(-r));
		return 1;
	}
	s->max_reports = (uint64_t)crash_max_reports;
	s->max_bytes = (uint64_t)crash_max_mb << 20;
	char tmp[96];
	snprintf(tmp, sizeof(tmp), ".incoming-%d-%lld.core.zst", (int)ci.pid, (long long)time(NULL));
	struct incoming in = {0};
	r = hv_replace_file_at(s->dirfd, tmp, 0600, HV_REPLACE_NO_DIRSYNC, fill_core, &in, NULL);
	if (r < 0) {
		hv_log_error("cannot store the core: %s", strerror(-r));
		return 1;
	}
	_hv_free_ char *report = NULL;
	_hv_free_ char *signature = NULL;
	size_t len = 0;
	r = analyse(s, tmp, &ci, &in, &report, &len, &signature);
	char id[CRASH_ID_LEN + 1];
	if (r == 0)
		r = crash_store_add(s, signature, report, len, ci.signo, ci.exe, ci.time, tmp, id);
	if (r < 0) {
		unlinkat(s->dirfd, tmp, 0);
		hv_log_error("cannot store the report: %s", strerror(-r));
		return 1;
	}
	printf("%s\n", id);
	return in.status < 0 ? 1 : 0;
}
