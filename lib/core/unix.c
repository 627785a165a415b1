/* lib/core/unix.c — listening AF_UNIX sockets at a path, made so that a
 * client never sees the socket file before it can connect: the service
 * manager's sockets and a service's own (--socket) both come from here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <haven/util.h>

/* A socket file already at path: a stale one (its server gone) may be
 * replaced, a live server's or anything that is not a socket never. */
static int check_existing(const struct sockaddr_un *sa)
{
	struct stat st;
	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	_hv_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return -EADDRINUSE;
	return 0;
}

int hv_unix_listen(const char *path, mode_t mode, uid_t uid, gid_t gid, int sock_flags)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX}, tmp = {.sun_family = AF_UNIX};
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int r = check_existing(&sa);
	if (r < 0)
		return r;
	/* Bound under a temporary name beside path, given its mode and owner,
	 * listening, then renamed into place. Until listen() nobody can
	 * connect to it anyway, so the mode is right before it matters. */
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)getpid();
	int n = snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%.*s.%s.%06x", (int)dirlen, path,
			 path + dirlen, rnd & 0xffffff);
	if (n < 0 || (size_t)n >= sizeof(tmp.sun_path))
		tmp = sa; /* no room for a temporary name: bind in place */
	_hv_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | sock_flags, 0);
	if (fd < 0)
		return -errno;
	if (strcmp(tmp.sun_path, path) == 0)
		unlink(path); /* the stale socket check_existing found */
	if (bind(fd, (struct sockaddr *)&tmp, sizeof(tmp)) < 0)
		return -errno;
	if (chmod(tmp.sun_path, mode) < 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(tmp.sun_path, uid, gid) < 0) ||
	    listen(fd, SOMAXCONN) < 0 ||
	    (strcmp(tmp.sun_path, path) != 0 && rename(tmp.sun_path, path) < 0)) {
		r = -errno;
		unlink(tmp.sun_path);
		return r;
	}
	return HV_TAKE_FD(fd);
}
