/* test-kpl — KeyboardPreferenceLoader with a real ConfigServer and a real
 * WindowServer (virtual backend, --test-input), each started as
 * SystemServer would (tests/lib/service.h): the key at z's position
 * (KEY_Z, 44) types 'z' under "us" and 'y' under "de" in a client's
 * window; a change in ConfigServer takes effect without a restart; an
 * invalid layout or variant keeps the old keymap and says why (status and
 * log); Num Lock decides what the keypad types; a WindowServer that
 * restarts gets the keymap again; WindowServer refuses a keymap that does
 * not compile, and inject_scancode without a keymap. The console is
 * never touched (--console none).
 *
 * Usage: test-kpl CONFIGSERVER WINDOWSERVER KEYBOARDPREFERENCELOADER THEME */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "KeyboardPreferenceLoader.ipc.h"
#include "check.h"
#include "config-client.h"
#include "service.h"
#include "window.h"

static svc_fixture cfg, wsf, kplf;
static wsc_display *ws;
static wsc_window *win;
static hv_conn *conf, *kpl;
static uint32_t last_cp;
static int keys_down;

static void on_key(wsc_window *w, uint32_t cp, uint32_t key, uint32_t mods, bool down, void *ud)
{
	if (down) {
		last_cp = cp;
		keys_down++;
	}
}
static void on_paint(wsc_window *w, const hv_int_rect *r, size_t n, void *ud) {}
static const wsc_window_events events = {.paint = on_paint, .key = on_key};

static void pump(int ms)
{
	hv_conn_dispatch(wsc_conn(ws), ms);
}

/* What pressing and releasing Linux key `code` types in the window. */
static uint32_t type(uint32_t code)
{
	int before = keys_down;
	last_cp = 0xffffffff;
	CHECK_EQ(window_server_inject_scancode(wsc_conn(ws), code, true), 0);
	CHECK_EQ(window_server_inject_scancode(wsc_conn(ws), code, false), 0);
	for (int i = 0; i < 300 && keys_down == before; i++)
		pump(10);
	return last_cp;
}

static bool keymap_is(const char *want)
{
	const char *name = NULL;
	return window_server_get_keymap(wsc_conn(ws), &name) == 0 && strcmp(name, want) == 0;
}

#define WAIT_UNTIL(cond)                                                                           \
	do {                                                                                       \
		for (int _i = 0; _i < 1000 && !(cond); _i++)                                       \
			usleep(10000);                                                             \
		CHECK_MSG(cond, "waited in vain for %s", #cond);                                   \
	} while (0)

static void set(const char *group, const char *key, const char *value)
{
	int r = value ? conf_write_string(conf, "Keyboard", group, key, value)
		      : conf_remove_key(conf, "Keyboard", group, key);
	CHECK_MSG(r == 0, "config %s.%s: %d", group, key, r);
}

static keyboard_preference_loader_state status(void)
{
	keyboard_preference_loader_state st = {0};
	CHECK_EQ(keyboard_preference_loader_status(kpl, &st), 0);
	return st;
}

static bool status_error_mentions(const char *words)
{
	keyboard_preference_loader_state st = status();
	return strstr(st.error, words) != NULL;
}

static void open_window(void)
{
	REQUIRE_EQ(wsc_connect(NULL, wsf.sock, &ws), 0);
	hv_conn_set_timeout(wsc_conn(ws), 30000);
	REQUIRE_EQ(wsc_window_create(ws, (hv_int_rect){100, 100, 200, 100}, "keys", 0, &events, NULL, &win), 0);
	/* A click in it: it is the active window, keys go to it. */
	CHECK_EQ(window_server_inject_mouse(wsc_conn(ws), (hv_int_point){150, 150}, 1, 0), 0);
	CHECK_EQ(window_server_inject_mouse(wsc_conn(ws), (hv_int_point){150, 150}, 0, 0), 0);
	pump(50);
}

static void start_wsf(const char *exe, const char *theme)
{
	static const char *args[6];
	args[0] = "--size", args[1] = "640x480", args[2] = "--theme", args[3] = theme, args[4] = "--test-input";
	svc_start(&wsf, exe, "window", args);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: test-kpl CONFIGSERVER WINDOWSERVER KEYBOARDPREFERENCELOADER THEME\n");
		return 2;
	}
	svc_start(&cfg, argv[1], "config", NULL);
	REQUIRE_EQ(conf_connect(NULL, cfg.sock, &conf), 0);
	start_wsf(argv[2], argv[4]);
	open_window();

	/* No keymap yet: key codes cannot be translated. */
	CHECK_EQ(window_server_inject_scancode(wsc_conn(ws), 44, true), -ENOENT);
	/* A keymap that does not compile is refused; nothing is in effect. */
	CHECK(window_server_set_keymap(wsc_conn(ws), "junk", "xkb_keymap { nonsense", false) < 0);
	CHECK(keymap_is(""));

	set("Mapping", "Layout", "us");
	svc_prepare(&kplf, argv[3], "keyboard", NULL);
	char log[256];
	snprintf(log, sizeof(log), "%s/kpl.log", kplf.dir);
	kplf.log = log;
	const char *kargs[] = {"--config-socket", cfg.sock, "--windowserver-socket", wsf.sock, "--console", "none",
			       NULL};
	kplf.args = kargs;
	svc_respawn(&kplf);
	REQUIRE_EQ(hv_conn_connect(NULL, kplf.sock, &kpl), 0);

	/* Applied at the start. */
	WAIT_UNTIL(keymap_is("us"));
	CHECK_EQ(type(44), 'z');
	CHECK_EQ(status().applies, 1);
	CHECK(strcmp(status().windowserver, "applied") == 0);
	CHECK(strstr(status().console, "skipped") != NULL);

	/* A change in ConfigServer: at once, no restart. */
	set("Mapping", "Layout", "de");
	WAIT_UNTIL(keymap_is("de"));
	CHECK_EQ(type(44), 'y');
	CHECK_EQ(type(21), 'z'); /* KEY_Y's position types z under de */

	/* An invalid layout: the old keymap stays, and why is said. */
	set("Mapping", "Layout", "xx-no-such");
	WAIT_UNTIL(status_error_mentions("xx-no-such"));
	CHECK(keymap_is("de"));
	CHECK_EQ(type(44), 'y');
	CHECK(svc_log_says(&kplf, "the previous ones stay", 5000));
	CHECK(strcmp(status().applied.layout, "de") == 0);
	/* An invalid variant of a valid layout: the same. */
	set("Mapping", "Variant", "no-such-variant");
	set("Mapping", "Layout", "de");
	WAIT_UNTIL(status_error_mentions("no-such-variant"));
	CHECK(keymap_is("de"));
	set("Mapping", "Variant", "nodeadkeys");
	WAIT_UNTIL(keymap_is("de(nodeadkeys)"));
	CHECK(status().error[0] == '\0');
	CHECK_EQ(type(44), 'y');

	/* Num Lock: the keypad's 1 (KEY_KP1, 79) types '1' only with it on. */
	set("StartupEnable", "NumLock", "true");
	WAIT_UNTIL(status().applied.num_lock == 1 && strcmp(status().windowserver, "applied") == 0);
	pump(50);
	CHECK_EQ(type(79), '1');
	set("StartupEnable", "NumLock", "false");
	WAIT_UNTIL(status().applied.num_lock == 0 && strcmp(status().windowserver, "applied") == 0);
	pump(50);
	CHECK(type(79) != '1');

	/* WindowServer dies and comes back: it gets the keymap again. */
	wsc_close(ws);
	svc_kill(&wsf, SIGKILL);
	svc_respawn(&wsf);
	open_window();
	WAIT_UNTIL(keymap_is("de(nodeadkeys)"));
	CHECK_EQ(type(44), 'y');

	hv_conn_close(kpl);
	hv_conn_close(conf);
	wsc_close(ws);
	svc_stop(&kplf);
	svc_stop(&wsf);
	svc_stop(&cfg);
	return check_result();
}
