/* test-files.c — what a service's state directory may hold and what lib/core
 * does with it: hv_open_regular_at and hv_read_file_at never block on a
 * FIFO nor follow a symlink; hv_replace_file_at replaces atomically, leaves
 * nothing behind on failure, and never writes through a symlink. */
#include <haven/util.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
	close(dirfd_);
	rmdir(dir);
	return check_result();
}
