/* test-launchserver — LaunchServer in a real process on a temporary XDG
 * tree (XDG_DATA_HOME, XDG_DATA_DIRS, XDG_CONFIG_HOME, XDG_CONFIG_DIRS all
 * inside the test's directory): handlers by name and by content, https:,
 * mailto: and a custom scheme, user over system, Hidden and TryExec, the
 * field codes with spaces and quotes in paths (the "applications" are the
 * recorder, which writes the argv it got), shell metacharacters that must
 * never reach a shell, typed errors for bad URLs and missing files, the
 * sealed allowlist, defaults written to mimeapps.list, and re-reading the
 * directories when they change.
 *
 *   test-launchserver LAUNCHSERVER RECORDER */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launch-client.h"
#include "service.h"

static svc_fixture fx;
static char root[256], bin[300], out[300], cfg[300], user_apps[300], sys_apps[300];

static void mkdirs(const char *path)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	mkdir(buf, 0755);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The argv the recorder wrote as `name` with pid, joined with '|'. */
static bool recorded(const char *name, int pid, char *buf, size_t size)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.%d", out, name, pid);
	for (int i = 0; i < 500; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, size - 1);
			close(fd);
			if (n < 0)
				return false;
			for (ssize_t k = 0; k < n; k++)
				if (!buf[k])
					buf[k] = '|';
			buf[n > 0 ? n - 1 : 0] = '\0';
			return true;
		}
		sleep_ms(10);
	}
	buf[0] = '\0';
	return false;
}

static void entry(const char *dir, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void entry(const char *dir, const char *id, const char *fmt, ...)
{
	char path[512], text[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	svc_write_file(path, text);
}

static void make_tree(const char *recorder)
{
	snprintf(root, sizeof(root), "%s/xdg", fx.dir);
	snprintf(bin, sizeof(bin), "%s/bin", root);
	snprintf(out, sizeof(out), "%s/out", root);
	snprintf(cfg, sizeof(cfg), "%s/config", root);
	snprintf(user_apps, sizeof(user_apps), "%s/data/applications", root);
	snprintf(sys_apps, sizeof(sys_apps), "%s/sys/applications", root);
	mkdirs(bin);
	mkdirs(out);
	mkdirs(cfg);
	mkdirs(user_apps);
	mkdirs(sys_apps);
	static const char *const names[] = {"viewer",  "uviewer", "editor", "browser", "mailer",
					    "helpapp", "csvapp",  "term",   "tool"};
	for (size_t i = 0; i < HV_ARRAY_SIZE(names); i++) {
		char link[512];
		snprintf(link, sizeof(link), "%s/%s", bin, names[i]);
		REQUIRE(symlink(recorder, link) == 0);
	}
	/* The system's shared-mime-info globs, in the tree's own mime dir. */
	char mime[512];
	snprintf(mime, sizeof(mime), "%s/sys/mime", root);
	mkdirs(mime);
	static const char *const files[] = {"globs2", "aliases", "subclasses"};
	for (size_t i = 0; i < HV_ARRAY_SIZE(files); i++) {
		char src[256], dst[600];
		snprintf(src, sizeof(src), "/usr/share/mime/%s", files[i]);
		snprintf(dst, sizeof(dst), "%s/%s", mime, files[i]);
		char *argv[] = {"/bin/cp", src, dst, NULL};
		REQUIRE(run_cmd(argv, -1, NULL, 0, NULL, 0) == 0);
	}
	const char *head = "[Desktop Entry]\nType=Application\n";
	entry(sys_apps, "viewer.desktop",
	      "%sName=System Viewer\nExec=%s/viewer %%f\nMimeType=image/png;\n", head, bin);
	entry(sys_apps, "editor.desktop",
	      "%sName=Editor\nName[de]=Bearbeiter\nIcon=accessories-text-editor\n"
	      "Exec=%s/editor --name %%c --desktop %%k %%i \"--lit=a;b \\\\$(touch %s/pwned) "
	      "`id`\" %%F\n"
	      "MimeType=text/plain;\n",
	      head, bin, root);
	entry(sys_apps, "browser.desktop",
	      "%sName=Browser\nExec=%s/browser %%u\n"
	      "MimeType=x-scheme-handler/https;x-scheme-handler/http;text/html;\n",
	      head, bin);
	entry(sys_apps, "mailer.desktop",
	      "%sName=Mailer\nExec=%s/mailer %%u\nMimeType=x-scheme-handler/mailto;\n", head, bin);
	entry(sys_apps, "help.desktop",
	      "%sName=Help\nExec=%s/helpapp %%U\nMimeType=x-scheme-handler/haven-help;\n", head,
	      bin);
	entry(sys_apps, "gone.desktop", "%sName=Gone\nExec=%s/viewer %%f\nMimeType=text/csv;\n",
	      head, bin);
	entry(sys_apps, "tryexec.desktop",
	      "%sName=TryExec\nTryExec=/nonexistent/prog\nExec=%s/viewer %%f\n"
	      "MimeType=text/csv;\n",
	      head, bin);
	entry(sys_apps, "csvapp.desktop", "%sName=CSV\nExec=%s/csvapp %%f\nMimeType=text/csv;\n",
	      head, bin);
	entry(sys_apps, "term.desktop", "%sName=Tool\nTerminal=true\nExec=%s/tool %%f\n", head,
	      bin);
	/* Line 5: a shell command line, which must never reach a shell. */
	entry(sys_apps, "shell.desktop",
	      "%sName=Shell\n\nExec=%s/viewer %%f; touch %s/pwned2\nMimeType=text/csv;\n", head,
	      bin, root);
	entry(sys_apps, "dup.desktop", "%sName=A\nName=B\nExec=%s/viewer\n", head, bin);
	/* The user's: a viewer of its own under the same ID, Hidden for gone. */
	entry(user_apps, "viewer.desktop",
	      "%sName=User Viewer\nExec=%s/uviewer %%f\nMimeType=image/png;\n", head, bin);
	entry(user_apps, "gone.desktop", "[Desktop Entry]\nHidden=true\n");
	/* The system's default for image/png is csvapp; the user's, viewer. */
	entry(sys_apps, "mimeapps.list", "[Default Applications]\nimage/png=csvapp.desktop;\n");
	entry(cfg, "mimeapps.list",
	      "# the user's\n[Default Applications]\nimage/png=viewer.desktop;\n"
	      "[Added Associations]\ntext/csv=viewer.desktop;\n");
}

static const unsigned char png[] = {
	0x89, 'P',  'N',  'G',	'\r', '\n', 0x1a, '\n', 0,   0,	   0,	 13,   'I',  'H',
	'D',  'R',  0,	  0,	0,    1,    0,	  0,	0,   1,	   8,	 6,    0,    0,
	0,    0x1f, 0x15, 0xc4, 0x89, 0,    0,	  0,	13,  'I',  'D',	 'A',  'T',  0x78,
	0x9c, 0x63, 0xf8, 0x0f, 0,    0,    1,	  1,	0,   5,	   0x18, 0xd8, 0x4e, 0,
	0,    0,    0,	  'I',	'E',  'N',  'D',  0xae, 'B', 0x60, 0x82};

static void write_bytes(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, data, n) == (ssize_t)n);
	close(fd);
}

static int open_path(hv_conn *c, const char *path, const char *handler, int32_t *pid,
		     const char **used)
{
	return launch_client_open(c, path, handler, pid, used);
}

static void test_types_and_handlers(hv_conn *c)
{
	char pic[512], noext[512], notes[512], lie[512];
	snprintf(pic, sizeof(pic), "%s/picture.png", root);
	snprintf(noext, sizeof(noext), "%s/picture-without-extension", root);
	snprintf(notes, sizeof(notes), "%s/notes.txt", root);
	snprintf(lie, sizeof(lie), "%s/png-inside.txt", root);
	write_bytes(pic, png, sizeof(png));
	write_bytes(noext, png, sizeof(png));
	write_bytes(lie, png, sizeof(png));
	svc_write_file(notes, "just some words\n");
	launch_server_classification t;
	REQUIRE(launch_client_classify(c, pic, &t) == 0);
	CHECK_STR(t.mime_type, "image/png");
	CHECK_STR(t.by, "name");
	REQUIRE(launch_client_classify(c, noext, &t) == 0);
	CHECK_STR(t.mime_type, "image/png");
	CHECK_STR(t.by, "content");
	/* The spec's precedence: one glob match wins over the content. */
	REQUIRE(launch_client_classify(c, lie, &t) == 0);
	CHECK_STR(t.mime_type, "text/plain");
	/* Without the fd the service reads what its view allows: the file is
	 * in the test's tree, outside it, so by name only (a fallback). */
	REQUIRE(launch_server_classify_file(c, noext, (hv_opt_file){0}, &t) == 0);
	CHECK_STR(t.mime_type, "application/octet-stream");
	REQUIRE(launch_server_classify_url(c, "HTTPS://example.org/x", &t) == 0);
	CHECK_STR(t.mime_type, "x-scheme-handler/https");

	/* User over system: the user's viewer.desktop and mimeapps.list. */
	int32_t pid = 0;
	const char *used = NULL;
	char argv[2048], want[2048];
	REQUIRE(open_path(c, pic, "", &pid, &used) == 0);
	CHECK_STR(used, "viewer.desktop");
	CHECK(recorded("uviewer", pid, argv, sizeof(argv)));
	snprintf(want, sizeof(want), "%s/uviewer|%s", bin, pic);
	CHECK_STR(argv, want);
	/* By content. */
	REQUIRE(open_path(c, noext, "", &pid, &used) == 0);
	CHECK(recorded("uviewer", pid, argv, sizeof(argv)));
	snprintf(want, sizeof(want), "%s/uviewer|%s", bin, noext);
	CHECK_STR(argv, want);

	/* Hidden (the user's gone.desktop) and TryExec hide; the Added
	 * association puts viewer first, csvapp's MimeType= after it. */
	hv_vec_launch_server_handler h;
	char csv[512];
	snprintf(csv, sizeof(csv), "%s/table.csv", root);
	svc_write_file(csv, "a,b\n1,2\n");
	REQUIRE(launch_client_handlers(c, csv, &t, &h) == 0);
	CHECK_STR(t.mime_type, "text/csv");
	CHECK_EQ(h.count, 3); /* viewer, csvapp, then text/plain's editor */
	if (h.count == 3) {
		CHECK_STR(h.items[0].id, "viewer.desktop");
		CHECK_STR(h.items[1].id, "csvapp.desktop");
		CHECK_STR(h.items[2].id, "editor.desktop");
	}
	const char *id = NULL;
	REQUIRE(launch_server_get_default(c, "text/csv", &id) == 0);
	CHECK_STR(id, "viewer.desktop");
	CHECK_EQ(launch_server_launch(c, "gone.desktop", &pid),
		 LAUNCH_SERVER_ERR_NO_SUCH_APPLICATION);
	CHECK_EQ(launch_server_launch(c, "tryexec.desktop", &pid),
		 LAUNCH_SERVER_ERR_NO_SUCH_APPLICATION);
	hv_vec_launch_server_application apps;
	REQUIRE(launch_server_list_applications(c, &apps) == 0);
	bool has_gone = false, has_user_viewer = false;
	for (size_t i = 0; i < apps.count; i++) {
		has_gone |= !strcmp(apps.items[i].id, "gone.desktop") ||
			    !strcmp(apps.items[i].id, "tryexec.desktop");
		has_user_viewer |= !strcmp(apps.items[i].id, "viewer.desktop") &&
				   !strcmp(apps.items[i].name, "User Viewer");
	}
	CHECK(!has_gone);
	CHECK(has_user_viewer);
}

static void test_schemes_and_field_codes(hv_conn *c)
{
	int32_t pid = 0;
	const char *used = NULL;
	char argv[4096], want[4096];
	const char *url = "https://example.org/a%20b?x=1&y=$(id)#frag";
	REQUIRE(launch_server_open_url(c, url, "", &pid, &used) == 0);
	CHECK_STR(used, "browser.desktop");
	CHECK(recorded("browser", pid, argv, sizeof(argv)));
	snprintf(want, sizeof(want), "%s/browser|%s", bin, url);
	CHECK_STR(argv, want);
	REQUIRE(launch_server_open_url(c, "mailto:someone@example.org?subject=hi", "", &pid,
				       &used) == 0);
	CHECK_STR(used, "mailer.desktop");
	CHECK(recorded("mailer", pid, argv, sizeof(argv)));
	snprintf(want, sizeof(want), "%s/mailer|mailto:someone@example.org?subject=hi", bin);
	CHECK_STR(argv, want);
	REQUIRE(launch_server_open_url(c, "haven-help:topic/one", "", &pid, &used) == 0);
	CHECK_STR(used, "help.desktop");
	CHECK(recorded("helpapp", pid, argv, sizeof(argv)));
	snprintf(want, sizeof(want), "%s/helpapp|haven-help:topic/one", bin);
	CHECK_STR(argv, want);
	CHECK_EQ(launch_server_open_url(c, "no-handler:x", "", &pid, &used),
		 LAUNCH_SERVER_ERR_NO_HANDLER);

	/* %c (localized: LANG=de_DE), %k, %i, a quoted argument with shell
	 * metacharacters, %F with a path full of quotes and spaces. */
	char odd[512];
	snprintf(odd, sizeof(odd), "%s/it's a \"quoted\" $(file) `x`;.txt", root);
	svc_write_file(odd, "text\n");
	REQUIRE(open_path(c, odd, "", &pid, &used) == 0);
	CHECK_STR(used, "editor.desktop");
	CHECK(recorded("editor", pid, argv, sizeof(argv)));
	snprintf(want, sizeof(want),
		 "%s/editor|--name|Bearbeiter|--desktop|%s/"
		 "editor.desktop|--icon|accessories-text-editor|"
		 "--lit=a;b $(touch %s/pwned) `id`|%s",
		 bin, sys_apps, root, odd);
	CHECK_STR(argv, want);
	/* %f with a file: URL gets the path; with a remote URL it cannot. */
	char *u = NULL;
	REQUIRE(asprintf(&u, "file://%s/picture.png", root) > 0);
	REQUIRE(launch_server_open_url(c, u, "viewer.desktop", &pid, &used) == 0);
	CHECK(recorded("uviewer", pid, argv, sizeof(argv)));
	snprintf(want, sizeof(want), "%s/uviewer|%s/picture.png", bin, root);
	CHECK_STR(argv, want);
	free(u);
	CHECK_EQ(launch_server_open_url(c, "https://example.org/", "viewer.desktop", &pid, &used),
		 LAUNCH_SERVER_ERR_CANNOT_OPEN);
	/* Terminal=true: the configured terminal runs it; no file: %f dropped. */
	REQUIRE(launch_server_launch(c, "term.desktop", &pid) == 0);
	CHECK(recorded("term", pid, argv, sizeof(argv)));
	snprintf(want, sizeof(want), "%s/term|-e|%s/tool", bin, bin);
	CHECK_STR(argv, want);
	/* Nothing ran a shell. */
	char pwned[512];
	snprintf(pwned, sizeof(pwned), "%s/pwned", root);
	CHECK(access(pwned, F_OK) != 0);
	snprintf(pwned, sizeof(pwned), "%s/pwned2", root);
	CHECK(access(pwned, F_OK) != 0);
	char words[512];
	snprintf(words, sizeof(words),
		 "shell.desktop:5: Exec: reserved character ';' must be quoted");
	CHECK(svc_log_says(&fx, words, 2000));
	CHECK(svc_log_says(&fx, "dup.desktop:4: key Name appears twice", 2000));
}

static void test_bad_input(hv_conn *c)
{
	int32_t pid;
	const char *used;
	static const char *const bad[] = {"https://a/\x01x",
					  "https://a/ b",
					  "https://a/\x7f",
					  "no-scheme",
					  "file://elsewhere/etc/passwd",
					  "file:relative",
					  "file:///a%00b",
					  "1http://x",
					  "https:"};
	for (size_t i = 0; i < HV_ARRAY_SIZE(bad); i++)
		CHECK_MSG(launch_server_open_url(c, bad[i], "", &pid, &used) ==
				  LAUNCH_SERVER_ERR_INVALID_URL,
			  "open_url(%s) is InvalidUrl", bad[i]);
	CHECK_EQ(launch_server_open_url(c, "file:///nonexistent/x", "", &pid, &used),
		 LAUNCH_SERVER_ERR_NO_SUCH_FILE);
	CHECK_EQ(launch_server_open_file(c, "/nonexistent/x", (hv_opt_file){0}, "", &pid, &used),
		 LAUNCH_SERVER_ERR_NO_SUCH_FILE);
	CHECK_EQ(launch_server_open_file(c, "relative/x", (hv_opt_file){0}, "", &pid, &used),
		 LAUNCH_SERVER_ERR_NO_SUCH_FILE);
	CHECK_EQ(launch_server_launch(c, "nope.desktop", &pid),
		 LAUNCH_SERVER_ERR_NO_SUCH_APPLICATION);
	const char *id;
	CHECK_EQ(launch_server_get_default(c, "not a type", &id), LAUNCH_SERVER_ERR_INVALID_TYPE);
	CHECK_EQ(launch_server_get_default(c, "application/x-nothing", &id),
		 LAUNCH_SERVER_ERR_NO_HANDLER);
	CHECK_EQ(launch_server_set_default(c, "text/plain", "nope.desktop"),
		 LAUNCH_SERVER_ERR_NO_SUCH_APPLICATION);
	/* A peer that sends garbage is ended; the service goes on. */
	int raw = svc_raw_socket(&fx);
	REQUIRE(write(raw, "garbage, not a frame at all....", 31) == 31);
	char b;
	CHECK(read(raw, &b, 1) <= 0);
	close(raw);
	CHECK(svc_alive(&fx));
}

static void test_allowlist(void)
{
	hv_conn *a = svc_connect(&fx), *b = svc_connect(&fx);
	int32_t pid;
	const char *used;
	const char *help[] = {"https://help.example/manual"};
	REQUIRE(launch_server_add_allowed_handler_with_only_specific_urls(
			a, "browser.desktop", (hv_vec_string){help, 1}) == 0);
	REQUIRE(launch_server_add_allowed_handler_with_any_url(a, "mailer.desktop") == 0);
	REQUIRE(launch_server_add_allowed_url(a, "haven-help:index") == 0);
	CHECK_EQ(launch_server_add_allowed_url(a, "bad url"), LAUNCH_SERVER_ERR_INVALID_URL);
	CHECK_EQ(launch_server_add_allowed_handler_with_any_url(a, ""), -EINVAL);
	CHECK_EQ(launch_server_add_allowed_handler_with_only_specific_urls(a, "browser.desktop",
									   (hv_vec_string){0}),
		 -EINVAL);
	REQUIRE(launch_server_seal_allowlist(a) == 0);
	/* Allowed: that URL (a fragment does not matter) with that handler. */
	CHECK_EQ(launch_server_open_url(a, "https://help.example/manual#ch2", "browser.desktop",
					&pid, &used),
		 0);
	CHECK_EQ(launch_server_open_url(a, "mailto:x@example.org", "mailer.desktop", &pid, &used),
		 0);
	CHECK_EQ(launch_server_open_url(a, "haven-help:index", "", &pid, &used), 0);
	/* Refused: another URL, the same URL with another handler (or the
	 * default), a handler allowed for some URLs in a launch, a file. */
	CHECK_EQ(launch_server_open_url(a, "https://evil.example/", "browser.desktop", &pid, &used),
		 LAUNCH_SERVER_ERR_NOT_ALLOWED);
	CHECK_EQ(launch_server_open_url(a, "https://help.example/manual", "", &pid, &used),
		 LAUNCH_SERVER_ERR_NOT_ALLOWED);
	CHECK_EQ(launch_server_open_url(a, "haven-help:other", "", &pid, &used),
		 LAUNCH_SERVER_ERR_NOT_ALLOWED);
	CHECK_EQ(launch_server_launch(a, "browser.desktop", &pid), LAUNCH_SERVER_ERR_NOT_ALLOWED);
	CHECK_EQ(launch_server_launch(a, "mailer.desktop", &pid), 0);
	char pic[512];
	snprintf(pic, sizeof(pic), "%s/picture.png", root);
	CHECK_EQ(launch_server_open_file(a, pic, (hv_opt_file){0}, "", &pid, &used),
		 LAUNCH_SERVER_ERR_NOT_ALLOWED);
	CHECK(svc_log_says(&fx, "outside its allowlist", 2000));
	/* Sealed: nothing more may be added, nor sealed again. */
	CHECK_EQ(launch_server_add_allowed_url(a, "https://evil.example/"),
		 LAUNCH_SERVER_ERR_SEALED);
	CHECK_EQ(launch_server_add_allowed_handler_with_any_url(a, "browser.desktop"),
		 LAUNCH_SERVER_ERR_SEALED);
	CHECK_EQ(launch_server_add_allowed_handler_with_only_specific_urls(
			 a, "browser.desktop", (hv_vec_string){help, 1}),
		 LAUNCH_SERVER_ERR_SEALED);
	CHECK_EQ(launch_server_seal_allowlist(a), LAUNCH_SERVER_ERR_SEALED);
	/* Questions are not limited. */
	hv_vec_string ids;
	CHECK_EQ(launch_server_get_handlers_for_url(a, "https://evil.example/", &ids), 0);
	/* Another connection is unaffected. */
	CHECK_EQ(launch_server_open_url(b, "https://evil.example/", "browser.desktop", &pid, &used),
		 0);
	/* An empty list, sealed, allows nothing. */
	hv_conn *e = svc_connect(&fx);
	REQUIRE(launch_server_seal_allowlist(e) == 0);
	CHECK_EQ(launch_server_open_url(e, "https://help.example/manual", "", &pid, &used),
		 LAUNCH_SERVER_ERR_NOT_ALLOWED);
	hv_conn_close(e);
	hv_conn_close(a);
	hv_conn_close(b);
}

static bool has_app(hv_conn *c, const char *id)
{
	hv_vec_launch_server_application apps;
	if (launch_server_list_applications(c, &apps) < 0)
		return false;
	for (size_t i = 0; i < apps.count; i++)
		if (!strcmp(apps.items[i].id, id))
			return true;
	return false;
}

static void test_defaults_and_reload(hv_conn *c)
{
	REQUIRE(launch_server_set_default(c, "text/plain", "csvapp.desktop") == 0);
	const char *id = NULL;
	REQUIRE(launch_server_get_default(c, "text/plain", &id) == 0);
	CHECK_STR(id, "csvapp.desktop");
	char path[512], text[4096] = "";
	snprintf(path, sizeof(path), "%s/mimeapps.list", cfg);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	CHECK_STR(text, "# the user's\n[Default "
			"Applications]\nimage/png=viewer.desktop;\ntext/plain=csvapp.desktop;\n"
			"[Added Associations]\ntext/csv=viewer.desktop;\n");
	/* A new entry appears, and goes, without a restart (inotify). */
	entry(user_apps, "new.desktop",
	      "[Desktop Entry]\nType=Application\nName=New\nExec=%s/viewer\n", bin);
	bool seen = false;
	for (int i = 0; i < 500 && !(seen = has_app(c, "new.desktop")); i++)
		sleep_ms(10);
	CHECK(seen);
	snprintf(path, sizeof(path), "%s/new.desktop", user_apps);
	REQUIRE(unlink(path) == 0);
	for (int i = 0; i < 500 && (seen = has_app(c, "new.desktop")); i++)
		sleep_ms(10);
	CHECK(!seen);
	/* A person's edit of mimeapps.list is seen too. */
	snprintf(path, sizeof(path), "%s/mimeapps.list", cfg);
	svc_write_file(path, "[Default Applications]\ntext/plain=viewer.desktop;\n");
	for (int i = 0; i < 500; i++) {
		if (launch_server_get_default(c, "text/plain", &id) == 0 &&
		    !strcmp(id, "viewer.desktop"))
			break;
		sleep_ms(10);
	}
	CHECK_STR(id, "viewer.desktop");
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 3);
	static char term[600];
	static const char *args[4];
	svc_prepare(&fx, argv[1], "launch", args);
	char recorder[4096];
	REQUIRE(realpath(argv[2], recorder));
	make_tree(recorder);
	char path[600];
	static char log[300];
	snprintf(log, sizeof(log), "%s/service.log", fx.dir);
	fx.log = log;
	snprintf(path, sizeof(path), "%s/data", root);
	setenv("XDG_DATA_HOME", path, 1);
	snprintf(path, sizeof(path), "%s/sys", root);
	setenv("XDG_DATA_DIRS", path, 1);
	setenv("XDG_CONFIG_HOME", cfg, 1);
	snprintf(path, sizeof(path), "%s/etc-xdg", root);
	setenv("XDG_CONFIG_DIRS", path, 1);
	setenv("REC_DIR", out, 1);
	setenv("LANG", "de_DE.UTF-8", 1);
	unsetenv("LC_ALL");
	unsetenv("LC_MESSAGES");
	unsetenv("XDG_CURRENT_DESKTOP");
	snprintf(term, sizeof(term), "%s/term -e", bin);
	args[0] = "--terminal";
	args[1] = term;
	svc_respawn(&fx);
	hv_conn *c = svc_connect(&fx);
	test_types_and_handlers(c);
	test_schemes_and_field_codes(c);
	test_bad_input(c);
	test_allowlist();
	test_defaults_and_reload(c);
	hv_conn_close(c);
	svc_stop(&fx);
	return check_result();
}
