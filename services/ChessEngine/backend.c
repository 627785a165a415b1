/* backend.c — any UCI engine behind the endpoint: Debian's stockfish (or
 * the binary named by --uci-engine) as a sandboxed child per connection,
 * started on the first `go` with engine = Uci and spoken to over pipes
 * from the loop (never blocking it).
 *
 * The child starts under lib/sandbox's hv_sandbox_exec with "stdio rpath
 * thread", inside the service's own filesystem view (read-only: the
 * engine, the system's programs and libraries; process.c). Every line it writes is checked: info lines are turned into
 * info events (their PV replayed, cut at the first illegal move), its
 * bestmove must be legal. A child that dies, answers an illegal move, or
 * says nothing for --uci-timeout ms while it should be working is killed
 * and reported to the client as search_failed; the service stays up and
 * the next search starts a fresh child. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/loop.h>
#include <haven/sandbox.h>

#include "ChessEngine.h"

const char *ce_uci_engine;	       /* NULL: no backend (the sandbox stays pure) */
int64_t ce_backend_timeout_ms = 10000; /* --uci-timeout */

#define LINE_MAX_BYTES 8192

enum state { STARTING, READY, SEARCHING };

struct ce_backend {
	struct ce_peer *peer;
	hv_child *child;
	pid_t pid;
	int to_fd, from_fd;
	hv_watch *watch;
	hv_timer *timer;
	enum state state;
	uint64_t id;	   /* the search it runs, 0 when none */
	ch_pos pos;	   /* the position searched, to check its moves */
	char go[256];	   /* the go command, sent once it is ready */
	char line[LINE_MAX_BYTES];
	size_t len;
	int skill;
	bool stop_pending; /* stop asked before the engine was ready */
};

static void backend_fail(struct ce_backend *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int send_line(struct ce_backend *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int send_line(struct ce_backend *b, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf - 1)
		return -E2BIG;
	buf[n++] = '\n';
	/* Non-blocking: an engine that stopped reading must not stall us. */
	ssize_t w = write(b->to_fd, buf, (size_t)n);
	return w == n ? 0 : w < 0 ? -errno : -EAGAIN;
}

static void arm_watchdog(struct ce_backend *b)
{
	hv_timer_arm(b->timer, (uint64_t)ce_backend_timeout_ms * 1000000u, 0);
}

/* Tear the child down (SIGKILL, reaped here: it dies at once). */
static void backend_close(struct ce_backend *b)
{
	if (b->child) {
		hv_child_kill(b->child, SIGKILL);
		hv_child_free(b->child);
		waitpid(b->pid, NULL, 0);
	}
	hv_watch_free(b->watch);
	hv_timer_free(b->timer);
	if (b->to_fd >= 0)
		close(b->to_fd);
	if (b->from_fd >= 0)
		close(b->from_fd);
	free(b);
}

void ce_backend_free(struct ce_backend *b)
{
	if (b)
		backend_close(b);
}

/* The backend is gone: the client hears why, the next search starts anew. */
static void backend_fail(struct ce_backend *b, const char *fmt, ...)
{
	char why[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	struct ce_peer *peer = b->peer;
	hv_log_warn("%s: %s", ce_uci_engine, why);
	if (b->id)
		chess_client_search_failed(peer->conn, b->id, why);
	peer->backend = NULL;
	peer->backend_search = 0;
	backend_close(b);
}

static void parse_info(struct ce_backend *b, char *s)
{
	ch_info in = {0};
	char *save = NULL, *w = strtok_r(s, " ", &save);
	bool have_score = false;
	while ((w = strtok_r(NULL, " ", &save))) {
		char *v = NULL;
		if (!strcmp(w, "pv")) {
			ch_pos p = b->pos;
			while ((v = strtok_r(NULL, " ", &save)) && in.pvlen < CH_MAX_PLY) {
				ch_move m;
				if (ch_move_parse_uci(&p, v, &m) < 0)
					break; /* an illegal PV is cut, not trusted */
				in.pv[in.pvlen++] = m;
				ch_make(&p, m);
			}
			break;
		}
		if (!strcmp(w, "score")) {
			char *kind = strtok_r(NULL, " ", &save);
			v = strtok_r(NULL, " ", &save);
			if (!kind || !v)
				break;
			if (!strcmp(kind, "cp"))
				in.score = atoi(v);
			else if (!strcmp(kind, "mate"))
				in.mate = atoi(v), in.score = in.mate > 0 ? CH_MATE : -CH_MATE;
			have_score = true;
			continue;
		}
		if (!(v = strtok_r(NULL, " ", &save)))
			break;
		long long n = atoll(v);
		if (!strcmp(w, "depth"))
			in.depth = (int)n;
		else if (!strcmp(w, "seldepth"))
			in.seldepth = (int)n;
		else if (!strcmp(w, "nodes"))
			in.nodes = (uint64_t)n;
		else if (!strcmp(w, "nps"))
			in.nps = (uint64_t)n;
		else if (!strcmp(w, "time"))
			in.time_ms = n;
		else if (!strcmp(w, "string"))
			return;
	}
	if (in.depth > 0 && have_score && in.pvlen > 0)
		ce_send_info(b->peer, b->id, &in);
}

/* false when the backend was torn down (an illegal move) */
static bool on_bestmove(struct ce_backend *b, char *s)
{
	char *save = NULL, *best, *ponder = NULL;
	strtok_r(s, " ", &save);
	best = strtok_r(NULL, " ", &save);
	char *p = strtok_r(NULL, " ", &save);
	if (p && !strcmp(p, "ponder"))
		ponder = strtok_r(NULL, " ", &save);
	ch_move m, pm = 0;
	if (!best || ch_move_parse_uci(&b->pos, best, &m) < 0) {
		backend_fail(b, "the UCI engine answered an illegal move (%s)", best ? best : "none");
		return false;
	}
	if (ponder) {
		ch_pos after = b->pos;
		ch_make(&after, m);
		if (ch_move_parse_uci(&after, ponder, &pm) < 0)
			pm = 0;
	}
	uint64_t id = b->id;
	b->id = 0;
	b->state = READY;
	hv_timer_disarm(b->timer);
	b->peer->backend_search = 0;
	ce_send_best(b->peer, id, &b->pos, m, pm);
	return true;
}

/* One line from the engine; false when the backend was torn down. */
static bool on_line(struct ce_backend *b, char *s)
{
	if (b->state == STARTING && !strcmp(s, "uciok")) {
		b->state = SEARCHING;
		if (b->skill < CH_SKILL_MAX)
			send_line(b, "setoption name Skill Level value %d", b->skill);
		if (send_line(b, "%s", b->go) < 0 || (b->stop_pending && send_line(b, "stop") < 0)) {
			backend_fail(b, "cannot write to the UCI engine");
			return false;
		}
	} else if (b->state == SEARCHING && !strncmp(s, "info ", 5)) {
		parse_info(b, s);
	} else if (b->state == SEARCHING && !strncmp(s, "bestmove", 8)) {
		return on_bestmove(b, s);
	}
	return true;
}

static void on_readable(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	(void)loop;
	(void)events;
	struct ce_backend *b = ud;
	ssize_t n = read(fd, b->line + b->len, sizeof b->line - 1 - b->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* its exit status follows on the child watch; say it there */
		hv_watch_set_events(b->watch, 0);
		return;
	}
	if (b->state != READY)
		arm_watchdog(b);
	b->len += (size_t)n;
	char *start = b->line, *nl;
	b->line[b->len] = 0;
	while ((nl = memchr(start, '\n', b->len - (size_t)(start - b->line)))) {
		*nl = 0;
		if (nl > start && nl[-1] == '\r')
			nl[-1] = 0;
		if (!on_line(b, start))
			return;
		start = nl + 1;
	}
	b->len -= (size_t)(start - b->line);
	memmove(b->line, start, b->len);
	if (b->len == sizeof b->line - 1)
		backend_fail(b, "the UCI engine wrote a line longer than %d bytes", LINE_MAX_BYTES);
}

static void on_exit_cb(hv_loop *loop, pid_t pid, int status, void *ud)
{
	(void)loop;
	(void)pid;
	struct ce_backend *b = ud;
	hv_child_free(b->child);
	b->child = NULL; /* reaped by the loop */
	if (WIFSIGNALED(status))
		backend_fail(b, "the UCI engine crashed (signal %d, %s)", WTERMSIG(status),
			     strsignal(WTERMSIG(status)));
	else
		backend_fail(b, "the UCI engine exited with status %d", WEXITSTATUS(status));
}

static void on_timeout(hv_loop *loop, hv_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	struct ce_backend *b = ud;
	backend_fail(b, "the UCI engine did not answer within %lld ms (hung)",
		     (long long)ce_backend_timeout_ms);
}

static int spawn(struct ce_peer *peer, struct ce_backend **out)
{
	int to[2], from[2];
	if (pipe2(to, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(from, O_CLOEXEC) < 0) {
		int e = -errno;
		close(to[0]);
		close(to[1]);
		return e;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* The child: stdin/stdout are the pipes (dup2 clears CLOEXEC),
		 * stderr stays the service's log. */
		if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0)
			_exit(127);
		/* The service's Landlock view (read-only system, the engine)
		 * is inherited and locked: no unveils of its own. */
		const hv_sandbox_spec spec = {.promises = "stdio rpath thread"};
		char *argv[] = {(char *)ce_uci_engine, NULL};
		hv_sandbox_exec(&spec, ce_uci_engine, argv, environ);
		_exit(127);
	}
	int e = pid < 0 ? -errno : 0;
	close(to[0]);
	close(from[1]);
	struct ce_backend *b = e ? NULL : calloc(1, sizeof *b);
	if (!b) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		close(to[1]);
		close(from[0]);
		return e ? e : -ENOMEM;
	}
	*b = (struct ce_backend){.peer = peer, .pid = pid, .to_fd = to[1], .from_fd = from[0]};
	fcntl(b->to_fd, F_SETFL, O_NONBLOCK);
	fcntl(b->from_fd, F_SETFL, O_NONBLOCK);
	hv_loop *loop = hv_conn_loop(peer->conn);
	int r = hv_loop_add_child(loop, pid, on_exit_cb, b, &b->child);
	if (r >= 0)
		r = hv_loop_add_fd(loop, b->from_fd, HV_IO_READ, on_readable, b, &b->watch);
	if (r >= 0)
		r = hv_loop_add_timer(loop, 0, 0, on_timeout, b, &b->timer);
	if (r < 0) {
		backend_close(b);
		return r;
	}
	hv_timer_disarm(b->timer);
	*out = b;
	return 0;
}

static void go_command(const ch_game *g, const ch_limits *l, char *go, size_t len)
{
	int n = snprintf(go, len, "go");
	if (l->depth)
		n += snprintf(go + n, len - (size_t)n, " depth %d", l->depth);
	if (l->nodes)
		n += snprintf(go + n, len - (size_t)n, " nodes %llu", (unsigned long long)l->nodes);
	if (l->movetime_ms)
		n += snprintf(go + n, len - (size_t)n, " movetime %lld", (long long)l->movetime_ms);
	if (l->time_ms[0] || l->time_ms[1])
		n += snprintf(go + n, len - (size_t)n, " wtime %lld btime %lld winc %lld binc %lld",
			      (long long)l->time_ms[0], (long long)l->time_ms[1],
			      (long long)l->inc_ms[0], (long long)l->inc_ms[1]);
	if (l->movestogo)
		n += snprintf(go + n, len - (size_t)n, " movestogo %d", l->movestogo);
	if (n == 2)
		snprintf(go + n, len - (size_t)n, " infinite");
	(void)g;
}

/* "position fen START moves ..." for the game so far. */
static int send_position(struct ce_backend *b, const ch_game *g)
{
	size_t cap = 128 + g->n * 6;
	char *s = malloc(cap);
	if (!s)
		return -ENOMEM;
	char fen[CH_FEN_MAX];
	ch_fen_write(&g->start, fen);
	size_t n = (size_t)snprintf(s, cap, "position fen %s%s", fen, g->n ? " moves" : "");
	for (size_t i = 0; i < g->n; i++) {
		char m[CH_MOVE_STR_MAX];
		ch_move_uci(g->moves[i], m);
		n += (size_t)snprintf(s + n, cap - n, " %s", m);
	}
	int r = send_line(b, "%s", s);
	free(s);
	return r;
}

int ce_backend_go(struct ce_peer *peer, uint64_t id, const ch_limits *lim)
{
	if (!ce_uci_engine || access(ce_uci_engine, X_OK) != 0)
		return CHESS_ENGINE_ERR_NO_ENGINE;
	struct ce_backend *b = peer->backend;
	bool fresh = !b;
	if (fresh) {
		int r = spawn(peer, &b);
		if (r < 0) {
			hv_log_warn("cannot start %s: %s", ce_uci_engine, strerror(-r));
			return CHESS_ENGINE_ERR_NO_ENGINE;
		}
		peer->backend = b;
	}
	b->id = id;
	b->stop_pending = false;
	b->pos = peer->game.pos;
	b->skill = lim->skill;
	go_command(&peer->game, lim, b->go, sizeof b->go);
	int r = fresh ? send_line(b, "uci") : 0;
	if (r >= 0)
		r = send_position(b, &peer->game);
	if (r >= 0 && !fresh) {
		send_line(b, "setoption name Skill Level value %d", b->skill);
		r = send_line(b, "%s", b->go);
	}
	if (r < 0) {
		peer->backend = NULL;
		backend_close(b);
		return CHESS_ENGINE_ERR_NO_ENGINE;
	}
	b->state = fresh ? STARTING : SEARCHING;
	peer->backend_search = id;
	arm_watchdog(b);
	return 0;
}

void ce_backend_stop(struct ce_peer *peer)
{
	struct ce_backend *b = peer->backend;
	if (b && b->state == SEARCHING)
		send_line(b, "stop");
	else if (b && b->state == STARTING)
		b->stop_pending = true;
}
