/* test-backend — a UCI engine behind the endpoint: Debian's stockfish
 * (when installed) answers searches through the same calls and events,
 * and fake engines that crash, hang or cheat are reported to the client
 * as search_failed while the service stays up and its own engine goes on
 * working. Started as SystemServer would, one service per engine.
 *   test-backend CHESSENGINE_EXE FAKE_ENGINE_SCRIPT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chess_client.h"
#include "service.h"

static int infos;

static void count(void *ud, const chess_client_info_req *in)
{
	(void)ud;
	CHECK(in->pv.count >= 1);
	infos++;
}

static chc *open_client(svc_fixture *f)
{
	chc *c;
	REQUIRE(chc_from_conn(svc_connect(f), &c) == 0);
	chc_set_timeout(c, 60000);
	return c;
}

/* The own engine still answers on this connection. */
static void own_engine_works(chc *c)
{
	chess_engine_limits lim = {.depth = 3, .skill = 20};
	char best[CHC_MOVE_MAX];
	CHECK_EQ(chc_search(c, &lim, NULL, NULL, best, NULL), 0);
	CHECK_EQ(chc_play(c, best, NULL, NULL, NULL), 0);
}

static void test_stockfish(const char *exe)
{
	if (access("/usr/games/stockfish", X_OK) != 0) {
		printf("stockfish not installed: skipped\n");
		return;
	}
	svc_fixture f;
	const char *args[] = {"--uci-engine", "/usr/games/stockfish", NULL};
	svc_start(&f, exe, "chess", args);
	chc *c = open_client(&f);
	const char *moves[] = {"f3", "e5", "g4"};
	CHECK_EQ(chc_set_position(c, "startpos", moves, 3, NULL), 0);
	chess_engine_limits lim = {.depth = 6, .skill = 20, .engine = CHESS_ENGINE_ENGINE_UCI};
	char best[CHC_MOVE_MAX], san[CHC_MOVE_MAX];
	infos = 0;
	CHECK_EQ(chc_search(c, &lim, count, NULL, best, san), 0);
	CHECK_STR(san, "Qh4#");
	CHECK(infos >= 1);
	/* a second search reuses the child; stop ends an infinite one */
	CHECK_EQ(chc_set_position(c, "startpos", NULL, 0, NULL), 0);
	lim = (chess_engine_limits){.skill = 20, .engine = CHESS_ENGINE_ENGINE_UCI};
	CHECK_EQ(chc_go(c, &lim, NULL), 0);
	usleep(300 * 1000);
	CHECK_EQ(chc_stop(c), 0);
	CHECK_EQ(chc_wait(c, NULL, NULL, best, NULL), 0);
	CHECK_EQ(chc_play(c, best, NULL, NULL, NULL), 0);
	own_engine_works(c);
	chc_close(c);
	svc_stop(&f);
}

/* MODE is read by the fake engine from its environment. */
static void test_fake(const char *exe, const char *fake, const char *mode, const char *why)
{
	svc_fixture f;
	const char *args[] = {"--uci-engine", fake, "--uci-timeout", "500", NULL};
	setenv("FAKE_UCI_MODE", mode, 1);
	svc_start(&f, exe, "chess", args);
	chc *c = open_client(&f);
	chess_engine_limits lim = {.depth = 5, .skill = 20, .engine = CHESS_ENGINE_ENGINE_UCI};
	char best[CHC_MOVE_MAX];
	for (int round = 0; round < 2; round++) { /* and again: a fresh child each time */
		int r = chc_search(c, &lim, NULL, NULL, best, NULL);
		CHECK_MSG(r == CHC_ERR_SEARCH_FAILED, "%s: %d", mode, r);
		CHECK_MSG(strstr(chc_strerror(c, r), why), "%s: \"%s\", expected \"%s\"", mode,
			  chc_strerror(c, r), why);
	}
	CHECK(svc_alive(&f));
	own_engine_works(c);
	chc_close(c);
	svc_stop(&f);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 3);
	test_stockfish(argv[1]);
	test_fake(argv[1], argv[2], "crash", "the UCI engine crashed (signal 11");
	test_fake(argv[1], argv[2], "hang", "did not answer within 500 ms");
	test_fake(argv[1], argv[2], "silent", "did not answer within 500 ms");
	test_fake(argv[1], argv[2], "illegal", "illegal move (e2e5)");
	test_fake(argv[1], argv[2], "exit", "exited with status 3");
	/* an engine that cannot be started at all: NoEngine */
	svc_fixture f;
	const char *args[] = {"--uci-engine", "/nonexistent/engine", NULL};
	svc_start(&f, argv[1], "chess", args);
	chc *c = open_client(&f);
	chess_engine_limits lim = {.depth = 2, .engine = CHESS_ENGINE_ENGINE_UCI};
	int r = chc_go(c, &lim, NULL);
	CHECK_EQ(r, CHESS_ENGINE_ERR_NO_ENGINE);
	CHECK(strstr(chc_strerror(c, r), "cannot start /nonexistent/engine"));
	own_engine_works(c);
	chc_close(c);
	svc_stop(&f);
	return check_result();
}
