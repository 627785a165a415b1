/* client.c — the FileOperation client library (fileop-client.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "fileop-client.h"

extern char **environ;

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
	if (!exe)
		exe = fileop_default_exe();
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return hv_log_errno(-errno, "Failed to create a socket pair");
	/* Built before fork: the child only fills in its pid and execs. */
	size_t nenv = 0;
	while (environ[nenv])
		nenv++;
	char **envp = calloc(nenv + 4, sizeof(char *));
	static char pid_var[32];
	if (!envp) {
		close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], "LISTEN_", 7) != 0)
			envp[k++] = environ[i];
	envp[k++] = (char *)"LISTEN_FDS=1";
	envp[k++] = (char *)"LISTEN_FDNAMES=connection";
	envp[k++] = pid_var;
	char *argv[] = {(char *)exe, NULL};
	pid_t child = fork();
	if (child < 0) {
		int r = -errno;
		free(envp);
		close(sv[0]);
		close(sv[1]);
		return hv_log_errno(r, "Failed to fork");
	}
	if (child == 0) {
		/* Ctrl-C is the client's to handle (it cancels): the service
		 * must not die of it first and leave a temporary file. */
		signal(SIGINT, SIG_IGN);
		if (dup2(sv[1], 3) < 0)
			_exit(127);
		snprintf(pid_var, sizeof(pid_var), "LISTEN_PID=%d", (int)getpid());
		execve(exe, argv, envp);
		_exit(127);
	}
	free(envp);
	close(sv[1]);
	int r = hv_conn_from_fd(loop, sv[0], out);
	if (r < 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return r;
	}
	if (pid)
		*pid = child;
	return 0;
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
