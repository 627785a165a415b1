/* uci.c — the UCI front end. The reading thread parses commands; "go"
 * starts the search on a thread of its own, so "stop", "isready" and
 * "quit" are answered while it thinks. Output lines are written whole
 * under a lock and flushed: a GUI reads them as they come. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "uci.h"

#define UCI_HASH_MB 16

struct ch_uci {
	FILE *out;
	pthread_mutex_t lock;
	ch_search *search;
	ch_pos pos;
	uint64_t *keys; /* the game's keys before the current position */
	size_t nkeys, keys_cap;
	int skill;
	pthread_t thread;
	bool running;
	ch_limits lim;
	int perft;
};

static void say(ch_uci *u, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&u->lock);
	va_start(ap, fmt);
	vfprintf(u->out, fmt, ap);
	va_end(ap);
	fputc('\n', u->out);
	fflush(u->out);
	pthread_mutex_unlock(&u->lock);
}

int ch_uci_new(FILE *out, ch_uci **res)
{
	ch_uci *u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
	u->out = out;
	u->skill = CH_SKILL_MAX;
	pthread_mutex_init(&u->lock, NULL);
	int r = ch_search_new(UCI_HASH_MB, &u->search);
	if (r < 0) {
		free(u);
		return r;
	}
	ch_fen_parse(CH_START_FEN, &u->pos, NULL, 0);
	*res = u;
	return 0;
}

static void wait_search(ch_uci *u, bool stop)
{
	if (!u->running)
		return;
	if (stop)
		ch_search_stop(u->search);
	pthread_join(u->thread, NULL);
	u->running = false;
}

void ch_uci_free(ch_uci *u)
{
	if (!u)
		return;
	wait_search(u, true);
	ch_search_free(u->search);
	free(u->keys);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static void pv_string(const ch_move *pv, int n, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (int i = 0; i < n && o + CH_MOVE_STR_MAX + 1 < len; i++) {
		char m[CH_MOVE_STR_MAX];
		ch_move_uci(pv[i], m);
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " " : "", m);
	}
}

static void on_info(void *ud, const ch_info *in)
{
	ch_uci *u = ud;
	char pv[CH_MAX_PLY * 6 + 1];
	pv_string(in->pv, in->pvlen, pv, sizeof pv);
	char score[32];
	if (in->mate)
		snprintf(score, sizeof score, "mate %d", in->mate);
	else
		snprintf(score, sizeof score, "cp %d", in->score);
	say(u, "info depth %d seldepth %d score %s nodes %llu nps %llu time %lld pv %s", in->depth,
	    in->seldepth, score, (unsigned long long)in->nodes, (unsigned long long)in->nps,
	    (long long)in->time_ms, pv);
}

static void *search_thread(void *arg)
{
	ch_uci *u = arg;
	if (u->perft) { /* Stockfish's "go perft N": per-move counts, then the sum */
		ch_movelist l;
		uint64_t total = 0;
		ch_gen_legal(&u->pos, &l);
		for (int i = 0; i < l.n; i++) {
			ch_pos c = u->pos;
			char m[CH_MOVE_STR_MAX];
			ch_make(&c, l.m[i]);
			uint64_t n = ch_perft(&c, u->perft - 1);
			total += n;
			ch_move_uci(l.m[i], m);
			say(u, "%s: %llu", m, (unsigned long long)n);
		}
		say(u, "\nNodes searched: %llu\n", (unsigned long long)total);
		return NULL;
	}
	ch_info fin;
	ch_move best = ch_search_run(u->search, &u->pos, u->keys, u->nkeys, &u->lim, on_info, u,
				     &fin);
	char m[CH_MOVE_STR_MAX];
	ch_move_uci(best, m);
	if (fin.pvlen > 1 && fin.pv[0] == best) {
		char p[CH_MOVE_STR_MAX];
		ch_move_uci(fin.pv[1], p);
		say(u, "bestmove %s ponder %s", m, p);
	} else {
		say(u, "bestmove %s", m);
	}
	return NULL;
}

static const char *word(const char **s, char *buf, size_t len)
{
	while (isspace((unsigned char)**s))
		(*s)++;
	size_t n = 0;
	while (**s && !isspace((unsigned char)**s)) {
		if (n + 1 < len)
			buf[n++] = **s;
		(*s)++;
	}
	buf[n] = 0;
	return n ? buf : NULL;
}

static int64_t clamp_num(const char *w, int64_t lo, int64_t hi)
{
	long long v = w ? strtoll(w, NULL, 10) : 0;
	return v < lo ? lo : v > hi ? hi : v;
}

int ch_uci_parse_go(const char *args, ch_limits *lim, int *perft)
{
	char w[32], v[32];
	const char *s = args;
	const int64_t day = 86400000;
	*perft = 0;
	while (word(&s, w, sizeof w)) {
		const char *val = NULL;
		if (strcmp(w, "infinite") && strcmp(w, "ponder"))
			val = word(&s, v, sizeof v);
		if (!strcmp(w, "depth"))
			lim->depth = (int)clamp_num(val, 1, CH_MAX_PLY - 5);
		else if (!strcmp(w, "nodes"))
			lim->nodes = (uint64_t)clamp_num(val, 1, INT64_MAX);
		else if (!strcmp(w, "movetime"))
			lim->movetime_ms = clamp_num(val, 1, day);
		else if (!strcmp(w, "wtime"))
			lim->time_ms[CH_WHITE] = clamp_num(val, 1, day);
		else if (!strcmp(w, "btime"))
			lim->time_ms[CH_BLACK] = clamp_num(val, 1, day);
		else if (!strcmp(w, "winc"))
			lim->inc_ms[CH_WHITE] = clamp_num(val, 0, day);
		else if (!strcmp(w, "binc"))
			lim->inc_ms[CH_BLACK] = clamp_num(val, 0, day);
		else if (!strcmp(w, "movestogo"))
			lim->movestogo = (int)clamp_num(val, 1, 1000);
		else if (!strcmp(w, "perft"))
			*perft = (int)clamp_num(val, 1, 7); /* 7: minutes; it cannot be stopped */
		else if (strcmp(w, "infinite") && strcmp(w, "ponder") && strcmp(w, "mate"))
			return -EINVAL;
	}
	return 0;
}

static int cmd_position(ch_uci *u, const char *s)
{
	char w[16];
	ch_pos p;
	char err[160];
	const char *kind = word(&s, w, sizeof w);
	if (kind && !strcmp(kind, "startpos")) {
		ch_fen_parse(CH_START_FEN, &p, NULL, 0);
	} else if (kind && !strcmp(kind, "fen")) {
		char fen[CH_FEN_MAX + 20];
		const char *mv = strstr(s, " moves");
		size_t n = mv ? (size_t)(mv - s) : strlen(s);
		if (n >= sizeof fen) {
			say(u, "info string FEN too long");
			return -EINVAL;
		}
		memcpy(fen, s, n);
		fen[n] = 0;
		if (ch_fen_parse(fen, &p, err, sizeof err) < 0) {
			say(u, "info string %s", err);
			return -EINVAL;
		}
		s = mv ? mv : s + n;
	} else {
		say(u, "info string position: startpos or fen expected");
		return -EINVAL;
	}
	u->nkeys = 0;
	if (word(&s, w, sizeof w) && strcmp(w, "moves")) {
		say(u, "info string position: 'moves' expected, not '%s'", w);
		return -EINVAL;
	}
	while (word(&s, w, sizeof w)) {
		ch_move m;
		if (ch_move_parse_uci(&p, w, &m) < 0) {
			say(u, "info string position: illegal move %s", w);
			return -EINVAL;
		}
		if (u->nkeys == u->keys_cap) {
			size_t cap = u->keys_cap ? u->keys_cap * 2 : 64;
			uint64_t *k = realloc(u->keys, cap * sizeof *k);
			if (!k)
				return -ENOMEM;
			u->keys = k;
			u->keys_cap = cap;
		}
		u->keys[u->nkeys++] = p.key;
		ch_make(&p, m);
	}
	u->pos = p;
	return 0;
}

static void cmd_setoption(ch_uci *u, const char *s)
{
	/* setoption name Skill Level value N */
	const char *name = strstr(s, "name "), *value = strstr(s, " value ");
	if (!name || !value) {
		say(u, "info string setoption: name ... value ... expected");
		return;
	}
	name += 5;
	if (!strncasecmp(name, "Skill Level", 11))
		u->skill = (int)clamp_num(value + 7, 0, CH_SKILL_MAX);
	else if (!strncasecmp(name, "Clear Hash", 10))
		ch_search_clear(u->search);
	else
		say(u, "info string unknown option %.*s", (int)(value - name), name);
}

int ch_uci_command(ch_uci *u, const char *line)
{
	char w[32];
	const char *s = line;
	const char *cmd = word(&s, w, sizeof w);
	if (!cmd)
		return 0;
	if (!strcmp(cmd, "uci")) {
		say(u, "id name Haven ChessEngine\nid author the Haven project\n"
		       "option name Skill Level type spin default 20 min 0 max 20\n"
		       "option name Clear Hash type button\nuciok");
	} else if (!strcmp(cmd, "isready")) {
		say(u, "readyok");
	} else if (!strcmp(cmd, "ucinewgame")) {
		wait_search(u, true);
		ch_search_clear(u->search);
	} else if (!strcmp(cmd, "position")) {
		wait_search(u, true);
		cmd_position(u, s);
	} else if (!strcmp(cmd, "go")) {
		wait_search(u, true);
		ch_limits lim = {.skill = u->skill};
		if (ch_uci_parse_go(s, &lim, &u->perft) < 0) {
			say(u, "info string go: unknown argument");
			return 0;
		}
		u->lim = lim;
		ch_search_arm(u->search);
		u->running = pthread_create(&u->thread, NULL, search_thread, u) == 0;
		if (!u->running)
			say(u, "info string cannot start the search");
	} else if (!strcmp(cmd, "stop")) {
		wait_search(u, true);
	} else if (!strcmp(cmd, "setoption")) {
		wait_search(u, true);
		cmd_setoption(u, s);
	} else if (!strcmp(cmd, "quit")) {
		wait_search(u, true);
		return 1;
	} else if (strcmp(cmd, "ponderhit") && strcmp(cmd, "debug") && strcmp(cmd, "register")) {
		say(u, "info string unknown command %s", cmd);
	}
	return 0;
}

int ch_uci_main(FILE *in, FILE *out)
{
	ch_uci *u;
	if (ch_uci_new(out, &u) < 0)
		return 1;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, in) >= 0)
		if (ch_uci_command(u, line))
			break;
	/* End of input: a search with limits finishes (a script piping
	 * "go depth 5" wants its answer); an infinite one is stopped. */
	const ch_limits *l = &u->lim;
	wait_search(u, !(l->depth || l->nodes || l->movetime_ms || l->time_ms[0] || l->time_ms[1]));
	free(line);
	ch_uci_free(u);
	return 0;
}
