/* chess — chess from the shell, through ChessEngine's client library.
 *
 *   chess [--json] perft FEN DEPTH
 *   chess bestmove FEN [--depth N | --movetime MS | --nodes N] [--engine own|stockfish]
 *   chess play [FEN] [--black] [--depth N | --movetime MS] [--skill N]
 *
 * FEN may be "startpos". `play` draws the board with Unicode pieces and
 * reads one move a line (SAN or UCI; also "undo", "moves", "pgn",
 * "quit"), so a pipe or tmux can drive it as well as a person. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/options.h>

#include "chess_client.h"
#include "cli.h"

static const char *socket_path, *engine_name = "own", *moves_arg;
static int64_t depth, movetime, nodes, skill = 20;
static bool play_black, verbose, json;

static const hv_option options[] = {
	HV_OPT_STRING("socket", "PATH", &socket_path, "the service's socket (default: the chess portal)"),
	HV_OPT_INT("depth", "N", &depth, 1, 64, "search N plies"),
	HV_OPT_INT("movetime", "MS", &movetime, 1, 86400000, "search MS milliseconds"),
	HV_OPT_INT("nodes", "N", &nodes, 1, INT64_MAX, "search N nodes"),
	HV_OPT_STRING("engine", "own|stockfish", &engine_name, "which engine searches (default own)"),
	HV_OPT_INT("skill", "N", &skill, 0, 20, "0 (weakest) .. 20 (default)"),
	HV_OPT_STRING("moves", "\"M1 M2...\"", &moves_arg, "moves played from FEN first"),
	HV_OPT_FLAG("black", &play_black, "play: you take black"),
	HV_OPT_FLAG("verbose", &verbose, "bestmove: print the search's info lines on stderr"),
	HV_OPT_FLAG("json", &json, "perft, bestmove: one JSON object on stdout ({\"nodes\"};\n"
				   "{\"bestmove\", \"san\", and the last depth, score_cp, mate,\n"
				   "nodes, time_ms, pv})"),
	{0},
};

static const hv_option *const tables[] = {options, NULL};
static const hv_cmdline cmd = {
	.name = "chess",
	.args = "perft FEN DEPTH | bestmove FEN | play [FEN]",
	.summary = "Chess through ChessEngine. FEN may be \"startpos\". perft prints the leaf\n"
		   "count, bestmove the move in UCI notation; play is a game against the\n"
		   "engine, one move a line (SAN or UCI, or undo, moves, pgn, quit).\n"
		   "Exit: 0 done, 1 the service refused or failed, 2 usage.\n" CLI_TIMEOUT_HELP,
	.tables = tables,
	.min_args = 1,
	.max_args = 3,
};

static void usage(FILE *f) { hv_options_usage(&cmd, f); }

static int fail(chc *c, int r, const char *what)
{
	if (r != CHC_ERR_SEARCH_FAILED)
		return cli_fail(c ? chc_conn(c) : NULL, r, what);
	fprintf(stderr, "chess: %s: %s\n", what, chc_strerror(c, r));
	return 1;
}

static int set_position(chc *c, const char *fen, chc_state *st)
{
	const char *moves[512];
	size_t n = 0;
	char *copy = moves_arg ? strdup(moves_arg) : NULL, *save = NULL;
	for (char *t = copy ? strtok_r(copy, " ,", &save) : NULL; t && n < 512;
	     t = strtok_r(NULL, " ,", &save))
		moves[n++] = t;
	int r = chc_set_position(c, fen, moves, n, st);
	free(copy);
	return r < 0 ? fail(c, r, fen) : 0;
}

static bool limits(chess_engine_limits *lim)
{
	*lim = (chess_engine_limits){.depth = (uint32_t)depth, .movetime_ms = (uint32_t)movetime,
				     .nodes = (uint64_t)nodes, .skill = (uint8_t)skill};
	if (!strcmp(engine_name, "stockfish") || !strcmp(engine_name, "uci"))
		lim->engine = CHESS_ENGINE_ENGINE_UCI;
	else if (strcmp(engine_name, "own"))
		return false;
	if (!depth && !movetime && !nodes)
		lim->movetime_ms = 1000;
	return true;
}

static int do_perft(chc *c, char **args)
{
	char *end;
	long d = strtol(args[2], &end, 10);
	if (*end || d < 1 || d > 7)
		return cli_usage_error("DEPTH must be 1..7, not %s", args[2]);
	if (set_position(c, args[1], NULL))
		return 1;
	uint64_t n;
	int r = chc_perft(c, (unsigned)d, &n);
	if (r < 0)
		return fail(c, r, "perft");
	printf(json ? "{\"nodes\":%llu}\n" : "%llu\n", (unsigned long long)n);
	return 0;
}

static void print_info(void *ud, const chess_client_info_req *in)
{
	(void)ud;
	fprintf(stderr, "depth %u score %s%d nodes %llu nps %llu pv", in->depth,
		in->mate ? "mate " : "cp ", in->mate ? in->mate : in->score_cp,
		(unsigned long long)in->nodes, (unsigned long long)in->nps);
	for (size_t i = 0; i < in->pv.count; i++)
		fprintf(stderr, " %s", in->pv.items[i]);
	fputc('\n', stderr);
}

/* The last info line of a search, for --json. */
struct last_info {
	uint32_t depth;
	int32_t score_cp, mate;
	uint64_t nodes, time_ms;
	char pv[1024];
};

static void keep_info(void *ud, const chess_client_info_req *in)
{
	struct last_info *l = ud;
	*l = (struct last_info){.depth = in->depth, .score_cp = in->score_cp, .mate = in->mate,
				.nodes = in->nodes, .time_ms = in->time_ms};
	size_t off = 0;
	for (size_t i = 0; i < in->pv.count && off + 16 < sizeof l->pv; i++)
		off += (size_t)snprintf(l->pv + off, sizeof l->pv - off, "%s\"%s\"", i ? "," : "",
					in->pv.items[i]);
	if (verbose)
		print_info(NULL, in);
}

static void print_json(const char *best, const char *san, const struct last_info *l)
{
	fputs("{\"bestmove\":", stdout);
	cli_json_string(stdout, best);
	fputs(",\"san\":", stdout);
	cli_json_string(stdout, san);
	/* Moves are UCI or SAN tokens ([a-h1-8qrbnKQRBNx+#=O-]): no escaping. */
	printf(",\"depth\":%u,\"score_cp\":%d,\"mate\":%d,\"nodes\":%llu,\"time_ms\":%llu,\"pv\":[%s]}\n",
	       l->depth, l->score_cp, l->mate, (unsigned long long)l->nodes, (unsigned long long)l->time_ms,
	       l->pv);
}

static int do_bestmove(chc *c, char **args)
{
	chess_engine_limits lim;
	if (!limits(&lim))
		return cli_usage_error("--engine is own or stockfish, not %s", engine_name);
	if (set_position(c, args[1], NULL))
		return 1;
	char best[CHC_MOVE_MAX], san[CHC_MOVE_MAX];
	struct last_info last = {0};
	int r = json ? chc_search(c, &lim, keep_info, &last, best, san)
		     : chc_search(c, &lim, verbose ? print_info : NULL, NULL, best, NULL);
	if (r < 0)
		return fail(c, r, "bestmove");
	if (json)
		print_json(best, san, &last);
	else
		printf("%s\n", best);
	return 0;
}

int chess_play(chc *c, const chess_engine_limits *lim, bool human_white);

int main(int argc, char **argv)
{
	cli_init("chess", "ChessEngine", usage);
	int first = 0;
	hv_options_permute(&cmd, argc, argv); /* options may follow the verb */
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	char **args = argv + first;
	int nargs = argc - first;
	const char *verb = args[0];
	if (!((!strcmp(verb, "perft") && nargs == 3) || (!strcmp(verb, "bestmove") && nargs == 2) ||
	      (!strcmp(verb, "play") && nargs <= 2)))
		return cli_usage_error("unknown verb or wrong arguments: %s", verb);
	chess_engine_limits lim;
	if (!limits(&lim))
		return cli_usage_error("--engine is own or stockfish, not %s", engine_name);
	hv_conn *conn;
	if (cli_connect(NULL, CHC_PORTAL, socket_path, &conn) < 0)
		return 1;
	chc *c;
	if ((r = chc_from_conn(conn, &c)) < 0)
		return fail(NULL, r, "connect");
	chc_set_timeout(c, cli_timeout_ms());
	if (!strcmp(verb, "perft"))
		r = do_perft(c, args);
	else if (!strcmp(verb, "bestmove"))
		r = do_bestmove(c, args);
	else if ((r = set_position(c, nargs == 2 ? args[1] : "startpos", NULL)) == 0)
		r = chess_play(c, &lim, !play_black);
	chc_close(c);
	return r;
}
