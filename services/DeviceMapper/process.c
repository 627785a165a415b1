/* process.c — DeviceMapper's options, and what it opens before its
 * sandbox: the rules, the dev root, /sys, the kernel's uevent socket
 * (first, so nothing is lost while coldplug runs). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <haven/log.h>

#include "DeviceMapper.h"

struct dm_options dm_opts = {
	.rules_dir = "/etc/haven/devices",
	.dev_root = "/dev",
	.sys_root = "/sys",
};

const hv_option dm_options[] = {
	HV_OPT_STRING("rules", "DIR", &dm_opts.rules_dir, "the rule files, DIR/*.ini (default /etc/haven/devices)"),
	HV_OPT_STRING("dev-root", "DIR", &dm_opts.dev_root, "where device nodes and symlinks are (default /dev)"),
	HV_OPT_STRING("sys", "DIR", &dm_opts.sys_root, "sysfs (default /sys)"),
	HV_OPT_FLAG("no-trigger", &dm_opts.no_trigger, "no coldplug: only devices that change from now on"),
	HV_OPT_FLAG("make-nodes", &dm_opts.make_nodes, "create the device nodes devtmpfs did not (a /dev\n"
		    "without devtmpfs, a --dev-root for tests); removed with their device"),
	{0},
};

static void on_uevent(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	(void)loop, (void)fd, (void)events, (void)ud;
	dm_netlink_drain();
}

int dm_setup(hv_server *srv)
{
	int r = dm_rules_load_dir(dm_opts.rules_dir, &dm.rules);
	if (r < 0)
		return r;
	hv_log_info("%zu rules from %s (%u errors)", dm.rules.n, dm_opts.rules_dir, dm.rules.errors);
	dm.devfd = open(dm_opts.dev_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dm.devfd < 0)
		return hv_log_errno(-errno, "Failed to open %s", dm_opts.dev_root);
	dm.sysfd = open(dm_opts.sys_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dm.sysfd < 0)
		return hv_log_errno(-errno, "Failed to open %s", dm_opts.sys_root);
	if ((dm.nlfd = dm_netlink_open()) < 0)
		return dm.nlfd;
	if (!dm_opts.no_trigger && (r = dm_coldplug()) < 0)
		return r;
	return hv_loop_add_fd(hv_server_loop(srv), dm.nlfd, HV_IO_READ, on_uevent, NULL, NULL);
}

void dm_teardown(int exit_code)
{
	(void)exit_code;
	dm_free_devices();
	dm_rules_free(&dm.rules);
	if (dm.nlfd >= 0)
		close(dm.nlfd);
	if (dm.devfd >= 0)
		close(dm.devfd);
	if (dm.sysfd >= 0)
		close(dm.sysfd);
}
