/* logs.c — each service's stdout/stderr, line by line, timestamped, into
 * <runtime>/log/<Name>.log (rotated to .log.1 past SS_LOG_FILE_MAX) and a
 * ring of the last SS_LOG_RING_LINES lines for `svc logs`.
 *
 * One pipe per unit: every instance writes into the same write end, which
 * the manager keeps open, so the read end never sees EOF and lines under
 * PIPE_BUF stay whole even from many instances.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "internal.h"

static void open_log_file(ss_unit *u)
{
	_hv_free_ char *path = NULL;
	if (asprintf(&path, "%s/%s.log", u->m->log_dir, u->def->name) < 0)
		return;
	u->log_file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	struct stat st;
	u->log_file_size = u->log_file >= 0 && fstat(u->log_file, &st) == 0 ? (size_t)st.st_size : 0;
	if (u->log_file < 0)
		hv_log_warn("%s: cannot open log file %s: %m", u->def->name, path);
}

static void rotate(ss_unit *u)
{
	_hv_free_ char *path = NULL, *old = NULL;
	if (asprintf(&path, "%s/%s.log", u->m->log_dir, u->def->name) < 0 ||
	    asprintf(&old, "%s/%s.log.1", u->m->log_dir, u->def->name) < 0)
		return;
	hv_close(&u->log_file);
	if (rename(path, old) < 0)
		hv_log_warn("%s: cannot rotate %s: %m", u->def->name, path);
	open_log_file(u);
}

void ss_unit_log_add(ss_unit *u, const char *text)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	localtime_r(&ts.tv_sec, &tm);
	char stamp[40];
	size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof stamp - n, ".%03ld", ts.tv_nsec / 1000000);
	char *line = NULL;
	if (asprintf(&line, "%s %s", stamp, text) < 0)
		return;
	if (!u->ring && !(u->ring = calloc(1, sizeof *u->ring))) {
		free(line);
		return;
	}
	ss_log_ring *r = u->ring;
	unsigned slot = (r->head + r->count) % SS_LOG_RING_LINES;
	if (r->count == SS_LOG_RING_LINES) {
		free(r->lines[r->head]);
		r->head = (r->head + 1) % SS_LOG_RING_LINES;
		slot = (r->head + r->count - 1) % SS_LOG_RING_LINES;
	} else {
		r->count++;
	}
	r->lines[slot] = line;
	r->seq++;
	if (u->log_file < 0 && !u->log_file_tried) {
		u->log_file_tried = true;
		open_log_file(u);
	}
	if (u->log_file >= 0) {
		size_t len = strlen(line);
		line[len] = '\n'; /* temporarily, to write line and newline at once */
		if (hv_write_full(u->log_file, line, len + 1) == 0)
			u->log_file_size += len + 1;
		line[len] = '\0';
		if (u->log_file_size >= SS_LOG_FILE_MAX)
			rotate(u);
	}
	if (u->m->log_cb)
		u->m->log_cb(u, line, u->m->log_ud);
}

static void take_lines(ss_unit *u, const char *buf, size_t len)
{
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t take = nl ? (size_t)(nl - buf) : len;
		size_t room = SS_LOG_LINE_MAX - u->partial_len;
		size_t copy = HV_MIN(take, room);
		memcpy(u->partial + u->partial_len, buf, copy);
		u->partial_len += copy;
		/* A whole line, or an over-long one split at the limit. */
		if (nl || u->partial_len == SS_LOG_LINE_MAX) {
			u->partial[u->partial_len] = '\0';
			ss_unit_log_add(u, u->partial);
			u->partial_len = 0;
		}
		size_t used = nl ? take + 1 : copy;
		buf += used;
		len -= used;
	}
}

static void on_log_readable(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	ss_unit *u = userdata;
	char buf[16384];
	for (int rounds = 0; rounds < 8; rounds++) { /* bounded: others get their turn */
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			return;
		take_lines(u, buf, (size_t)n);
	}
}

/* Opened on first use: a lazy service that never runs costs no pipe, no
 * file and no watch (boot time with many services). */
int ss_unit_logs_open(ss_unit *u)
{
	if (u->log_rfd >= 0)
		return 0;
	if (!u->partial && !(u->partial = malloc(SS_LOG_LINE_MAX + 1)))
		return -ENOMEM;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return hv_log_errno(-errno, "%s: cannot create log pipe", u->def->name);
	u->log_rfd = p[0];
	u->log_wfd = p[1];
	fcntl(u->log_rfd, F_SETFL, O_NONBLOCK);
	int r = hv_loop_add_fd(u->m->loop, u->log_rfd, HV_IO_READ, on_log_readable, u, &u->log_watch);
	if (r < 0) {
		hv_close(&u->log_rfd);
		hv_close(&u->log_wfd);
		return r;
	}
	return 0;
}

void ss_unit_logs_close(ss_unit *u)
{
	if (u->log_watch && u->log_rfd >= 0)
		on_log_readable(u->m->loop, u->log_rfd, HV_IO_READ, u); /* what is left */
	if (u->partial && u->partial_len) {
		u->partial[u->partial_len] = '\0';
		ss_unit_log_add(u, u->partial);
		u->partial_len = 0;
	}
	hv_watch_free(u->log_watch);
	u->log_watch = NULL;
	hv_close(&u->log_rfd);
	hv_close(&u->log_wfd);
	hv_close(&u->log_file);
	free(u->partial);
	u->partial = NULL;
	for (unsigned i = 0; u->ring && i < u->ring->count; i++)
		free(u->ring->lines[(u->ring->head + i) % SS_LOG_RING_LINES]);
	free(u->ring);
	u->ring = NULL;
}

void ss_unit_log_tail(const ss_unit *u, unsigned n, void (*cb)(const char *line, void *ud), void *ud)
{
	const ss_log_ring *r = u->ring;
	if (!r)
		return;
	unsigned skip = n < r->count ? r->count - n : 0;
	for (unsigned i = skip; i < r->count; i++)
		cb(r->lines[(r->head + i) % SS_LOG_RING_LINES], ud);
}
