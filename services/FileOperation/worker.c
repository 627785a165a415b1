/* worker.c — the operation itself, on a thread of its own so the loop
 * stays free for pause, cancel and progress: count what there is (the
 * totals), then copy, move or delete each source, entry by entry.
 *
 * A copy is written under a temporary name in its destination directory
 * and renamed into place when complete, so no half-written file ever
 * carries the final name (cancel removes the temporary file). A move
 * within one filesystem is rename(2); across filesystems it is a copy
 * made durable (fsync of the file, then of its directory, FO_MOVE_BATCH
 * files at a time) before the sources are removed: a process killed at any
 * point leaves every file complete in the source, the destination, or
 * both. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "FileOperation.h"

struct link_rec {
	dev_t dev;
	ino_t ino;
	char *path; /* of the first copy, relative to op->dst_dir */
};

struct walker {
	fo_op *op;
	int first_error;
	pid_t pid; /* temporary names */
	unsigned long tmp_seq;
	struct link_rec *links;
	size_t n_links, cap_links;
	/* Directories this operation made: never walked as sources (a copy
	 * of a directory into itself stops there). */
	struct {
		dev_t dev;
		ino_t ino;
	} *made;
	size_t n_made, cap_made;
};

/* Two paths grown and shrunk one component at a time: the source's, as
 * the client sees it (events), and the copy's under op->dst_dir (hard
 * links). */
struct paths {
	char rel[PATH_MAX];
	char drel[PATH_MAX];
};

/* Sources moved across filesystems whose copies are in place, removed
 * once the directory holding the copies has been synced. */
struct batch {
	int sdir, ddir;
	size_t n;
	char *names[FO_MOVE_BATCH];
	bool is_dir[FO_MOVE_BATCH];
};

/* What xfer_entry did, when it did not stop the operation (< 0). */
enum { XF_NONE, XF_FILE, XF_DIR, XF_GONE }; /* skipped or failed; copied; copied; renamed */

static int push(char *buf, const char *name, size_t *saved)
{
	size_t len = strlen(buf);
	*saved = len;
	int n = snprintf(buf + len, PATH_MAX - len, "%s%s", len ? "/" : "", name);
	return n < 0 || (size_t)n >= PATH_MAX - len ? -ENAMETOOLONG : 0;
}

static int fail(struct walker *w, const char *rel, int err, const char *what)
{
	if (err == -ECANCELED)
		return err;
	fo_post_error(w->op, rel, err, what);
	if (!w->first_error)
		w->first_error = err;
	return w->op->abort_on_error ? err : 0;
}

static void count_done(fo_op *op, uint64_t files, uint64_t bytes, bool skipped)
{
	pthread_mutex_lock(&op->mu);
	op->files_done += files;
	op->bytes_done += bytes;
	if (skipped)
		op->skipped += files;
	op->changed = true;
	pthread_mutex_unlock(&op->mu);
}

/* --- counting ------------------------------------------------------------ */

static void scan(int dir, const char *name, uint64_t *files, uint64_t *bytes)
{
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		(*files)++;
		if (S_ISREG(st.st_mode))
			*bytes += (uint64_t)st.st_size;
		return;
	}
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			scan(fd, e->d_name, files, bytes);
	closedir(d);
}

/* --- bookkeeping ------------------------------------------------------- */

static bool was_made(const struct walker *w, const struct stat *st)
{
	for (size_t i = 0; i < w->n_made; i++)
		if (w->made[i].dev == st->st_dev && w->made[i].ino == st->st_ino)
			return true;
	return false;
}

static void note_made(struct walker *w, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return;
	if (w->n_made == w->cap_made) {
		size_t cap = w->cap_made ? 2 * w->cap_made : 16;
		void *n = realloc(w->made, cap * sizeof(*w->made));
		if (!n)
			return;
		w->made = n;
		w->cap_made = cap;
	}
	w->made[w->n_made].dev = st.st_dev;
	w->made[w->n_made++].ino = st.st_ino;
}

/* Hard links are kept when both names are copied by this operation: the
 * second name becomes a link to the first copy. Looked up linearly: only
 * files with st_nlink > 1 are recorded. */
static const char *link_of(const struct walker *w, const struct stat *st)
{
	for (size_t i = 0; i < w->n_links; i++)
		if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino)
			return w->links[i].path;
	return NULL;
}

static void note_link(struct walker *w, const struct stat *st, const char *drel)
{
	if (w->n_links == w->cap_links) {
		size_t cap = w->cap_links ? 2 * w->cap_links : 16;
		void *n = realloc(w->links, cap * sizeof(*w->links));
		if (!n)
			return;
		w->links = n;
		w->cap_links = cap;
	}
	char *p = strdup(drel);
	if (p)
		w->links[w->n_links++] = (struct link_rec){st->st_dev, st->st_ino, p};
}

/* "name (2).ext", "name (3).ext", … : the first that does not exist. */
static int free_name(int dir, const char *name, char *out, size_t size)
{
	const char *dot = strrchr(name, '.');
	if (!dot || dot == name)
		dot = name + strlen(name);
	for (unsigned n = 2; n < 10000; n++) {
		int len = snprintf(out, size, "%.*s (%u)%s", (int)(dot - name), name, n, dot);
		if (len < 0 || (size_t)len >= size || len > NAME_MAX)
			return -ENAMETOOLONG;
		struct stat st;
		if (fstatat(dir, out, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
			return 0;
	}
	return -EEXIST;
}

/* --- removal after a move across filesystems ------------------------- */

static int flush_batch(struct walker *w, struct batch *b, const char *rel)
{
	if (!b->n)
		return 0;
	int r = 0;
	/* The copies' names are durable before a source goes. */
	if (fsync(b->ddir) < 0)
		r = fail(w, rel, -errno, "sync the destination directory");
	for (size_t i = 0; i < b->n; i++) {
		if (!r && unlinkat(b->sdir, b->names[i], b->is_dir[i] ? AT_REMOVEDIR : 0) < 0 &&
		    !(b->is_dir[i] && (errno == ENOTEMPTY || errno == EEXIST)))
			r = fail(w, b->names[i], -errno, "remove the source");
		free(b->names[i]);
	}
	b->n = 0;
	return r;
}

static int batch_add(struct walker *w, struct batch *b, const char *name, bool is_dir, const char *rel)
{
	char *copy = strdup(name);
	if (!copy)
		return fail(w, rel, -ENOMEM, "remember the source");
	b->names[b->n] = copy;
	b->is_dir[b->n++] = is_dir;
	return b->n == FO_MOVE_BATCH ? flush_batch(w, b, rel) : 0;
}

/* --- copying ----------------------------------------------------------- */

static int xfer_entry(struct walker *w, int sdir, const char *sname, int ddir, const char *dname,
		      bool fresh, struct paths *p);

static int copy_link(struct walker *w, int sdir, const char *sname, int ddir, const char *final,
		     bool replace, const struct stat *st, const struct paths *p)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(sdir, sname, target, sizeof target - 1);
	if (n < 0)
		return fail(w, p->rel, -errno, "read the symbolic link");
	target[n] = 0;
	char tmp[64];
	snprintf(tmp, sizeof tmp, ".fileop-%d-%lu.tmp", (int)w->pid, ++w->tmp_seq);
	if (symlinkat(target, ddir, tmp) < 0)
		return fail(w, p->rel, -errno, "create the symbolic link");
	fo_copy_meta(-1, ddir, tmp, st);
	if (renameat2(ddir, tmp, ddir, final, replace ? 0 : RENAME_NOREPLACE) < 0) {
		int r = -errno;
		unlinkat(ddir, tmp, 0);
		return fail(w, p->rel, r, "put the symbolic link in place");
	}
	count_done(w->op, 1, 0, false);
	return XF_FILE;
}

static int copy_file(struct walker *w, int sdir, const char *sname, int ddir, const char *final,
		     bool replace, const struct stat *st, const struct paths *p)
{
	fo_op *op = w->op;
	const char *first = st->st_nlink > 1 ? link_of(w, st) : NULL;
	char tmp[64];
	snprintf(tmp, sizeof tmp, ".fileop-%d-%lu.tmp", (int)w->pid, ++w->tmp_seq);
	if (first) {
		if (linkat(op->dst_dir, first, ddir, tmp, 0) == 0) {
			if (renameat2(ddir, tmp, ddir, final, replace ? 0 : RENAME_NOREPLACE) == 0) {
				count_done(op, 1, (uint64_t)st->st_size, false);
				return XF_FILE;
			}
			unlinkat(ddir, tmp, 0);
		}
		/* Not linkable (moved away, another filesystem): a copy. */
	}
	_hv_close_ int in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (in < 0)
		return fail(w, p->rel, -errno, "open");
	_hv_close_ int out = openat(ddir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return fail(w, p->rel, -errno, "create the copy");
	const char *what = "copy the data";
	int r = fo_copy_data(op, in, out, st);
	if (r == 0 && (r = fo_copy_xattrs(in, out)) < 0)
		what = "copy the extended attributes";
	if (r == 0 && (r = fo_copy_meta(out, -1, NULL, st)) < 0)
		what = "copy the owner, mode or times";
	/* A move removes the source: its copy must survive a crash first. */
	if (r == 0 && op->kind == FO_MOVE && fsync(out) < 0) {
		r = -errno;
		what = "sync the copy";
	}
	if (r == 0 && renameat2(ddir, tmp, ddir, final, replace ? 0 : RENAME_NOREPLACE) < 0) {
		r = -errno;
		what = "put the copy in place";
	}
	if (r < 0) {
		unlinkat(ddir, tmp, 0);
		return fail(w, p->rel, r, what);
	}
	if (st->st_nlink > 1 && !first)
		note_link(w, st, p->drel);
	count_done(op, 1, 0, false);
	return XF_FILE;
}

static int copy_dir(struct walker *w, int sdir, const char *sname, int ddir, const char *final,
		    bool exists, const struct stat *st, struct paths *p)
{
	_hv_close_ int s = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s < 0)
		return fail(w, p->rel, -errno, "open the directory");
	if (!exists && mkdirat(ddir, final, 0700) < 0)
		return fail(w, p->rel, -errno, "create the directory");
	_hv_close_ int d = openat(ddir, final, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
		return fail(w, p->rel, -errno, "open the new directory");
	note_made(w, d);
	int dupfd = dup(s);
	DIR *dir = dupfd < 0 ? NULL : fdopendir(dupfd);
	if (!dir) {
		if (dupfd >= 0)
			close(dupfd);
		return fail(w, p->rel, -errno, "read the directory");
	}
	struct batch b = {.sdir = s, .ddir = d};
	int r = 0;
	struct dirent *e;
	while (r >= 0 && (errno = 0, e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		size_t a = strlen(p->rel), bl = strlen(p->drel);
		if (push(p->rel, e->d_name, &a) < 0 || push(p->drel, e->d_name, &bl) < 0) {
			r = fail(w, p->rel, -ENAMETOOLONG, "the path is too long");
		} else {
			r = xfer_entry(w, s, e->d_name, d, e->d_name, !exists, p);
			if ((r == XF_FILE || r == XF_DIR) && w->op->kind == FO_MOVE)
				r = batch_add(w, &b, e->d_name, r == XF_DIR, p->rel);
		}
		p->rel[a] = 0;
		p->drel[bl] = 0;
	}
	if (r >= 0 && errno)
		r = fail(w, p->rel, -errno, "read the directory");
	closedir(dir);
	int fr = flush_batch(w, &b, p->rel);
	if (r < 0 || fr < 0)
		return r < 0 ? r : fr;
	/* Last, so the directory's times are not changed by its contents. */
	int m = fo_copy_xattrs(s, d);
	if (m == 0)
		m = fo_copy_meta(d, -1, NULL, st);
	if (m < 0)
		return fail(w, p->rel, m, "copy the directory's attributes");
	return XF_DIR;
}

/* Within one filesystem a move is a rename; -EXDEV says copy instead. */
static int try_rename(struct walker *w, int sdir, const char *sname, int ddir, const char *final,
		      bool replace, const struct stat *st, const struct paths *p)
{
	uint64_t files = 0, bytes = 0;
	if (S_ISDIR(st->st_mode))
		scan(sdir, sname, &files, &bytes);
	else
		files = 1, bytes = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	if (renameat2(sdir, sname, ddir, final, replace ? 0 : RENAME_NOREPLACE) < 0)
		return errno == EXDEV ? -EXDEV : fail(w, p->rel, -errno, "rename");
	count_done(w->op, files, bytes, false);
	return XF_GONE;
}

/* The destination name exists: merge directories, else the policy (or the
 * client) decides. Returns 0 to go on (with *final and *replace set),
 * XF_NONE+1… never; 1 when the entry is settled (skipped or failed), < 0
 * to stop. */
static int resolve(struct walker *w, int ddir, const char *dname, const struct stat *st,
		   const struct stat *dst, char *final, bool *replace, const struct paths *p)
{
	if (dst->st_dev == st->st_dev && dst->st_ino == st->st_ino)
		return fail(w, p->rel, -EINVAL, "source and destination are the same file") < 0 ? -EINVAL : 1;
	int a = fo_ask_conflict(w->op, p->drel, S_ISDIR(dst->st_mode));
	if (a < 0)
		return a;
	switch (a) {
	case FO_SKIP: {
		uint64_t files = 0, bytes = 0;
		if (S_ISDIR(st->st_mode))
			files = 1; /* counted as one: its contents are not looked at */
		else
			files = 1, bytes = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
		count_done(w->op, files, bytes, true);
		return 1;
	}
	case FO_OVERWRITE:
		if (S_ISDIR(dst->st_mode) || S_ISDIR(st->st_mode)) {
			int r = S_ISDIR(dst->st_mode) ? -EISDIR : -ENOTDIR;
			return fail(w, p->rel, r, "cannot overwrite a directory with a file or the reverse") < 0 ? r : 1;
		}
		*replace = true;
		return 0;
	case FO_KEEP_BOTH: {
		int r = free_name(ddir, dname, final, NAME_MAX + 1);
		return r < 0 ? (fail(w, p->rel, r, "find a free name") < 0 ? r : 1) : 0;
	}
	default:
		return -ECANCELED;
	}
}

/* fresh: ddir was made by this operation, so nothing in it can be in the
 * way (a name made there meanwhile still fails RENAME_NOREPLACE). */
static int xfer_entry(struct walker *w, int sdir, const char *sname, int ddir, const char *dname,
		      bool fresh, struct paths *p)
{
	int r = fo_checkpoint(w->op);
	if (r < 0)
		return r;
	struct stat st, dst;
	if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(w, p->rel, -errno, "stat");
	if (S_ISDIR(st.st_mode) && was_made(w, &st))
		return XF_NONE; /* the copy itself, inside its source */
	fo_set_current(w->op, p->rel);
	char final[NAME_MAX + 1];
	snprintf(final, sizeof final, "%s", dname);
	bool replace = false, merge = false;
	if (fresh) {
		/* nothing to resolve */
	} else if (fstatat(ddir, dname, &dst, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode) && S_ISDIR(dst.st_mode) &&
		    !(dst.st_dev == st.st_dev && dst.st_ino == st.st_ino))
			merge = true;
		else if ((r = resolve(w, ddir, dname, &st, &dst, final, &replace, p)) != 0)
			return r < 0 ? r : XF_NONE;
	} else if (errno != ENOENT) {
		return fail(w, p->rel, -errno, "stat the destination");
	}
	if (w->op->kind == FO_MOVE && !merge) {
		r = try_rename(w, sdir, sname, ddir, final, replace, &st, p);
		if (r != -EXDEV)
			return r < 0 ? r : XF_GONE;
	}
	if (S_ISREG(st.st_mode))
		return copy_file(w, sdir, sname, ddir, final, replace, &st, p);
	if (S_ISDIR(st.st_mode))
		return copy_dir(w, sdir, sname, ddir, final, merge, &st, p);
	if (S_ISLNK(st.st_mode))
		return copy_link(w, sdir, sname, ddir, final, replace, &st, p);
	return fail(w, p->rel, -EOPNOTSUPP, "special files (devices, FIFOs, sockets) are not copied");
}

/* --- deleting ---------------------------------------------------------- */

static int delete_entry(struct walker *w, int dir, const char *name, struct paths *p)
{
	int r = fo_checkpoint(w->op);
	if (r < 0)
		return r;
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(w, p->rel, -errno, "stat");
	fo_set_current(w->op, p->rel);
	if (S_ISDIR(st.st_mode)) {
		_hv_close_ int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int dupfd = fd < 0 ? -1 : dup(fd);
		DIR *d = dupfd < 0 ? NULL : fdopendir(dupfd);
		if (!d) {
			if (dupfd >= 0)
				close(dupfd);
			return fail(w, p->rel, -errno, "open the directory");
		}
		struct dirent *e;
		while (r >= 0 && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			size_t a = strlen(p->rel);
			if (push(p->rel, e->d_name, &a) < 0)
				r = fail(w, p->rel, -ENAMETOOLONG, "the path is too long");
			else
				r = delete_entry(w, fd, e->d_name, p);
			p->rel[a] = 0;
		}
		closedir(d);
		if (r < 0)
			return r;
		if (unlinkat(dir, name, AT_REMOVEDIR) < 0)
			return errno == ENOTEMPTY ? 0 : fail(w, p->rel, -errno, "remove the directory");
		return 0;
	}
	if (unlinkat(dir, name, 0) < 0)
		return fail(w, p->rel, -errno, "remove");
	count_done(w->op, 1, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0, false);
	return 0;
}

/* --- the operation ----------------------------------------------------- */

static int run(struct walker *w)
{
	fo_op *op = w->op;
	uint64_t files = 0, bytes = 0;
	for (size_t i = 0; i < op->n_src; i++)
		scan(op->src_dir[i], op->src_name[i], &files, &bytes);
	pthread_mutex_lock(&op->mu);
	op->files_total = files;
	op->bytes_total = bytes;
	op->changed = true;
	pthread_mutex_unlock(&op->mu);

	struct batch b = {.ddir = op->dst_dir};
	int r = 0;
	for (size_t i = 0; i < op->n_src && r >= 0; i++) {
		struct paths p;
		snprintf(p.rel, sizeof p.rel, "%s", op->src_name[i]);
		if (op->kind == FO_DELETE) {
			r = delete_entry(w, op->src_dir[i], op->src_name[i], &p);
			continue;
		}
		const char *dname = op->dst_name ? op->dst_name : op->src_name[i];
		snprintf(p.drel, sizeof p.drel, "%s", dname);
		r = xfer_entry(w, op->src_dir[i], op->src_name[i], op->dst_dir, dname, false, &p);
		if ((r == XF_FILE || r == XF_DIR) && op->kind == FO_MOVE) {
			/* Sources may sit in different directories: one batch each. */
			flush_batch(w, &b, p.rel);
			b.sdir = op->src_dir[i];
			r = batch_add(w, &b, op->src_name[i], r == XF_DIR, p.rel);
			if (r >= 0)
				r = flush_batch(w, &b, p.rel);
		}
	}
	return r < 0 ? r : w->first_error ? -EIO : 0;
}

void *fo_worker(void *arg)
{
	struct walker w = {.op = arg, .pid = getpid()};
	int r = run(&w);
	if (atomic_load(&w.op->cancelled))
		r = -ECANCELED;
	for (size_t i = 0; i < w.n_links; i++)
		free(w.links[i].path);
	free(w.links);
	free(w.made);
	fo_post_finished(w.op, r);
	return NULL;
}
