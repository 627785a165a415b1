/* test-verbs.c — hv_dispatch_verb: the verb found and run with its
 * arguments, and every usage error (no verb, unknown verb, too few, too
 * many) exit 2 with one line on stderr and the usage text after it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <haven/util.h>
#include <haven/verbs.h>

#include "check.h"

static int called, last_argc;
static char *last_arg;

static int verb_run(int argc, char **argv, void *userdata)
{
	called++;
	last_argc = argc;
	last_arg = argv[argc - 1];
	return *(int *)userdata;
}

static int usages;
static void usage(FILE *f)
{
	usages++;
	fputs("Usage: prog VERB\n", f);
}

static const hv_verb verbs[] = {
	{"none", 0, 0, verb_run},
	{"one", 1, 1, verb_run},
	{"some", 1, 2, verb_run},
	{"any", 0, HV_VERB_ANY, verb_run},
	{0},
};

/* Dispatch argv (NULL-terminated) with stderr captured into err. */
static int dispatch(char *err, size_t size, char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	fflush(stderr);
	int saved = dup(2);
	FILE *tmp = tmpfile();
	REQUIRE(saved >= 0 && tmp);
	dup2(fileno(tmp), 2);
	int ret = 7;
	int r = hv_dispatch_verb("prog", argc, argv, verbs, usage, &ret);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(err, 1, size - 1, tmp);
	err[n] = 0;
	fclose(tmp);
	return r;
}

static void test_found(void)
{
	char err[512];
	REQUIRE(hv_verb_find(verbs, "some") == &verbs[2]);
	REQUIRE(hv_verb_find(verbs, "nothing") == NULL);
	CHECK_EQ(dispatch(err, sizeof err, (char *[]){"none", NULL}), 7);
	CHECK_EQ(called, 1);
	CHECK_EQ(last_argc, 1);
	CHECK_EQ(dispatch(err, sizeof err, (char *[]){"some", "a", "b", NULL}), 7);
	CHECK_EQ(last_argc, 3);
	CHECK(!strcmp(last_arg, "b"));
	CHECK_EQ(dispatch(err, sizeof err, (char *[]){"any", "1", "2", "3", "4", "5", NULL}), 7);
	CHECK_EQ(last_argc, 6);
	CHECK_EQ(called, 3);
	CHECK_STR(err, "");
	CHECK_EQ(usages, 0);
}

static void test_usage_errors(void)
{
	struct {
		char *argv[5];
		const char *says;
	} cases[] = {
		{{NULL}, "prog: no command given\n"},
		{{"frob", NULL}, "prog: unknown command \"frob\"\n"},
		{{"none", "x", NULL}, "prog: none takes 0 arguments, not 1\n"},
		{{"one", NULL}, "prog: one takes 1 argument, not 0\n"},
		{{"some", NULL}, "prog: some takes 1 to 2 arguments, not 0\n"},
		{{"some", "a", "b", "c", NULL}, "prog: some takes 1 to 2 arguments, not 3\n"},
	};
	int before = called;
	for (size_t i = 0; i < HV_ARRAY_SIZE(cases); i++) {
		char err[512];
		usages = 0;
		CHECK_EQ(dispatch(err, sizeof err, cases[i].argv), HV_VERB_EXIT_USAGE);
		/* The line, then the usage text. */
		CHECK(!strncmp(err, cases[i].says, strlen(cases[i].says)));
		CHECK(strstr(err, "Usage: prog VERB\n") != NULL);
		CHECK_EQ(usages, 1);
	}
	CHECK_EQ(called, before);
	/* Without a usage function: only the line. */
	char *argv[] = {"frob", NULL};
	int ret = 0;
	CHECK_EQ(hv_dispatch_verb("prog", 1, argv, verbs, NULL, &ret), HV_VERB_EXIT_USAGE);
}

int main(void)
{
	test_found();
	test_usage_errors();
	return check_result();
}
