/* lib/core/options.c — command lines from a table (haven/options.h). */
#include <errno.h>
#include <string.h>

#include <haven/options.h>
#include <haven/util.h>

#define for_each_option(cmd, o)                                                                    \
	for (const hv_option *const *t_ = (cmd)->tables; t_ && *t_; t_++)                          \
		for (const hv_option *o = *t_; o->name; o++)

static const hv_option *find(const hv_cmdline *cmd, const char *name, size_t len)
{
	for_each_option(cmd, o)
		if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

void hv_options_usage(const hv_cmdline *cmd, FILE *f)
{
	int col = fprintf(f, "Usage: %s", cmd->name);
	const int indent = (int)strlen("Usage: ") + (int)strlen(cmd->name);
	for_each_option(cmd, o) {
		int w = (int)strlen(o->name) + 5 + (o->metavar ? (int)strlen(o->metavar) + 1 : 0);
		if (col + w > 79) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		}
		col += fprintf(f, " [--%s%s%s]", o->name, o->metavar ? " " : "",
			       o->metavar ? o->metavar : "");
	}
	if (cmd->args)
		fprintf(f, "%s%s", col + (int)strlen(cmd->args) > 78 ? "\n       " : " ",
			cmd->args);
	fprintf(f, "\n%s%s", cmd->summary ? cmd->summary : "",
		cmd->summary && cmd->summary[strlen(cmd->summary) - 1] != '\n' ? "\n" : "");
	for_each_option(cmd, o) {
		int w = fprintf(f, "  --%s%s%s", o->name, o->metavar ? " " : "",
				o->metavar ? o->metavar : "");
		/* Help lines start in one column; continuation lines too. */
		for (const char *h = o->help ? o->help : ""; *h;) {
			const char *nl = strchr(h, '\n');
			size_t n = nl ? (size_t)(nl - h) : strlen(h);
			fprintf(f, "%*s%.*s\n", w < 22 ? 22 - w : 2, "", (int)n, h);
			w = 0;
			h += n + (nl ? 1 : 0);
		}
		if (!o->help || !*o->help)
			fputc('\n', f);
	}
}

static int usage_error(const hv_cmdline *cmd, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "%s: ", cmd->name);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	hv_options_usage(cmd, stderr);
	return -EINVAL;
}

static int apply(const hv_cmdline *cmd, const hv_option *o, const char *arg)
{
	int r = 0;
	switch (o->kind) {
	case HV_OPTION_STRING:
		*(const char **)o->target = arg;
		break;
	case HV_OPTION_FLAG:
		*(bool *)o->target = true;
		break;
	case HV_OPTION_INT:
		r = hv_parse_i64(arg, o->min, o->max, (int64_t *)o->target);
		if (r < 0) {
			char range[64];
			snprintf(range, sizeof(range), "%lld..%lld", (long long)o->min,
				 (long long)o->max);
			fprintf(stderr, "%s: --%s: not a number in %s: %s\n", cmd->name, o->name,
				range, arg);
			hv_options_usage(cmd, stderr);
			return -EINVAL;
		}
		break;
	case HV_OPTION_CUSTOM:
		r = o->parse(arg, o->target);
		break;
	}
	return r < 0 ? usage_error(cmd, "--%s: invalid value: %s", o->name, arg) : 0;
}

void hv_options_permute(const hv_cmdline *cmd, int argc, char **argv)
{
	if (argc < 2)
		return;
	char *opts[argc], *rest[argc], *dashdash = NULL;
	int no = 0, nr = 0, i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			dashdash = argv[i++];
			break;
		}
		if (a[0] != '-' || !a[1]) {
			rest[nr++] = argv[i];
			continue;
		}
		opts[no++] = argv[i];
		/* "--name VALUE": the value goes with it ("--name=VALUE" is one). */
		if (a[1] == '-' && !strchr(a + 2, '=')) {
			const hv_option *o = find(cmd, a + 2, strlen(a + 2));
			if (o && o->kind != HV_OPTION_FLAG && i + 1 < argc)
				opts[no++] = argv[++i];
		}
	}
	int k = 1;
	memcpy(argv + k, opts, (size_t)no * sizeof(*argv));
	k += no;
	if (dashdash)
		argv[k++] = dashdash;
	memcpy(argv + k, rest, (size_t)nr * sizeof(*argv));
	/* argv[i..] (after "--") is already in place: k + nr == i. */
}

int hv_options_parse(const hv_cmdline *cmd, int argc, char **argv, int *first_arg)
{
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			hv_options_usage(cmd, stdout);
			return 0;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (a[1] != '-')
			return usage_error(cmd, "unknown option: %s%s", a, "");
		const char *eq = strchr(a + 2, '=');
		const hv_option *o = find(cmd, a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
		if (!o)
			return usage_error(cmd, "unknown option: %s%s", a, "");
		const char *arg = NULL;
		if (o->kind == HV_OPTION_FLAG) {
			if (eq)
				return usage_error(cmd, "--%s takes no value%s", o->name, "");
		} else if (eq) {
			arg = eq + 1;
		} else if (i + 1 < argc) {
			arg = argv[++i];
		} else {
			return usage_error(cmd, "--%s needs a value (%s)", o->name, o->metavar);
		}
		int r = apply(cmd, o, arg);
		if (r < 0)
			return r;
	}
	int n = argc - i;
	if (n < cmd->min_args)
		return usage_error(cmd, "missing argument%s%s", "", "");
	if (cmd->max_args >= 0 && n > cmd->max_args)
		return usage_error(cmd, "unexpected argument: %s%s", argv[i + cmd->max_args], "");
	if (first_arg)
		*first_arg = i;
	return 1;
}
