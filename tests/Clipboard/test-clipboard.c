/* test-clipboard.c — the Clipboard service in a real process, socket-
 * activated, through the generated client: the API, a 100 MiB entry in
 * shared memory (kept without a copy when sealed, copied when not), a
 * sparse 500 MiB one stored and reloaded sparse, change
 * events to subscribers only, bad input, a client dying mid-call, a
 * misbehaving peer, FIFOs planted in the state directory, a full and a
 * read-only state directory (typed errors, nothing changed), and SIGKILL +
 * respawn losing nothing acknowledged.
 *
 *   test-clipboard CLIPBOARD_EXE
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ClipboardClient.ipc.h"
#include "ClipboardServer.ipc.h"
#include "durability.h"
#include "service.h"

static const char *exe;

/* For calls whose answer nobody waits for. */
static void ignore_reply(hv_conn *c, int status, const clipboard_server_set_clipboard_data_rep *rep,
			 void *ud)
{
}

/* A read-only (sealed) buffer holding text. */
static hv_buffer text_buffer(const char *s)
{
	hv_buffer b;
	REQUIRE_EQ(hv_buffer_create(strlen(s), &b), 0);
	if (b.size)
		memcpy(b.data, s, b.size);
	REQUIRE_EQ(hv_buffer_seal(&b), 0);
	return b;
}

static uint64_t set_text(hv_conn *c, const char *s, const char *mime)
{
	hv_buffer b = text_buffer(s);
	uint64_t serial = 0;
	hv_map_string_string none = {0};
	REQUIRE_EQ(clipboard_server_set_clipboard_data(c, b, mime, none, &serial), 0);
	hv_buffer_release(&b);
	REQUIRE(serial > 0);
	return serial;
}

/* The current clipboard (as `mime`, "" = primary) equals s. */
static bool paste_is(hv_conn *c, const char *mime, const char *s)
{
	hv_buffer b = HV_BUFFER_EMPTY;
	int r = clipboard_server_get_clipboard_data_as(c, mime, NULL, &b, NULL, NULL);
	bool ok = r == 0 && b.size == strlen(s) && (b.size == 0 || !memcmp(b.data, s, b.size));
	if (!ok)
		fprintf(stderr, "paste(%s): r=%d size=%zu, want \"%s\"\n", mime, r, b.size, s);
	hv_buffer_release(&b);
	return ok;
}

static void test_api(void)
{
	svc_fixture f;
	svc_start(&f, exe, "clipboard", (const char *const[]){"--history", "3", NULL});
	hv_conn *c = svc_connect(&f);

	/* Empty: a clear error, not an empty answer. */
	hv_buffer b = HV_BUFFER_EMPTY;
	const char *mime = NULL;
	REQUIRE_EQ(clipboard_server_get_clipboard_data(c, &b, &mime, NULL), -ENODATA);
	REQUIRE(strstr(hv_conn_last_error(c)->message, "empty"));
	hv_opt_clipboard_server_entry_info info;
	REQUIRE_EQ(clipboard_server_get_clipboard_info(c, &info), 0);
	REQUIRE(!info.present);

	/* SerenityOS's pair: data, type, metadata. */
	hv_buffer in = text_buffer("hello, world");
	hv_map_string_string_entry meta[] = {{"source", "test"}, {"selection", "primary"}};
	uint64_t s1 = 0;
	REQUIRE_EQ(clipboard_server_set_clipboard_data(c, in, "text/plain;charset=utf-8",
						     (hv_map_string_string){meta, 2}, &s1),
		 0);
	hv_buffer_release(&in);
	hv_map_string_string m;
	REQUIRE_EQ(clipboard_server_get_clipboard_data(c, &b, &mime, &m), 0);
	REQUIRE_EQ(b.size, 12);
	REQUIRE(!memcmp(b.data, "hello, world", 12));
	REQUIRE(b.readonly);
	REQUIRE(!strcmp(mime, "text/plain;charset=utf-8"));
	REQUIRE_EQ(m.count, 2);
	REQUIRE(!strcmp(m.items[0].key, "source") && !strcmp(m.items[0].value, "test"));
	REQUIRE(!strcmp(m.items[1].key, "selection") && !strcmp(m.items[1].value, "primary"));
	hv_buffer_release(&b);

	/* A second representation of the same entry. */
	in = text_buffer("<b>hello</b>, world");
	REQUIRE_EQ(clipboard_server_add_clipboard_data(c, s1, in, "text/html"), 0);
	REQUIRE_EQ(clipboard_server_add_clipboard_data(c, s1, in, "text/html"), -EEXIST);
	REQUIRE_EQ(clipboard_server_add_clipboard_data(c, s1 + 100, in, "text/rtf"), -ESTALE);
	hv_buffer_release(&in);
	REQUIRE(paste_is(c, "text/html", "<b>hello</b>, world"));
	REQUIRE(paste_is(c, "", "hello, world"));
	REQUIRE_EQ(clipboard_server_get_clipboard_data_as(c, "image/png", NULL, &b, NULL, NULL),
		 -ENOENT);
	REQUIRE_EQ(clipboard_server_get_clipboard_info(c, &info), 0);
	REQUIRE(info.present && info.value.serial == s1);
	REQUIRE_EQ(info.value.mime_types.count, 2);
	REQUIRE(!strcmp(info.value.mime_types.items[1], "text/html"));
	REQUIRE_EQ(info.value.sizes.items[1], 19);

	/* History: bounded to 3, newest first; restore; clear. */
	uint64_t s2 = set_text(c, "two", "text/plain");
	uint64_t s3 = set_text(c, "three", "text/plain");
	uint64_t s4 = set_text(c, "four", "text/plain");
	REQUIRE(s1 < s2 && s2 < s3 && s3 < s4);
	hv_vec_clipboard_server_entry_info h;
	REQUIRE_EQ(clipboard_server_get_history(c, &h), 0);
	REQUIRE_EQ(h.count, 3);
	REQUIRE_EQ(h.items[0].serial, s4);
	REQUIRE_EQ(h.items[2].serial, s2);
	REQUIRE_EQ(clipboard_server_get_history_data(c, s1, "", &b), -ENOENT);
	REQUIRE_EQ(clipboard_server_get_history_data(c, s3, "", &b), 0);
	REQUIRE(b.size == 5 && !memcmp(b.data, "three", 5));
	hv_buffer_release(&b);
	uint64_t s5 = 0;
	REQUIRE_EQ(clipboard_server_restore_history_entry(c, s2, &s5), 0);
	REQUIRE(s5 > s4);
	REQUIRE(paste_is(c, "", "two"));
	REQUIRE_EQ(clipboard_server_restore_history_entry(c, 999999, &s5), -ENOENT);
	REQUIRE_EQ(clipboard_server_clear_history(c), 0);
	REQUIRE_EQ(clipboard_server_get_history(c, &h), 0);
	REQUIRE_EQ(h.count, 1);
	REQUIRE(paste_is(c, "", "two"));

	/* Empty data is data. */
	set_text(c, "", "application/octet-stream");
	REQUIRE(paste_is(c, "", ""));

	hv_conn_close(c);
	svc_stop(&f);
}

static void test_big_buffer(void)
{
	svc_fixture f;
	svc_start(&f, exe, "clipboard", NULL);
	hv_conn *c = svc_connect(&f);
	const size_t size = 100u << 20;

	/* Sealed: the Clipboard keeps the very memfd (same inode back). */
	hv_buffer big;
	REQUIRE_EQ(hv_buffer_create(size, &big), 0);
	for (size_t i = 0; i < size; i += 4096)
		((uint8_t *)big.data)[i] = (uint8_t)(i / 4096 * 7 + 1);
	((uint8_t *)big.data)[size - 1] = 0xAB;
	REQUIRE_EQ(hv_buffer_seal(&big), 0);
	hv_map_string_string none = {0};
	REQUIRE_EQ(clipboard_server_set_clipboard_data(c, big, "image/x-test", none, NULL), 0);
	hv_buffer out = HV_BUFFER_EMPTY;
	REQUIRE_EQ(clipboard_server_get_clipboard_data(c, &out, NULL, NULL), 0);
	REQUIRE_EQ(out.size, size);
	REQUIRE(!memcmp(out.data, big.data, size));
	struct stat a, b;
	REQUIRE_EQ(fstat(big.fd, &a), 0);
	REQUIRE_EQ(fstat(out.fd, &b), 0);
	REQUIRE(a.st_ino == b.st_ino);
	hv_buffer_release(&out);

	/* Not sealed: copied, so writing after the call changes nothing. */
	hv_buffer rw;
	REQUIRE_EQ(hv_buffer_create(size, &rw), 0);
	memset(rw.data, 'x', size);
	REQUIRE_EQ(clipboard_server_set_clipboard_data(c, rw, "application/octet-stream", none, NULL), 0);
	memset(rw.data, 'y', size);
	REQUIRE_EQ(clipboard_server_get_clipboard_data(c, &out, NULL, NULL), 0);
	REQUIRE_EQ(out.size, size);
	REQUIRE(((uint8_t *)out.data)[0] == 'x' && ((uint8_t *)out.data)[size - 1] == 'x');
	REQUIRE(memchr(out.data, 'y', size) == NULL);
	REQUIRE_EQ(fstat(rw.fd, &a), 0);
	REQUIRE_EQ(fstat(out.fd, &b), 0);
	REQUIRE(a.st_ino != b.st_ino);
	hv_buffer_release(&out);
	hv_buffer_release(&rw);

	/* The previous one is in the history, intact. */
	hv_vec_clipboard_server_entry_info h;
	REQUIRE_EQ(clipboard_server_get_history(c, &h), 0);
	REQUIRE_EQ(h.count, 2);
	uint64_t first = h.items[1].serial;
	REQUIRE_EQ(clipboard_server_get_history_data(c, first, "image/x-test", &out), 0);
	REQUIRE(out.size == size && !memcmp(out.data, big.data, size));
	hv_buffer_release(&out);
	hv_buffer_release(&big);
	hv_conn_close(c);
	svc_stop(&f);
}

/* --- sparse data (issue 12: "a sparse 500 MiB memfd costs the client nothing
 * and Clipboard 500 MiB of disk") ------------------------------------------- */

#define SPARSE_SIZE (500ull << 20)
#define SPARSE_MAX_COST (4ull << 20) /* bytes allocated: a few pages and a header */

/* Allocated bytes of what fd refers to. */
static uint64_t allocated(int fd)
{
	struct stat st;
	REQUIRE_EQ(fstat(fd, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

/* The three islands of data sparse_buffer() wrote, and zeros between. */
static bool sparse_content_ok(int fd)
{
	char buf[8] = "";
	bool ok = pread(fd, buf, 4, 0) == 4 && !memcmp(buf, "head", 4);
	ok = ok && pread(fd, buf, 6, 300u << 20) == 6 && !memcmp(buf, "middle", 6);
	ok = ok && pread(fd, buf, 4, SPARSE_SIZE - 4) == 4 && !memcmp(buf, "tail", 4);
	ok = ok && pread(fd, buf, 8, 100u << 20) == 8 && !memcmp(buf, "\0\0\0\0\0\0\0\0", 8);
	if (!ok)
		fprintf(stderr, "sparse entry: wrong content\n");
	return ok;
}

static hv_buffer sparse_buffer(bool seal)
{
	hv_buffer b;
	REQUIRE_EQ(hv_buffer_create(SPARSE_SIZE, &b), 0);
	REQUIRE_EQ(pwrite(b.fd, "head", 4, 0), 4);
	REQUIRE_EQ(pwrite(b.fd, "middle", 6, 300u << 20), 6);
	REQUIRE_EQ(pwrite(b.fd, "tail", 4, SPARSE_SIZE - 4), 4);
	if (seal)
		REQUIRE_EQ(hv_buffer_seal(&b), 0);
	REQUIRE(allocated(b.fd) < SPARSE_MAX_COST);
	return b;
}

/* The entry file of `serial` costs what its data does, not its size. */
static bool entry_file_sparse(const svc_fixture *f, uint64_t serial)
{
	char path[300];
	snprintf(path, sizeof path, "%s/haven/Clipboard/entry-%016llx", f->runtime,
		 (unsigned long long)serial);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	struct stat st;
	REQUIRE_EQ(fstat(fd, &st), 0);
	uint64_t cost = allocated(fd);
	close(fd);
	fprintf(stderr, "sparse: entry-%016llx has %llu bytes allocated for %llu\n",
		(unsigned long long)serial, (unsigned long long)cost, (unsigned long long)st.st_size);
	return (uint64_t)st.st_size > SPARSE_SIZE && cost < SPARSE_MAX_COST;
}

/* Stored sparse, on disk and in memory, sealed (kept as is) or not (copied),
 * and loaded sparse again by a respawned Clipboard. */
static void test_sparse(void)
{
	svc_fixture f;
	svc_start(&f, exe, "clipboard", NULL);
	hv_conn *c = svc_connect(&f);
	hv_map_string_string none = {0};
	uint64_t serials[2];
	for (int sealed = 1; sealed >= 0; sealed--) {
		hv_buffer b = sparse_buffer(sealed);
		uint64_t serial = 0;
		CHECK_EQ(clipboard_server_set_clipboard_data(c, b, "application/x-sparse", none,
							     &serial), 0);
		hv_buffer_release(&b);
		serials[sealed] = serial;
		CHECK(entry_file_sparse(&f, serial));
		hv_buffer out = HV_BUFFER_EMPTY;
		CHECK_EQ(clipboard_server_get_clipboard_data(c, &out, NULL, NULL), 0);
		CHECK(out.size == SPARSE_SIZE && sparse_content_ok(out.fd));
		CHECK(out.fd >= 0 && allocated(out.fd) < SPARSE_MAX_COST);
		hv_buffer_release(&out);
	}
	hv_conn_close(c);
	svc_kill(&f, SIGKILL);
	svc_respawn(&f);
	c = svc_connect(&f);
	for (int i = 0; i < 2; i++) {
		hv_buffer out = HV_BUFFER_EMPTY;
		CHECK_EQ(clipboard_server_get_history_data(c, serials[i], "", &out), 0);
		CHECK(out.size == SPARSE_SIZE && sparse_content_ok(out.fd));
		CHECK(out.fd >= 0 && allocated(out.fd) < SPARSE_MAX_COST);
		hv_buffer_release(&out);
	}
	hv_conn_close(c);
	svc_stop(&f);
}

/* --- events ----------------------------------------------------------------- */

struct watcher {
	hv_conn *c;
	int events;
	uint64_t last_serial;
	char last_mime[64];
};

static int on_changed(hv_call *call, const clipboard_client_clipboard_data_changed_req *req)
{
	struct watcher *w = hv_conn_userdata(hv_call_conn(call));
	w->events++;
	w->last_serial = req->serial;
	snprintf(w->last_mime, sizeof w->last_mime, "%s", req->mime_type);
	return 0;
}

static const clipboard_client_handlers watcher_handlers = {.clipboard_data_changed = on_changed};

static void watcher_open(struct watcher *w, const svc_fixture *f, bool subscribe)
{
	memset(w, 0, sizeof *w);
	w->c = svc_connect(f);
	hv_conn_set_userdata(w->c, w);
	REQUIRE_EQ(hv_conn_serve(w->c, &clipboard_client_endpoint, &watcher_handlers), 0);
	if (subscribe)
		REQUIRE_EQ(clipboard_server_subscribe(w->c, true), 0);
}

/* Every event the server sent before this point has arrived: events and
 * replies share one ordered stream. */
static void sync_events(struct watcher *w)
{
	hv_opt_clipboard_server_entry_info info;
	REQUIRE_EQ(clipboard_server_get_clipboard_info(w->c, &info), 0);
	drain(w->c);
}

static void test_events(void)
{
	svc_fixture f;
	svc_start(&f, exe, "clipboard", NULL);
	enum { N = 6 };
	struct watcher w[N];
	/* 0-2 subscribe; 3 never does; 4 subscribes and stops; 5 writes and subscribes. */
	for (int i = 0; i < N; i++)
		watcher_open(&w[i], &f, i != 3);
	REQUIRE_EQ(clipboard_server_subscribe(w[4].c, false), 0);

	uint64_t s = set_text(w[3].c, "from 3", "text/plain");
	for (int i = 0; i < N; i++)
		sync_events(&w[i]);
	for (int i = 0; i < N; i++) {
		bool want = i != 3 && i != 4;
		REQUIRE_EQ(w[i].events, want ? 1 : 0);
		if (want) {
			REQUIRE_EQ(w[i].last_serial, s);
			REQUIRE(!strcmp(w[i].last_mime, "text/plain"));
		}
	}
	/* A new representation is a change too, named by its type. */
	hv_buffer b = text_buffer("<p>from 3</p>");
	REQUIRE_EQ(clipboard_server_add_clipboard_data(w[5].c, s, b, "text/html"), 0);
	hv_buffer_release(&b);
	for (int i = 0; i < N; i++)
		sync_events(&w[i]);
	REQUIRE_EQ(w[0].events, 2);
	REQUIRE(!strcmp(w[0].last_mime, "text/html"));
	REQUIRE_EQ(w[5].events, 2); /* the writer subscribed: it hears its own changes */
	REQUIRE_EQ(w[3].events, 0);
	REQUIRE_EQ(w[4].events, 0);

	/* A rejected write changes nothing and announces nothing. */
	b = text_buffer("x");
	hv_map_string_string none = {0};
	REQUIRE_EQ(clipboard_server_set_clipboard_data(w[1].c, b, "not a mime", none, NULL), -EINVAL);
	hv_buffer_release(&b);
	for (int i = 0; i < N; i++)
		sync_events(&w[i]);
	REQUIRE_EQ(w[0].events, 2);

	/* A subscriber that goes away is simply gone. */
	hv_conn_close(w[0].c);
	set_text(w[1].c, "after", "text/plain");
	for (int i = 1; i < N; i++)
		sync_events(&w[i]);
	REQUIRE_EQ(w[1].events, 3);
	for (int i = 1; i < N; i++)
		hv_conn_close(w[i].c);
	svc_stop(&f);
}

/* --- bad input, misbehaviour, dying clients ---------------------------------- */

static void test_bad_input(void)
{
	svc_fixture f;
	svc_start(&f, exe, "clipboard", NULL);
	hv_conn *c = svc_connect(&f);
	hv_map_string_string none = {0};
	hv_buffer b = text_buffer("data");

	const char *bad_mimes[] = {"", "text", "/x", "text/", "te xt/plain", "a/b/c", "text/\x01"};
	for (size_t i = 0; i < HV_ARRAY_SIZE(bad_mimes); i++) {
		REQUIRE_EQ(clipboard_server_set_clipboard_data(c, b, bad_mimes[i], none, NULL), -EINVAL);
		REQUIRE(strstr(hv_conn_last_error(c)->message, "MIME"));
	}
	char longmime[300];
	memset(longmime, 'a', sizeof longmime - 1);
	longmime[sizeof longmime - 1] = 0;
	longmime[4] = '/';
	REQUIRE_EQ(clipboard_server_set_clipboard_data(c, b, longmime, none, NULL), -EINVAL);

	/* Metadata: duplicate keys, empty key, oversized value. */
	hv_map_string_string_entry dup[] = {{"k", "1"}, {"k", "2"}};
	REQUIRE_EQ(clipboard_server_set_clipboard_data(c, b, "text/plain",
						     (hv_map_string_string){dup, 2}, NULL),
		 -EINVAL);
	static char big_value[5000];
	memset(big_value, 'v', sizeof big_value - 1);
	hv_map_string_string_entry big[] = {{"k", big_value}};
	REQUIRE_EQ(clipboard_server_set_clipboard_data(c, b, "text/plain",
						     (hv_map_string_string){big, 1}, NULL),
		 -EINVAL);
	REQUIRE(strstr(hv_conn_last_error(c)->message, "metadata"));

	/* Over the size limit (a sparse memfd: nothing is touched). */
	hv_buffer huge;
	REQUIRE_EQ(hv_buffer_create((513u << 20), &huge), 0);
	REQUIRE_EQ(clipboard_server_set_clipboard_data(c, huge, "application/octet-stream", none, NULL),
		 -EFBIG);
	REQUIRE(strstr(hv_conn_last_error(c)->message, "over the limit"));
	hv_buffer_release(&huge);

	/* A null Buffer is not data. */
	REQUIRE_EQ(clipboard_server_set_clipboard_data(c, HV_BUFFER_EMPTY, "text/plain", none, NULL),
		 -EINVAL);
	/* Nothing of that reached the clipboard; the connection still works. */
	hv_opt_clipboard_server_entry_info info;
	REQUIRE_EQ(clipboard_server_get_clipboard_info(c, &info), 0);
	REQUIRE(!info.present);

	/* Invalid UTF-8 where a String goes: the peer is misbehaving and is
	 * disconnected; nobody else notices. */
	hv_conn *bad = svc_connect(&f);
	hv_enc e;
	hv_enc_init(&e, &clipboard_server_endpoint, CLIPBOARD_SERVER_MSG_SET_CLIPBOARD_DATA,
		    HV_MSG_REQUEST);
	hv_enc_buffer(&e, &b);
	hv_enc_bytestring(&e, "text/\xff\xfe");
	hv_enc_count(&e, 0);
	hv_msg *reply = NULL;
	int r = hv_conn_call(bad, &e, 60000, &reply);
	hv_enc_release(&e);
	REQUIRE(r == -ECONNRESET || r == -EPIPE);
	hv_conn_close(bad);

	/* Garbage bytes on a raw socket: that connection ends, the service lives. */
	int raw = svc_raw_socket(&f);
	char junk[64];
	memset(junk, 0xee, sizeof junk);
	REQUIRE_EQ(write(raw, junk, sizeof junk), (ssize_t)sizeof junk);
	char buf[16];
	REQUIRE(read(raw, buf, sizeof buf) <= 0);
	close(raw);

	REQUIRE(svc_alive(&f));
	uint64_t s = set_text(c, "still fine", "text/plain");
	REQUIRE(s > 0);
	hv_buffer_release(&b);
	hv_conn_close(c);
	svc_stop(&f);
}

static void test_client_dies(void)
{
	svc_fixture f;
	svc_start(&f, exe, "clipboard", NULL);
	/* Children send a large unsealed write (the server has to copy it) and
	 * die without waiting for the answer; others die with half a message. */
	for (int i = 0; i < 4; i++) {
		pid_t pid = fork();
		REQUIRE(pid >= 0);
		if (pid == 0) {
			hv_conn *c = svc_connect(&f);
			hv_buffer b;
			if (i % 2 == 0) {
				if (hv_buffer_create(32u << 20, &b) < 0)
					_exit(3);
				hv_map_string_string none = {0};
				clipboard_server_set_clipboard_data_async(c, b, "text/plain", none,
									  ignore_reply, NULL);
				hv_conn_flush(c);
			} else {
				int raw = svc_raw_socket(&f);
				uint8_t half[10] = {0x40, 0, 0, 0};
				if (write(raw, half, sizeof half) < 0)
					_exit(4);
			}
			_exit(0); /* no close, no goodbye */
		}
		int status;
		REQUIRE_EQ(waitpid(pid, &status, 0), pid);
		REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	hv_conn *c = svc_connect(&f);
	uint64_t s = set_text(c, "survivor", "text/plain");
	REQUIRE(s > 0);
	REQUIRE(paste_is(c, "", "survivor"));
	REQUIRE(svc_alive(&f));
	hv_conn_close(c);
	svc_stop(&f);
}

/* Many writers and readers at once: every write is answered with its own
 * serial, every read sees a whole entry, the history keeps the newest. */
enum { CONCURRENT_CLIENTS = 8, CONCURRENT_WRITES = 40 };

/* One of the concurrent writers: reports the serial of each of its writes. */
static void concurrent_writer(int k, int report, void *ud)
{
	const svc_fixture *f = ud;
	hv_conn *c = svc_connect(f);
	for (int i = 0; i < CONCURRENT_WRITES; i++) {
		char text[64];
		snprintf(text, sizeof text, "client %d write %d", k, i);
		uint64_t serial = set_text(c, text, "text/plain");
		REQUIRE_EQ(write(report, &serial, sizeof serial), (ssize_t)sizeof serial);
		/* A read in between: whatever is current, it is whole. */
		hv_buffer b = HV_BUFFER_EMPTY;
		REQUIRE_EQ(clipboard_server_get_clipboard_data(c, &b, NULL, NULL), 0);
		REQUIRE(b.size > 7 && !memcmp(b.data, "client ", 7));
		hv_buffer_release(&b);
	}
	hv_conn_close(c);
}

static void test_concurrent(void)
{
	svc_fixture f;
	svc_start(&f, exe, "clipboard", (const char *const[]){"--history", "1024", NULL});
	static uint64_t serials[CONCURRENT_CLIENTS * CONCURRENT_WRITES];
	size_t n = svc_run_clients(CONCURRENT_CLIENTS, concurrent_writer, &f, serials, HV_ARRAY_SIZE(serials));
	REQUIRE_EQ(n, CONCURRENT_CLIENTS * CONCURRENT_WRITES);
	REQUIRE(svc_all_distinct(serials, n));
	hv_conn *c = svc_connect(&f);
	hv_vec_clipboard_server_entry_info h;
	REQUIRE_EQ(clipboard_server_get_history(c, &h), 0);
	REQUIRE_EQ(h.count, CONCURRENT_CLIENTS * CONCURRENT_WRITES);
	for (size_t i = 1; i < h.count; i++)
		REQUIRE(h.items[i - 1].serial > h.items[i].serial);
	hv_conn_close(c);
	svc_stop(&f);
}

/* --- hostile files ------------------------------------------------------------ */

/* Issue 12: "a FIFO in a state directory freezes a service". A FIFO named
 * like an entry file (found at start), like the next entry's file and like
 * the temp file an older Clipboard wrote it through: none is ever opened
 * for reading or writing (which would block the whole service), the entry
 * file is refused with a logged reason, and every client is served. A
 * symlink and a socket named like entries are refused and removed too. */
static void test_hostile_files(void)
{
	svc_fixture f;
	svc_prepare(&f, exe, "clipboard", NULL);
	char state[200], path[260], log[200];
	snprintf(state, sizeof state, "%s/haven", f.runtime);
	REQUIRE_EQ(mkdir(state, 0700), 0);
	snprintf(state, sizeof state, "%s/haven/Clipboard", f.runtime);
	REQUIRE_EQ(mkdir(state, 0700), 0);
	/* A symlink out of the directory and a socket, named like entries. */
	char target[200], link[260];
	snprintf(target, sizeof target, "%s/outside", f.dir);
	svc_write_file(target, "not the Clipboard's");
	snprintf(link, sizeof link, "%s/entry-0000000000000006", state);
	REQUIRE_EQ(symlink(target, link), 0);
	struct sockaddr_un sa;
	snprintf(path, sizeof path, "%s/entry-0000000000000007", state);
	int sock = svc_unix_socket(path, &sa);
	REQUIRE_EQ(bind(sock, (struct sockaddr *)&sa, sizeof sa), 0);
	snprintf(path, sizeof path, "%s/entry-0000000000000005", state);
	REQUIRE_EQ(mkfifo(path, 0600), 0);
	snprintf(log, sizeof log, "%s/clipboard.log", f.dir);
	f.log = log;
	const char *level = getenv("HAVEN_LOG");
	setenv("HAVEN_LOG", "info", 1);
	svc_respawn(&f);
	if (level)
		setenv("HAVEN_LOG", level, 1);
	else
		unsetenv("HAVEN_LOG");

	hv_conn *c = svc_connect(&f);
	hv_conn_set_timeout(c, 5000); /* a frozen service fails the checks, not the run */
	hv_opt_clipboard_server_entry_info info = {0};
	CHECK_EQ(clipboard_server_get_clipboard_info(c, &info), 0);
	CHECK(!info.present);
	CHECK(svc_log_says(&f, "entry-0000000000000005: not a regular file", 5000));
	CHECK(access(path, F_OK) < 0 && errno == ENOENT);
	CHECK(svc_log_says(&f, "entry-0000000000000006: a symbolic link", 5000));
	CHECK(svc_log_says(&f, "removing unreadable clipboard file entry-0000000000000007", 5000));
	CHECK(access(link, F_OK) < 0 && errno == ENOENT);
	CHECK(access(target, F_OK) == 0); /* the link went, not what it pointed to */
	close(sock);

	/* The next entry is serial 1: FIFOs at its file and old temp name. */
	snprintf(path, sizeof path, "%s/.tmp-0000000000000001", state);
	CHECK_EQ(mkfifo(path, 0600), 0);
	snprintf(path, sizeof path, "%s/entry-0000000000000001", state);
	CHECK_EQ(mkfifo(path, 0600), 0);
	hv_buffer b = text_buffer("planted");
	uint64_t serial = 0;
	hv_map_string_string none = {0};
	CHECK_EQ(clipboard_server_set_clipboard_data(c, b, "text/plain", none, &serial), 0);
	hv_buffer_release(&b);
	CHECK_EQ(serial, 1);
	hv_conn *other = svc_connect(&f);
	hv_conn_set_timeout(other, 5000);
	bool served = paste_is(other, "", "planted");
	CHECK(served);
	struct stat st;
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode)); /* the entry replaced the FIFO */
	hv_conn_close(other);
	hv_conn_close(c);
	if (served) {
		svc_stop(&f);
		return;
	}
	svc_kill(&f, SIGKILL); /* blocked in open(2): SIGTERM would not end it */
	close(f.listen_fd);
}

/* --- acknowledged means durable ------------------------------------------------ */

static uint64_t current_serial(hv_conn *c)
{
	hv_opt_clipboard_server_entry_info info = {0};
	CHECK_EQ(clipboard_server_get_clipboard_info(c, &info), 0);
	return info.present ? info.value.serial : 0;
}

static size_t history_count(hv_conn *c)
{
	hv_vec_clipboard_server_entry_info h = {0};
	CHECK_EQ(clipboard_server_get_history(c, &h), 0);
	return h.count;
}

/* A buffer of `size` bytes that are all data (no holes to store sparse). */
static hv_buffer dense_buffer(size_t size)
{
	hv_buffer b;
	REQUIRE_EQ(hv_buffer_create(size, &b), 0);
	memset(b.data, 'd', size);
	return b;
}

static bool error_says(hv_conn *c, const char *words)
{
	const hv_ipc_error *e = hv_conn_last_error(c);
	if (e && e->message && strstr(e->message, words))
		return true;
	fprintf(stderr, "error \"%s\" lacks \"%s\"\n", e && e->message ? e->message : "", words);
	return false;
}

/* In a mount namespace of its own: the state directory is a 1 MiB tmpfs,
 * full, then read-only. Every failed save is a typed error and leaves the
 * clipboard as it was; what was acknowledged survives a SIGKILL; serials
 * only grow. */
static void save_fails_child(void)
{
	svc_fixture f;
	svc_prepare(&f, exe, "clipboard", NULL);
	char state[200];
	snprintf(state, sizeof state, "%s/haven", f.runtime);
	REQUIRE_EQ(mkdir(state, 0700), 0);
	snprintf(state, sizeof state, "%s/haven/Clipboard", f.runtime);
	REQUIRE_EQ(mkdir(state, 0700), 0);
	REQUIRE_EQ(mount("tmpfs", state, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700"), 0);
	svc_respawn(&f);
	hv_conn *c = svc_connect(&f);
	hv_map_string_string none = {0};

	uint64_t s1 = set_text(c, "one", "text/plain");
	/* Full: 2 MiB of data do not fit. */
	hv_buffer big = dense_buffer(2u << 20);
	uint64_t serial = 0;
	CHECK_EQ(clipboard_server_set_clipboard_data(c, big, "text/plain", none, &serial), -ENOSPC);
	CHECK(error_says(c, "full"));
	CHECK_EQ(clipboard_server_add_clipboard_data(c, s1, big, "text/html"), -ENOSPC);
	CHECK(error_says(c, "full"));
	CHECK_EQ(current_serial(c), s1);
	CHECK_EQ(history_count(c), 1);
	CHECK(paste_is(c, "", "one"));
	hv_buffer none_html = HV_BUFFER_EMPTY;
	CHECK_EQ(clipboard_server_get_clipboard_data_as(c, "text/html", NULL, &none_html, NULL, NULL),
		 -ENOENT);
	uint64_t s2 = set_text(c, "two", "text/plain");
	CHECK(s2 > s1);

	/* Read-only: nothing changes, and every change says so. */
	REQUIRE_EQ(mount("tmpfs", state, "tmpfs", MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL), 0);
	hv_buffer small = text_buffer("three");
	CHECK_EQ(clipboard_server_set_clipboard_data(c, small, "text/plain", none, &serial), -EROFS);
	CHECK(error_says(c, "read-only"));
	CHECK_EQ(clipboard_server_add_clipboard_data(c, s2, small, "text/html"), -EROFS);
	uint64_t restored = 0;
	CHECK_EQ(clipboard_server_restore_history_entry(c, s1, &restored), -EROFS);
	CHECK_EQ(clipboard_server_clear_history(c), -EROFS);
	CHECK(error_says(c, "read-only"));
	CHECK_EQ(current_serial(c), s2);
	CHECK_EQ(history_count(c), 2);
	CHECK(paste_is(c, "", "two"));
	hv_buffer_release(&small);
	hv_buffer_release(&big);

	/* Writable again: what was acknowledged is all there after a SIGKILL,
	 * and serials keep growing past every one handed out. */
	REQUIRE_EQ(mount("tmpfs", state, "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL), 0);
	uint64_t s3 = set_text(c, "four", "text/plain");
	CHECK(s3 > s2);
	hv_conn_close(c);
	svc_kill(&f, SIGKILL);
	svc_respawn(&f);
	c = svc_connect(&f);
	CHECK_EQ(current_serial(c), s3);
	CHECK_EQ(history_count(c), 3);
	CHECK(paste_is(c, "", "four"));
	CHECK(set_text(c, "five", "text/plain") > s3);
	hv_conn_close(c);
	int status = svc_kill(&f, SIGTERM);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	REQUIRE_EQ(umount2(state, MNT_DETACH), 0);
	close(f.listen_fd);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f.dir);
	CHECK_EQ(system(cmd), 0);
}

static void test_save_fails(void)
{
	check_in_mount_namespace("the full/read-only state directory case", save_fails_child);
}

/* Guards against: an entry renamed into place before its data is fsync'd,
 * or the state directory not fsync'd after (a power cut would lose or
 * empty an acknowledged copy). The order of the calls is recorded by
 * tests/lib's LD_PRELOAD shim. */
static void test_durability(void)
{
	svc_fixture f;
	svc_prepare(&f, exe, "clipboard", NULL);
	char log[200], path[300];
	snprintf(log, sizeof log, "%s/durability.log", f.dir);
	bool dur = dur_begin(log);
	svc_respawn(&f);
	dur_end();
	hv_conn *c = svc_connect(&f);
	uint64_t s1 = set_text(c, "one", "text/plain");
	uint64_t s2 = set_text(c, "two", "text/plain");
	hv_conn_close(c);
	for (int i = 0; dur && i < 2; i++) {
		snprintf(path, sizeof path, "%s/haven/Clipboard/entry-%016" PRIx64, f.runtime, i ? s2 : s1);
		dur_check(log, path, 1);
	}
	svc_stop(&f);
}

/* --- crash and respawn -------------------------------------------------------- */

static void test_respawn(void)
{
	svc_fixture f;
	svc_start(&f, exe, "clipboard", (const char *const[]){"--history", "8", NULL});
	hv_conn *c = svc_connect(&f);
	hv_map_string_string_entry meta[] = {{"app", "editor"}};
	hv_buffer b = text_buffer("first");
	uint64_t s1 = 0;
	REQUIRE_EQ(clipboard_server_set_clipboard_data(c, b, "text/plain",
						     (hv_map_string_string){meta, 1}, &s1),
		 0);
	hv_buffer_release(&b);
	b = text_buffer("<i>first</i>");
	REQUIRE_EQ(clipboard_server_add_clipboard_data(c, s1, b, "text/html"), 0);
	hv_buffer_release(&b);
	uint64_t s2 = set_text(c, "second", "text/plain");

	/* SIGKILL: no chance to save anything after the acknowledgements. */
	int status = svc_kill(&f, SIGKILL);
	REQUIRE(WIFSIGNALED(status));
	hv_buffer out = HV_BUFFER_EMPTY;
	int r = clipboard_server_get_clipboard_data(c, &out, NULL, NULL);
	REQUIRE(r == -ECONNRESET || r == -EPIPE);
	hv_conn_close(c);
	svc_respawn(&f);

	c = svc_connect(&f);
	REQUIRE(paste_is(c, "", "second"));
	hv_vec_clipboard_server_entry_info h;
	REQUIRE_EQ(clipboard_server_get_history(c, &h), 0);
	REQUIRE_EQ(h.count, 2);
	REQUIRE_EQ(h.items[0].serial, s2);
	REQUIRE_EQ(h.items[1].serial, s1);
	REQUIRE_EQ(h.items[1].mime_types.count, 2);
	REQUIRE_EQ(h.items[1].metadata.count, 1);
	REQUIRE(!strcmp(h.items[1].metadata.items[0].value, "editor"));
	REQUIRE_EQ(clipboard_server_get_history_data(c, s1, "text/html", &out), 0);
	REQUIRE(out.size == 12 && !memcmp(out.data, "<i>first</i>", 12));
	hv_buffer_release(&out);
	/* New entries continue after the old serials. */
	REQUIRE(set_text(c, "third", "text/plain") > s2);
	hv_conn_close(c);

	/* A writer that is killed under: every acknowledged write survives.
	 * The service dies at points chosen by the writer's progress (not by
	 * time), and is respawned each round. */
	int acked = 0;
	for (int round = 0; round < 6; round++) {
		c = svc_connect(&f);
		int n = 3 + round;
		for (int i = 0; i < n; i++) {
			char text[32];
			snprintf(text, sizeof text, "w%d", acked + 1);
			set_text(c, text, "text/plain");
			acked++;
		}
		/* One more write in flight when the kill lands: it may or may
		 * not be kept, but it must never be torn. */
		hv_buffer inflight = text_buffer("in flight");
		hv_map_string_string none = {0};
		REQUIRE_EQ(clipboard_server_set_clipboard_data_async(c, inflight, "text/plain", none,
								   ignore_reply, NULL),
			 0);
		hv_conn_flush(c);
		hv_buffer_release(&inflight);
		svc_kill(&f, SIGKILL);
		hv_conn_close(c);
		svc_respawn(&f);

		c = svc_connect(&f);
		REQUIRE_EQ(clipboard_server_get_history(c, &h), 0);
		/* Newest first: maybe the in-flight one, then the last acked ones. */
		size_t k = 0;
		hv_buffer d = HV_BUFFER_EMPTY;
		REQUIRE(h.count >= 1);
		uint64_t first_serial = h.items[0].serial;
		REQUIRE_EQ(clipboard_server_get_history_data(c, first_serial, "", &d), 0);
		bool kept_inflight = d.size == 9 && !memcmp(d.data, "in flight", 9);
		hv_buffer_release(&d);
		REQUIRE_EQ(clipboard_server_get_history(c, &h), 0);
		k = kept_inflight ? 1 : 0;
		size_t want = HV_MIN((size_t)8 - k, (size_t)n);
		REQUIRE(h.count >= k + want);
		uint64_t serials[8];
		for (size_t i = 0; i < k + want; i++)
			serials[i] = h.items[i].serial;
		for (size_t i = 0; i < want; i++) {
			char text[32];
			snprintf(text, sizeof text, "w%d", acked - (int)i);
			REQUIRE_EQ(clipboard_server_get_history_data(c, serials[k + i], "", &d), 0);
			REQUIRE(d.size == strlen(text) && !memcmp(d.data, text, d.size));
			hv_buffer_release(&d);
		}
		hv_conn_close(c);
	}
	svc_stop(&f);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CLIPBOARD_EXE\n", argv[0]);
		return 2;
	}
	exe = argv[1];
	signal(SIGPIPE, SIG_IGN);
	test_api();
	test_big_buffer();
	test_sparse();
	test_events();
	test_bad_input();
	test_client_dies();
	test_concurrent();
	test_hostile_files();
	test_save_fails();
	test_durability();
	test_respawn();
	int r = check_result();
	if (r == 0)
		printf("ok\n");
	return r;
}
