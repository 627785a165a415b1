/* crashtest-service.c — CrashTest: a pledged ("stdio") and unveiled (no files)
 * Haven service that dereferences NULL when asked, so the runner's crash
 * handler is tested as every service has it. Built -O0 -g. */
#include <haven/service.h>

#include "CrashTest.ipc.h"

/* A real SIGSEGV also in the sanitized build: UBSan's null check would
 * report the store and exit instead (halt_on_error=1, as make asan runs). */
__attribute__((noinline, no_sanitize("undefined"))) static void crash_here(void)
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
#ifdef __SANITIZE_ADDRESS__
	/* ASan's runtime reads /proc/self/exe (readlink) after main() starts:
	 * the sanitized build needs rpath; the plain build pledges stdio. */
	.pledge = "stdio rpath",
#else
	.pledge = "stdio",
#endif
};

int main(int argc, char **argv) { return hv_service_main(&crashtest, argc, argv); }
