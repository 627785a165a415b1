/* test-parsers — LaunchServer's parsers without the service: the key-file
 * syntax and its errors (file:line), desktop entries (locales, Hidden,
 * booleans), Exec quoting and field codes to exact argvs, URLs, the
 * shared-mime-info glob rules (weights, longest pattern, case-sensitive
 * globs, __NOGLOBS__) on a synthetic database, and rewriting a default into
 * a mimeapps.list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "desktop.h"
#include "mime.h"
#include "mimeapps.h"
#include "url.h"

static int parse(const char *text, struct lch_app **a, char *err)
{
	return lch_desktop_parse(text, strlen(text), "t.desktop", "de_AT.UTF-8@euro", a, err, 256);
}

static void test_keyfile_errors(void)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{"[Desktop Entry]\nType=Application\nName=a\nExec=x\nName=b\n",
		 "t.desktop:5: key Name appears twice"},
		{"# c\n[Desktop Entry]\nType=Application\njunk\n", "t.desktop:4: neither a group"},
		{"Name=x\n[Desktop Entry]\n", "t.desktop:1: a key before the first group"},
		{"[Desktop Entry]\n[Desktop Entry]\n",
		 "t.desktop:2: group [Desktop Entry] appears twice"},
		{"[Desktop Entry\n", "t.desktop:1: malformed group header"},
		{"[Desktop Entry]\nNa me=x\n", "t.desktop:2: malformed key"},
		{"[Other]\nType=Application\n",
		 "t.desktop:2: the first group must be [Desktop Entry]"},
		{"[Desktop Entry]\nType=Application\nName=\xff\n", "t.desktop:3: invalid UTF-8"},
		{"[Desktop Entry]\nType=Application\nName=a\nTerminal=maybe\nExec=x\n",
		 "t.desktop:4:"},
		{"[Desktop Entry]\nType=Application\nName=a\n", "t.desktop:1: no Exec key"},
		{"[Desktop Entry]\nType=Application\nName=a\nIcon=x\nExec=a ; b\n",
		 "t.desktop:5: Exec: reserved character ';'"},
		{"[Desktop Entry]\nType=Application\nName=a\nExec=a \\\\q\n",
		 "t.desktop:4: Exec: reserved character '\\'"},
		{"[Desktop Entry]\nType=Application\nName=a\nExec=a \"%f\"\n",
		 "t.desktop:4: Exec: field code %f inside quotes"},
		{"[Desktop Entry]\nType=Application\nName=a\nExec=a --x=%F\n",
		 "t.desktop:4: Exec: %F must be an argument of its own"},
		{"[Desktop Entry]\nType=Application\nName=a\nExec=a %f %u\n",
		 "t.desktop:4: Exec: more than one of"},
		{"[Desktop Entry]\nType=Application\nName=a\nExec=a %z\n",
		 "t.desktop:4: Exec: unknown field code %z"},
		{"[Desktop Entry]\nType=Application\nName=a\nExec=\"a\n",
		 "t.desktop:4: Exec: unterminated quote"},
		{"[Desktop Entry]\nType=Application\nName=a\nExec=\"\" x\n",
		 "t.desktop:4: Exec: no command"},
		{"[Desktop Entry]\nType=Application\nName=a\nExec=a \"\\\\q\"\n",
		 "t.desktop:4: Exec: bad escape \\q inside quotes"},
		{"[Desktop Entry]\nType=Application\nName=a\\q\nExec=x\n", "t.desktop:3:"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lch_app *a = NULL;
		char err[256] = "";
		CHECK_MSG(parse(bad[i].text, &a, err) == -EINVAL && !a, "case %zu is refused", i);
		CHECK_MSG(!strncmp(err, bad[i].err, strlen(bad[i].err)),
			  "case %zu: '%s', expected '%s...'", i, err, bad[i].err);
		lch_app_free(a);
	}
}

static void test_entries(void)
{
	struct lch_app *a = NULL;
	char err[256];
	/* Locales: de_AT@euro is not there, de_AT is, and beats de; spaces
	 * around '=' and CRLF are allowed; escapes in strings; lists. */
	const char *t = "[Desktop Entry]\r\nType = "
			"Application\r\nName=Plain\nName[de]=Deutsch\nName[de_AT]=Austrian\n"
			"Name[fr]=Francais\nGenericName=G\\sx\nExec=x\nMimeType=a/b;c/"
			"d\\;e;;\nNoDisplay=true\n"
			"OnlyShowIn=GNOME;KDE;\n\n[Desktop Action n]\nExec=anything ; goes here\n";
	REQUIRE(parse(t, &a, err) == 0 && a);
	CHECK_STR(a->name, "Austrian");
	CHECK_STR(a->generic_name, "G x");
	CHECK_EQ(a->mime_types.n, 2);
	CHECK_STR(a->mime_types.v[1], "c/d;e");
	CHECK(a->no_display);
	CHECK(!lch_app_shown_in(a, "XFCE"));
	a->no_display = false;
	CHECK(lch_app_shown_in(a, "X-Cinnamon:KDE"));
	lch_app_free(a);
	a = NULL;
	/* A link is not an application: valid, nothing. Hidden parses alone. */
	CHECK(parse("[Desktop Entry]\nType=Link\nName=l\nURL=https://x/\n", &a, err) == 0 && !a);
	REQUIRE(parse("[Desktop Entry]\nHidden=true\n", &a, err) == 0 && a);
	CHECK(a->hidden);
	lch_app_free(a);
}

static char *joined(const hv_strv *v)
{
	static char buf[2048];
	buf[0] = '\0';
	for (size_t i = 0; i < v->n; i++) {
		strcat(buf, v->v[i]);
		if (i + 1 < v->n)
			strcat(buf, "|");
	}
	return buf;
}

static void test_exec(void)
{
	struct lch_exec ex;
	char err[200];
	/* The spec's quoting: \" \` \$ \\ inside quotes; %% in and out. */
	REQUIRE(lch_exec_parse("\"/opt/my app/run\" -a \"x \\\"y\\\" \\`z\\` \\$HOME \\\\ 100%%\" "
			       "50%% %F %c %k %i %d",
			       &ex, err, sizeof(err)) == 0);
	struct lch_exec_ctx ctx = {"Nom", "ic", "/a/b.desktop"};
	struct lch_target t[] = {{"/tmp/it's \"q\" $(x).txt", "file:///tmp/x"},
				 {"/b", "file:///b"}};
	hv_strv *v;
	size_t n;
	REQUIRE(lch_exec_expand(&ex, &ctx, t, 2, &v, &n) == 0);
	CHECK_EQ(n, 1);
	CHECK_STR(
		joined(&v[0]),
		"/opt/my app/run|-a|x \"y\" `z` $HOME \\ 100%|50%|/tmp/it's \"q\" $(x).txt|/b|Nom|"
		"/a/b.desktop|--icon|ic");
	lch_exec_free_argvs(v, n);
	/* No icon: %i is nothing. No targets: %F is nothing. */
	ctx.icon = NULL;
	REQUIRE(lch_exec_expand(&ex, &ctx, t, 0, &v, &n) == 0);
	CHECK_STR(joined(&v[0]),
		  "/opt/my app/run|-a|x \"y\" `z` $HOME \\ 100%|50%|Nom|/a/b.desktop");
	lch_exec_free_argvs(v, n);
	lch_exec_clear(&ex);
	/* %f: one process per target; embedded in an argument. */
	REQUIRE(lch_exec_parse("v --file=%f", &ex, err, sizeof(err)) == 0);
	REQUIRE(lch_exec_expand(&ex, &ctx, t, 2, &v, &n) == 0);
	CHECK_EQ(n, 2);
	CHECK_STR(joined(&v[0]), "v|--file=/tmp/it's \"q\" $(x).txt");
	CHECK_STR(joined(&v[1]), "v|--file=/b");
	lch_exec_free_argvs(v, n);
	/* A remote URL for a files-only Exec. */
	struct lch_target remote = {NULL, "https://e/"};
	CHECK_EQ(lch_exec_expand(&ex, &ctx, &remote, 1, &v, &n), -ECANCELED);
	lch_exec_clear(&ex);
	/* %U takes URLs as given. */
	REQUIRE(lch_exec_parse("b %U", &ex, err, sizeof(err)) == 0);
	REQUIRE(lch_exec_expand(&ex, &ctx, t, 2, &v, &n) == 0);
	CHECK_STR(joined(&v[0]), "b|file:///tmp/x|file:///b");
	lch_exec_free_argvs(v, n);
	lch_exec_clear(&ex);
}

static void test_urls(void)
{
	struct lch_url u;
	const char *why;
	REQUIRE(lch_url_parse("FILE://localhost/tmp/a%20b%2fc", &u, &why) == 0);
	CHECK_STR(u.scheme, "file");
	CHECK_STR(u.path, "/tmp/a b/c");
	lch_url_clear(&u);
	REQUIRE(lch_url_parse("mailto:x@y", &u, &why) == 0);
	CHECK(!u.path);
	static const char *const bad[] = {
		"",	      ":x",	"1a:x",	       "a b:x",	     "https:",	    "x:\t",
		"file://h/x", "file:x", "file:///%zz", "file:///%0", "file:///a%00"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(lch_url_parse(bad[i], &u, &why) == -EINVAL, "'%s' is refused", bad[i]);
	char *s = lch_url_from_path("/a b/it's%\"ü");
	CHECK_STR(s, "file:///a%20b/it%27s%25%22%C3%BC");
	free(s);
}

static void test_globs(void)
{
	char dir[] = "/tmp/haven-launch-mime-XXXXXX", hi[128], lo[128], f[256];
	REQUIRE(mkdtemp(dir));
	snprintf(hi, sizeof(hi), "%s/hi", dir);
	snprintf(lo, sizeof(lo), "%s/lo", dir);
	mkdir(hi, 0755);
	mkdir(lo, 0755);
	snprintf(f, sizeof(f), "%s/globs2", lo);
	FILE *fp = fopen(f, "w");
	REQUIRE(fp);
	fputs("# "
	      "comment\n50:text/x-a:*.a\n50:text/x-b:*.b\n80:text/x-long:*.tar.b\n50:text/"
	      "x-short:*.b.c\n"
	      "50:text/x-tie1:*.t\n50:text/x-tie2:*.t\n50:text/x-C:*.C:cs\n50:text/"
	      "x-c:*.c\n60:text/x-gone:*.g\n"
	      "not a line\n",
	      fp);
	fclose(fp);
	snprintf(f, sizeof(f), "%s/globs2", hi);
	fp = fopen(f, "w");
	REQUIRE(fp);
	fputs("50:text/x-gone:__NOGLOBS__\n40:text/x-g2:*.g\n", fp);
	fclose(fp);
	const char *dirs[] = {hi, lo};
	struct lch_mime *m;
	REQUIRE(lch_mime_load(dirs, 2, NULL, &m) == 0);
	const char *types[4];
	CHECK_EQ(lch_mime_by_name(m, "/x/y.A", types, 4), 1); /* case-insensitive */
	CHECK_STR(types[0], "text/x-a");
	CHECK_EQ(lch_mime_by_name(m, "x.tar.b", types, 4), 1); /* weight beats */
	CHECK_STR(types[0], "text/x-long");
	CHECK_EQ(lch_mime_by_name(m, "x.b.c", types, 4), 1); /* longest pattern */
	CHECK_STR(types[0], "text/x-short");
	CHECK_EQ(lch_mime_by_name(m, "x.t", types, 4), 2); /* a tie: the content decides */
	CHECK_EQ(lch_mime_by_name(m, "x.C", types, 4), 2);
	CHECK_EQ(lch_mime_by_name(m, "x.c", types, 4), 1); /* *.C is case-sensitive */
	CHECK_STR(types[0], "text/x-c");
	CHECK_EQ(lch_mime_by_name(m, "x.g", types, 4), 1); /* __NOGLOBS__ in a more important dir */
	CHECK_STR(types[0], "text/x-g2");
	char buf[64];
	const char *by;
	CHECK_EQ(lch_mime_classify(m, "x.t", NULL, 0, buf, sizeof(buf), &by), 0);
	CHECK_STR(by, "name");
	CHECK_EQ(lch_mime_classify(m, "x.zzz", NULL, 0, buf, sizeof(buf), &by), 0);
	CHECK_STR(buf, "application/octet-stream");
	CHECK_STR(by, "fallback");
	CHECK(lch_mime_is_a(m, "text/x-a", "text/plain"));
	CHECK(!lch_mime_is_a(m, "inode/directory", "application/octet-stream"));
	lch_mime_free(m);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

static void test_mimeapps(void)
{
	char *out = NULL;
	const char *in =
		"# keep me\n[Added Associations]\ntext/plain=x.desktop;\n[Default Applications]\n"
		"image/png = old.desktop;\ntext/html=h.desktop;\n";
	REQUIRE(lch_mimeapps_with_default(in, "image/png", "new.desktop", &out) == 0);
	CHECK_STR(out,
		  "# keep me\n[Added Associations]\ntext/plain=x.desktop;\n[Default Applications]\n"
		  "image/png=new.desktop;\ntext/html=h.desktop;\n");
	free(out);
	REQUIRE(lch_mimeapps_with_default(in, "text/plain", "e.desktop", &out) == 0);
	CHECK_STR(out,
		  "# keep me\n[Added Associations]\ntext/plain=x.desktop;\n[Default Applications]\n"
		  "image/png = old.desktop;\ntext/html=h.desktop;\ntext/plain=e.desktop;\n");
	free(out);
	REQUIRE(lch_mimeapps_with_default(NULL, "a/b", "e.desktop", &out) == 0);
	CHECK_STR(out, "[Default Applications]\na/b=e.desktop;\n");
	free(out);
	struct lch_mimeapps m;
	char err[256];
	const char *list = "[Removed Associations]\nimage/svg+xml=a.desktop;b.desktop\n";
	REQUIRE(lch_mimeapps_parse(list, strlen(list), "m", &m, err, sizeof(err)) == 0);
	const hv_strv *v = lch_mimeapps_find(m.removed, m.nremoved, "image/svg+xml");
	CHECK(v && v->n == 2);
	lch_mimeapps_clear(&m);
}

int main(void)
{
	test_keyfile_errors();
	test_entries();
	test_exec();
	test_urls();
	test_globs();
	test_mimeapps();
	return check_result();
}
