/* haven/options.h — one way to parse a command line: a table of long
 * options, each with its target, metavariable and help line. The table
 * gives --help its text, so the usage a person reads and the parser can
 * never disagree. Services (through hv_service_main) and CLIs use it.
 *
 *	static const char *state_dir;
 *	static int64_t history;
 *	static const hv_option options[] = {
 *		HV_OPT_STRING("state-dir", "DIR", &state_dir, "where entries survive a crash"),
 *		HV_OPT_INT("history", "N", &history, 1, 1000, "entries kept"),
 *		{0},
 *	};
 *
 * Conventions it enforces: `--name VALUE` and `--name=VALUE`; `-h` and
 * `--help` print the usage on stdout (exit 0); anything else unknown, a
 * missing or bad value, or a wrong number of arguments prints one line
 * naming the problem and the usage on stderr (exit 2). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum hv_option_kind {
	HV_OPTION_STRING = 1, /* const char **target = the argument */
	HV_OPTION_FLAG,	      /* bool *target = true */
	HV_OPTION_INT,	      /* int64_t *target, checked against [min, max] */
	HV_OPTION_CUSTOM,     /* parse(arg, target): <0 is a bad value */
};

typedef struct hv_option {
	const char *name; /* long name without "--"; NULL ends the table */
	enum hv_option_kind kind;
	void *target;
	const char *metavar;			     /* "DIR"; NULL for a flag */
	const char *help;			     /* may hold '\n' for more lines */
	int64_t min, max;			     /* HV_OPTION_INT */
	int (*parse)(const char *arg, void *target); /* HV_OPTION_CUSTOM */
} hv_option;

#define HV_OPT_STRING(n, mv, tgt, h)                                                               \
	{                                                                                          \
		.name = (n), .kind = HV_OPTION_STRING, .target = (tgt), .metavar = (mv),           \
		.help = (h)                                                                        \
	}
#define HV_OPT_FLAG(n, tgt, h)                                                                     \
	{                                                                                          \
		.name = (n), .kind = HV_OPTION_FLAG, .target = (tgt), .help = (h)                  \
	}
#define HV_OPT_INT(n, mv, tgt, lo, hi, h)                                                          \
	{                                                                                          \
		.name = (n), .kind = HV_OPTION_INT, .target = (tgt), .metavar = (mv), .help = (h), \
		.min = (lo), .max = (hi)                                                           \
	}
#define HV_OPT_CUSTOM(n, mv, fn, tgt, h)                                                           \
	{                                                                                          \
		.name = (n), .kind = HV_OPTION_CUSTOM, .parse = (fn), .target = (tgt),             \
		.metavar = (mv), .help = (h)                                                       \
	}

typedef struct hv_cmdline {
	const char *name;    /* program name, as in "Usage: NAME" */
	const char *args;    /* positional part of the usage line ("[FILE...]"), or NULL */
	const char *summary; /* what it does: lines printed under the usage line */
	const hv_option *const *tables; /* NULL-terminated list of option tables */
	int min_args, max_args;		/* positional arguments allowed (max < 0: any) */
} hv_cmdline;

/* Parse argv against cmd. 1: go on, with the positional arguments from
 * argv[*first_arg] to argv[argc - 1]; 0: --help was printed; -EINVAL: a
 * usage error was reported on stderr. hv_options_exit_code() turns the
 * last two into the process's exit code (0, 2). */
int hv_options_parse(const hv_cmdline *cmd, int argc, char **argv, int *first_arg);
/* For commands whose options may follow their verb or arguments ("devices
 * list --json", "sql DB 'SQL' --json"): reorder argv in place so that the
 * options (with the values of those that take one, known from cmd's
 * tables) come first, in order, then the rest in order; an argument "--"
 * ends the options and stays in front of everything after it. Call before
 * hv_options_parse. */
void hv_options_permute(const hv_cmdline *cmd, int argc, char **argv);
static inline int hv_options_exit_code(int r)
{
	return r < 0 ? 2 : 0;
}
void hv_options_usage(const hv_cmdline *cmd, FILE *f);
