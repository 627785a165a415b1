/* copy.c — one file's bytes and metadata, as `cp -a` keeps them.
 *
 * Data: only the data extents are copied (SEEK_DATA/SEEK_HOLE), so holes
 * stay holes, and each extent by copy_file_range(2), which lets the
 * filesystem share blocks (reflinks on Btrfs and XFS, server-side copies on
 * NFS) or copy in the kernel; plain read/write when it cannot. FICLONE
 * itself is not used: the sandbox's promises allow no such ioctl, and
 * copy_file_range already clones where the filesystem can.
 * Metadata: extended attributes, then owner, mode, times (last: writing
 * changes the times). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <haven/util.h>

#include "FileOperation.h"

static int pwrite_full(int fd, const char *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* A read/write loop for what copy_file_range refuses. */
#define RW_BUF (1u << 20)
static int rw_range(fo_op *op, int in, int out, off_t off, off_t end)
{
	if (off >= end)
		return 0;
	_hv_free_ char *buf = malloc(RW_BUF);
	if (!buf)
		return -ENOMEM;
	while (off < end) {
		int r = fo_checkpoint(op);
		if (r < 0)
			return r;
		size_t want = (size_t)HV_MIN((off_t)RW_BUF, end - off);
		ssize_t n = pread(in, buf, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0; /* shrank under us: what is there is copied */
		if ((r = pwrite_full(out, buf, (size_t)n, off)) < 0)
			return r;
		off += n;
		fo_add_bytes(op, (uint64_t)n);
	}
	return 0;
}

static int copy_range(fo_op *op, int in, int out, off_t off, off_t end, bool *use_cfr)
{
	while (off < end && *use_cfr) {
		int r = fo_checkpoint(op);
		if (r < 0)
			return r;
		loff_t a = off, b = off;
		size_t want = (size_t)HV_MIN((off_t)FO_CHUNK, end - off);
		ssize_t n = copy_file_range(in, &a, out, &b, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
			      errno == EPERM)) {
			*use_cfr = false;
			break;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		off += n;
		fo_add_bytes(op, (uint64_t)n);
	}
	return rw_range(op, in, out, off, end);
}

int fo_copy_data(fo_op *op, int in, int out, const struct stat *st)
{
	off_t size = st->st_size;
	bool use_cfr = true;
	int r;
	/* A file with all its blocks has no holes: no need to look for them. */
	if ((off_t)st->st_blocks * 512 >= size) {
		r = copy_range(op, in, out, 0, size, &use_cfr);
		return r < 0 ? r : 0;
	}
	off_t pos = 0;
	while (pos < size) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			data = size; /* a hole to the end */
		else if (data < 0)
			data = pos; /* no hole support: everything is data */
		off_t hole = data < size ? lseek(in, data, SEEK_HOLE) : size;
		if (hole < 0 || hole > size)
			hole = size;
		fo_add_bytes(op, (uint64_t)(data - pos));
		if (data < hole && (r = copy_range(op, in, out, data, hole, &use_cfr)) < 0)
			return r;
		pos = hole;
	}
	/* The length, with a trailing hole. */
	return ftruncate(out, size) < 0 ? -errno : 0;
}

/* Names of the attributes of fd, NUL-separated, malloc'd. */
static ssize_t list_xattrs(int fd, char **out)
{
	*out = NULL;
	for (int tries = 0; tries < 4; tries++) {
		ssize_t n = flistxattr(fd, NULL, 0);
		if (n <= 0)
			return n < 0 && (errno == ENOTSUP || errno == ENODATA) ? 0 : (n < 0 ? -errno : 0);
		char *buf = malloc((size_t)n);
		if (!buf)
			return -ENOMEM;
		ssize_t m = flistxattr(fd, buf, (size_t)n);
		if (m >= 0) {
			*out = buf;
			return m;
		}
		free(buf);
		if (errno != ERANGE)
			return -errno;
	}
	return -ERANGE;
}

int fo_copy_xattrs(int in, int out)
{
	_hv_free_ char *names = NULL;
	ssize_t len = list_xattrs(in, &names);
	if (len <= 0)
		return (int)len;
	_hv_free_ char *val = NULL;
	size_t cap = 0;
	int result = 0;
	for (char *name = names; name < names + len; name += strlen(name) + 1) {
		ssize_t n = fgetxattr(in, name, NULL, 0);
		if (n < 0)
			continue;
		if ((size_t)n > cap) {
			char *v = realloc(val, (size_t)n);
			if (!v)
				return -ENOMEM;
			val = v;
			cap = (size_t)n;
		}
		if ((n = fgetxattr(in, name, val, cap)) < 0)
			continue;
		/* What the user set (user.*) must arrive; what the system
		 * keeps (security.*, trusted.*, system.*) is copied when the
		 * destination and our privileges allow, as cp -a does. */
		if (fsetxattr(out, name, val, (size_t)n, 0) < 0 && !strncmp(name, "user.", 5) && !result)
			result = -errno;
	}
	return result;
}

int fo_copy_meta(int out, int dir, const char *name, const struct stat *st)
{
	/* The owner when we may give it (root, or our own files: the group
	 * then only if we are in it); refused is not an error, as in cp -a. */
	static uid_t euid = (uid_t)-1;
	if (euid == (uid_t)-1)
		euid = geteuid();
	if (euid == 0 || st->st_uid == euid) {
		if (out >= 0)
			(void)!fchown(out, st->st_uid, st->st_gid);
		else
			(void)!fchownat(dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
	}
	const struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (out < 0)
		return utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW) < 0 && errno != EOPNOTSUPP ? -errno : 0;
	/* Set-uid and set-gid bits are dropped: the sandbox ("fattr") refuses
	 * them, as a copy by someone else than the owner should. */
	if (fchmod(out, st->st_mode & 01777) < 0)
		return -errno;
	return futimens(out, times) < 0 ? -errno : 0;
}
