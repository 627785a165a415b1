/* client.c — the FileOperation client library (fileop-client.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "fileop-client.h"

const char *fileop_default_exe(void)
{
	const char *e = getenv("HAVEN_FILEOPERATION");
	if (e && *e)
		return e;
	return access(FILEOPERATION_BUILD_PATH, X_OK) == 0 ? FILEOPERATION_BUILD_PATH
							   : FILEOPERATION_INSTALL_PATH;
}

int fileop_connect(hv_loop *loop, const char *socket_path, hv_conn **out)
{
	return socket_path ? hv_conn_connect(loop, socket_path, out)
			   : hv_conn_connect_portal(loop, FILEOP_PORTAL, out);
}

int fileop_spawn(hv_loop *loop, const char *exe, hv_conn **out, pid_t *pid)
{
	/* Ctrl-C is the client's to handle (it cancels): the service must not
	 * die of it first and leave a temporary file. */
	return hv_conn_spawn_private(loop, exe ? exe : fileop_default_exe(), NULL,
				     HV_SPAWN_IGNORE_SIGINT, out, pid);
}

int fileop_split(const char *path, int *dirfd, char **name)
{
	if (!path || !*path)
		return -EINVAL;
	_hv_free_ char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	/* Drop trailing slashes ("dir/" is "dir"), keeping "/" itself. */
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = 0;
	char *base = strrchr(copy, '/');
	const char *last = base ? base + 1 : copy;
	if (!strcmp(last, ".") || !strcmp(last, "..") || !strcmp(copy, "/")) {
		/* No name of its own: resolve it. */
		char *real = realpath(copy, NULL);
		if (!real)
			return -errno;
		free(copy);
		copy = real;
		if (!strcmp(copy, "/"))
			return -EINVAL;
		base = strrchr(copy, '/');
		last = base + 1;
	}
	_hv_free_ char *n = strdup(last);
	if (!n)
		return -ENOMEM;
	const char *dir = !base ? "." : base == copy ? "/" : (*base = 0, copy);
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*dirfd = fd;
	*name = HV_TAKE_PTR(n);
	return 0;
}

int fileop_parse_conflict(const char *s, file_operation_server_conflict *out)
{
	static const char *const names[] = {"ask", "skip", "overwrite", "keep-both"};
	for (unsigned i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*out = (file_operation_server_conflict)i;
			return 0;
		}
	return -EINVAL;
}

int fileop_parse_on_error(const char *s, file_operation_server_on_error *out)
{
	if (!strcmp(s, "continue"))
		*out = FILE_OPERATION_SERVER_ON_ERROR_CONTINUE;
	else if (!strcmp(s, "abort"))
		*out = FILE_OPERATION_SERVER_ON_ERROR_ABORT;
	else
		return -EINVAL;
	return 0;
}
