/* echo-client — make N sync Echo calls to EchoServer and say what happened.
 *
 *   echo-client [--count N] [--size BYTES] [--socket PATH]
 *
 * Without --socket it connects to the "echo" portal (see hv_portal_path).
 * Every reply is checked against what was sent. Exit codes: 0 all calls
 * echoed, 1 a connection or call failed, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "cli.h"

#include "EchoServer.ipc.h"

/* EchoServer's portal (etc/services/EchoServer.ini). */
#define PORTAL "echo"

/* A String travels inline; bigger data belongs in EchoBuffer. */
#define MAX_SIZE ((uint64_t)64 << 20)
#define MAX_COUNT 10000000u

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: echo-client [--count N] [--size BYTES] [--socket PATH]\n"
		"Make N synchronous Echo calls to EchoServer and print what they did.\n\n"
		"  -n, --count N        calls to make (default 1, at most %u)\n"
		"  -s, --size BYTES     text length of each call (default 64, at most %" PRIu64 ")\n"
		"  -S, --socket PATH    server socket (default: the \"echo\" portal)\n"
		"  -h, --help           show this help\n\n"
		"Exit status: 0 every call echoed, 1 connection or call failed, 2 bad usage.\n"
		CLI_TIMEOUT_HELP,
		MAX_COUNT, MAX_SIZE);
}

static int usage_error(void)
{
	usage(stderr);
	return 2;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	cli_init("echo-client", "EchoServer", usage);
	static const struct option longopts[] = {
		{"count", required_argument, NULL, 'n'},
		{"size", required_argument, NULL, 's'},
		{"socket", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	uint64_t count = 1, size = 64;
	const char *socket_path = NULL;
	_hv_free_ char *text = NULL;
	_hv_free_ uint64_t *samples = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "n:s:S:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (hv_parse_u64(optarg, MAX_COUNT, &count) < 0 || count == 0) {
				fprintf(stderr, "echo-client: --count must be 1..%u, got '%s'\n",
					MAX_COUNT, optarg);
				return usage_error();
			}
			break;
		case 's':
			if (hv_parse_u64(optarg, MAX_SIZE, &size) < 0) {
				fprintf(stderr,
					"echo-client: --size must be 0..%" PRIu64 ", got '%s'\n",
					MAX_SIZE, optarg);
				return usage_error();
			}
			break;
		case 'S':
			socket_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return usage_error();
		}
	}
	if (optind < argc) {
		fprintf(stderr, "echo-client: unexpected argument '%s'\n", argv[optind]);
		return usage_error();
	}

	char where[4096];
	if (socket_path)
		snprintf(where, sizeof where, "%s", socket_path);
	else if (hv_portal_path(PORTAL, where, sizeof where) < 0)
		snprintf(where, sizeof where, "portal \"" PORTAL "\"");

	text = malloc(size + 1);
	samples = malloc(count * sizeof *samples);
	if (!text || !samples) {
		fprintf(stderr, "echo-client: out of memory\n");
		return 1;
	}
	/* Printable, and different at every position mod 62, so a reply cut or
	 * shifted anywhere is caught by the comparison. */
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	for (uint64_t i = 0; i < size; i++)
		text[i] = alphabet[i % (sizeof alphabet - 1)];
	text[size] = '\0';

	hv_conn *conn = NULL;
	if (cli_connect(NULL, PORTAL, socket_path, &conn) < 0)
		return 1;

	int r;
	uint64_t total0 = hv_now_ns();
	for (uint64_t i = 0; i < count; i++) {
		const char *back = NULL;
		uint64_t t0 = hv_now_ns();
		r = echo_server_echo(conn, text, &back);
		samples[i] = hv_now_ns() - t0;
		if (r < 0) {
			char what[4200];
			snprintf(what, sizeof what, "call %" PRIu64 " of %" PRIu64 " to %s", i + 1, count,
				 where);
			cli_fail(conn, r, what);
			hv_conn_close(conn);
			return 1;
		}
		if (strcmp(back, text) != 0) {
			fprintf(stderr, "echo-client: call %" PRIu64 ": the reply differs from the text sent\n",
				i + 1);
			hv_conn_close(conn);
			return 1;
		}
	}
	uint64_t total = hv_now_ns() - total0;
	hv_conn_close(conn);

	qsort(samples, count, sizeof *samples, cmp_u64);
	printf("echo-client: %" PRIu64 " Echo call%s of %" PRIu64 " bytes to %s: %" PRIu64
	       " bytes each way, median %.1f us per call, total %.3f ms\n",
	       count, count == 1 ? "" : "s", size, where, count * size,
	       (double)samples[count / 2] / 1e3, (double)total / 1e6);
	return 0;
}
