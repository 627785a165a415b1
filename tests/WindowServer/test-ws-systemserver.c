/* test-ws-systemserver.c — WindowServer as shipped: SystemServer reads
 * etc/services/WindowServer.ini, creates the "window" portal and starts
 * the service, confined, on the first connection; a client opens a window,
 * paints it, and the screenshot shows it; the service is under a seccomp
 * filter with no_new_privs.
 *
 * Usage: test-ws-systemserver SystemServer WindowServer.ini WindowServer
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "service.h"
#include "window.h"

#define WAIT_ROUNDS 6000 /* x 5 ms = 30 s: a hang guard only */

static char dir[64], portal[128];
static pid_t ss_pid;

static void start_systemserver(const char *ss, const char *ini, const char *server)
{
	strcpy(dir, "/tmp/ws-ss-XXXXXX");
	REQUIRE(mkdtemp(dir));
	snprintf(portal, sizeof portal, "%s/portal/window", dir);
	char server_dir[PATH_MAX];
	REQUIRE(realpath(server, server_dir));
	ss_pid = fork();
	REQUIRE(ss_pid >= 0);
	if (ss_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* A confined sanitized service cannot run its leak scan (ptrace). */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execl(ss, ss, "--user", "--runtime-dir", dir, "--config", ini, "--service-path",
		      dirname(server_dir), (char *)NULL);
		_exit(127);
	}
}

static wsc_display *connect_portal(void)
{
	for (int i = 0; i < WAIT_ROUNDS; i++) {
		wsc_display *ws = NULL;
		if (access(portal, F_OK) == 0 && wsc_connect(NULL, portal, &ws) == 0) {
			hv_conn_set_timeout(wsc_conn(ws), 60000);
			return ws;
		}
		int status;
		REQUIRE_EQ(waitpid(ss_pid, &status, WNOHANG), 0);
		poll(NULL, 0, 5);
	}
	REQUIRE(!"the window portal never appeared");
	return NULL;
}

static pid_t find_service(void) { return svc_find_child(ss_pid, "WindowServer"); }

static int status_field(pid_t pid, const char *name)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	REQUIRE(f);
	int v = -1;
	size_t n = strlen(name);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, name, n) && line[n] == ':')
			v = atoi(line + n + 1);
	fclose(f);
	return v;
}

static int painted;

static void on_paint(wsc_window *w, const hv_int_rect *rects, size_t n, void *ud)
{
	hv_bitmap *b = wsc_window_back(w);
	REQUIRE(b);
	wsc_bitmap_fill(b, (hv_int_rect){0, 0, (int32_t)b->width, (int32_t)b->height}, 0xff12ab34);
	CHECK_EQ(wsc_window_flip(w, NULL, 0), 0);
	painted++;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

int main(int argc, char **argv)
{
	REQUIRE_EQ(argc, 4);
	signal(SIGPIPE, SIG_IGN);
	start_systemserver(argv[1], argv[2], argv[3]);

	wsc_display *ws = connect_portal();
	static const wsc_window_events ev = {.paint = on_paint};
	wsc_window *w = NULL;
	REQUIRE_EQ(wsc_window_create(ws, (hv_int_rect){100, 100, 64, 48}, "shipped", 0, &ev, NULL, &w), 0);
	for (int i = 0; i < 500 && !painted; i++)
		hv_conn_dispatch(wsc_conn(ws), 10);
	REQUIRE(painted);
	hv_bitmap shot;
	REQUIRE_EQ(window_server_get_screen_bitmap(wsc_conn(ws), &shot), 0);
	const uint32_t *px = (const uint32_t *)((const uint8_t *)shot.buffer.data + 120 * shot.stride);
	CHECK_EQ(px[130] & 0xffffff, 0x12ab34);
	hv_bitmap_release(&shot);

	pid_t svc = find_service();
	REQUIRE(svc > 0);
	CHECK_EQ(status_field(svc, "Seccomp"), 2);
	CHECK_EQ(status_field(svc, "NoNewPrivs"), 1);

	wsc_close(ws);
	int status;
	REQUIRE_EQ(kill(ss_pid, SIGTERM), 0);
	REQUIRE_EQ(waitpid(ss_pid, &status, 0), ss_pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return check_result();
}
