/* ipc-burst-cost — not a test: what the receiving side of a burst of
 * one-way messages costs per message, in one process (no sandbox, so it
 * runs under callgrind: `valgrind --tool=callgrind ipc-burst-cost`): a
 * socketpair, TestServer served on one end by a loop, 64 KiB of
 * hand-made sink(8 bytes) frames written into the other end, then
 * dispatched; repeated. Prints CPU ns per message (user + system). */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/loop.h>

#include "frame.h"
#include "testproto.h"

static unsigned long handled;

static int on_sink(hv_call *call, const test_server_sink_req *req)
{
	handled++;
	return 0;
}

static double cpu_s(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec +
	       ((double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;
	int sv[2];
	hv_loop *loop;
	hv_conn *c;
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	int big = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_conn_from_fd(loop, sv[1], &c), 0);
	static test_server_handlers h;
	h = ts_handlers;
	h.sink = on_sink;
	REQUIRE_EQ(hv_conn_serve(c, &test_server_endpoint, &h), 0);
	static uint8_t burst[64 << 10];
	size_t len = 0, per = 0;
	uint8_t payload[4 + 8] = {8, 0, 0, 0};
	while (len + HV_IPC_HEADER_SIZE + sizeof payload <= sizeof burst) {
		hv_frame_hdr fh = {.len = sizeof payload, .magic = test_server_endpoint.magic,
				   .id = TEST_SERVER_MSG_SINK, .kind = HV_MSG_ONEWAY};
		hv_frame_hdr_write(burst + len, &fh);
		memcpy(burst + len + HV_IPC_HEADER_SIZE, payload, sizeof payload);
		len += HV_IPC_HEADER_SIZE + sizeof payload;
		per++;
	}
	double t0 = cpu_s();
	for (unsigned i = 0; i < rounds; i++) {
		REQUIRE_EQ(hv_write_full(sv[0], burst, len), 0);
		while (handled < (unsigned long)per * (i + 1))
			REQUIRE(hv_loop_run_once(loop, 1000) >= 0);
	}
	double t = cpu_s() - t0;
	printf("%lu messages in %u bursts of %zu: %.1f ns CPU per message (write + read + dispatch)\n",
	       handled, rounds, per, t * 1e9 / (double)handled);
	hv_conn_close(c);
	hv_loop_free(loop);
	close(sv[0]);
	return 0;
}
