/* resolve.c — a path opened the way the person read it: from "/", one
 * component at a time, never through a symbolic link (openat2's
 * RESOLVE_NO_SYMLINKS by hand: the sandbox refuses openat2, whose flags
 * seccomp cannot read). A link swapped in after the question was asked
 * makes the open fail (-ELOOP); it never widens what was allowed. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/util.h>

#include "FileSystemAccessServer.h"

int fsa_check_path(const char *path)
{
	size_t len = strlen(path);
	if (path[0] != '/' || len >= PATH_MAX || (len > 1 && path[len - 1] == '/'))
		return -EINVAL;
	for (const char *p = path + 1; *p;) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		p = *end ? end + 1 : end;
	}
	return 0;
}

static int final_flags(file_system_access_server_access access)
{
	switch (access) {
	case FILE_SYSTEM_ACCESS_SERVER_ACCESS_READ: return O_RDONLY;
	case FILE_SYSTEM_ACCESS_SERVER_ACCESS_WRITE: return O_WRONLY;
	case FILE_SYSTEM_ACCESS_SERVER_ACCESS_CREATE: return O_WRONLY | O_CREAT;
	case FILE_SYSTEM_ACCESS_SERVER_ACCESS_DIRECTORY: return O_RDONLY | O_DIRECTORY;
	}
	return -EINVAL;
}

int fsa_open(const char *path, file_system_access_server_access access)
{
	int r = fsa_check_path(path), flags = final_flags(access);
	if (r < 0 || flags < 0)
		return -EINVAL;
	_hv_close_ int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	char name[NAME_MAX + 1];
	const char *p = path + 1;
	for (;;) {
		const char *end = strchrnul(p, '/');
		memcpy(name, p, (size_t)(end - p));
		name[end - p] = 0;
		if (!*end)
			break;
		int next = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return errno == ENOTDIR ? -ELOOP : -errno;
		struct stat st;
		if (fstat(next, &st) < 0 || !S_ISDIR(st.st_mode)) {
			close(next);
			return -ELOOP; /* a link (O_PATH|O_NOFOLLOW opens the link itself) */
		}
		close(dir);
		dir = next;
		p = end + 1;
	}
	/* O_NONBLOCK: a FIFO planted there must not hang the service. */
	int fd = openat(dir, name, flags | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0666);
	if (fd < 0)
		return -errno;
	struct stat st;
	bool want_dir = access == FILE_SYSTEM_ACCESS_SERVER_ACCESS_DIRECTORY;
	if (fstat(fd, &st) < 0 || (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
		close(fd);
		return want_dir ? -ENOTDIR : -EINVAL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}
