/* ConfigServer — the session's settings service: a layered INI store (user
 * files in --config-dir over read-only --defaults), sandboxed to those two
 * directories, serving ConfigServer.ipc. */
#include <haven/service.h>

#include "ConfigServer.h"

static const char *config_dir, *defaults = HAVEN_CONFIG_DEFAULTS_DIR;
static cfg_store *store;

static int setup(hv_server *srv)
{
	int r = config_dir ? 0 : cfg_default_dir(&config_dir);
	if (r >= 0)
		r = cfg_store_open(config_dir, defaults, &store);
	return r < 0 ? r : cfg_service_init(srv, store);
}

static void teardown(int code) { cfg_store_free(store); }

static const hv_service config_server = {
	.name = "ConfigServer",
	.summary = "Settings service: serves ConfigServer.ipc.",
	.endpoint = &config_server_endpoint,
	.handlers = &cfg_handlers,
	.conn_size = sizeof(cfg_client),
	.conn_fini = cfg_client_fini,
	.options = (const hv_option[]){
		HV_OPT_STRING("config-dir", "DIR", &config_dir, "user settings, one DOMAIN.ini each\n"
			      "(default $XDG_CONFIG_HOME/haven, ~/.config/haven)"),
		HV_OPT_STRING("defaults", "DIR", &defaults, "read-only defaults layered underneath\n"
			      "(default " HAVEN_CONFIG_DEFAULTS_DIR ")"),
		{0}},
	.setup = setup,
	.teardown = teardown,
	.unveil = (const hv_unveil_rule[]){HV_UNVEIL(config_dir, "rwc"), HV_UNVEIL_IF_EXISTS(defaults, "r"), {0}},
	.pledge = "stdio rpath wpath cpath",
};

int main(int argc, char **argv) { return hv_service_main(&config_server, argc, argv); }
