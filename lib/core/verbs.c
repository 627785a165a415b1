/* verbs.c — the verb table dispatcher of command-line programs (see
 * haven/verbs.h). Nothing here knows about IPC: a verb is a name, an
 * argument count and a function. */
#include <string.h>

#include "haven/verbs.h"

const hv_verb *hv_verb_find(const hv_verb *verbs, const char *name)
{
	for (const hv_verb *v = verbs; v->name; v++)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

static int usage_error(void (*usage)(FILE *f))
{
	if (usage)
		usage(stderr);
	return HV_VERB_EXIT_USAGE;
}

int hv_dispatch_verb(const char *prog, int argc, char **argv, const hv_verb *verbs,
		     void (*usage)(FILE *f), void *userdata)
{
	if (argc < 1 || !argv[0]) {
		fprintf(stderr, "%s: no command given\n", prog);
		return usage_error(usage);
	}
	const hv_verb *v = hv_verb_find(verbs, argv[0]);
	if (!v) {
		fprintf(stderr, "%s: unknown command \"%s\"\n", prog, argv[0]);
		return usage_error(usage);
	}
	unsigned n = (unsigned)argc - 1;
	if (n < v->min_args || n > v->max_args) {
		if (v->min_args == v->max_args)
			fprintf(stderr, "%s: %s takes %u argument%s, not %u\n", prog, v->name,
				v->min_args, v->min_args == 1 ? "" : "s", n);
		else if (v->max_args == HV_VERB_ANY)
			fprintf(stderr, "%s: %s takes at least %u argument%s, not %u\n", prog,
				v->name, v->min_args, v->min_args == 1 ? "" : "s", n);
		else
			fprintf(stderr, "%s: %s takes %u to %u arguments, not %u\n", prog, v->name,
				v->min_args, v->max_args, n);
		return usage_error(usage);
	}
	return v->fn(argc, argv, userdata);
}
