/* haven/log.h — leveled logging to stderr, and small helpers shared by all.
 *
 * Level from HAVEN_LOG (error, warn, info, debug; default info).
 * HAVEN_IPC_TRACE=1 makes lib/ipc print every message sent and received.
 * Lines look like:  "EchoServer[1234]: warn: peer 1001 sent oversized frame"
 * The program name is taken from program_invocation_short_name unless set.
 */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum hv_log_level {
	HV_LOG_ERROR = 0,
	HV_LOG_WARN = 1,
	HV_LOG_INFO = 2,
	HV_LOG_DEBUG = 3,
};

void hv_log_set_level(enum hv_log_level level);
enum hv_log_level hv_log_get_level(void);
void hv_log_set_ident(const char *ident); /* copied */
bool hv_log_ipc_trace(void);		  /* HAVEN_IPC_TRACE set and not "0" */

void hv_logv(enum hv_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void hv_log(enum hv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define hv_log_error(...) hv_log(HV_LOG_ERROR, __VA_ARGS__)
#define hv_log_warn(...) hv_log(HV_LOG_WARN, __VA_ARGS__)
#define hv_log_info(...) hv_log(HV_LOG_INFO, __VA_ARGS__)
#define hv_log_debug(...)                                                                  \
	do {                                                                               \
		if (hv_log_get_level() >= HV_LOG_DEBUG)                                    \
			hv_log(HV_LOG_DEBUG, __VA_ARGS__);                                 \
	} while (0)

/* systemd-style: log "<msg>: <strerror(-err)>" at error level and return err
 * (a negative errno), so callers write `return hv_log_errno(r, "...")`. */
int hv_log_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
