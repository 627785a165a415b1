/* tests/ipc/testproto.h — a hand-written test endpoint pair (what ipcc
 * would generate, written out small) and a test server to fork, shared by
 * the lib/ipc tests and the round-trip measurement. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include <haven/ipc.h>

#include "check.h" /* tests/lib: REQUIRE* end the test at once */

/* endpoint TestServer {
 *   echo(String text) => (String text)                       1
 *   add(i32 a, i32 b) => (i32 sum)                           2
 *   fail(i32 code, String message) => ()                     3
 *   hold(String tag) => (String tag)  (held; answered by release, in reverse) 4
 *   release() =|                                             5
 *   ping(u64 seq) =|                 (answered by the event pong)            6
 *   pass_fds(File pipe, Buffer buf) => (String text, u64 sum) 7
 *   get_pipe(String text) => (File fd)                       8
 *   sleep(u32 ms) => ()                                      9
 *   crash() => ()                    (the server _exits mid-call)            10
 *   bitmap(Bitmap b) => (u64 sum)                            11
 *   make_buffer(u32 size) => (Buffer b)  (sealed read-only)  12
 *   flood(u32 count, u32 size, bool with_fd) =|  (count events back)         13
 *   broadcast(u64 seq) =|           (pong(seq) to every connected client)   14
 *   sink(bytes data) =|              (counted, per server process)           15
 *   sunk() => (u64 bytes)            (bytes sunk so far)                     16
 * }
 * endpoint TestClient { pong(u64 seq) =|   blob(bytes data, Optional<File> fd) =| } */
enum {
	TS_ECHO = 1, TS_ADD, TS_FAIL, TS_HOLD, TS_RELEASE, TS_PING, TS_PASS_FDS, TS_GET_PIPE,
	TS_SLEEP, TS_CRASH, TS_BITMAP, TS_MAKE_BUFFER, TS_FLOOD, TS_BROADCAST, TS_SINK, TS_SUNK, TS_COUNT = TS_SUNK
};
enum { TC_PONG = 1, TC_BLOB, TC_COUNT = TC_BLOB };

extern const hv_endpoint test_server_endpoint;
extern const hv_endpoint test_client_endpoint;

/* What the client side records from TestClient events. */
struct test_client_state {
	uint64_t pongs[4096];
	unsigned npongs;
	unsigned nblobs;
	size_t blob_bytes;
};
extern struct test_client_state test_client_state;

/* If set, forked test servers append their stderr to this file. */
extern const char *test_server_stderr;
/* Fork a TestServer listening on path (ready when this returns). With
 * hook non-NULL, it runs in the child after the server is made. */
pid_t test_server_fork(const char *path, void (*hook)(hv_server *s));
/* The child's body: serve until killed (used by test_server_fork and by
 * tests that start the server their own way). */
int test_server_main(int argc, char **argv, void (*hook)(hv_server *s)) __attribute__((noreturn));
/* Kill and reap. */
void test_server_kill(pid_t pid);
/* mkdtemp'd directory for sockets; removed by test_tmp_cleanup(). */
const char *test_tmpdir(void);
void test_tmp_cleanup(void);

/* Bytes this process's TestServer handlers have sunk (TS_SINK). */
uint64_t test_sunk_bytes(void);

/* Typed client helpers over hv_conn_call (what ipcc generates). */
int ts_echo(hv_conn *c, const char *text, const char **out);
int ts_add(hv_conn *c, int32_t a, int32_t b, int32_t *sum);
int ts_sleep(hv_conn *c, uint32_t ms);
int ts_oneway(hv_conn *c, uint16_t id, uint64_t v);
