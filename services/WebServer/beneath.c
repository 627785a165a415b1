/* beneath.c — open a path beneath a directory fd (beneath.h): the kernel's
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) when allowed, else the
 * same resolution in user space.
 *
 * The walk keeps a stack of directory fds from the root down; each
 * component is opened with O_NOFOLLOW, so the kernel never follows a link
 * for us: a symlink is read (readlinkat) and its target put in front of
 * what is left of the path, as the kernel does. ".." pops the stack and
 * fails with EXDEV at the root; an absolute target fails with EXDEV (as
 * RESOLVE_BENEATH: "/" is not the root); more than MAX_LINKS links, ELOOP.
 * Magic links (/proc/self/fd/N) read as "socket:[…]" or absolute paths:
 * refused like any other way out. */
#include "beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <haven/util.h>

#define MAX_LINKS 40  /* the kernel's MAXSYMLINKS */
#define MAX_DEPTH 256 /* directories open at once on the way down */

struct walk {
	int dirs[MAX_DEPTH]; /* dirs[0] is the root (not ours to close) */
	unsigned depth;
	unsigned links;
};

static void walk_release(struct walk *w)
{
	while (w->depth > 0)
		close(w->dirs[w->depth--]);
}

/* The link at dir/name, put in front of rest: a new path to go on with. */
static int expand(struct walk *w, const char *name, const char *rest, char **path)
{
	if (++w->links > MAX_LINKS)
		return -ELOOP;
	char target[PATH_MAX];
	ssize_t n = readlinkat(w->dirs[w->depth], name, target, sizeof target);
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof target)
		return -ENAMETOOLONG;
	if (n == 0)
		return -ENOENT;
	if (target[0] == '/')
		return -EXDEV;
	size_t rl = rest ? strlen(rest) : 0;
	char *p = malloc((size_t)n + rl + 2);
	if (!p)
		return -ENOMEM;
	memcpy(p, target, (size_t)n);
	p[n] = '/';
	if (rest)
		memcpy(p + n + 1, rest, rl);
	p[n + 1 + rl] = '\0';
	*path = p;
	return 0;
}

/* One step: name (not "", ".", "..") below the top directory; rest is
 * what follows (NULL: name is the last component). Returns the fd of the
 * last component, 0 to go on, 1 when the path was replaced (a link). */
static int step(struct walk *w, const char *name, const char *rest, int flags, char **path)
{
	int top = w->dirs[w->depth];
	int fd = rest ? openat(top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		      : openat(top, name, flags | O_NOFOLLOW);
	if (fd >= 0 && !rest)
		return fd;
	if (fd >= 0) {
		if (w->depth + 1 >= MAX_DEPTH) {
			close(fd);
			return -ENAMETOOLONG;
		}
		w->dirs[++w->depth] = fd;
		return 0;
	}
	int e = errno;
	/* O_NOFOLLOW on a link: ELOOP for the last component, ENOTDIR with
	 * O_DIRECTORY before it. Anything else is the answer. */
	if (e != ELOOP && e != ENOTDIR)
		return -e;
	int r = expand(w, name, rest, path);
	if (r == -EINVAL) /* not a link after all */
		return -e;
	return r < 0 ? r : 1;
}

static int walk(int root, const char *rel, int flags)
{
	_hv_cleanup_(walk_release) struct walk w = {.dirs = {root}};
	_hv_free_ char *path = strdup(rel);
	if (!path)
		return -ENOMEM;
	char *cur = path;
	for (;;) {
		while (*cur == '/')
			cur++;
		char *slash = strchr(cur, '/');
		if (slash)
			*slash = '\0';
		char *rest = slash ? slash + 1 : NULL;
		while (rest && *rest == '/')
			rest++;
		if (rest && !*rest)
			rest = NULL; /* "dir/": the last component */
		if (!*cur || strcmp(cur, ".") == 0 || strcmp(cur, "..") == 0) {
			if (cur[0] == '.' && cur[1] == '.') {
				if (w.depth == 0)
					return -EXDEV;
				close(w.dirs[w.depth--]);
			}
			if (rest) {
				cur = rest;
				continue;
			}
			/* The path ends on a directory we hold. */
			int fd = openat(w.dirs[w.depth], ".", flags);
			return fd < 0 ? -errno : fd;
		}
		char *next = NULL;
		int r = step(&w, cur, rest, flags, &next);
		if (r == 0) {
			cur = rest;
			continue;
		}
		if (r != 1)
			return r;
		free(path);
		path = cur = next;
	}
}

int ws_open_beneath(int root, const char *rel, int flags, bool *no_openat2)
{
	if (!*no_openat2) {
		struct open_how how = {
			.flags = (uint64_t)flags,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};
		long fd = syscall(SYS_openat2, root, rel[0] ? rel : ".", &how, sizeof how);
		if (fd >= 0 || errno != ENOSYS)
			return fd >= 0 ? (int)fd : -errno;
		*no_openat2 = true;
	}
	return walk(root, rel, flags);
}
