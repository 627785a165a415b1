/* test-files.c — what a service's state directory may hold and what lib/core
 * does with it: hv_open_regular_at and hv_read_file_at never block on a
 * FIFO nor follow a symlink; hv_replace_file_at replaces atomically, leaves
 * nothing behind on failure, and never writes through a symlink. */
#include <haven/util.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static int dirfd_;
static char dir[] = "/tmp/hv-files-XXXXXX";

/* A blocking open on a FIFO would hang the test: the alarm ends it with a
 * clear failure instead of a timeout. */
static void on_alarm(int sig)
{
	static const char msg[] = "test-files: blocked on a FIFO\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

static size_t count_entries(void)
{
	DIR *d = hv_opendir_at(dirfd_);
	REQUIRE(d);
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
	closedir(d);
	return n;
}

static void test_hostile_reads(void)
{
	REQUIRE_EQ(mkfifoat(dirfd_, "fifo", 0600), 0);
	REQUIRE_EQ(symlinkat("/etc/hostname", dirfd_, "link"), 0);
	REQUIRE_EQ(hv_replace_file_data_at(dirfd_, "plain", 0600, 0, "abc", 3, NULL), 0);
	alarm(10);
	CHECK_EQ(hv_open_regular_at(dirfd_, "fifo", 0), -EINVAL);
	CHECK_EQ(hv_open_regular_at(dirfd_, "link", 0), -ELOOP);
	int fd = hv_open_regular_at(dirfd_, "plain", 0);
	CHECK(fd >= 0);
	/* Blocking again for ordinary reads. */
	CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	uint8_t *data;
	size_t len;
	CHECK_EQ(hv_read_file_at(dirfd_, "fifo", O_NOFOLLOW, 100, &data, &len), -EINVAL);
	CHECK_EQ(hv_read_file_at(dirfd_, "fifo", 0, 100, &data, &len), -EINVAL);
	CHECK_EQ(hv_read_file_at(dirfd_, "link", O_NOFOLLOW, 100, &data, &len), -ELOOP);
	REQUIRE_EQ(hv_read_file_at(dirfd_, "plain", O_NOFOLLOW, 100, &data, &len), 0);
	CHECK_EQ(len, 3u);
	CHECK_STR((char *)data, "abc");
	free(data);
	alarm(0);
	unlinkat(dirfd_, "fifo", 0);
	unlinkat(dirfd_, "link", 0);
	unlinkat(dirfd_, "plain", 0);
}

static int fill_fail(int fd, void *ud)
{
	(void)!write(fd, "partial", 7);
	return -ENOSPC;
}

static int fill_hello(int fd, void *ud)
{
	return hv_write_full(fd, ud, strlen(ud));
}

static void test_replace(void)
{
	struct stat st, st2;
	REQUIRE_EQ(hv_replace_file_data_at(dirfd_, "state", 0640, 0, "one", 3, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0640u);
	REQUIRE_EQ(fstatat(dirfd_, "state", &st2, 0), 0);
	CHECK_EQ(st.st_ino, st2.st_ino); /* the identity after the rename */
	/* A failing fill: the old content stays, no temp file is left. */
	CHECK_EQ(hv_replace_file_at(dirfd_, "state", 0600, 0, fill_fail, NULL, NULL), -ENOSPC);
	uint8_t *data;
	size_t len;
	REQUIRE_EQ(hv_read_file_at(dirfd_, "state", O_NOFOLLOW, 100, &data, &len), 0);
	CHECK_STR((char *)data, "one");
	free(data);
	CHECK_EQ(count_entries(), 1u);
	/* Replaced, with a callback, without a directory sync (a batch). */
	CHECK_EQ(hv_replace_file_at(dirfd_, "state", 0600, HV_REPLACE_NO_DIRSYNC, fill_hello, "two",
				    NULL),
		 0);
	REQUIRE_EQ(hv_read_file_at(dirfd_, "state", O_NOFOLLOW, 100, &data, &len), 0);
	CHECK_STR((char *)data, "two");
	free(data);
	/* A symlink at the name is replaced by the file, never written through. */
	REQUIRE_EQ(symlinkat("/nonexistent-target", dirfd_, "linked"), 0);
	CHECK_EQ(hv_replace_file_data_at(dirfd_, "linked", 0600, 0, "x", 1, NULL), 0);
	REQUIRE_EQ(fstatat(dirfd_, "linked", &st, AT_SYMLINK_NOFOLLOW), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(access("/nonexistent-target", F_OK), -1);
	/* Bad names. */
	CHECK_EQ(hv_replace_file_data_at(dirfd_, "a/b", 0600, 0, "x", 1, NULL), -EINVAL);
	CHECK_EQ(hv_replace_file_data_at(dirfd_, "", 0600, 0, "x", 1, NULL), -EINVAL);
	unlinkat(dirfd_, "state", 0);
	unlinkat(dirfd_, "linked", 0);
}

/* hv_unix_listen: listening as soon as the file exists, with its mode and
 * owner; a stale socket replaced, a live one or a plain file never. */
static void test_unix_listen(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/sock", dir);
	int fd = hv_unix_listen(path, 0660, (uid_t)-1, 65534, 0);
	REQUIRE(fd >= 0);
	struct stat st;
	REQUIRE_EQ(stat(path, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0660u);
	CHECK_EQ(st.st_gid, 65534u);
	int yes = 0;
	socklen_t len = sizeof(yes);
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &yes, &len) == 0 && yes);
	CHECK_EQ(hv_unix_listen(path, 0600, (uid_t)-1, (gid_t)-1, 0), -EADDRINUSE);
	close(fd); /* now stale: replaced */
	fd = hv_unix_listen(path, 0600, (uid_t)-1, (gid_t)-1, SOCK_NONBLOCK);
	CHECK(fd >= 0);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK_EQ(count_entries(), 1u); /* no temporary left */
	close(fd);
	unlink(path);
	REQUIRE_EQ(hv_replace_file_data_at(dirfd_, "sock", 0600, 0, "x", 1, NULL), 0);
	CHECK_EQ(hv_unix_listen(path, 0600, (uid_t)-1, (gid_t)-1, 0), -EEXIST);
	unlink(path);
}

/* hv_mkdir_p: every missing component, with the mode asked for; existing
 * ones untouched; a file in the way is -ENOTDIR, never replaced. */
static void test_mkdir_p(void)
{
	char path[PATH_MAX], file[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/a/b//c/", dir);
	CHECK_EQ(hv_mkdir_p(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	REQUIRE_EQ(stat(path, &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0700u);
	snprintf(path, sizeof(path), "%s/a", dir);
	REQUIRE_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0700u); /* intermediates too: private */
	REQUIRE_EQ(chmod(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/a/b/c/d", dir);
	CHECK_EQ(hv_mkdir_p(path, 0700), 0); /* again, deeper: fine */
	snprintf(path, sizeof(path), "%s/a", dir);
	REQUIRE_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0755u); /* an existing one is left alone */
	snprintf(file, sizeof(file), "%s/a/file", dir);
	int fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/a/file/x", dir);
	CHECK_EQ(hv_mkdir_p(path, 0700), -ENOTDIR);
	CHECK_EQ(hv_mkdir_p(file, 0700), -ENOTDIR);
	CHECK_EQ(hv_mkdir_p("", 0700), -EINVAL);
	unlink(file);
	const char *rm[] = {"a/b/c/d", "a/b/c", "a/b", "a"};
	for (size_t i = 0; i < HV_ARRAY_SIZE(rm); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, rm[i]);
		CHECK_EQ(rmdir(path), 0);
	}
}

/* hv_xdg_path: the variable when absolute, else the ~/ default; a relative
 * variable is ignored (the spec); no base at all is -ENOENT. */
static void test_xdg_path(void)
{
	char *p;
	setenv("HOME", "/home/u", 1);
	setenv("XDG_DATA_HOME", "/x/data", 1);
	REQUIRE_EQ(hv_xdg_path(HV_XDG_DATA, "haven/SQLServer", &p), 0);
	CHECK_STR(p, "/x/data/haven/SQLServer");
	free(p);
	setenv("XDG_DATA_HOME", "relative/data", 1);
	REQUIRE_EQ(hv_xdg_path(HV_XDG_DATA, "haven", &p), 0);
	CHECK_STR(p, "/home/u/.local/share/haven");
	free(p);
	unsetenv("XDG_STATE_HOME");
	REQUIRE_EQ(hv_xdg_path(HV_XDG_STATE, NULL, &p), 0);
	CHECK_STR(p, "/home/u/.local/state");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
	REQUIRE_EQ(hv_xdg_path(HV_XDG_CONFIG, "haven", &p), 0);
	CHECK_STR(p, "/home/u/.config/haven");
	free(p);
	unsetenv("XDG_CACHE_HOME");
	REQUIRE_EQ(hv_xdg_path(HV_XDG_CACHE, "", &p), 0);
	CHECK_STR(p, "/home/u/.cache");
	free(p);
	unsetenv("XDG_RUNTIME_DIR");
	CHECK_EQ(hv_xdg_path(HV_XDG_RUNTIME, "haven", &p), -ENOENT);
	CHECK(p == NULL);
	setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
	REQUIRE_EQ(hv_xdg_path(HV_XDG_RUNTIME, "haven", &p), 0);
	CHECK_STR(p, "/run/user/7/haven");
	free(p);
	setenv("HOME", "not-absolute", 1);
	CHECK_EQ(hv_xdg_path(HV_XDG_CACHE, "x", &p), -ENOENT);
	CHECK_EQ(hv_xdg_path((enum hv_xdg)99, "x", &p), -EINVAL);
}

int main(void)
{
	signal(SIGALRM, on_alarm);
	umask(022);
	REQUIRE(mkdtemp(dir));
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQUIRE(dirfd_ >= 0);
	test_hostile_reads();
	test_replace();
	test_unix_listen();
	test_mkdir_p();
	test_xdg_path();
	close(dirfd_);
	rmdir(dir);
	return check_result();
}
