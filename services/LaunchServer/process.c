/* process.c — LaunchServer's process around its handlers: options, the
 * database's first load and its reloads when the XDG directories change
 * (inotify on the loop), the spawner, and the sandbox's view. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <haven/log.h>
#include <haven/loop.h>
#include <haven/service.h>

#include "LaunchServer.h"

struct lch_state lch = {.inotify_fd = -1};
struct lch_options lch_opts = {.terminal = "x-terminal-emulator -e"};

const hv_option lch_option_table[] = {
	HV_OPT_STRING("terminal", "CMD", &lch_opts.terminal,
		      "runs Terminal=true applications: CMD's words, then the\n"
		      "application's argv (default \"x-terminal-emulator -e\")"),
	HV_OPT_STRING("magic", "FILE", &lch_opts.magic, "libmagic database (default: libmagic's)"),
	HV_OPT_FLAG("app-output", &lch_opts.app_output,
		    "applications' stdout/stderr into the service log (default /dev/null)"),
	{0},
};

/* The view, filled by setup (step 3) before the runner applies it (step
 * 5): each XDG data directory's applications/ and mime/ (the directory
 * itself when one is missing, so it may appear later), each config
 * directory (mimeapps.list), and $XDG_CONFIG_HOME writable. */
#define LCH_MAX_VIEW 48
static const char *view_r[LCH_MAX_VIEW];
static const char *view_rwc;
static hv_strv view_paths;
#define R(i) HV_UNVEIL_IF_EXISTS(view_r[i], "r")
const hv_unveil_rule lch_unveil_rules[] = {
	R(0),  R(1),  R(2),  R(3),  R(4),  R(5),  R(6),
	R(7),  R(8),  R(9),  R(10), R(11), R(12), R(13),
	R(14), R(15), R(16), R(17), R(18), R(19), R(20),
	R(21), R(22), R(23), R(24), R(25), R(26), R(27),
	R(28), R(29), R(30), R(31), R(32), R(33), R(34),
	R(35), R(36), R(37), R(38), R(39), R(40), R(41),
	R(42), R(43), R(44), R(45), R(46), R(47), HV_UNVEIL_IF_EXISTS(view_rwc, "rwc"),
	{0},
};
#undef R

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int plan_view(void)
{
	const struct lch_paths *p = &lch.paths;
	char buf[4096];
	int r = 0;
	for (size_t i = 0; i < p->data_dirs.n && r >= 0; i++) {
		static const char *const subs[] = {"applications", "mime"};
		for (size_t k = 0; k < 2 && r >= 0; k++) {
			snprintf(buf, sizeof(buf), "%s/%s", p->data_dirs.v[i], subs[k]);
			r = hv_strv_push_unique(&view_paths, is_dir(buf) ? buf : p->data_dirs.v[i]);
		}
	}
	for (size_t i = p->config_home ? 1 : 0; i < p->config_dirs.n && r >= 0; i++)
		r = hv_strv_push_unique(&view_paths, p->config_dirs.v[i]);
	if (r < 0)
		return r;
	if (view_paths.n > LCH_MAX_VIEW)
		return hv_log_errno(-E2BIG, "%zu XDG directories: LaunchServer sees at most %d",
				    view_paths.n, LCH_MAX_VIEW);
	for (size_t i = 0; i < view_paths.n; i++)
		view_r[i] = view_paths.v[i];
	view_rwc = p->config_home;
	return 0;
}

/* Watch every directory whose change can change an answer; adding a
 * watch again is harmless (same descriptor), so reloads just re-add. */
static void add_watches(void)
{
	const uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
			      IN_ATTRIB | IN_DELETE_SELF | IN_ONLYDIR;
	char buf[4096];
	for (size_t i = 0; i < lch.paths.data_dirs.n; i++) {
		const char *d = lch.paths.data_dirs.v[i];
		inotify_add_watch(lch.inotify_fd, d, mask);
		snprintf(buf, sizeof(buf), "%s/applications", d);
		inotify_add_watch(lch.inotify_fd, buf, mask);
		snprintf(buf, sizeof(buf), "%s/mime", d);
		inotify_add_watch(lch.inotify_fd, buf, mask);
	}
	for (size_t i = 0; i < lch.paths.config_dirs.n; i++)
		inotify_add_watch(lch.inotify_fd, lch.paths.config_dirs.v[i], mask);
	/* Subdirectories of applications/ (IDs with '-', rare) are not
	 * watched: a change there shows at the next reload. */
}

int lch_reload(void)
{
	struct lch_db *db = NULL;
	int r = lch_db_load(&lch.paths, &db);
	if (r < 0)
		return hv_log_errno(
			r, "Failed to re-read the XDG directories; the previous view stays");
	lch_db_free(lch.db);
	lch.db = db;
	lch.reloads++;
	hv_log_info("%zu applications, %zu mimeapps.list, %u problem(s)", db->napps, db->nlists,
		    db->problems);
	if (lch.inotify_fd >= 0)
		add_watches();
	return 0;
}

static void on_reload_timer(hv_loop *loop, hv_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	(void)ud;
	lch_reload();
}

static void on_inotify(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	(void)loop;
	(void)events;
	(void)ud;
	char buf[8192];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	/* A package install or an editor's save is a burst of events: read
	 * once, 50 ms after the first. */
	if (!hv_timer_armed(lch.reload_timer))
		hv_timer_arm(lch.reload_timer, 50 * 1000000ull, 0);
}

static int split_words(const char *s, hv_strv *out)
{
	char buf[1024];
	int r = 0;
	for (const char *p = s; *p && r >= 0;) {
		size_t n = strcspn(p, " ");
		if (n && n < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s", (int)n, p);
			r = hv_strv_push(out, buf);
		}
		p += n;
		if (*p)
			p++;
	}
	return r;
}

/* $XDG_CONFIG_HOME must exist before the sandbox names it (set_default
 * writes mimeapps.list there). */
static int make_config_home(void)
{
	const char *home = lch.paths.config_home;
	int r = home ? hv_mkdir_p(home, 0700) : 0;
	return r < 0 ? hv_log_errno(r, "Failed to create %s", home) : 0;
}

int lch_setup(hv_server *srv)
{
	hv_loop *loop = hv_server_loop(srv);
	int r = lch_paths_from_env(&lch.paths);
	if (r >= 0)
		r = split_words(lch_opts.terminal ? lch_opts.terminal : "", &lch.terminal);
	if (r >= 0)
		r = lch_magic_open(lch_opts.magic, &lch.paths.magic);
	if (r >= 0)
		r = make_config_home();
	if (r >= 0)
		r = lch_db_load(&lch.paths, &lch.db);
	if (r < 0)
		return hv_log_errno(r, "Failed to read the XDG directories");
	hv_log_info("%zu applications, %zu mimeapps.list, %u problem(s)", lch.db->napps,
		    lch.db->nlists, lch.db->problems);
	/* Before the sandbox: the spawner must not inherit it. */
	if ((r = lch_spawner_start(lch_opts.app_output, &lch.spawner)) < 0)
		return r;
	lch.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (lch.inotify_fd < 0)
		return hv_log_errno(-errno, "Failed to start watching the XDG directories");
	add_watches();
	r = hv_loop_add_fd(loop, lch.inotify_fd, HV_IO_READ, on_inotify, NULL, &lch.inotify_watch);
	if (r >= 0)
		r = hv_loop_add_timer(loop, 0, 0, on_reload_timer, NULL, &lch.reload_timer);
	if (r >= 0)
		hv_timer_disarm(lch.reload_timer);
	return r < 0 ? r : plan_view();
}

void lch_teardown(int exit_code)
{
	(void)exit_code;
	hv_watch_free(lch.inotify_watch);
	hv_timer_free(lch.reload_timer);
	hv_close(&lch.inotify_fd);
	lch_spawner_stop(lch.spawner);
	lch_db_free(lch.db);
	lch_magic_close(lch.paths.magic);
	lch_paths_clear(&lch.paths);
	hv_strv_clear(&lch.terminal);
	hv_strv_clear(&view_paths);
}
