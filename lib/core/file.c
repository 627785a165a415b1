/* lib/core/file.c — the files a service keeps in its state or config
 * directory: opened so that nothing planted there (a FIFO, a device, a
 * symlink out of the directory) can block or redirect the service, and
 * replaced durably (temp file, fsync, rename, fsync of the directory). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/util.h>

/* Open without blocking whatever the file is, then keep it only if it is a
 * regular file; the fd is made blocking again for ordinary reads. */
static int open_checked(int dirfd, const char *name, int flags)
{
	_hv_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | flags);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return -errno;
	return HV_TAKE_FD(fd);
}

int hv_open_regular_at(int dirfd, const char *name, int open_flags)
{
	return open_checked(dirfd, name, O_NOFOLLOW | open_flags);
}

int hv_read_file_at(int dirfd, const char *name, int open_flags, size_t max, uint8_t **out,
		    size_t *len)
{
	_hv_close_ int fd = open_checked(dirfd, name, open_flags);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < 0)
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	size_t n = (size_t)st.st_size;
	_hv_free_ uint8_t *data = malloc(n + 1);
	if (!data)
		return -ENOMEM;
	int r = hv_read_full(fd, data, n);
	if (r < 0)
		return r;
	data[n] = 0;
	*out = HV_TAKE_PTR(data);
	*len = n;
	return 0;
}

/* ".NAME.XXXXXX" with a random suffix, created exclusively: a planted file
 * of any kind at that name is an -EEXIST, and we try another name. */
static int create_temp(int dirfd, const char *name, mode_t mode, char *tmp, size_t size)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		uint64_t rnd;
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			rnd ^= (uint64_t)getpid() << 32 ^ (uint64_t)attempt * 0x9e3779b97f4a7c15u;
		int n = snprintf(tmp, size, ".%s.%06llx", name,
				 (unsigned long long)(rnd & 0xffffff));
		if (n < 0 || (size_t)n >= size)
			return -ENAMETOOLONG;
		int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				mode);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int hv_replace_file_at(int dirfd, const char *name, mode_t mode, unsigned flags, hv_fill_fn fill,
		       void *userdata, struct stat *st)
{
	if (!name || !*name || strchr(name, '/') || !fill)
		return -EINVAL;
	char tmp[NAME_MAX + 1];
	_hv_close_ int fd = create_temp(dirfd, name, mode, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	int r = fill(fd, userdata);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	/* The rename is durable only once the directory is. */
	if (!(flags & HV_REPLACE_NO_DIRSYNC) && fsync(dirfd) < 0)
		return -errno;
	if (st && fstat(fd, st) < 0)
		return -errno;
	return 0;
}

struct data_fill {
	const void *data;
	size_t len;
};

static int fill_data(int fd, void *userdata)
{
	const struct data_fill *d = userdata;
	return hv_write_full(fd, d->data, d->len);
}

int hv_replace_file_data_at(int dirfd, const char *name, mode_t mode, unsigned flags,
			    const void *data, size_t len, struct stat *st)
{
	struct data_fill d = {data, len};
	return hv_replace_file_at(dirfd, name, mode, flags, fill_data, &d, st);
}

/* Component by component: mkdir, and on EEXIST make sure it is a directory
 * (stat follows a symlink to one, as mkdir -p does). */
int hv_mkdir_p(const char *path, mode_t mode)
{
	if (!path || !path[0])
		return -EINVAL;
	_hv_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *q = p + 1;; q++) {
		bool last = *q == '\0';
		if (!last && *q != '/')
			continue;
		*q = '\0';
		if (q[-1] != '/' && mkdir(p, mode) < 0) {
			if (errno != EEXIST)
				return -errno;
			struct stat st;
			if (stat(p, &st) < 0)
				return -errno;
			if (!S_ISDIR(st.st_mode))
				return -ENOTDIR;
		}
		if (last)
			return 0;
		*q = '/';
	}
}
