/* crashtest-service.c — CrashTest: a pledged ("stdio") and unveiled (no files)
 * Haven service that dereferences NULL when asked, so the runner's crash
 * handler is tested as every service has it. Built -O0 -g. */
#include <haven/service.h>

#include "CrashTest.ipc.h"

__attribute__((noinline)) static void crash_here(void)
{
	volatile int *p = NULL;
	*p = 1;
}
__attribute__((noinline)) static void level2(void) { crash_here(); }
__attribute__((noinline)) static void level1(void) { level2(); }

static int on_crash(hv_call *call, const crash_test_crash_req *req, crash_test_crash_rep *rep)
{
	level1();
	return 0;
}

static const crash_test_handlers handlers = {.crash = on_crash};

static const hv_service crashtest = {
	.name = "CrashTest",
	.summary = "Crashes when asked (a CrashDaemon test).",
	.endpoint = &crash_test_endpoint,
	.handlers = &handlers,
	.unveil = (const hv_unveil_rule[]){{0}},
	.pledge = "stdio",
};

int main(int argc, char **argv) { return hv_service_main(&crashtest, argc, argv); }
