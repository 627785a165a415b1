/* netlink.c — DeviceMapper's two sources of devices: the kernel's uevent
 * socket, and /sys at start (coldplug).
 *
 * Coldplug synthesizes an "add" from what /sys says (each device's uevent
 * file, DEVPATH and SUBSYSTEM) for every entry of /sys/bus/X/devices and
 * /sys/class/X, the lists `udevadm trigger` walks, instead of writing
 * "add" into those files as udevadm does: the result is the same for
 * DeviceMapper, and other listeners (a udevd, NetworkServer) do not see a
 * storm of events they did not ask for; it also needs no write access to
 * /sys. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <haven/log.h>

#include "DeviceMapper.h"

/* The socket's buffer: a burst (coldplug of another listener, a hub of
 * disks) must not overflow it while rules run. SO_RCVBUFFORCE as root. */
#define DM_NETLINK_RCVBUF (16u << 20)

int dm_netlink_open(void)
{
	_hv_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return hv_log_errno(-errno, "Failed to open the uevent socket");
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hv_log_errno(-errno, "Failed to join the kernel's uevent group");
	int one = 1, size = (int)DM_NETLINK_RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return hv_log_errno(-errno, "Failed to ask for the senders' credentials");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return HV_TAKE_FD(fd);
}

/* One datagram: handled if it is the kernel's and well-formed. 1 when one
 * was read, 0 when none is queued. */
static int receive_one(void)
{
	static struct dm_uevent ev; /* 30 KiB: not on the stack */
	char buf[DM_UEVENT_MAX_BYTES + 1];
	char control[CMSG_SPACE(sizeof(struct ucred))];
	struct sockaddr_nl sa;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr msg = {.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = control, .msg_controllen = sizeof(control)};
	ssize_t n = recvmsg(dm.nlfd, &msg, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			dm.overruns++;
			hv_log_warn("uevent socket overrun: events were lost");
			return 1;
		}
		hv_log_errno(-errno, "Failed to read the uevent socket");
		return 0;
	}
	if (!dm_uevent_from_kernel(&msg) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		dm.dropped++;
		hv_log_debug("dropped a uevent not from the kernel (port %u, groups %u)", sa.nl_pid, sa.nl_groups);
		return 1;
	}
	int r = dm_uevent_parse(buf, (size_t)n, &ev);
	if (r < 0) {
		dm.dropped++;
		hv_log_warn("dropped a malformed uevent (%zd bytes): %s", n, strerror(-r));
		return 1;
	}
	dm.events++;
	dm_handle_uevent(&ev, true);
	return 1;
}

void dm_netlink_drain(void)
{
	while (receive_one() > 0)
		;
}

/* --- coldplug ------------------------------------------------------------- */

/* The device at sys_root-relative path rel (a /sys/class or /sys/bus entry,
 * a symlink into /sys/devices) as an "add" uevent. */
static void coldplug_one(const char *sysroot, const char *rel)
{
	static struct dm_uevent ev;
	char path[PATH_MAX], real[PATH_MAX], link[PATH_MAX], msg[DM_UEVENT_MAX_BYTES];
	int pl = snprintf(path, sizeof(path), "%s/%s", sysroot, rel);
	if (pl < 0 || (size_t)pl >= sizeof(path) || !realpath(path, real) || strncmp(real, sysroot, strlen(sysroot)))
		return;
	const char *devpath = real + strlen(sysroot);
	if (strncmp(devpath, "/devices/", 9))
		return;
	for (size_t i = 0; i < dm.ndevs; i++)
		if (strcmp(dm.devs[i]->devpath, devpath) == 0)
			return; /* seen under another list */
	char file[PATH_MAX + 16];
	int fl = snprintf(file, sizeof(file), "%s/subsystem", real);
	ssize_t ln = fl > 0 && (size_t)fl < sizeof(file) ? readlink(file, link, sizeof(link) - 1) : -1;
	link[ln > 0 ? ln : 0] = '\0';
	const char *subsystem = strrchr(link, '/') ? strrchr(link, '/') + 1 : "";
	int len = snprintf(msg, sizeof(msg), "add@%s%cACTION=add%cDEVPATH=%s%cSUBSYSTEM=%s%cSEQNUM=0%c",
			   devpath, 0, 0, devpath, 0, subsystem, 0, 0);
	fl = snprintf(file, sizeof(file), "%s/uevent", real);
	_hv_close_ int fd = fl > 0 && (size_t)fl < sizeof(file) ? open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
	if (len < 0 || (size_t)len >= sizeof(msg) || fd < 0)
		return;
	ssize_t n = read(fd, msg + len, sizeof(msg) - (size_t)len);
	if (n < 0)
		return;
	for (ssize_t i = 0; i < n; i++)
		if (msg[len + i] == '\n')
			msg[len + i] = '\0';
	if (dm_uevent_parse(msg, (size_t)len + (size_t)n, &ev) < 0) {
		hv_log_warn("coldplug: %s: its uevent file does not parse", devpath);
		return;
	}
	dm_handle_uevent(&ev, false);
}

/* Every entry of sysroot/top/X/sub (sub NULL: of sysroot/top/X). */
static void coldplug_list(const char *sysroot, const char *top, const char *sub)
{
	char path[PATH_MAX];
	int pl = snprintf(path, sizeof(path), "%s/%s", sysroot, top);
	DIR *d = pl > 0 && (size_t)pl < sizeof(path) ? opendir(path) : NULL;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char dir[PATH_MAX];
		int dl = snprintf(dir, sizeof(dir), "%s/%s%s%s", path, e->d_name, sub ? "/" : "", sub ? sub : "");
		DIR *inner = dl > 0 && (size_t)dl < sizeof(dir) ? opendir(dir) : NULL;
		for (struct dirent *f; inner && (f = readdir(inner));) {
			if (f->d_name[0] == '.')
				continue;
			char rel[PATH_MAX];
			int rl = snprintf(rel, sizeof(rel), "%s/%s%s%s/%s", top, e->d_name, sub ? "/" : "",
					  sub ? sub : "", f->d_name);
			if (rl > 0 && (size_t)rl < sizeof(rel))
				coldplug_one(sysroot, rel);
		}
		if (inner)
			closedir(inner);
	}
	if (d)
		closedir(d);
}

int dm_coldplug(void)
{
	char root[PATH_MAX];
	if (!realpath(dm_opts.sys_root, root))
		return hv_log_errno(-errno, "Failed to find %s", dm_opts.sys_root);
	coldplug_list(root, "bus", "devices");
	coldplug_list(root, "class", NULL);
	hv_log_info("coldplug: %zu devices from %s", dm.ndevs, root);
	return 0;
}
