/* ConfigServer — the session's settings service.
 *
 *   ConfigServer [--socket PATH] [--config-dir DIR] [--defaults DIR]
 *
 * Opens the store (user files in DIR, default $XDG_CONFIG_HOME/haven or
 * ~/.config/haven; read-only defaults in --defaults, default
 * HAVEN_CONFIG_DEFAULTS_DIR), narrows its sandbox to those two directories,
 * takes the socket SystemServer hands over (or listens on --socket) and
 * serves ConfigServer.ipc.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>
#ifdef HAVE_SANDBOX
#include <haven/sandbox.h>
#endif

#include "ConfigServer.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: ConfigServer [--socket PATH] [--config-dir DIR] [--defaults DIR]\n"
		   "Settings service: serves ConfigServer.ipc on PATH, or on the socket handed\n"
		   "over by a service manager (LISTEN_FDS) when --socket is not given.\n"
		   "  --config-dir DIR  user settings, one DOMAIN.ini each\n"
		   "                    (default $XDG_CONFIG_HOME/haven, ~/.config/haven)\n"
		   "  --defaults DIR    read-only defaults layered underneath\n"
		   "                    (default %s)\n",
		HAVEN_CONFIG_DEFAULTS_DIR);
}

static int default_user_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, size, "%s/haven", xdg);
	else if (home && home[0] == '/')
		n = snprintf(buf, size, "%s/.config/haven", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int main(int argc, char **argv)
{
	char user_dir[PATH_MAX];
	const char *config_dir = NULL, *defaults = HAVEN_CONFIG_DEFAULTS_DIR;
	enum { OPT_SOCKET = 256, OPT_CONFIG_DIR, OPT_DEFAULTS };
	static const struct option options[] = {
		{"socket", required_argument, NULL, OPT_SOCKET}, /* read by hv_server_start */
		{"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
		{"defaults", required_argument, NULL, OPT_DEFAULTS},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	for (int c; (c = getopt_long(argc, argv, "h", options, NULL)) != -1;) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case OPT_SOCKET:
			break;
		case OPT_CONFIG_DIR:
			config_dir = optarg;
			break;
		case OPT_DEFAULTS:
			defaults = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ConfigServer: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!config_dir) {
		if (default_user_dir(user_dir, sizeof(user_dir)) < 0) {
			hv_log_error("neither XDG_CONFIG_HOME nor HOME is an absolute path; use --config-dir");
			return 1;
		}
		config_dir = user_dir;
	}

	hv_loop *loop = NULL;
	hv_server *srv = NULL;
	hv_config_store *store = NULL;
	config_service *svc;
	int r = hv_loop_new(&loop);
	if (r < 0)
		return hv_log_errno(r, "Failed to create the event loop"), 1;
	if ((r = hv_loop_quit_on_signals(loop)) < 0)
		goto out;
	if ((r = hv_config_store_open(config_dir, defaults, &store)) < 0)
		goto out;
	if ((r = hv_server_new(loop, &config_server_endpoint, &config_handlers, &srv)) < 0) {
		hv_log_errno(r, "Failed to create the server");
		goto out;
	}
	if ((r = config_service_init(loop, srv, store, &svc)) < 0)
		goto out;
	if ((r = hv_server_start(srv, argc, argv)) < 0)
		goto out;
#ifdef HAVE_SANDBOX
	/* From here on: the two config directories and our clients, nothing else. */
	r = hv_unveil(config_dir, "rwc");
	if (r >= 0 && access(defaults, F_OK) == 0)
		r = hv_unveil(defaults, "r");
	/* A kernel without Landlock: lib/sandbox has said so; seccomp still holds. */
	if (r == -ENOSYS || r == -EOPNOTSUPP)
		r = 0;
	if (r >= 0)
		r = hv_pledge("stdio rpath wpath cpath accept", NULL);
	if (r < 0) {
		hv_log_errno(r, "Failed to enter the sandbox");
		goto out;
	}
#endif
	r = hv_loop_run(loop);
out:
	hv_server_free(srv);
	hv_config_store_free(store);
	hv_loop_free(loop);
	return r < 0 ? 1 : 0;
}
