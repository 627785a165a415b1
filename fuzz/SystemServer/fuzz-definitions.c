/* fuzz-definitions — service definition files (INI via inih, then our
 * per-key interpretation and the dependency checks) on arbitrary bytes:
 * nothing may crash, leak or loop; problems are only reported. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <haven/log.h>

#include "def.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		hv_log_set_level(HV_LOG_ERROR);
		fd = memfd_create("defs", MFD_CLOEXEC);
		if (fd < 0)
			return 0;
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	ss_def_env env = {.user_mode = true, .portal_dir = "/P", .runtime_dir = "/R", .service_path = "/nonexistent"};
	ss_def_set set;
	if (ss_defs_load(path, &env, &set) == 0)
		ss_defs_free(&set);
	return 0;
}
