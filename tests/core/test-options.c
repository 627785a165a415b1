/* test-options.c — command lines from a table (haven/options.h): both
 * spellings of a value, flags, ranges, custom parsers, positional
 * arguments, --help and usage errors; also hv_parse_bool and hv_strv. */
#include <haven/options.h>
#include <haven/util.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static const char *dir, *name;
static bool verbose;
static int64_t count;
static bool yes;

static int parse_yes(const char *arg, void *target)
{
	return hv_parse_bool(arg, target);
}

static const hv_option table_a[] = {
	HV_OPT_STRING("dir", "DIR", &dir, "a directory"),
	HV_OPT_FLAG("verbose", &verbose, "say more"),
	{0},
};
static const hv_option table_b[] = {
	HV_OPT_INT("count", "N", &count, 1, 10, "how many\nsecond line"),
	HV_OPT_CUSTOM("yes", "BOOL", parse_yes, &yes, "a boolean"),
	HV_OPT_STRING("name", "NAME", &name, "a name"),
	{0},
};
static const hv_option *const tables[] = {table_a, table_b, NULL};
static const hv_cmdline cmd = {.name = "prog",
			       .args = "[FILE...]",
			       .summary = "Does things.",
			       .tables = tables,
			       .min_args = 0,
			       .max_args = 2};

/* Parse a NULL-terminated argv with stdout/stderr discarded. */
static int parse(int *first, char **argv)
{
	dir = name = NULL;
	verbose = yes = false;
	count = 0;
	int argc = 0;
	while (argv[argc])
		argc++;
	int saved_out = dup(1), saved_err = dup(2), null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	dup2(null, 2);
	int r = hv_options_parse(&cmd, argc, argv, first);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	close(null);
	return r;
}

#define ARGV(...) ((char *[]){"prog", __VA_ARGS__, NULL})

static void test_parse(void)
{
	int first = -1;
	CHECK_EQ(parse(&first, ARGV("--dir", "/a", "--verbose", "--count=3", "x", "y")), 1);
	CHECK_STR(dir, "/a");
	CHECK(verbose);
	CHECK_EQ(count, 3);
	CHECK_EQ(first, 5);
	CHECK_EQ(parse(&first, ARGV("--dir=/b", "--yes", "on", "--name=")), 1);
	CHECK_STR(dir, "/b");
	CHECK(yes);
	CHECK_STR(name, "");
	CHECK_EQ(first, 5);
	/* "--" ends the options. */
	CHECK_EQ(parse(&first, ARGV("--", "--dir")), 1);
	CHECK(dir == NULL);
	CHECK_EQ(first, 2);
	/* -h / --help: printed, 0. */
	CHECK_EQ(parse(&first, ARGV("--help")), 0);
	CHECK_EQ(parse(&first, ARGV("--dir", "/a", "-h")), 0);
	/* Usage errors: -EINVAL, exit code 2. */
	char **bad[] = {
		ARGV("--bogus"),	ARGV("-x"),
		ARGV("--dir"),		ARGV("--count", "0"),
		ARGV("--count", "11"),	ARGV("--count=abc"),
		ARGV("--yes", "maybe"), ARGV("--verbose=1"),
		ARGV("a", "b", "c"),	ARGV("--dirx", "/a"),
	};
	for (size_t i = 0; i < HV_ARRAY_SIZE(bad); i++) {
		CHECK_MSG(parse(&first, bad[i]) == -EINVAL, "case %zu", i);
		CHECK_EQ(hv_options_exit_code(-EINVAL), 2);
	}
	CHECK_EQ(hv_options_exit_code(0), 0);
	/* A minimum of positional arguments. */
	hv_cmdline need = cmd;
	need.min_args = 1;
	CHECK_EQ(hv_options_parse(&need, 2, ARGV("x"), &first), 1);
	CHECK_EQ(parse(&first, ARGV("--verbose")), 1); /* min_args 0 */
}

/* --help is derived from the table: every option and help line is there. */
static void test_usage(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	REQUIRE(f);
	hv_options_usage(&cmd, f);
	fclose(f);
	CHECK(strncmp(text, "Usage: prog [--dir DIR] [--verbose] [--count N]", 47) == 0);
	CHECK(strstr(text, "[FILE...]\nDoes things.\n"));
	CHECK(strstr(text, "  --count N           how many\n"));
	CHECK(strstr(text, "\n                      second line\n"));
	CHECK(strstr(text, "  --verbose           say more\n"));
	free(text);
}

static void test_bool_strv(void)
{
	static const char *const t[] = {"true", "YES", "On", "1"}, *const f[] = {"false", "no",
										 "OFF", "0"};
	bool b;
	for (size_t i = 0; i < HV_ARRAY_SIZE(t); i++) {
		CHECK(hv_parse_bool(t[i], &b) == 0 && b);
		CHECK(hv_parse_bool(f[i], &b) == 0 && !b);
	}
	CHECK_EQ(hv_parse_bool("2", &b), -EINVAL);
	CHECK_EQ(hv_parse_bool("", &b), -EINVAL);
	CHECK_EQ(hv_parse_bool(NULL, &b), -EINVAL);

	hv_strv v = {0};
	CHECK(!hv_strv_contains(&v, "a"));
	REQUIRE_EQ(hv_strv_push(&v, "a"), 0);
	REQUIRE_EQ(hv_strv_push_unique(&v, "b"), 0);
	REQUIRE_EQ(hv_strv_push_unique(&v, "a"), 0);
	REQUIRE_EQ(hv_strv_push(&v, "a"), 0);
	CHECK_EQ(v.n, 3u);
	CHECK(v.v[3] == NULL); /* an argv */
	CHECK(hv_strv_contains(&v, "b"));
	hv_strv_clear(&v);
	CHECK(v.n == 0 && v.v == NULL);
}

/* Options after the verb are moved in front, with their values; "--"
 * keeps what follows it positional. */
static void test_permute(void)
{
	char *v[] = {"prog", "list", "--dir", "d", "--verbose", "--name=n", "--", "--count", NULL};
	int argc = 8;
	hv_options_permute(&cmd, argc, v);
	const char *want[] = {"prog", "--dir", "d", "--verbose", "--name=n", "--", "list", "--count"};
	for (int i = 0; i < argc; i++)
		CHECK_MSG(!strcmp(v[i], want[i]), "permute: argv[%d] is %s, not %s", i, v[i], want[i]);
	dir = name = NULL;
	verbose = false;
	int first = 0;
	CHECK_EQ(hv_options_parse(&cmd, argc, v, &first), 1);
	CHECK(dir && !strcmp(dir, "d") && verbose && name && !strcmp(name, "n"));
	CHECK_EQ(first, 6);
	/* A flag does not take the next word; an option at the end has none. */
	char *w[] = {"prog", "a", "--verbose", "b", "--count", NULL};
	hv_options_permute(&cmd, 5, w);
	CHECK(!strcmp(w[1], "--verbose") && !strcmp(w[2], "--count") && !strcmp(w[3], "a") && !strcmp(w[4], "b"));
	hv_options_permute(&cmd, 1, w); /* nothing to do */
}

int main(void)
{
	test_permute();
	test_parse();
	test_usage();
	test_bool_strv();
	return check_result();
}
