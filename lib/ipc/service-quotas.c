/* lib/ipc/service-quotas.c — the IPC quotas a service manager sets for a
 * service (HAVEN_IPC_QUOTAS, haven/service.h), applied by the runner after
 * the service's setup so that the definition has the last word. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>
#include <haven/service.h>

enum { Q_UID_BYTES, Q_UID_FDS, Q_UID_CONNS, Q_TOTAL_BYTES, Q_TOTAL_FDS, Q_CONNS, Q_DEADLINE, Q_IDLE, Q_COUNT };

static const struct {
	const char *name;
	uint64_t max;
} fields[Q_COUNT] = {
	[Q_UID_BYTES] = { "uid-bytes", SIZE_MAX },
	[Q_UID_FDS] = { "uid-fds", UINT32_MAX },
	[Q_UID_CONNS] = { "uid-connections", UINT32_MAX },
	[Q_TOTAL_BYTES] = { "total-bytes", SIZE_MAX },
	[Q_TOTAL_FDS] = { "total-fds", UINT32_MAX },
	[Q_CONNS] = { "connections", UINT32_MAX },
	[Q_DEADLINE] = { "frame-deadline-ms", INT32_MAX },
	[Q_IDLE] = { "idle-timeout-ms", INT32_MAX },
};

/* "NAME=N NAME=N …" into v[]/set[]; -EINVAL (logged) for anything else. */
static int parse_spec(const char *spec, uint64_t v[Q_COUNT], bool set[Q_COUNT])
{
	_hv_free_ char *copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(w, '=');
		size_t i = 0;
		while (eq && i < Q_COUNT &&
		       (strlen(fields[i].name) != (size_t)(eq - w) || strncmp(w, fields[i].name, eq - w)))
			i++;
		if (!eq || i == Q_COUNT || hv_parse_u64(eq + 1, fields[i].max, &v[i]) < 0)
			return hv_log_errno(-EINVAL, "%s: bad entry \"%s\" in \"%s\" (expected NAME=NUMBER, "
				"NAME one of uid-bytes uid-fds uid-connections total-bytes total-fds "
				"connections frame-deadline-ms idle-timeout-ms)", HV_SERVICE_QUOTAS_ENV, w, spec);
		set[i] = true;
	}
	return 0;
}

int hv_service_apply_quotas(hv_server *srv, const char *spec)
{
	uint64_t v[Q_COUNT] = { 0 };
	bool set[Q_COUNT] = { false };
	int r = spec ? parse_spec(spec, v, set) : 0;
	if (!spec || r < 0)
		return r;
	/* A field not given keeps the library's default (haven/ipc.h). */
	if (set[Q_UID_BYTES] || set[Q_UID_FDS] || set[Q_UID_CONNS]) {
		hv_ipc_quotas q = {
			.bytes = set[Q_UID_BYTES] ? (size_t)v[Q_UID_BYTES] : HV_IPC_UID_MAX_BYTES,
			.fds = set[Q_UID_FDS] ? (unsigned)v[Q_UID_FDS] : HV_IPC_UID_MAX_FDS,
			.connections = set[Q_UID_CONNS] ? (unsigned)v[Q_UID_CONNS] : HV_IPC_UID_MAX_CONNECTIONS,
		};
		if ((r = hv_server_set_quotas(srv, HV_IPC_ANY_UID, &q)) < 0)
			return r;
	}
	if (set[Q_TOTAL_BYTES] || set[Q_TOTAL_FDS])
		hv_server_set_total_quotas(srv, &(hv_ipc_quotas){
			.bytes = set[Q_TOTAL_BYTES] ? (size_t)v[Q_TOTAL_BYTES] : HV_IPC_SERVER_MAX_BYTES,
			.fds = set[Q_TOTAL_FDS] ? (unsigned)v[Q_TOTAL_FDS] : HV_IPC_SERVER_MAX_FDS,
		});
	if (set[Q_CONNS])
		hv_server_set_max_connections(srv, v[Q_CONNS] ? (unsigned)v[Q_CONNS] : HV_IPC_MAX_CONNECTIONS);
	if (set[Q_DEADLINE])
		hv_server_set_frame_deadline(srv, (int)v[Q_DEADLINE]);
	if (set[Q_IDLE])
		hv_server_set_idle_timeout(srv, (int)v[Q_IDLE]);
	return 0;
}
