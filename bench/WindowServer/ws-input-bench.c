/* ws-input-bench — input to pixel, end to end: a WindowServer on the vnc
 * backend, a client's window, and a VNC viewer (libvncclient) that drags
 * the window by its title bar one pixel at a time and waits until the
 * frame it receives shows the window at its new place. The time from
 * sending the pointer event to that update is what a person at a viewer
 * sees; it includes the frame clock's wait for the next frame (at most
 * 16.7 ms). Target (issue 22): <= 1 frame. --quick: a few moves only. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rfb/rfbclient.h>

#include <haven/loop.h>

#include "window.h"

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || getsockname(fd, (struct sockaddr *)&sa, &len))
		exit(1);
	close(fd);
	return ntohs(sa.sin_port);
}

static void quiet(const char *fmt, ...)
{
}

static void on_paint(wsc_window *w, const hv_int_rect *rects, size_t n, void *ud)
{
	hv_bitmap *b = wsc_window_back(w);
	if (!b)
		exit(1);
	wsc_bitmap_fill(b, (hv_int_rect){0, 0, (int32_t)b->width, (int32_t)b->height}, 0xff00ff00);
	wsc_window_flip(w, NULL, 0);
	(*(int *)ud)++;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static pid_t start_server(const char *dir, int port)
{
	char sock[256], port_s[16];
	snprintf(sock, sizeof(sock), "%s/ws.sock", dir);
	snprintf(port_s, sizeof(port_s), "%d", port);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execl(WS_SERVER_PATH, "WindowServer", "--socket", sock, "--backend", "vnc", "--vnc-port",
		      port_s, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(sock, F_OK); i++)
		poll(NULL, 0, 10);
	return pid;
}

/* The window's left content column is at x: green there, not at x - 1. */
static bool window_at(rfbClient *v, int x, int y)
{
	const uint32_t *fb = (const uint32_t *)v->frameBuffer;
	return (fb[y * v->width + x] & 0xffffff) == 0x00ff00 &&
	       (fb[y * v->width + x - 1] & 0xffffff) != 0x00ff00;
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && !strcmp(argv[1], "--quick");
	int moves = quick ? 5 : 200;
	signal(SIGPIPE, SIG_IGN);
	char dir[] = "/tmp/ws-input-bench-XXXXXX", sock[256];
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/ws.sock", dir);
	int port = free_port();
	pid_t server = start_server(dir, port);

	wsc_display *ws = NULL;
	wsc_window *w = NULL;
	int painted = 0;
	static wsc_window_events ev = {.paint = on_paint};
	if (wsc_connect(NULL, sock, &ws) < 0 ||
	    wsc_window_create(ws, (hv_int_rect){100, 100, 300, 200}, "drag me", 0, &ev, &painted, &w) < 0) {
		fprintf(stderr, "ws-input-bench: no WindowServer\n");
		return 1;
	}
	while (!painted)
		hv_conn_dispatch(wsc_conn(ws), 100);

	rfbClientLog = rfbClientErr = quiet;
	rfbClient *v = rfbGetClient(8, 3, 4);
	v->format.redShift = 16, v->format.greenShift = 8, v->format.blueShift = 0;
	v->appData.encodingsString = "raw";
	free(v->serverHost);
	v->serverHost = strdup("127.0.0.1");
	v->serverPort = port;
	if (!rfbInitClient(v, NULL, NULL))
		return 1;
	/* Press on the title bar (the default theme's: 19 px above the content). */
	int x = 100, tx = 250, ty = 90, y = 200;
	SendPointerEvent(v, tx, ty, rfbButton1Mask);
	uint64_t *ns = calloc((size_t)moves, sizeof(*ns));
	int done = 0;
	for (int i = 0; i < moves; i++) {
		uint64_t t0 = hv_now_ns();
		x++, tx++;
		SendPointerEvent(v, tx, ty, rfbButton1Mask);
		while (!window_at(v, x, y) && hv_now_ns() - t0 < 1000000000ull) {
			if (WaitForMessage(v, 1000) > 0 && !HandleRFBServerMessage(v))
				break;
			hv_conn_dispatch(wsc_conn(ws), 0); /* the moved events */
		}
		if (!window_at(v, x, y))
			break;
		ns[done++] = hv_now_ns() - t0;
		poll(NULL, 0, (i * 7) % 17); /* arrive at all phases of the frame clock */
	}
	SendPointerEvent(v, tx, ty, 0);
	free(v->frameBuffer);
	rfbClientCleanup(v);
	wsc_close(ws);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	rmdir(dir);
	if (done < moves) {
		fprintf(stderr, "ws-input-bench: move %d never reached the viewer\n", done + 1);
		return 1;
	}
	qsort(ns, (size_t)done, sizeof(*ns), cmp_u64);
	printf("input to pixel over VNC (drag by 1 px, %d moves): median %.2f ms, p90 %.2f ms, "
	       "max %.2f ms (target <= 16.7)\n",
	       done, ns[done / 2] / 1e6, ns[done * 9 / 10] / 1e6, ns[done - 1] / 1e6);
	free(ns);
	return 0;
}
