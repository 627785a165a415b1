/* nodes.c — device nodes and symlinks under the dev root, without ever
 * following a symlink DeviceMapper did not make (nodes.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "nodes.h"

/* The directory holding path's last component, opened from rootfd one
 * component at a time (O_NOFOLLOW: a symlinked directory is refused with
 * -ELOOP/-ENOTDIR); missing ones are made (0755) when create. *base: the
 * last component, inside path. */
static int open_parent(int rootfd, const char *path, bool create, const char **base)
{
	if (!dm_dev_path_ok(path))
		return -EINVAL;
	_hv_close_ int dir = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (dir < 0)
		return -errno;
	const char *c = path;
	for (const char *slash; (slash = strchr(c, '/')); c = slash + 1) {
		char comp[NAME_MAX + 1];
		size_t n = (size_t)(slash - c);
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, c, n);
		comp[n] = '\0';
		int fd = openat(dir, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(dir, comp, 0755) < 0 && errno != EEXIST)
				return -errno;
			fd = openat(dir, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0)
			return -errno;
		close(dir);
		dir = fd;
	}
	if (strlen(c) > NAME_MAX)
		return -ENAMETOOLONG;
	*base = c;
	return HV_TAKE_FD(dir);
}

/* Whether dir/name is the device node (block or char) major:minor. */
static int is_node(int dir, const char *name, bool block, dev_t rdev)
{
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if ((block ? !S_ISBLK(st.st_mode) : !S_ISCHR(st.st_mode)) || st.st_rdev != rdev)
		return S_ISLNK(st.st_mode) ? -ENOTBLK : -EEXIST;
	return 0;
}

int dm_node_apply(int rootfd, const struct dm_uevent *ev, const struct dm_outcome *o, bool make,
		  bool *made)
{
	*made = false;
	if (!ev->devname || !ev->has_devt)
		return 0;
	const char *name;
	_hv_close_ int dir = open_parent(rootfd, ev->devname, make, &name);
	if (dir == -ENOENT && !make)
		return 0;
	if (dir < 0)
		return dir;
	bool block = strcmp(ev->subsystem, "block") == 0;
	dev_t rdev = makedev(ev->major, ev->minor);
	int r = is_node(dir, name, block, rdev);
	if (r == -ENOENT && !make)
		return 0;
	if (r == -ENOENT) {
		mode_t mode = o->set_mode ? o->mode : 0600;
		if (mknodat(dir, name, (block ? S_IFBLK : S_IFCHR) | mode, rdev) < 0)
			return -errno;
		*made = true;
		r = 0;
	}
	if (r < 0)
		return r;
	if ((o->set_owner || o->set_group) &&
	    fchownat(dir, name, o->set_owner ? o->owner : (uid_t)-1, o->set_group ? o->group : (gid_t)-1,
		     AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* fchmodat cannot refuse a symlink (fchmodat2's AT_SYMLINK_NOFOLLOW is
	 * not in the sandbox's table): check again right before. Swapping the
	 * node for a symlink in between takes write access to /dev: root. */
	if (o->set_mode && ((r = is_node(dir, name, block, rdev)) < 0 || fchmodat(dir, name, o->mode, 0) < 0))
		return r < 0 ? r : -errno;
	return 0;
}

int dm_node_remove(int rootfd, const char *dev_name, bool block, unsigned major, unsigned minor)
{
	const char *name;
	_hv_close_ int dir = open_parent(rootfd, dev_name, false, &name);
	if (dir < 0)
		return dir;
	int r = is_node(dir, name, block, makedev(major, minor));
	if (r < 0)
		return r;
	return unlinkat(dir, name, 0) < 0 ? -errno : 0;
}

int dm_link_target(const char *link, const char *dev_name, char *buf, size_t size)
{
	size_t off = 0;
	for (const char *p = link; (p = strchr(p, '/')); p++) {
		if (off + 3 >= size)
			return -ENAMETOOLONG;
		memcpy(buf + off, "../", 3);
		off += 3;
	}
	int n = snprintf(buf + off, size - off, "%s", dev_name);
	return n < 0 || (size_t)n >= size - off ? -ENAMETOOLONG : 0;
}

int dm_link_make(int rootfd, const char *link, const char *dev_name)
{
	char target[PATH_MAX], tmp[NAME_MAX + 1];
	int r = dm_link_target(link, dev_name, target, sizeof(target));
	if (r < 0)
		return r;
	const char *name;
	_hv_close_ int dir = open_parent(rootfd, link, true, &name);
	if (dir < 0)
		return dir;
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
		return -EEXIST; /* a node or a file of someone else's: never replaced */
	snprintf(tmp, sizeof(tmp), ".dm-%d.%.200s", (int)getpid(), name);
	unlinkat(dir, tmp, 0);
	if (symlinkat(target, dir, tmp) < 0)
		return -errno;
	if (renameat(dir, tmp, dir, name) < 0) {
		r = -errno;
		unlinkat(dir, tmp, 0);
		return r;
	}
	return 0;
}

int dm_link_remove(int rootfd, const char *link, const char *dev_name)
{
	char want[PATH_MAX], have[PATH_MAX];
	int r = dm_link_target(link, dev_name, want, sizeof(want));
	if (r < 0)
		return r;
	const char *name;
	_hv_close_ int dir = open_parent(rootfd, link, false, &name);
	if (dir < 0)
		return dir;
	ssize_t n = readlinkat(dir, name, have, sizeof(have) - 1);
	if (n < 0)
		return -errno;
	have[n] = '\0';
	if (strcmp(have, want))
		return -ESTALE; /* another device's link now */
	return unlinkat(dir, name, 0) < 0 ? -errno : 0;
}
