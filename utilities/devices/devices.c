/* devices — ask DeviceMapper about the system's devices.
 *
 *   devices [--socket PATH] list [--subsystem S] [--json]
 *   devices [--socket PATH] info PATH [--json]
 *   devices [--socket PATH] monitor [--subsystem S] [--properties]
 *   devices [--socket PATH] settle
 *
 * Exit codes: 0 done, 1 the service said no (no such device) or cannot be
 * reached, 2 usage. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/options.h>

#include "cli.h"
#include "devices-client.h"

static const char *socket_path, *subsystem;
static bool json, properties;

static const hv_option options[] = {
	HV_OPT_STRING("socket", "PATH", &socket_path, "DeviceMapper's socket (default: its portal)"),
	HV_OPT_STRING("subsystem", "S", &subsystem, "list, monitor: only devices of subsystem S"),
	HV_OPT_FLAG("json", &json, "list, info: print JSON"),
	HV_OPT_FLAG("properties", &properties, "monitor: print each event's properties"),
	{0},
};

static void print_json(const device_mapper_device *d)
{
	printf("{\"devpath\":");
	cli_json_string(stdout, d->devpath);
	printf(",\"subsystem\":");
	cli_json_string(stdout, d->subsystem);
	printf(",\"name\":");
	cli_json_string(stdout, d->name);
	printf(",\"devnode\":");
	cli_json_string(stdout, d->devnode);
	printf(",\"properties\":{");
	for (size_t i = 0; i < d->properties.count; i++) {
		printf("%s", i ? "," : "");
		cli_json_string(stdout, d->properties.items[i].key);
		putchar(':');
		cli_json_string(stdout, d->properties.items[i].value);
	}
	printf("}}");
}

/* udevadm info's layout: P: devpath, N: node, E: properties. */
static void print_info(const device_mapper_device *d)
{
	printf("P: %s\n", d->devpath);
	if (d->devnode[0])
		printf("N: %s\n", d->devnode);
	for (size_t i = 0; i < d->properties.count; i++)
		printf("E: %s=%s\n", d->properties.items[i].key, d->properties.items[i].value);
}

static int do_list(hv_conn *c)
{
	hv_vec_device_mapper_device v;
	int r = device_mapper_list(c, subsystem ? subsystem : "", "", (hv_map_bytestring_bytestring){0}, &v);
	if (r < 0)
		return cli_fail(c, r, "list");
	if (json)
		putchar('[');
	for (size_t i = 0; i < v.count; i++) {
		const device_mapper_device *d = &v.items[i];
		if (json) {
			printf("%s", i ? "," : "");
			print_json(d);
		} else
			printf("%-10s %-16s %-20s %s\n", d->subsystem[0] ? d->subsystem : "-", d->name,
			       d->devnode[0] ? d->devnode : "-", d->devpath);
	}
	if (json)
		printf("]\n");
	return 0;
}

static int do_info(hv_conn *c, const char *path)
{
	/* A /sys path may go through symlinks (/sys/class/net/lo): the
	 * service knows devices by their real devpath. */
	char real[PATH_MAX];
	if (strncmp(path, "/sys/", 5) == 0 && realpath(path, real))
		path = real;
	device_mapper_device d;
	int r = device_mapper_info(c, path, &d);
	if (r < 0)
		return cli_fail(c, r, path);
	if (json) {
		print_json(&d);
		putchar('\n');
	} else
		print_info(&d);
	return 0;
}

static void on_event(device_mapper_action a, const device_mapper_device *d, void *ud)
{
	(void)ud;
	printf("%-7s %s (%s)\n", dmc_action_name(a), d->devpath, d->subsystem);
	for (size_t i = 0; properties && i < d->properties.count; i++)
		printf("  %s=%s\n", d->properties.items[i].key, d->properties.items[i].value);
	fflush(stdout);
}

static int do_monitor(hv_conn *c)
{
	static const dmc_watcher w = {on_event, NULL};
	const char *subs[1] = {subsystem};
	int r = dmc_subscribe(c, subs, subsystem ? 1 : 0, &w);
	if (r < 0)
		return cli_fail(c, r, "monitor");
	printf("monitoring%s%s\n", subsystem ? " " : "", subsystem ? subsystem : "");
	fflush(stdout);
	while ((r = hv_conn_dispatch(c, -1)) >= 0)
		;
	fprintf(stderr, "devices: DeviceMapper went away\n");
	return 1;
}

static const hv_option *const tables[] = {options, NULL};
static const hv_cmdline cmd = {
	.name = "devices",
	.args = "list | info PATH | monitor | settle",
	.summary = "The system's devices, from DeviceMapper. list: every device (--subsystem S:\n"
		   "those of S); info PATH: one device's properties (PATH a /sys path, a devpath\n"
		   "or a /dev node or symlink); monitor: events as they come; settle: wait until\n"
		   "every event the kernel sent so far is handled. Exit: 0 done, 1 failed, 2 usage.\n"
		   CLI_TIMEOUT_HELP,
	.tables = tables,
	.min_args = 1,
	.max_args = 2,
};

static void usage(FILE *f) { hv_options_usage(&cmd, f); }

int main(int argc, char **argv)
{
	cli_init("devices", "DeviceMapper", usage);
	int first = 0;
	hv_options_permute(&cmd, argc, argv); /* options may follow the verb */
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	char **args = argv + first;
	int nargs = argc - first;
	const char *verb = args[0];
	bool one = nargs == 1;
	if (!((one && (!strcmp(verb, "list") || !strcmp(verb, "monitor") || !strcmp(verb, "settle"))) ||
	      (nargs == 2 && !strcmp(verb, "info"))))
		return cli_usage_error("%s: unknown verb or wrong number of arguments", verb);
	hv_conn *c = NULL;
	if (cli_connect(NULL, DMC_PORTAL, socket_path, &c) < 0)
		return 1;
	if (!strcmp(verb, "list"))
		r = do_list(c);
	else if (!strcmp(verb, "info"))
		r = do_info(c, args[1]);
	else if (!strcmp(verb, "monitor"))
		r = do_monitor(c);
	else {
		uint64_t seq = 0;
		r = device_mapper_settle(c, &seq);
		r = r < 0 ? cli_fail(c, r, "settle") : 0;
	}
	hv_conn_close(c);
	return r;
}
