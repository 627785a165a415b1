/* test-beneath.c — ws_open_beneath() in both modes, the kernel's openat2
 * and the user-space walk, on one tree of symlinks: links that stay inside
 * the root are followed, every way out fails with EXDEV, loops with ELOOP,
 * and both modes give the same answer for every path. Then the walk again
 * under lib/sandbox's "stdio rpath" filter, where openat2 answers ENOSYS. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/sandbox.h>

#include "beneath.h"
#include "check.h"

static char top[128];

static void put(const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", top, rel);
	FILE *f = fopen(p, "w");
	REQUIRE(f);
	fputs(text, f);
	fclose(f);
}

static void link_(const char *target, const char *rel)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", top, rel);
	REQUIRE(symlink(target, p) == 0);
}

static void dir(const char *rel)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", top, rel);
	REQUIRE(mkdir(p, 0700) == 0);
}

/* What a path should give: the text of the file reached, or an errno. */
struct want {
	const char *path;
	const char *text; /* NULL: an error */
	int err;
};

static const struct want cases[] = {
	{"a.txt", "A", 0},
	{"sub/b.txt", "B", 0},
	{"in.txt", "A", 0},		/* -> a.txt */
	{"chain.txt", "A", 0},		/* -> in.txt -> a.txt */
	{"sub/up.txt", "A", 0},		/* -> ../a.txt */
	{"insub/b.txt", "B", 0},	/* dir link -> sub */
	{"sub/self/b.txt", "B", 0},	/* -> . */
	{"insub/../a.txt", "A", 0},	/* ".." after a link: the link's parent (the root) */
	{"sub/deep/c.txt", "C", 0},
	{"sub/deep/back.txt", "B", 0},	/* -> ../../sub/b.txt */
	{"sub//b.txt", "B", 0},
	{"./a.txt", "A", 0},
	{"sub/", "", 0},		/* a directory: opens, empty text */
	{"", "", 0},
	{"out.txt", NULL, EXDEV},	/* absolute -> the secret */
	{"rel.txt", NULL, EXDEV},	/* ../secret.txt */
	{"outdir/secret.txt", NULL, EXDEV}, /* dir link -> .. */
	{"sub/esc.txt", NULL, EXDEV},	/* ../../secret.txt */
	{"sub/deep/esc2.txt", NULL, EXDEV}, /* ../../../secret.txt */
	{"../secret.txt", NULL, EXDEV},
	{"sub/../../secret.txt", NULL, EXDEV},
	{"abs", NULL, EXDEV},		/* -> / */
	{"loop1", NULL, ELOOP},		/* loop1 -> loop2 -> loop1 */
	{"missing.txt", NULL, ENOENT},
	{"dangling", NULL, ENOENT},	/* -> nothing */
	{"a.txt/x", NULL, ENOTDIR},
	{"proc", NULL, EXDEV},		/* -> /proc/self/root */
};

static void build(void)
{
	char base[64];
	snprintf(base, sizeof base, "/tmp/hv-beneath-XXXXXX");
	REQUIRE(mkdtemp(base));
	snprintf(top, sizeof top, "%s", base);
	put("secret.txt", "SECRET");
	dir("root");
	snprintf(top, sizeof top, "%s/root", base);
	dir("sub");
	dir("sub/deep");
	put("a.txt", "A");
	put("sub/b.txt", "B");
	put("sub/deep/c.txt", "C");
	link_("a.txt", "in.txt");
	link_("in.txt", "chain.txt");
	link_("../a.txt", "sub/up.txt");
	link_("sub", "insub");
	link_(".", "sub/self");
	link_("../../sub/b.txt", "sub/deep/back.txt");
	char abs[128];
	snprintf(abs, sizeof abs, "%s/secret.txt", base);
	link_(abs, "out.txt");
	link_("../secret.txt", "rel.txt");
	link_("..", "outdir");
	link_("../../secret.txt", "sub/esc.txt");
	link_("../../../secret.txt", "sub/deep/esc2.txt");
	link_("/", "abs");
	link_("loop2", "loop1");
	link_("loop1", "loop2");
	link_("nothing", "dangling");
	link_("/proc/self/root", "proc");
}

/* Every case in one mode; returns how many failed. */
static int run_cases(int root, bool walk)
{
	int before = check_failures;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct want *w = &cases[i];
		bool no = walk;
		int fd = ws_open_beneath(root, w->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, &no);
		if (!w->text) {
			CHECK_MSG(fd == -w->err, "%s %s: got %d (%s), want -%s", walk ? "walk" : "openat2", w->path,
				  fd, fd < 0 ? strerror(-fd) : "an fd", strerror(w->err));
			if (fd >= 0)
				close(fd);
			continue;
		}
		CHECK_MSG(fd >= 0, "%s %s: %s", walk ? "walk" : "openat2", w->path, fd < 0 ? strerror(-fd) : "");
		if (fd < 0)
			continue;
		char buf[16] = "";
		struct stat st;
		REQUIRE(fstat(fd, &st) == 0);
		if (S_ISREG(st.st_mode)) {
			ssize_t n = read(fd, buf, sizeof buf - 1);
			buf[n > 0 ? n : 0] = '\0';
		}
		CHECK_MSG(strcmp(buf, w->text) == 0, "%s %s: read \"%s\", want \"%s\"", walk ? "walk" : "openat2",
			  w->path, buf, w->text);
		close(fd);
	}
	return check_failures - before;
}

static bool kernel_has_openat2(int root)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH};
	long fd = syscall(SYS_openat2, root, ".", &how, sizeof how);
	if (fd >= 0)
		close((int)fd);
	return fd >= 0 || errno != ENOSYS;
}

int main(void)
{
	build();
	int root = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQUIRE(root >= 0);
	if (kernel_has_openat2(root)) {
		bool no = false;
		int fd = ws_open_beneath(root, "a.txt", O_RDONLY | O_CLOEXEC, &no);
		CHECK(fd >= 0 && !no); /* the kernel's answer is used when it has one */
		if (fd >= 0)
			close(fd);
		run_cases(root, false);
	} else {
		printf("no openat2 in this kernel: the walk only\n");
	}
	run_cases(root, true);

	/* Under a read-only pledge openat2 is refused (ENOSYS): the first
	 * call notices, the walk answers the same. */
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		if (hv_pledge("stdio rpath", NULL) < 0)
			_exit(3);
		bool no = false;
		int fd = ws_open_beneath(root, "chain.txt", O_RDONLY | O_CLOEXEC, &no);
		if (fd < 0 || !no)
			_exit(4);
		close(fd);
		_exit(run_cases(root, false) ? 5 : 0);
	}
	int st;
	REQUIRE(waitpid(pid, &st, 0) == pid);
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "under \"stdio rpath\": status 0x%x", st);

	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strlen(top) - 5), top);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", top);
	return check_result();
}
