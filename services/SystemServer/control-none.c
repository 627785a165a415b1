/* control-none.c — used only while the tree has no IPC compiler yet: the
 * manager runs, and says plainly that it has no control endpoint. */
#include <errno.h>

#include <haven/log.h>

#include "control.h"

int hv_control_start(hv_manager *m, hv_control **out)
{
	*out = NULL;
	return hv_log_errno(-ENOTSUP, "Built without ipcc: no control endpoint");
}

void hv_control_free(hv_control *c) {}
