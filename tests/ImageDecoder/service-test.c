/* service-test.c — ImageDecoder end to end: real decoder processes started
 * the way SystemServer starts them (a connected socket as LISTEN_FDS), or
 * by SystemServer itself, talked to through the generated client.
 *
 *   service-test NAME [SYSTEMSERVER]     runs one test, exit 0 on success
 *
 * Images are made here with libpng's writer and as PNM/BMP bytes, so every
 * expected pixel is known exactly. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>
#include <jpeglib.h> /* after stdio.h */
#include <qoi.h>     /* the implementation is in the decoder library */

#include "ImageDecoderClient.ipc.h"
#include "ImageDecoderServer.ipc.h"
#include "imagedecoder-client.h"
#include "image.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static int failures;
#define CHECK(cond, ...)                                                                       \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);        \
			fprintf(stderr, __VA_ARGS__);                                          \
			fprintf(stderr, "\n");                                                 \
			failures++;                                                            \
		}                                                                              \
	} while (0)

/* --- images --------------------------------------------------------------- */

#define PW 37
#define PH 23
static uint8_t rgba_src[PW * PH * 4];

static void make_pixels(void)
{
	for (int y = 0; y < PH; y++)
		for (int x = 0; x < PW; x++) {
			uint8_t *p = rgba_src + (y * PW + x) * 4;
			p[0] = (uint8_t)(x * 7), p[1] = (uint8_t)(y * 11), p[2] = (uint8_t)(x * y);
			p[3] = (uint8_t)(255 - x * 3);
		}
}

static uint8_t *make_png(size_t *len)
{
	png_image img = {.version = PNG_IMAGE_VERSION, .width = PW, .height = PH, .format = PNG_FORMAT_RGBA};
	png_alloc_size_t n = 0;
	if (!png_image_write_to_memory(&img, NULL, &n, 0, rgba_src, 0, NULL))
		abort();
	uint8_t *buf = malloc(n);
	if (!buf || !png_image_write_to_memory(&img, buf, &n, 0, rgba_src, 0, NULL))
		abort();
	*len = n;
	return buf;
}

/* A binary PGM of w x h, value (x + y) & 255: big and cheap to make. */
static uint8_t *make_pgm(uint32_t w, uint32_t h, size_t *len)
{
	char hdr[64];
	int n = snprintf(hdr, sizeof hdr, "P5\n%u %u\n255\n", w, h);
	uint8_t *buf = malloc((size_t)n + (size_t)w * h);
	memcpy(buf, hdr, (size_t)n);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			buf[n + (size_t)y * w + x] = (uint8_t)(x + y);
	*len = (size_t)n + (size_t)w * h;
	return buf;
}

/* The frames of a decoded image (sync: imgdec_image; async: the event's
 * image) against the source pixels. */
static bool pixels_match(uint32_t width, uint32_t height, const hv_bitmap *frames)
{
	if (width != PW || height != PH || frames->stride != PW * 4 ||
	    frames->format != HV_PIXEL_BGRA8888 || frames->buffer.size < PW * PH * 4)
		return false;
	const uint8_t *px = frames->buffer.data;
	for (int i = 0; i < PW * PH; i++) {
		const uint8_t *o = px + i * 4, *s = rgba_src + i * 4;
		if (o[0] != s[2] || o[1] != s[1] || o[2] != s[0] || o[3] != s[3]) {
			fprintf(stderr, "pixel %d: got BGRA %u %u %u %u, want RGBA %u %u %u %u\n", i, o[0],
				o[1], o[2], o[3], s[0], s[1], s[2], s[3]);
			return false;
		}
	}
	return true;
}

/* --- processes ------------------------------------------------------------ */

static int wait_child(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

static hv_conn *spawn(pid_t *pid, const char *const *args)
{
	hv_conn *c = NULL;
	int r = imgdec_spawn(NULL, NULL, args, &c, pid);
	if (r < 0) {
		fprintf(stderr, "spawn failed: %s\n", strerror(-r));
		exit(1);
	}
	return c;
}

/* --- tests ---------------------------------------------------------------- */

static void test_sync_png(void)
{
	pid_t pid;
	hv_conn *c = spawn(&pid, NULL);
	size_t len;
	uint8_t *png = make_png(&len);
	imgdec_image im;
	int r = imgdec_decode(c, png, len, 0, 0, NULL, &im);
	CHECK(r == 0, "decode: %d %s", r, hv_conn_last_error(c)->message);
	if (r == 0) {
		CHECK(!strcmp(im.format, "png"), "format %s", im.format);
		CHECK(im.frame_count == 1 && !im.animated, "frames %u", im.frame_count);
		CHECK(pixels_match(im.width, im.height, &im.frames), "pixels differ");
		CHECK(im.frames.buffer.fd >= 0, "bitmap arrives as shared memory");
		imgdec_image_release(&im);
	}
	int32_t spid = 0;
	const char *formats = NULL;
	r = image_decoder_server_get_status(c, &spid, NULL, NULL, NULL, NULL, NULL, &formats);
	CHECK(r == 0 && spid == pid, "status pid %d, spawned %d", spid, pid);
	CHECK(r == 0 && strstr(formats, "webp") && strstr(formats, "tga"), "formats");
	/* The kernel's view of its limits. */
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/limits", pid);
	FILE *f = fopen(path, "r");
	bool cpu_ok = false, as_ok = false;
	while (f && fgets(line, sizeof line, f)) {
		char soft[32], hard[32];
		if (sscanf(line, "Max cpu time %31s %31s", soft, hard) == 2)
			cpu_ok = !strcmp(soft, "30") && !strcmp(hard, "31");
#ifdef UNDER_ASAN
		as_ok = true; /* not set under ASan (see main.c) */
#else
		if (sscanf(line, "Max address space %31s %31s", soft, hard) == 2)
			as_ok = !strcmp(soft, "2147483648") && !strcmp(hard, "2147483648");
#endif
	}
	if (f)
		fclose(f);
	CHECK(cpu_ok && as_ok, "RLIMIT_CPU 30/31 s (%d) and RLIMIT_AS 2 GiB (%d) in %s", cpu_ok, as_ok, path);
	free(png);
	hv_conn_close(c);
	int st = wait_child(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "decoder exits cleanly when its client goes (status %#x)", st);
}

static void expect_error(hv_conn *c, const void *data, size_t len, const char *mime, int code, const char *what)
{
	imgdec_image im;
	int r = imgdec_decode(c, data, len, 0, 0, mime, &im);
	const hv_ipc_error *e = hv_conn_last_error(c);
	CHECK(r == code && e->remote && e->message[0], "%s: got %d (%s), want %d", what, r, e->message, code);
	if (r == 0)
		imgdec_image_release(&im);
	else
		printf("ok %s: %s\n", what, e->message);
}

static void test_errors(void)
{
	pid_t pid;
	hv_conn *c = spawn(&pid, NULL);
	size_t len;
	uint8_t *png = make_png(&len);
	expect_error(c, png, len / 2, NULL, IMG_ETRUNCATED, "truncated png");
	expect_error(c, "this is no image, only text", 27, NULL, IMG_EUNSUPPORTED, "text");
	const char bomb[] = "P6 65535 65535 255\n\0\0\0\0";
	expect_error(c, bomb, sizeof bomb, NULL, IMG_ETOOLARGE, "65535x65535 header");
	uint8_t *bad = malloc(len);
	memcpy(bad, png, len);
	bad[40] ^= 0xff; /* inside IDAT: CRC and data wrong */
	expect_error(c, bad, len, NULL, IMG_ECORRUPT, "corrupt png");
	/* A TGA has no signature: a hint decodes what sniffing cannot. */
	uint8_t tga[18 + 4] = {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 32, 0x28, 1, 2, 3, 4};
	tga[17] |= 0x40; /* set an interleave bit: the sniffer refuses it */
	expect_error(c, tga, sizeof tga, NULL, IMG_EUNSUPPORTED, "tga without hint");
	imgdec_image im;
	int r = imgdec_decode(c, tga, sizeof tga, 0, 0, "image/x-tga", &im);
	CHECK(r == 0, "tga with hint: %d %s", r, hv_conn_last_error(c)->message);
	if (r == 0) {
		const uint8_t *p = im.frames.buffer.data;
		CHECK(im.width == 1 && im.height == 1 && p[0] == 1 && p[1] == 2 && p[2] == 3 && p[3] == 4, "tga pixel");
		imgdec_image_release(&im);
	}
	/* Bad input ended no connection: the next image still decodes. */
	r = imgdec_decode(c, png, len, 0, 0, NULL, &im);
	CHECK(r == 0 && pixels_match(im.width, im.height, &im.frames), "decode after errors: %d", r);
	if (r == 0)
		imgdec_image_release(&im);
	free(bad);
	free(png);
	hv_conn_close(c);
	int st = wait_child(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %#x", st);
}

/* Async: start_decode answers with an id; the image comes as an event. */
struct async_state {
	int64_t ids[3];
	int done, got_image[3], got_error[3], codes[3];
	bool pixels_ok;
};
static struct async_state as;

static int on_image(hv_call *call, const image_decoder_client_did_decode_image_req *req)
{
	for (int i = 0; i < 3; i++)
		if (req->image_id == as.ids[i]) {
			as.got_image[i]++;
			if (i == 2)
				as.pixels_ok = pixels_match(req->image.width, req->image.height, &req->image.frames);
		}
	as.done++;
	return 0;
}

static int on_fail(hv_call *call, const image_decoder_client_did_fail_to_decode_image_req *req)
{
	for (int i = 0; i < 3; i++)
		if (req->image_id == as.ids[i]) {
			as.got_error[i]++;
			as.codes[i] = req->code;
		}
	as.done++;
	return 0;
}

static const image_decoder_client_handlers client_handlers = {
	.did_decode_image = on_image,
	.did_fail_to_decode_image = on_fail,
};

static void on_started(hv_conn *c, int status, const image_decoder_server_start_decode_rep *rep, void *ud)
{
	int slot = (int)(intptr_t)ud;
	CHECK(status == 0, "start_decode %d: %d", slot, status);
	if (status == 0)
		as.ids[slot] = rep->image_id;
}

static void start(hv_conn *c, const void *data, size_t len, int slot)
{
	hv_buffer b;
	CHECK(imgdec_buffer(data, len, &b) == 0, "buffer");
	int r = image_decoder_server_start_decode_async(c, b, (hv_opt_int_size){0}, (hv_opt_bytestring){0},
							 on_started, (void *)(intptr_t)slot);
	CHECK(r == 0, "start_decode: %d", r);
	hv_buffer_release(&b);
}

static void test_async_cancel(void)
{
	hv_loop *loop;
	hv_conn *c;
	pid_t pid;
	CHECK(hv_loop_new(&loop) == 0, "loop");
	CHECK(imgdec_spawn(loop, NULL, NULL, &c, &pid) == 0, "spawn");
	CHECK(hv_conn_serve(c, &image_decoder_client_endpoint, &client_handlers) == 0, "serve events");
	size_t big_len, png_len;
	uint8_t *big = make_pgm(4000, 4000, &big_len), *png = make_png(&png_len);
	/* A long decode, a short one queued behind it and cancelled while it
	 * waits, and one more: all four messages leave in one batch, so the
	 * cancel is read long before the worker is done with the first.
	 * Ids count from 1 in a fresh process (checked below). */
	start(c, big, big_len, 0);
	start(c, png, png_len, 1);
	CHECK(image_decoder_server_cancel_decode(c, 2) == 0, "cancel");
	start(c, png, png_len, 2);
	while (as.done < 3 && hv_conn_is_open(c))
		hv_loop_run_once(loop, 1000);
	CHECK(as.ids[0] == 1 && as.ids[1] == 2 && as.ids[2] == 3, "ids %lld %lld %lld", (long long)as.ids[0],
	      (long long)as.ids[1], (long long)as.ids[2]);
	CHECK(as.got_image[0] == 1, "long decode finished");
	CHECK(as.got_error[1] == 1 && as.codes[1] == -ECANCELED, "queued decode cancelled (image %d, error %d code %d)",
	      as.got_image[1], as.got_error[1], as.codes[1]);
	CHECK(as.got_image[2] == 1 && as.pixels_ok, "decode after the cancel");
	free(big);
	free(png);
	hv_conn_close(c);
	hv_loop_free(loop);
	int st = wait_child(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %#x", st);
}

/* The sandbox: after setup, opening a file or making a socket kills. */
static void test_sandbox(void)
{
	static const char *const hooks[] = {"--debug-hooks", NULL};
	for (uint8_t what = 1; what <= 2; what++) {
		pid_t pid;
		hv_conn *c = spawn(&pid, hooks);
		int32_t res = 12345;
		int r = image_decoder_server_debug_try_escape(c, what, &res);
		CHECK(r == -ECONNRESET || r == -EPIPE, "escape %u: the call must end with the process (got %d, result %d)",
		      what, r, res);
		hv_conn_close(c);
		int st = wait_child(pid);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "escape %u: killed by SIGSYS (status %#x)", what, st);
	}
	/* Without --debug-hooks the hook is refused, and nothing dies. */
	pid_t pid;
	hv_conn *c = spawn(&pid, NULL);
	int r = image_decoder_server_debug_try_escape(c, 1, NULL);
	CHECK(r == -EPERM && hv_conn_last_error(c)->remote, "hook off: %d", r);
	hv_conn_close(c);
	int st = wait_child(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}

/* RLIMIT_CPU: a decoder spinning on the CPU dies of SIGXCPU (or of the
 * hard limit's SIGKILL a second later) and its client gets a clean error.
 * Only the test's timeout bounds it: nothing here is timed. */
static void test_cpu_limit(void)
{
	static const char *const args[] = {"--cpu-seconds", "1", "--debug-hooks", NULL};
	pid_t pid;
	hv_conn *c = spawn(&pid, args);
	int32_t res = 12345;
	int r = image_decoder_server_debug_try_escape(c, 3, &res);
	CHECK(r == -ECONNRESET || r == -EPIPE, "the call must end with the process (got %d, result %d)", r, res);
	int32_t spid;
	r = image_decoder_server_get_status(c, &spid, NULL, NULL, NULL, NULL, NULL, NULL);
	CHECK(r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN, "later calls fail cleanly: %d", r);
	hv_conn_close(c);
	int st = wait_child(pid);
	CHECK(WIFSIGNALED(st) && (WTERMSIG(st) == SIGXCPU || WTERMSIG(st) == SIGKILL),
	      "killed by SIGXCPU or SIGKILL (status %#x)", st);
	if (WIFSIGNALED(st))
		printf("ok decoder ended by signal %d (%s)\n", WTERMSIG(st), strsignal(WTERMSIG(st)));
}

/* A decoder that dies mid-call gives its client a clean error, and another
 * decoder process is untouched. */
static void test_crash_isolation(void)
{
	pid_t p1, p2;
	hv_conn *c1 = spawn(&p1, NULL), *c2 = spawn(&p2, NULL);
	CHECK(p1 != p2, "fresh process per connection");
	size_t big_len, png_len;
	uint8_t *big = make_pgm(4000, 4000, &big_len), *png = make_png(&png_len);
	hv_buffer b;
	CHECK(imgdec_buffer(big, big_len, &b) == 0, "buffer");
	int64_t id;
	CHECK(image_decoder_server_start_decode(c1, b, (hv_opt_int_size){0}, (hv_opt_bytestring){0}, &id) == 0, "start");
	kill(p1, SIGKILL);
	int st = wait_child(p1);
	CHECK(WIFSIGNALED(st), "killed");
	int32_t spid;
	int r = image_decoder_server_get_status(c1, &spid, NULL, NULL, NULL, NULL, NULL, NULL);
	CHECK(r == -ECONNRESET || r == -EPIPE, "call to a dead decoder: %d", r);
	imgdec_image im;
	r = imgdec_decode(c2, png, png_len, 0, 0, NULL, &im);
	CHECK(r == 0 && pixels_match(im.width, im.height, &im.frames), "the other decoder still works: %d", r);
	if (r == 0)
		imgdec_image_release(&im);
	hv_buffer_release(&b);
	free(big);
	free(png);
	hv_conn_close(c1);
	hv_conn_close(c2);
	st = wait_child(p2);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}

/* RLIMIT_AS: a legal image bigger than the process may map fails cleanly. */
static void test_memory_limit(void)
{
#ifdef UNDER_ASAN
	printf("skipped: ASan needs an unlimited address space (RLIMIT_AS is not set under it)\n");
	exit(77);
#else
	static const char *const args[] = {"--max-memory", "96", NULL};
	pid_t pid;
	hv_conn *c = spawn(&pid, args);
	uint64_t mem = 0;
	CHECK(image_decoder_server_get_status(c, NULL, NULL, NULL, NULL, &mem, NULL, NULL) == 0 && mem == 96u << 20,
	      "limit reported: %llu", (unsigned long long)mem);
	size_t len;
	uint8_t *pgm = make_pgm(6000, 6000, &len); /* 36 MB in, 144 MB out */
	expect_error(c, pgm, len, NULL, -ENOMEM, "6000x6000 under a 96 MiB address space");
	free(pgm);
	pgm = make_pgm(1000, 1000, &len); /* still fine afterwards */
	imgdec_image im;
	int r = imgdec_decode(c, pgm, len, 0, 0, NULL, &im);
	CHECK(r == 0 && im.width == 1000, "smaller image after the failure: %d", r);
	if (r == 0)
		imgdec_image_release(&im);
	free(pgm);
	hv_conn_close(c);
	int st = wait_child(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
#endif
}

#ifndef UNDER_ASAN
/* A w x h grayscale JPEG of one value, written a row at a time (a big
 * image costs no big buffer here). */
static uint8_t *make_gray_jpeg(uint32_t w, uint32_t h, uint8_t v, size_t *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	unsigned char *out = NULL;
	unsigned long n = 0;
	jpeg_mem_dest(&c, &out, &n);
	c.image_width = w;
	c.image_height = h;
	c.input_components = 1;
	c.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	jpeg_start_compress(&c, TRUE);
	uint8_t *row = malloc(w);
	memset(row, v, w);
	while (c.next_scanline < h)
		jpeg_write_scanlines(&c, &row, 1);
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(row);
	*len = n;
	return out;
}

static void expect_scaled(hv_conn *c, const void *data, size_t len, uint32_t iw, uint32_t ih, uint32_t w,
			  uint32_t h, const uint8_t bgra[4], const char *what)
{
	imgdec_image im;
	int r = imgdec_decode(c, data, len, iw, ih, NULL, &im);
	CHECK(r == 0, "%s: %d %s", what, r, hv_conn_last_error(c)->message);
	if (r < 0)
		return;
	CHECK(im.width == w && im.height == h, "%s: %ux%u, want %ux%u", what, im.width, im.height, w, h);
	const uint8_t *px = im.frames.buffer.data;
	size_t bad = 0;
	for (size_t i = 0; im.width == w && im.height == h && i < (size_t)w * h; i++)
		for (int k = 0; k < 4; k++)
			bad += abs(px[i * 4 + k] - bgra[k]) > 1;
	CHECK(bad == 0, "%s: %zu samples off", what, bad);
	printf("ok %s: %ux%u\n", what, im.width, im.height);
	imgdec_image_release(&im);
}

#endif

/* Scaled decodes keep one full-size frame at most, and JPEG not even that
 * (its IDCT decodes at n/8): under an address-space limit too small for the
 * full-size frame (JPEG) or for two of them (QOI), they still succeed. */
static void test_scaled_memory(void)
{
#ifdef UNDER_ASAN
	printf("skipped: ASan needs an unlimited address space (RLIMIT_AS is not set under it)\n");
	exit(77);
#else
	static const char *const args[] = {"--max-memory", "112", NULL};
	pid_t pid;
	hv_conn *c = spawn(&pid, args);
	size_t len;
	static const uint8_t gray[4] = {77, 77, 77, 255}, rgba_px[4] = {10, 200, 30, 128},
			     bgra_px[4] = {30, 200, 10, 128};
	uint8_t *jpeg = make_gray_jpeg(6000, 6000, 77, &len); /* 144 MB as BGRA */
	expect_error(c, jpeg, len, NULL, -ENOMEM, "6000x6000 jpeg at full size under 112 MiB");
	expect_scaled(c, jpeg, len, 300, 0, 300, 300, gray, "6000x6000 jpeg scaled to 300 wide under 112 MiB");
	free(jpeg);
	/* 4000x4000 is 64 MB as BGRA: one fits, two (qoi.h's own buffer and
	 * the frame, as before) would not. */
	uint8_t *rgba = malloc(4000u * 4000 * 4);
	for (size_t i = 0; i < 4000u * 4000; i++)
		memcpy(rgba + i * 4, rgba_px, 4);
	qoi_desc d = {.width = 4000, .height = 4000, .channels = 4, .colorspace = QOI_SRGB};
	int qlen = 0;
	uint8_t *qoi = qoi_encode(rgba, &d, &qlen);
	CHECK(qoi && qlen > 0, "qoi_encode");
	free(rgba);
	expect_scaled(c, qoi, (size_t)qlen, 0, 0, 4000, 4000, bgra_px, "4000x4000 qoi under 112 MiB");
	expect_scaled(c, qoi, (size_t)qlen, 100, 100, 100, 100, bgra_px, "4000x4000 qoi scaled to 100x100 under 112 MiB");
	free(qoi);
	hv_conn_close(c);
	int st = wait_child(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
#endif
}

/* Under SystemServer: AcceptSocketConnections gives each connection to the
 * "image" portal its own process, which ends with its client. */
static void test_systemserver(const char *ss)
{
	char tmpl[] = "/tmp/imagedecoder-ss.XXXXXX";
	char *dir = mkdtemp(tmpl);
	CHECK(dir != NULL, "mkdtemp");
	char etc[256], rt[256], ini[300], portal[300], log[300];
	snprintf(etc, sizeof etc, "%s/etc", dir);
	snprintf(rt, sizeof rt, "%s/rt", dir);
	snprintf(ini, sizeof ini, "%s/ImageDecoder.ini", etc);
	snprintf(portal, sizeof portal, "%s/portal/" IMGDEC_PORTAL, rt);
	snprintf(log, sizeof log, "%s/ss.log", dir);
	mkdir(etc, 0700);
	FILE *f = fopen(ini, "w");
	fprintf(f, "[ImageDecoder]\nExecutable=%s\nSocket=%%portal/" IMGDEC_PORTAL "\nAcceptSocketConnections=true\nStdIO=inherit\n",
		imgdec_default_exe());
	fclose(f);
	pid_t mgr = fork();
	if (mgr == 0) {
		freopen(log, "w", stdout);
		execl(ss, ss, "--user", "--runtime-dir", rt, "--config", etc, (char *)NULL);
		_exit(127);
	}
	/* The portal exists once the manager is up (generous: a loaded CI). */
	struct stat st;
	for (int i = 0; i < 3000 && stat(portal, &st) < 0; i++)
		usleep(10000);
	CHECK(stat(portal, &st) == 0, "portal %s appeared", portal);

	size_t len;
	uint8_t *png = make_png(&len);
	int32_t pids[2] = {0, 0};
	hv_conn *c[2] = {NULL, NULL};
	for (int i = 0; i < 2; i++) {
		int r = hv_conn_connect(NULL, portal, &c[i]);
		CHECK(r == 0, "connect %d: %d", i, r);
		if (r < 0)
			continue;
		r = image_decoder_server_get_status(c[i], &pids[i], NULL, NULL, NULL, NULL, NULL, NULL);
		CHECK(r == 0 && pids[i] > 0 && pids[i] != mgr, "status %d: %d pid %d", i, r, pids[i]);
		imgdec_image im;
		r = imgdec_decode(c[i], png, len, 0, 0, NULL, &im);
		CHECK(r == 0 && pixels_match(im.width, im.height, &im.frames), "decode through the portal: %d", r);
		if (r == 0)
			imgdec_image_release(&im);
	}
	CHECK(pids[0] != pids[1], "one process per connection: %d %d", pids[0], pids[1]);
	/* The instance is sandboxed: seccomp filter and no_new_privs. */
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", pids[0]);
	bool seccomp = false, nnp = false;
	if ((f = fopen(path, "r"))) {
		while (fgets(line, sizeof line, f)) {
			seccomp |= !strcmp(line, "Seccomp:\t2\n");
			nnp |= !strcmp(line, "NoNewPrivs:\t1\n");
		}
		fclose(f);
	}
	CHECK(seccomp && nnp, "instance runs under seccomp (%d) with no_new_privs (%d)", seccomp, nnp);
	for (int i = 0; i < 2; i++)
		if (c[i])
			hv_conn_close(c[i]);
	/* Each instance ends with its client. */
	for (int i = 0; i < 2; i++) {
		bool gone = false;
		for (int k = 0; k < 3000 && !gone; k++) {
			gone = kill(pids[i], 0) < 0 && errno == ESRCH;
			if (!gone)
				usleep(10000);
		}
		CHECK(gone, "instance %d exited after its client left", pids[i]);
	}
	kill(mgr, SIGTERM);
	int s = wait_child(mgr);
	CHECK(WIFEXITED(s), "manager stopped (%#x)", s);
	free(png);
	char cmd[400];
	if (failures) {
		snprintf(cmd, sizeof cmd, "cat %s >&2", log);
		if (system(cmd) != 0)
			fprintf(stderr, "(no manager log)\n");
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* The client library's format names (imgdecode checks a --mime hint with
 * them, without the decoder) agree with the decoder's, both ways: every
 * name either knows, and a few neither does. */
/* --- the output pool ------------------------------------------------------ */
/* RGBA (x, y, x ^ y, 255), w x h. */
static uint8_t *make_big_png(uint32_t w, uint32_t h, size_t *len)
{
	uint8_t *rgba = malloc((size_t)w * h * 4);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint8_t *p = rgba + ((size_t)y * w + x) * 4;
			p[0] = (uint8_t)x, p[1] = (uint8_t)y, p[2] = (uint8_t)(x ^ y), p[3] = 255;
		}
	png_image img = {.version = PNG_IMAGE_VERSION, .width = w, .height = h, .format = PNG_FORMAT_RGBA};
	png_alloc_size_t n = 0;
	if (!png_image_write_to_memory(&img, NULL, &n, 0, rgba, 0, NULL))
		abort();
	uint8_t *buf = malloc(n);
	if (!buf || !png_image_write_to_memory(&img, buf, &n, 0, rgba, 0, NULL))
		abort();
	free(rgba);
	*len = n;
	return buf;
}

/* kind 0: make_pgm's (x + y) grey; 1: make_big_png's. */
static bool big_match(const imgdec_image *im, uint32_t w, uint32_t h, int kind)
{
	if (im->width != w || im->height != h || im->frames.stride != w * 4)
		return false;
	const uint8_t *px = im->frames.buffer.data;
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *o = px + ((size_t)y * w + x) * 4;
			uint8_t g = (uint8_t)(x + y);
			bool ok = kind == 0 ? o[0] == g && o[1] == g && o[2] == g && o[3] == 255
					    : o[0] == (uint8_t)(x ^ y) && o[1] == (uint8_t)y &&
						      o[2] == (uint8_t)x && o[3] == 255;
			if (!ok)
				return false;
		}
	return true;
}

static bool in_pool(const imgdec_image *im) { return imgdec_image_pooled(im); }

/* Whether process pid maps, or holds an fd of, the file with inode ino. */
static bool holds(pid_t pid, ino_t ino)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	bool found = false;
	while (f && !found && fgets(line, sizeof line, f)) {
		unsigned long long inode = 0;
		if (sscanf(line, "%*s %*s %*s %*s %llu", &inode) == 1 && inode == (unsigned long long)ino)
			found = true;
	}
	if (f)
		fclose(f);
	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	for (struct dirent *e; d && !found && (e = readdir(d));) {
		char fd_path[320];
		struct stat st;
		snprintf(fd_path, sizeof fd_path, "%s/%s", path, e->d_name);
		found = e->d_name[0] != '.' && stat(fd_path, &st) == 0 && st.st_ino == ino;
	}
	if (d)
		closedir(d);
	return found;
}

/* All zero from `from` to the end of the image's buffer. */
static bool zero_from(const imgdec_image *im, size_t from)
{
	const uint8_t *px = im->frames.buffer.data;
	for (size_t i = from; i < im->frames.buffer.size; i++)
		if (px[i])
			return false;
	return true;
}

static void test_pool(void)
{
	pid_t pid;
	hv_conn *c = spawn(&pid, NULL);
	size_t pgm_len, png_len;
	uint8_t *pgm = make_pgm(640, 480, &pgm_len), *png = make_big_png(512, 512, &png_len);
	const uint8_t *last = NULL;
	unsigned pooled = 0, reused = 0;
	for (int i = 0; i < 6; i++) {
		int kind = i % 2;
		uint32_t w = kind ? 512 : 640, h = kind ? 512 : 480;
		imgdec_image im;
		int r = imgdec_decode(c, kind ? png : pgm, kind ? png_len : pgm_len, 0, 0, NULL, &im);
		CHECK(r == 0, "decode %d: %d %s", i, r, hv_conn_last_error(c)->message);
		if (r < 0)
			continue;
		CHECK(big_match(&im, w, h, kind), "decode %d (%s): pixels differ", i, kind ? "png" : "pgm");
		if (in_pool(&im)) {
			pooled++;
			reused += im.frames.buffer.data == last;
			last = im.frames.buffer.data;
			struct stat st;
			CHECK(fstat(im.frames.buffer.fd, &st) == 0 && !holds(pid, st.st_ino),
			      "decode %d: the decoder still maps or holds the pool buffer", i);
			/* Beyond the image: zeros, whatever was there before. */
			CHECK(zero_from(&im, (size_t)w * h * 4), "decode %d: old bytes beyond the image", i);
		}
		const uint8_t *px = im.frames.buffer.data;
		size_t n = (size_t)w * h * 4;
		bool pool = in_pool(&im);
		imgdec_image_release(&im);
		if (pool) {
			/* Kept by the pool, still mapped here: zeroed for the next. */
			bool zero = true;
			for (size_t k = 0; k < n && zero; k++)
				zero = px[k] == 0;
			CHECK(zero, "decode %d: pixels left in the pool buffer after release", i);
		}
	}
	/* The first decode has no size to go by; every later one is pooled,
	 * and after the first pooled one the same buffer serves them all. */
	CHECK(pooled == 5 && reused == 4, "pooled %u of 6, reused %u", pooled, reused);

	/* A failed decode that wrote rows into the buffer: they are gone
	 * before the buffer serves the next, smaller image. */
	imgdec_image im;
	uint8_t *bad = malloc(png_len);
	memcpy(bad, png, png_len);
	bad[png_len * 3 / 4] ^= 0x5a; /* a later IDAT chunk: rows before it are written */
	int r = imgdec_decode(c, bad, png_len, 0, 0, NULL, &im);
	CHECK(r < 0, "a corrupt PNG decoded (%d)", r);
	free(bad);
	size_t small_len;
	uint8_t *small = make_pgm(300, 220, &small_len);
	r = imgdec_decode(c, small, small_len, 0, 0, NULL, &im);
	CHECK(r == 0 && in_pool(&im) && big_match(&im, 300, 220, 0), "smaller image into the pool: %d", r);
	if (r == 0) {
		CHECK(zero_from(&im, (size_t)300 * 220 * 4), "a failed decode's rows left in the pool buffer");
		imgdec_image_release(&im);
	}
	CHECK(imgdec_pool_bytes() > 0, "nothing kept between decodes");
	imgdec_pool_trim();
	CHECK(imgdec_pool_bytes() == 0, "trim left %zu bytes", imgdec_pool_bytes());
	imgdec_pool_set_limit(0);
	r = imgdec_decode(c, pgm, pgm_len, 0, 0, NULL, &im);
	CHECK(r == 0 && !in_pool(&im) && imgdec_pool_bytes() == 0, "pool off: decode %d, pooled %d", r,
	      r == 0 && in_pool(&im));
	if (r == 0)
		imgdec_image_release(&im);
	imgdec_pool_set_limit(IMGDEC_POOL_DEFAULT_LIMIT);
	free(small);
	free(pgm);
	free(png);
	hv_conn_close(c);
	wait_child(pid);
}

static void test_format_names(void)
{
	static const char *const names[] = {
		"png", "image/png", "apng", "image/apng", "jpeg", "image/jpeg", "jpg",
		"image/jpg", "JPEG", "gif", "image/gif", "webp", "image/webp", "qoi", "image/qoi",
		"bmp", "image/bmp", "ico", "image/vnd.microsoft.icon", "image/x-icon", "cur",
		"image/x-win-bitmap", "image/x-cursor", "pnm", "pbm", "pgm", "ppm", "pam",
		"image/x-portable-anymap", "image/x-portable-bitmap", "image/x-portable-graymap",
		"image/x-portable-pixmap", "image/x-portable-arbitrarymap", "tga", "image/x-tga",
		"image/x-targa", "image/tga",
		/* known to neither */
		"", "svg", "image/svg+xml", "image/nonsense", "png ", "tiff", "image/",
	};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		CHECK(!!imgdec_format_name(names[i]) == img_format_known(names[i]),
		      "\"%s\": client %s, decoder %d", names[i],
		      imgdec_format_name(names[i]) ? imgdec_format_name(names[i]) : "(none)",
		      img_format_known(names[i]));
	/* And every format the decoder lists is one the client names. */
	char formats[256];
	snprintf(formats, sizeof formats, "%s", img_formats());
	for (char *save = NULL, *f = strtok_r(formats, " ", &save); f; f = strtok_r(NULL, " ", &save))
		CHECK(imgdec_format_name(f) != NULL, "%s: listed by the decoder, unknown to the client", f);
	CHECK(imgdec_format_name(NULL) == NULL, "NULL");
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	make_pixels();
	if (argc < 2)
		return 2;
	const char *t = argv[1];
	if (!strcmp(t, "sync-png"))
		test_sync_png();
	else if (!strcmp(t, "errors"))
		test_errors();
	else if (!strcmp(t, "async-cancel"))
		test_async_cancel();
	else if (!strcmp(t, "sandbox"))
		test_sandbox();
	else if (!strcmp(t, "crash-isolation"))
		test_crash_isolation();
	else if (!strcmp(t, "memory-limit"))
		test_memory_limit();
	else if (!strcmp(t, "scaled-memory"))
		test_scaled_memory();
	else if (!strcmp(t, "cpu-limit"))
		test_cpu_limit();
	else if (!strcmp(t, "pool"))
		test_pool();
	else if (!strcmp(t, "format-names"))
		test_format_names();
	else if (!strcmp(t, "systemserver") && argc == 3)
		test_systemserver(argv[2]);
	else
		return 2;
	if (failures)
		fprintf(stderr, "%s: %d check(s) failed\n", t, failures);
	else
		printf("%s: ok\n", t);
	return failures ? 1 : 0;
}
