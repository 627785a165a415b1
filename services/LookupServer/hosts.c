/* hosts.c — the hosts file as two sorted arrays (by name, by address),
 * rebuilt on change (hosts.h). A lookup is a binary search. */
#include "hosts.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "dns.h"

#define LKS_HOSTS_MAX_BYTES (64u << 20) /* a larger hosts file is refused */

struct entry {
	char *name; /* canonical: lower case, final dot */
	int family;
	uint8_t addr[16];
	size_t order; /* line order: the first name of an address wins */
};

struct lks_hosts {
	char *path;
	const char *base; /* file name within its directory */
	struct entry *by_name, *by_addr;
	size_t count;
	uint64_t reloads;
	int ifd;
	hv_watch *watch;
	void (*on_change)(void *);
	void *userdata;
};

static int cmp_name(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int cmp_addr(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->family != y->family)
		return x->family - y->family;
	int c = memcmp(x->addr, y->addr, 16);
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static void entries_free(struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

/* One line: ADDRESS NAME [ALIAS...] [# comment]. Malformed lines are
 * skipped, as glibc does. */
static int parse_line(char *line, struct entry **v, size_t *n, size_t *cap)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	char *save = NULL, *tok = strtok_r(line, " \t\r", &save);
	if (!tok)
		return 0;
	struct entry e = {.family = AF_INET};
	if (inet_pton(AF_INET, tok, e.addr) != 1) {
		e.family = AF_INET6;
		if (inet_pton(AF_INET6, tok, e.addr) != 1)
			return 0;
	}
	while ((tok = strtok_r(NULL, " \t\r", &save))) {
		char canon[LKS_NAME_MAX + 2];
		const char *why;
		if (lks_name_check(tok, canon, &why) < 0)
			continue;
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			struct entry *nv = reallocarray(*v, ncap, sizeof(**v));
			if (!nv)
				return -ENOMEM;
			*v = nv;
			*cap = ncap;
		}
		e.name = strdup(canon);
		if (!e.name)
			return -ENOMEM;
		e.order = *n;
		(*v)[(*n)++] = e;
	}
	return 0;
}

static int hosts_load(lks_hosts *h)
{
	_hv_free_ uint8_t *data = NULL;
	size_t len = 0;
	int r = hv_read_file_at(AT_FDCWD, h->path, 0, LKS_HOSTS_MAX_BYTES, &data, &len);
	if (r == -ENOENT)
		len = 0;
	else if (r < 0)
		return hv_log_errno(r, "LookupServer: cannot read hosts file %s", h->path);
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	char *save = NULL;
	for (char *line = data ? strtok_r((char *)data, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		if ((r = parse_line(line, &v, &n, &cap)) < 0) {
			entries_free(v, n);
			return r;
		}
	}
	struct entry *by_addr = n ? malloc(n * sizeof(*v)) : NULL;
	if (n && !by_addr) {
		entries_free(v, n);
		return -ENOMEM;
	}
	if (n)
		memcpy(by_addr, v, n * sizeof(*v)); /* shares the names with by_name */
	qsort(v, n, sizeof(*v), cmp_name);
	qsort(by_addr, n, sizeof(*v), cmp_addr);
	entries_free(h->by_name, h->count);
	free(h->by_addr);
	h->by_name = v;
	h->by_addr = by_addr;
	h->count = n;
	h->reloads++;
	hv_log_debug("LookupServer: %zu hosts entries from %s", n, h->path);
	return 0;
}

static void on_inotify(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	lks_hosts *h = userdata;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool ours = false;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->len && !strcmp(ev->name, h->base))
				ours = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	/* A failed reload keeps the previous table: better stale than empty. */
	if (ours && hosts_load(h) == 0 && h->on_change)
		h->on_change(h->userdata);
}

static int hosts_watch(hv_loop *loop, lks_hosts *h)
{
	h->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (h->ifd < 0)
		return -errno;
	char dir[PATH_MAX];
	size_t dl = (size_t)(h->base - h->path);
	if (dl == 0)
		strcpy(dir, ".");
	else if (dl >= sizeof(dir))
		return -ENAMETOOLONG;
	else {
		memcpy(dir, h->path, dl);
		dir[dl] = '\0';
	}
	if (inotify_add_watch(h->ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM) < 0)
		return hv_log_errno(-errno, "LookupServer: cannot watch %s", dir);
	return hv_loop_add_fd(loop, h->ifd, HV_IO_READ, on_inotify, h, &h->watch);
}

int lks_hosts_open(hv_loop *loop, const char *path, void (*on_change)(void *), void *userdata,
		   lks_hosts **out)
{
	lks_hosts *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->ifd = -1;
	h->on_change = on_change;
	h->userdata = userdata;
	h->path = strdup(path);
	if (!h->path) {
		lks_hosts_free(h);
		return -ENOMEM;
	}
	const char *slash = strrchr(h->path, '/');
	h->base = slash ? slash + 1 : h->path;
	int r = hosts_watch(loop, h);
	if (r >= 0)
		r = hosts_load(h);
	if (r < 0) {
		lks_hosts_free(h);
		return r;
	}
	*out = h;
	return 0;
}

void lks_hosts_free(lks_hosts *h)
{
	if (!h)
		return;
	hv_watch_free(h->watch);
	if (h->ifd >= 0)
		close(h->ifd);
	entries_free(h->by_name, h->count);
	free(h->by_addr);
	free(h->path);
	free(h);
}

size_t lks_hosts_find(const lks_hosts *h, const char *name, int family, uint8_t (*addrs)[16],
		      size_t max, int *known)
{
	/* The first entry with this name: a lower-bound binary search. */
	size_t lo = 0, hi = h->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(h->by_name[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t n = 0;
	*known = 0;
	for (size_t i = lo; i < h->count && !strcmp(h->by_name[i].name, name); i++) {
		*known = 1;
		if (h->by_name[i].family == family && n < max)
			memcpy(addrs[n++], h->by_name[i].addr, 16);
	}
	return n;
}

const char *lks_hosts_reverse(const lks_hosts *h, int family, const uint8_t *addr)
{
	struct entry key = {.family = family, .order = 0};
	memcpy(key.addr, addr, family == AF_INET ? 4 : 16);
	size_t lo = 0, hi = h->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_addr(&h->by_addr[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < h->count && h->by_addr[lo].family == family && !memcmp(h->by_addr[lo].addr, key.addr, 16))
		return h->by_addr[lo].name;
	return NULL;
}

size_t lks_hosts_count(const lks_hosts *h) { return h->count; }
uint64_t lks_hosts_reloads(const lks_hosts *h) { return h->reloads; }
