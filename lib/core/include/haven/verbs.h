/* haven/verbs.h — a command-line program's verbs as a table (systemd's
 * dispatch_verb): each verb names its function and how many arguments it
 * takes, and one dispatcher finds the verb, checks the count and runs it.
 * A program's usage errors then read the same whatever the verb.
 *
 *   static const hv_verb verbs[] = {
 *           {"get", 3, 3, cmd_get},
 *           {"list", 1, 2, cmd_list},
 *           {"copy", 0, HV_VERB_ANY, cmd_copy}, // parses its own options
 *           {0},
 *   };
 *   return hv_dispatch_verb("config", argc - optind, argv + optind, verbs, usage, NULL);
 */
#pragma once

#include <limits.h>
#include <stdio.h>

/* A verb's function: argv[0] is the verb, argv[1..argc) its arguments.
 * Returns the program's exit status. */
typedef int (*hv_verb_fn)(int argc, char **argv, void *userdata);

typedef struct hv_verb {
	const char *name; /* NULL ends the table */
	unsigned min_args, max_args; /* arguments after the verb; HV_VERB_ANY: no bound */
	hv_verb_fn fn;
} hv_verb;

#define HV_VERB_ANY UINT_MAX

/* Exit status of a usage error (no verb, unknown verb, wrong count). */
#define HV_VERB_EXIT_USAGE 2

/* Verb lookup by name in a table ended by {NULL}; NULL if absent. */
const hv_verb *hv_verb_find(const hv_verb *verbs, const char *name);

/* Run the verb argv[0] with its arguments. Without a verb, with an unknown
 * one, or with a count outside [min_args, max_args]: one line
 * "PROG: <what is wrong>" and usage(stderr) (when not NULL) on stderr, and
 * HV_VERB_EXIT_USAGE. Else what the verb's function returns. */
int hv_dispatch_verb(const char *prog, int argc, char **argv, const hv_verb *verbs,
		     void (*usage)(FILE *f), void *userdata);
