/* test_service.c — ConfigServer as a real process, through the generated
 * client, started the way SystemServer starts it (a listening socket handed
 * over as fd 3 with LISTEN_FDS), the test playing the manager:
 *   API (every type, absent values, lists, removals, defaults), bad input
 *   (clear typed errors, connection kept), atomic batches, events to the
 *   right clients only (and hand edits), pledges and permissive mode, many
 *   concurrent clients, peers that misbehave or die mid-call, FIFOs planted
 *   at a domain's file and a temp file's name, a socket and a symlink at a
 *   domain's file (refused, logged, the server keeps serving), and a writer
 *   looping while the server is SIGKILLed at random moments and respawned:
 *   every acknowledged write survives and the file always parses.
 *
 *   test-config-service CONFIGSERVER
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "ConfigClient.ipc.h"
#include "ConfigServer.ipc.h"
#include "check.h"
#include "durability.h"
#include "service.h"
#include "store.h"

/* The server under a manager of the test's own (tests/lib/service.h), on
 * dir/user over the read-only dir/defaults. */
static svc_fixture fx;
static char user_dir[128], defs_dir[128];
static const char *const server_args[] = {"--config-dir", user_dir, "--defaults", defs_dir, NULL};

static void start_server(void) { svc_respawn(&fx); }

static void kill_server(int sig)
{
	int st = svc_kill(&fx, sig);
	if (sig == SIGTERM)
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static hv_conn *connect_client(void) { return svc_connect(&fx); }

static bool error_says(hv_conn *c, const char *words)
{
	const hv_ipc_error *e = hv_conn_last_error(c);
	if (e && e->message && strstr(e->message, words))
		return true;
	fprintf(stderr, "error message \"%s\" lacks \"%s\"\n", e && e->message ? e->message : "",
		words);
	return false;
}

/* --- events, recorded ----------------------------------------------------- */
typedef struct events {
	char line[32][200];
	int n;
} events;

static events *ev_of(hv_call *call) { return hv_conn_userdata(hv_call_conn(call)); }

static void ev_add(hv_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ev_add(hv_call *call, const char *fmt, ...)
{
	events *e = ev_of(call);
	if (!e || e->n >= 32)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->line[e->n++], sizeof(e->line[0]), fmt, ap);
	va_end(ap);
}

static int on_str(hv_call *call, const config_client_notify_changed_string_value_req *r)
{
	ev_add(call, "%s %s %s = %s", r->domain, r->group, r->key, r->value);
	return 0;
}
static int on_i32(hv_call *call, const config_client_notify_changed_i32_value_req *r)
{
	ev_add(call, "%s %s %s = i32 %d", r->domain, r->group, r->key, r->value);
	return 0;
}
static int on_u32(hv_call *call, const config_client_notify_changed_u32_value_req *r)
{
	ev_add(call, "%s %s %s = u32 %u", r->domain, r->group, r->key, r->value);
	return 0;
}
static int on_bool(hv_call *call, const config_client_notify_changed_bool_value_req *r)
{
	ev_add(call, "%s %s %s = bool %d", r->domain, r->group, r->key, r->value);
	return 0;
}
static int on_rmkey(hv_call *call, const config_client_notify_removed_key_req *r)
{
	ev_add(call, "%s %s %s removed", r->domain, r->group, r->key);
	return 0;
}
static int on_rmgroup(hv_call *call, const config_client_notify_removed_group_req *r)
{
	ev_add(call, "%s %s removed", r->domain, r->group);
	return 0;
}
static int on_addgroup(hv_call *call, const config_client_notify_added_group_req *r)
{
	ev_add(call, "%s %s added", r->domain, r->group);
	return 0;
}

static const config_client_handlers ev_handlers = {
	.notify_changed_string_value = on_str,
	.notify_changed_i32_value = on_i32,
	.notify_changed_u32_value = on_u32,
	.notify_changed_bool_value = on_bool,
	.notify_removed_key = on_rmkey,
	.notify_removed_group = on_rmgroup,
	.notify_added_group = on_addgroup,
};

static hv_conn *connect_listener(events *e, const char *domain)
{
	hv_conn *c = connect_client();
	CHECK_EQ(hv_conn_serve(c, &config_client_endpoint, &ev_handlers), 0);
	hv_conn_set_userdata(c, e);
	if (domain)
		CHECK_EQ(config_server_monitor_domain(c, domain), 0);
	return c;
}

/* Events a server sends a connection precede any later reply on it, so
 * after a sync call every event caused before it has arrived: dispatch
 * what is queued without waiting. */
static void settle(hv_conn *c)
{
	hv_vec_bytestring g;
	CHECK_EQ(config_server_list_config_groups(c, "Settle", &g), 0);
	while (hv_conn_dispatch(c, 0) > 0)
		;
}

/* --- tests ---------------------------------------------------------------- */
/* The server runs confined: a seccomp filter and no_new_privs (its Landlock
 * layer is not visible in /proc; the store's paths are its only ones). */
static void test_sandboxed(void)
{
	hv_conn *c = connect_client(); /* the server is up once it answers */
	hv_vec_bytestring g;
	CHECK_EQ(config_server_list_config_groups(c, "Api", &g), 0);
	hv_conn_close(c);
	char path[64], status[4096] = "";
	snprintf(path, sizeof(path), "/proc/%d/status", (int)fx.pid);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	if (f) {
		size_t n = fread(status, 1, sizeof(status) - 1, f);
		status[n] = '\0';
		fclose(f);
	}
	CHECK(strstr(status, "NoNewPrivs:\t1") != NULL);
	CHECK(strstr(status, "Seccomp:\t2") != NULL);
}

static void test_api(void)
{
	hv_conn *c = connect_client();
	CHECK_EQ(config_server_write_string_value(c, "Api", "Window", "title", "Hello, world"), 0);
	CHECK_EQ(config_server_write_i32_value(c, "Api", "Window", "x", -42), 0);
	CHECK_EQ(config_server_write_u32_value(c, "Api", "Window", "width", 4000000000u), 0);
	CHECK_EQ(config_server_write_bool_value(c, "Api", "Window", "visible", true), 0);

	hv_opt_bytestring s;
	CHECK_EQ(config_server_read_string_value(c, "Api", "Window", "title", &s), 0);
	CHECK(s.present);
	if (s.present)
		CHECK_STR(s.value, "Hello, world");
	hv_opt_i32 i;
	CHECK_EQ(config_server_read_i32_value(c, "Api", "Window", "x", &i), 0);
	CHECK(i.present && i.value == -42);
	hv_opt_u32 u;
	CHECK_EQ(config_server_read_u32_value(c, "Api", "Window", "width", &u), 0);
	CHECK(u.present && u.value == 4000000000u);
	hv_opt_bool b;
	CHECK_EQ(config_server_read_bool_value(c, "Api", "Window", "visible", &b), 0);
	CHECK(b.present && b.value);

	/* Absent: an empty Optional, not an error. */
	CHECK_EQ(config_server_read_string_value(c, "Api", "Window", "nope", &s), 0);
	CHECK(!s.present);
	CHECK_EQ(config_server_read_i32_value(c, "Nowhere", "G", "k", &i), 0);
	CHECK(!i.present);
	/* Present but not that type: a clear error. */
	CHECK_EQ(config_server_read_i32_value(c, "Api", "Window", "title", &i), -EINVAL);
	CHECK(error_says(c, "not an i32"));
	CHECK_EQ(config_server_read_u32_value(c, "Api", "Window", "x", &u), -EINVAL);
	CHECK_EQ(config_server_read_bool_value(c, "Api", "Window", "x", &b), -EINVAL);

	/* Lists, removals, empty groups. */
	CHECK_EQ(config_server_add_group_entry(c, "Api", "Empty"), 0);
	hv_vec_bytestring names;
	CHECK_EQ(config_server_list_config_groups(c, "Api", &names), 0);
	CHECK_EQ(names.count, 2);
	if (names.count == 2) {
		CHECK_STR(names.items[0], "Window");
		CHECK_STR(names.items[1], "Empty");
	}
	CHECK_EQ(config_server_list_config_keys(c, "Api", "Window", &names), 0);
	CHECK_EQ(names.count, 4);
	CHECK_EQ(config_server_remove_key_entry(c, "Api", "Window", "x"), 0);
	CHECK_EQ(config_server_read_i32_value(c, "Api", "Window", "x", &i), 0);
	CHECK(!i.present);
	CHECK_EQ(config_server_remove_group_entry(c, "Api", "Window"), 0);
	CHECK_EQ(config_server_list_config_groups(c, "Api", &names), 0);
	CHECK_EQ(names.count, 1);

	/* Defaults show under the user's values and again after removal. */
	CHECK_EQ(config_server_read_string_value(c, "Shipped", "Theme", "name", &s), 0);
	CHECK(s.present && !strcmp(s.value, "Default"));
	CHECK_EQ(config_server_write_string_value(c, "Shipped", "Theme", "name", "Dark"), 0);
	CHECK_EQ(config_server_read_string_value(c, "Shipped", "Theme", "name", &s), 0);
	CHECK(s.present && !strcmp(s.value, "Dark"));
	CHECK_EQ(config_server_remove_key_entry(c, "Shipped", "Theme", "name"), 0);
	CHECK_EQ(config_server_read_string_value(c, "Shipped", "Theme", "name", &s), 0);
	CHECK(s.present && !strcmp(s.value, "Default"));

	/* What was acknowledged is in the file already. */
	char path[256], text[4096] = "";
	snprintf(path, sizeof(path), "%s/Api.ini", user_dir);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	if (f) {
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
	}
	CHECK(strstr(text, "[Empty]") != NULL);
	hv_conn_close(c);
}

static void test_bad_input(void)
{
	hv_conn *c = connect_client();
	const char *bad[] = {"../etc", "a/b", "..", ".hidden", "bad\xff\xfe"};
	for (size_t i = 0; i < HV_ARRAY_SIZE(bad); i++) {
		CHECK_EQ(config_server_write_string_value(c, bad[i], "G", "k", "v"), -EINVAL);
		CHECK(error_says(c, "invalid domain name"));
		hv_opt_bytestring s;
		CHECK_EQ(config_server_read_string_value(c, bad[i], "G", "k", &s), -EINVAL);
	}
	CHECK(error_says(c, "UTF-8"));
	CHECK_EQ(config_server_write_string_value(c, "Bad", "G", "a=b", "v"), -EINVAL);
	CHECK(error_says(c, "[ ] = : ; #"));
	char *big = malloc(CFG_MAX_VALUE_LEN + 2);
	memset(big, 'v', CFG_MAX_VALUE_LEN + 1);
	big[CFG_MAX_VALUE_LEN + 1] = '\0';
	CHECK_EQ(config_server_write_string_value(c, "Bad", "G", "big", big), -E2BIG);
	CHECK(error_says(c, "64 KiB"));
	free(big);
	/* Nothing escaped, and the connection still works after typed errors. */
	char path[256];
	snprintf(path, sizeof(path), "%s/etc.ini", fx.dir);
	CHECK(access(path, F_OK) < 0);
	CHECK_EQ(config_server_write_string_value(c, "Bad", "G", "ok", "fine"), 0);
	hv_conn_close(c);
}

static void test_batch_and_events(void)
{
	events ea = {0}, eb = {0}, ec = {0};
	hv_conn *a = connect_listener(&ea, "Ev");
	hv_conn *b = connect_listener(&eb, "Ev"); /* the writer, also monitoring */
	hv_conn *c = connect_listener(&ec, "Other");

	config_server_config_op ops[] = {
		{.kind = CONFIG_SERVER_CONFIG_OP_KIND_SET, .group = "G", .key = "one", .value = "1"},
		{.kind = CONFIG_SERVER_CONFIG_OP_KIND_ADD_GROUP, .group = "Empty", .key = "", .value = ""},
		{.kind = CONFIG_SERVER_CONFIG_OP_KIND_SET, .group = "G", .key = "bad key;", .value = "x"},
	};
	hv_vec_config_server_config_op v = {.items = ops, .count = 3};
	CHECK_EQ(config_server_write_batch(b, "Ev", v), -EINVAL);
	settle(a);
	CHECK_EQ(ea.n, 0); /* nothing applied, nothing announced */
	hv_opt_bytestring s;
	CHECK_EQ(config_server_read_string_value(b, "Ev", "G", "one", &s), 0);
	CHECK(!s.present);

	v.count = 2;
	CHECK_EQ(config_server_write_batch(b, "Ev", v), 0);
	CHECK_EQ(config_server_write_i32_value(b, "Ev", "G", "n", 7), 0);
	CHECK_EQ(config_server_remove_group_entry(b, "Ev", "Empty"), 0);
	settle(a);
	settle(b);
	settle(c);
	CHECK_EQ(ea.n, 5);
	CHECK_STR(ea.line[0], "Ev G added");
	CHECK_STR(ea.line[1], "Ev G one = 1");
	CHECK_STR(ea.line[2], "Ev Empty added");
	CHECK_STR(ea.line[3], "Ev G n = i32 7");
	CHECK_STR(ea.line[4], "Ev Empty removed");
	CHECK_EQ(eb.n, 0); /* the writer is not told its own writes */
	CHECK_EQ(ec.n, 0); /* another domain's monitor hears nothing */

	/* A hand edit reaches every monitor, the writer included. */
	ea.n = eb.n = 0;
	char path[256];
	snprintf(path, sizeof(path), "%s/Ev.ini", user_dir);
	/* replaced whole (as most editors do), so no half-written state is seen */
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s/Ev.ini.new", user_dir);
	svc_write_file(tmp, "[G]\none = uno\nn = 7\n");
	CHECK_EQ(rename(tmp, path), 0);
	while (ea.n < 1 && hv_conn_dispatch(a, 30000) > 0)
		;
	CHECK_EQ(ea.n, 1);
	CHECK_STR(ea.line[0], "Ev G one = uno");
	while (eb.n < 1 && hv_conn_dispatch(b, 30000) > 0)
		;
	CHECK_EQ(eb.n, 1);
	hv_conn_close(a);
	hv_conn_close(b);
	hv_conn_close(c);
}

/* Guards against: the u32- and bool-typed change events never sent (a
 * client watching a bool setting would never hear it flip). */
static void test_typed_events(void)
{
	events ew = {0};
	hv_conn *w = connect_listener(&ew, "Typed");
	hv_conn *c = connect_client();
	CHECK_EQ(config_server_write_u32_value(c, "Typed", "G", "w", 4000000000u), 0);
	CHECK_EQ(config_server_write_bool_value(c, "Typed", "G", "on", true), 0);
	CHECK_EQ(config_server_write_bool_value(c, "Typed", "G", "on", false), 0);
	settle(w);
	CHECK_EQ(ew.n, 4);
	CHECK_STR(ew.line[0], "Typed G added");
	CHECK_STR(ew.line[1], "Typed G w = u32 4000000000");
	CHECK_STR(ew.line[2], "Typed G on = bool 1");
	CHECK_STR(ew.line[3], "Typed G on = bool 0");
	hv_conn_close(w);
	hv_conn_close(c);
}

static bool conn_dropped(hv_conn *c)
{
	hv_opt_bytestring s;
	int r = config_server_read_string_value(c, "Allowed", "G", "k", &s);
	return r == -EPIPE || r == -ECONNRESET;
}

static void test_pledge(void)
{
	hv_conn *strict = connect_client(), *perm = connect_client(), *other = connect_client();
	const char *allowed[] = {"Allowed"};
	hv_vec_bytestring dom = {.items = allowed, .count = 1};
	CHECK_EQ(config_server_pledge_domains(strict, dom), 0);
	CHECK_EQ(config_server_pledge_domains(perm, dom), 0);
	CHECK_EQ(config_server_enable_permissive_mode(perm), 0);

	CHECK_EQ(config_server_write_string_value(strict, "Allowed", "G", "k", "v"), 0);
	/* Permissive: refused with -EACCES, connection kept. */
	CHECK_EQ(config_server_write_string_value(perm, "Secret", "G", "k", "v"), -EACCES);
	CHECK(error_says(perm, "outside"));
	CHECK(!conn_dropped(perm));
	/* Strict: misbehaviour ends the connection; others are unaffected. */
	hv_opt_bytestring s;
	int r = config_server_read_string_value(strict, "Secret", "G", "k", &s);
	CHECK(r < 0);
	CHECK(conn_dropped(strict));
	CHECK_EQ(config_server_write_string_value(other, "Secret", "G", "k", "mine"), 0);
	/* Pledging twice is misbehaviour too. */
	CHECK(config_server_pledge_domains(perm, dom) < 0);
	CHECK(conn_dropped(perm));
	hv_conn_close(strict);
	hv_conn_close(perm);
	hv_conn_close(other);
}

/* Many clients at once, each in its own process, writing and reading. */
static void test_concurrent(void)
{
	enum { CLIENTS = 8, KEYS = 40 };
	pid_t pids[CLIENTS];
	for (int w = 0; w < CLIENTS; w++) {
		pids[w] = fork();
		CHECK(pids[w] >= 0);
		if (pids[w] == 0) {
			hv_conn *c = connect_client();
			char g[16], k[16], v[32];
			snprintf(g, sizeof(g), "W%d", w);
			for (int i = 0; i < KEYS; i++) {
				snprintf(k, sizeof(k), "k%d", i);
				snprintf(v, sizeof(v), "%d-%d", w, i);
				if (config_server_write_string_value(c, "Many", g, k, v) < 0)
					_exit(3);
				hv_opt_bytestring s;
				if (config_server_read_string_value(c, "Many", g, k, &s) < 0 || !s.present ||
				    strcmp(s.value, v) != 0)
					_exit(4);
			}
			hv_conn_close(c);
			_exit(0);
		}
	}
	for (int w = 0; w < CLIENTS; w++) {
		int st;
		CHECK_EQ(waitpid(pids[w], &st, 0), pids[w]);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	hv_conn *c = connect_client();
	hv_vec_bytestring names;
	CHECK_EQ(config_server_list_config_groups(c, "Many", &names), 0);
	CHECK_EQ(names.count, CLIENTS);
	CHECK_EQ(config_server_list_config_keys(c, "Many", "W5", &names), 0);
	CHECK_EQ(names.count, KEYS);
	hv_conn_close(c);
}

/* Garbage, a truncated message, a client killed with calls in flight. */
static void test_bad_peers(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, fx.sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	static const uint8_t junk[32] = {0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5, 6, 7};
	CHECK_EQ(write(fd, junk, sizeof(junk)), (long long)sizeof(junk));
	char buf[64];
	/* The server ends this connection (read sees EOF or a reset); the
	 * timeout only keeps a broken server from hanging the test. */
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 60000), 1);
	CHECK(read(fd, buf, sizeof(buf)) <= 0);
	close(fd);

	pid_t pid = fork();
	if (pid == 0) {
		hv_conn *c = connect_client();
		for (int i = 0;; i++)
			config_server_write_i32_value(c, "Dying", "G", "i", i);
	}
	hv_conn *probe = connect_client();
	hv_opt_i32 v = {0};
	/* wait until the child's writes are being served */
	for (int tries = 0; tries < 60000 && !v.present; tries++) {
		CHECK_EQ(config_server_read_i32_value(probe, "Dying", "G", "i", &v), 0);
		if (!v.present)
			poll(NULL, 0, 1);
	}
	CHECK(v.present);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK_EQ(config_server_write_string_value(probe, "Dying", "G", "after", "ok"), 0);
	hv_conn_close(probe);
}

/* The writer: acknowledged writes are reported on fd `ack`; on a broken
 * connection it reconnects (the manager's socket queues it meanwhile) and
 * retries the same write. */
static void writer_loop(int ack)
{
	hv_conn *c = NULL;
	for (unsigned i = 0;;) {
		if (!c) {
			if (hv_conn_connect(NULL, fx.sock, &c) < 0) {
				c = NULL;
				poll(NULL, 0, 1);
				continue;
			}
			hv_conn_set_timeout(c, 60000);
		}
		char k[16], v[48];
		snprintf(k, sizeof(k), "k%u", i % 100);
		snprintf(v, sizeof(v), "%u written before the crash", i);
		config_server_config_op ops[] = {
			{.kind = CONFIG_SERVER_CONFIG_OP_KIND_SET, .group = "Kill", .key = k, .value = v},
			{.kind = CONFIG_SERVER_CONFIG_OP_KIND_SET, .group = "Last", .key = "i", .value = v},
		};
		hv_vec_config_server_config_op vec = {.items = ops, .count = 2};
		int r = i % 3 == 0 ? config_server_write_batch(c, "Durable", vec)
				   : config_server_write_string_value(c, "Durable", "Kill", k, v);
		if (r < 0) {
			hv_conn_close(c);
			c = NULL;
			continue;
		}
		if (write(ack, &i, sizeof(i)) != sizeof(i))
			_exit(0);
		i++;
	}
}

/* --- hostile files (issue 12: "a FIFO in a state directory freezes a
 * service") ---------------------------------------------------------------- */
static char log_path[256];

static bool log_says(const char *words, int ms) { return svc_log_says(&fx, words, ms); }

/* A FIFO named like a domain file, renamed over a loaded domain's file, or
 * named like a temp file: each is refused with a logged reason, never
 * opened for reading (which would block the whole server until SIGKILL),
 * and the server keeps answering everyone. */
static void test_hostile_files(void)
{
	kill_server(SIGTERM);
	snprintf(log_path, sizeof(log_path), "%s/server.log", fx.dir);
	fx.log = log_path;
	setenv("HAVEN_LOG", "info", 1);
	char path[256], tmp[256];
	/* A stale temp name: the start-up cleanup removes it without opening it. */
	snprintf(path, sizeof(path), "%s/.Loaded.ini.a1b2c3", user_dir);
	CHECK_EQ(mkfifo(path, 0600), 0);
	start_server();
	hv_conn *c = connect_client();
	hv_conn_set_timeout(c, 5000); /* a frozen server fails the checks, not the run */
	CHECK_EQ(config_server_write_string_value(c, "Loaded", "G", "k", "before"), 0);
	CHECK(access(path, F_OK) < 0 && errno == ENOENT);

	snprintf(path, sizeof(path), "%s/Fifo.ini", user_dir);
	CHECK_EQ(mkfifo(path, 0600), 0);
	hv_opt_bytestring v;
	CHECK_EQ(config_server_read_string_value(c, "Fifo", "G", "k", &v), -EBADMSG);
	CHECK(error_says(c, "not a regular file"));
	CHECK(log_says("Fifo.ini: not a regular file", 5000));
	CHECK_EQ(config_server_write_string_value(c, "Fifo", "G", "k", "v"), -EBADMSG);

	/* A socket and a symlink named like domains: refused the same way. */
	struct sockaddr_un sa;
	char sock_path[256];
	snprintf(sock_path, sizeof(sock_path), "%s/Sock.ini", user_dir);
	int sock = svc_unix_socket(sock_path, &sa);
	CHECK_EQ(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(config_server_read_string_value(c, "Sock", "G", "k", &v), -EBADMSG);
	CHECK(error_says(c, "Sock.ini: not a regular file"));
	close(sock);
	snprintf(tmp, sizeof(tmp), "%s/Link.ini", user_dir);
	CHECK_EQ(symlink(path, tmp), 0); /* to the FIFO, even */
	CHECK_EQ(config_server_read_string_value(c, "Link", "G", "k", &v), -ELOOP);
	CHECK(error_says(c, "Link.ini: a symbolic link, refused"));
	CHECK(log_says("Link.ini: a symbolic link, refused", 5000));
	CHECK_EQ(unlink(tmp), 0);
	CHECK_EQ(unlink(sock_path), 0);

	/* Renamed over a loaded domain: inotify alone makes the server look. */
	snprintf(tmp, sizeof(tmp), "%s/fifo.new", user_dir);
	snprintf(path, sizeof(path), "%s/Loaded.ini", user_dir);
	CHECK_EQ(mkfifo(tmp, 0600), 0);
	CHECK_EQ(rename(tmp, path), 0);
	CHECK(log_says("keeping the last good state of domain Loaded", 10000));
	v = (hv_opt_bytestring){0};
	CHECK_EQ(config_server_read_string_value(c, "Loaded", "G", "k", &v), 0);
	CHECK(v.present && strcmp(v.value, "before") == 0);
	hv_conn *other = connect_client();
	hv_conn_set_timeout(other, 5000);
	v = (hv_opt_bytestring){0};
	CHECK_EQ(config_server_read_string_value(other, "Shipped", "Theme", "name", &v), 0);
	CHECK(v.present && strcmp(v.value, "Default") == 0);
	hv_conn_close(other);
	hv_conn_close(c);
	CHECK_EQ(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/Fifo.ini", user_dir);
	CHECK_EQ(unlink(path), 0);

	kill_server(SIGTERM);
	fx.log = NULL;
	setenv("HAVEN_LOG", "error", 1);
	start_server();
}

static void test_crash_respawn(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	pid_t writer = fork();
	if (writer == 0) {
		close(p[0]);
		writer_loop(p[1]);
		_exit(0);
	}
	close(p[1]);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	unsigned acked = 0, last = 0, v;
	bool any = false;
	for (int round = 0; round < 15; round++) {
		/* random moment, counted in acknowledged writes, plus a random delay */
		unsigned want = 1 + (unsigned)rand() % 30;
		for (unsigned got = 0; got < want && read(p[0], &v, sizeof(v)) == sizeof(v); got++) {
			last = v;
			any = true;
			acked++;
		}
		usleep((useconds_t)(rand() % 2000));
		kill_server(SIGKILL);
		/* No file is ever torn: it parses now, with the server dead. */
		cfg_store *s;
		CHECK_EQ(cfg_store_open(user_dir, NULL, &s), 0);
		const char *why = NULL;
		CHECK_EQ(cfg_store_load(s, "Durable", &why), 0);
		cfg_store_free(s);
		start_server();
	}
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
	/* acks sent before the writer died are acknowledged writes too */
	while (read(p[0], &v, sizeof(v)) == sizeof(v)) {
		last = v;
		acked++;
	}
	close(p[0]);
	CHECK(any);
	hv_conn *c = connect_client();
	for (unsigned i = last >= 99 ? last - 99 : 0; i <= last; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%u", i % 100);
		hv_opt_bytestring s;
		CHECK_EQ(config_server_read_string_value(c, "Durable", "Kill", k, &s), 0);
		unsigned seen = 0;
		CHECK(s.present && sscanf(s.value, "%u", &seen) == 1 && seen >= i);
	}
	hv_conn_close(c);
	fprintf(stderr, "crash-respawn: %u acknowledged writes over 15 SIGKILLs, none lost\n",
		acked);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CONFIGSERVER\n", argv[0]);
		return 2;
	}
	hv_log_set_level(HV_LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	if (!getenv("HAVEN_LOG"))
		setenv("HAVEN_LOG", "error", 1); /* the server's own log: errors only */
	svc_prepare(&fx, argv[1], "config", server_args);
	snprintf(user_dir, sizeof(user_dir), "%s/user", fx.dir);
	snprintf(defs_dir, sizeof(defs_dir), "%s/defaults", fx.dir);
	REQUIRE_EQ(mkdir(defs_dir, 0755), 0);
	char path[300];
	snprintf(path, sizeof(path), "%s/Shipped.ini", defs_dir);
	svc_write_file(path, "[Theme]\nname = Default\n");
	/* Guards against: a missing fsync of the file before its rename, or of
	 * the directory after it (a power cut would lose an acknowledged write). */
	char dlog[300];
	snprintf(dlog, sizeof(dlog), "%s/durability.log", fx.dir);
	bool dur = dur_begin(dlog);
	start_server();
	dur_end();

	test_sandboxed();
	test_api();
	if (dur) {
		snprintf(path, sizeof(path), "%s/Api.ini", user_dir);
		dur_check(dlog, path, 4);
	}
	test_bad_input();
	test_batch_and_events();
	test_typed_events();
	test_pledge();
	test_concurrent();
	test_bad_peers();
	test_hostile_files();
	test_crash_respawn();

	svc_stop(&fx);
	int r = check_result();
	if (r == 0)
		printf("ok\n");
	return r;
}
