/* test-util.c — arena, parsing, UTF-8 validation, logging, directories and whole files. */
#include <haven/log.h>
#include <haven/util.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static void test_arena(void)
{
	hv_arena a = HV_ARENA_INIT;
	char *s;
	void *big;

	for (int i = 0; i < 1000; i++) {
		uint64_t *p = hv_arena_alloc(&a, sizeof(*p) * 3);
		REQUIRE(p);
		REQUIRE_EQ((uintptr_t)p % 16, 0);
		p[0] = p[1] = p[2] = (uint64_t)i;
	}
	big = hv_arena_alloc(&a, 1 << 20);
	REQUIRE(big);
	memset(big, 0xab, 1 << 20);
	s = hv_arena_printf(&a, "%s-%d", "x", 42);
	REQUIRE(!strcmp(s, "x-42"));
	REQUIRE(!strcmp(hv_arena_strdup(&a, "hello"), "hello"));
	REQUIRE(hv_arena_calloc(&a, SIZE_MAX / 2, 4) == NULL); /* overflow refused */
	hv_arena_reset(&a);
	REQUIRE(hv_arena_alloc(&a, 10));
	hv_arena_release(&a);
	hv_arena_release(&a);
}

static void test_parse(void)
{
	int64_t i;
	uint64_t u;

	REQUIRE_EQ(hv_parse_i64("-12", -100, 100, &i), 0);
	REQUIRE_EQ(i, -12);
	REQUIRE_EQ(hv_parse_i64("12x", -100, 100, &i), -EINVAL);
	REQUIRE_EQ(hv_parse_i64("", -100, 100, &i), -EINVAL);
	REQUIRE_EQ(hv_parse_i64("101", -100, 100, &i), -ERANGE);
	REQUIRE_EQ(hv_parse_u64("18446744073709551615", UINT64_MAX, &u), 0);
	REQUIRE(u == UINT64_MAX);
	REQUIRE_EQ(hv_parse_u64("18446744073709551616", UINT64_MAX, &u), -ERANGE);
	REQUIRE_EQ(hv_parse_u64("-1", UINT64_MAX, &u), -EINVAL);
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{"plain ascii", true},
		{"caf\xc3\xa9", true},
		{"\xe2\x82\xac", true},          /* € */
		{"\xf0\x9f\x98\x80", true},      /* emoji */
		{"\xc3", false},                 /* truncated */
		{"\xc0\xaf", false},             /* overlong '/' */
		{"\xe0\x80\xaf", false},         /* overlong 3-byte */
		{"\xe0\x82\x80", false},         /* overlong 3-byte of U+0080 (2-byte range) */
		{"\xed\xa0\x80", false},         /* surrogate */
		{"\xf4\x90\x80\x80", false},     /* > U+10FFFF */
		{"\x80", false},                 /* lone continuation */
		{"\xff", false},
	};
	for (size_t i = 0; i < HV_ARRAY_SIZE(cases); i++)
		REQUIRE(hv_utf8_valid(cases[i].s, strlen(cases[i].s)) == cases[i].ok);
	/* The 8-byte ASCII fast path must hand over correctly at every offset. */
	for (size_t off = 0; off < 20; off++) {
		char buf[32];
		memset(buf, 'a', sizeof(buf));
		memcpy(buf + off, "\xc3\xa9", 2);
		REQUIRE(hv_utf8_valid(buf, sizeof(buf)));
		buf[off + 1] = 'a'; /* truncated sequence mid-buffer */
		REQUIRE(!hv_utf8_valid(buf, sizeof(buf)));
	}
}

static void test_log(void)
{
	hv_log_set_ident("test-util");
	REQUIRE_EQ(hv_log_errno(-ENOENT, "opening %s", "x"), -ENOENT);
	REQUIRE_EQ(hv_log_errno(EINVAL, "positive errno is normalized"), -EINVAL);
	hv_log_set_level(HV_LOG_ERROR);
	REQUIRE(hv_log_get_level() == HV_LOG_ERROR);
}

static void test_runtime_dir(void)
{
	char tmpl[] = "/tmp/hv-rtdir-XXXXXX", buf[256], small[8], want[300];
	struct stat st;

	REQUIRE(mkdtemp(tmpl));
	setenv("XDG_RUNTIME_DIR", tmpl, 1);
	REQUIRE_EQ(hv_runtime_dir("Svc", buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/haven/Svc", tmpl);
	REQUIRE(!strcmp(buf, want));
	snprintf(want, sizeof(want), "%s/haven", tmpl);
	REQUIRE_EQ(stat(want, &st), 0);
	REQUIRE_EQ(st.st_mode & 0777, 0700);
	REQUIRE_EQ(hv_runtime_dir("Svc", small, sizeof(small)), -ENAMETOOLONG);
	const char *dir = NULL;
	REQUIRE_EQ(hv_state_dir_arg(NULL, "Svc", buf, sizeof(buf), &dir), 0);
	REQUIRE(dir == buf && !strcmp(buf + strlen(tmpl), "/haven/Svc"));
	REQUIRE_EQ(hv_state_dir_arg("-", "Svc", buf, sizeof(buf), &dir), 0);
	REQUIRE(dir == NULL);
	REQUIRE_EQ(hv_state_dir_arg("/x/y", "Svc", buf, sizeof(buf), &dir), 0);
	REQUIRE(!strcmp(dir, "/x/y"));
	setenv("XDG_RUNTIME_DIR", "", 1);
	REQUIRE_EQ(hv_runtime_dir("Svc", buf, sizeof(buf)), -ENOENT);
	REQUIRE_EQ(hv_state_dir_arg(NULL, "Svc", buf, sizeof(buf), &dir), -ENOENT);
	rmdir(want);
	rmdir(tmpl);
}

static void test_files(void)
{
	char tmpl[] = "/tmp/hv-files-XXXXXX";
	REQUIRE(mkdtemp(tmpl));
	int dirfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQUIRE(dirfd >= 0);
	int fd = openat(dirfd, "a", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0 && hv_write_full(fd, "hello", 5) == 0);
	close(fd);
	REQUIRE_EQ(symlinkat("a", dirfd, "link"), 0);
	REQUIRE_EQ(mkdirat(dirfd, "sub", 0700), 0);

	uint8_t *data = NULL;
	size_t len = 0;
	REQUIRE_EQ(hv_read_file_at(dirfd, "a", O_NOFOLLOW, 5, &data, &len), 0);
	REQUIRE(len == 5 && !memcmp(data, "hello", 6)); /* NUL-terminated */
	free(data);
	REQUIRE_EQ(hv_read_file_at(dirfd, "a", 0, 4, &data, &len), -EFBIG);
	REQUIRE_EQ(hv_read_file_at(dirfd, "link", O_NOFOLLOW, 100, &data, &len), -ELOOP);
	REQUIRE_EQ(hv_read_file_at(dirfd, "link", 0, 100, &data, &len), 0); /* a person's path */
	REQUIRE(len == 5);
	free(data);
	REQUIRE_EQ(hv_read_file_at(dirfd, "sub", 0, 100, &data, &len), -EINVAL);
	REQUIRE_EQ(hv_read_file_at(dirfd, "none", 0, 100, &data, &len), -ENOENT);

	/* Two walks in a row see every entry: the stream is not dirfd's. */
	for (int pass = 0; pass < 2; pass++) {
		DIR *d = hv_opendir_at(dirfd);
		REQUIRE(d);
		int n = 0;
		for (struct dirent *e; (e = readdir(d));)
			n += e->d_name[0] != '.';
		closedir(d);
		REQUIRE_EQ(n, 3);
	}
	REQUIRE(fcntl(dirfd, F_GETFD) >= 0); /* still open */
	unlinkat(dirfd, "a", 0);
	unlinkat(dirfd, "link", 0);
	unlinkat(dirfd, "sub", AT_REMOVEDIR);
	close(dirfd);
	REQUIRE_EQ(rmdir(tmpl), 0);
	REQUIRE(hv_opendir_at(-1) == NULL && errno == EBADF);
}

int main(void)
{
	test_runtime_dir();
	test_files();
	test_arena();
	test_parse();
	test_utf8();
	test_log();
	printf("test-util: ok\n");
	return 0;
}
