/* durability-shim.c — LD_PRELOAD'ed into a service by tests that check the
 * order of its durability calls (durability.h). Appends one line per call
 * to $HV_DURABILITY_LOG: "<pid> write|fsync|rename <file|dir> <ino> <name>"
 * for writes to regular files, fsync/fdatasync (after they succeed) and
 * renames (after they succeed; name = the new name). The log is opened
 * before main, so a sandbox set up later does not stop it; the shim itself
 * only uses calls any pledge keeps (fstat, write on an open fd). */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int log_fd = -1;

__attribute__((constructor)) static void shim_init(void)
{
	const char *p = getenv("HV_DURABILITY_LOG");
	if (p && *p)
		log_fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

static void note(const char *op, int fd, const char *name)
{
	if (log_fd < 0)
		return;
	struct stat st;
	const char *kind = "-";
	unsigned long ino = 0;
	if (fd >= 0) {
		if (fstat(fd, &st) < 0)
			return;
		if (!strcmp(op, "write") && !S_ISREG(st.st_mode))
			return; /* sockets, pipes, ttys: not state */
		kind = S_ISDIR(st.st_mode) ? "dir" : "file";
		ino = (unsigned long)st.st_ino;
	}
	char line[600];
	int n = snprintf(line, sizeof(line), "%d %s %s %lu %s\n", (int)getpid(), op, kind, ino,
			 name ? name : "-");
	if (n > 0 && (size_t)n < sizeof(line))
		(void)!syscall(SYS_write, log_fd, line, (size_t)n); /* not through our write() */
}

#define REAL(name, ret, ...)                                         \
	static ret (*real_##name)(__VA_ARGS__);                      \
	if (!real_##name)                                            \
		real_##name = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(write, ssize_t, int, const void *, size_t);
	ssize_t r = real_write(fd, buf, n);
	if (r > 0)
		note("write", fd, NULL);
	return r;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(pwrite, ssize_t, int, const void *, size_t, off_t);
	ssize_t r = real_pwrite(fd, buf, n, off);
	if (r > 0)
		note("write", fd, NULL);
	return r;
}

int fsync(int fd)
{
	REAL(fsync, int, int);
	int r = real_fsync(fd);
	if (r == 0)
		note("fsync", fd, NULL);
	return r;
}

int fdatasync(int fd)
{
	REAL(fdatasync, int, int);
	int r = real_fdatasync(fd);
	if (r == 0)
		note("fsync", fd, NULL);
	return r;
}

int rename(const char *from, const char *to)
{
	REAL(rename, int, const char *, const char *);
	int r = real_rename(from, to);
	if (r == 0)
		note("rename", -1, to);
	return r;
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	REAL(renameat, int, int, const char *, int, const char *);
	int r = real_renameat(fromfd, from, tofd, to);
	if (r == 0)
		note("rename", -1, to);
	return r;
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
	REAL(renameat2, int, int, const char *, int, const char *, unsigned);
	int r = real_renameat2(fromfd, from, tofd, to, flags);
	if (r == 0)
		note("rename", -1, to);
	return r;
}
