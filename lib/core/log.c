/* log.c — leveled logging to stderr (see haven/log.h).
 *
 * One write(2) per line so lines from several processes sharing a stderr
 * (a manager and its services) never interleave mid-line.
 */
#include <haven/log.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static enum hv_log_level log_level = HV_LOG_INFO;
static bool ipc_trace;
static char ident[64];
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void log_init(void)
{
	const char *e = getenv("HAVEN_LOG");

	if (e && *e) {
		if (!strcasecmp(e, "debug") || !strcmp(e, "3"))
			log_level = HV_LOG_DEBUG;
		else if (!strcasecmp(e, "info") || !strcmp(e, "2"))
			log_level = HV_LOG_INFO;
		else if (!strcasecmp(e, "warn") || !strcasecmp(e, "warning") || !strcmp(e, "1"))
			log_level = HV_LOG_WARN;
		else if (!strcasecmp(e, "error") || !strcmp(e, "0"))
			log_level = HV_LOG_ERROR;
	}
	e = getenv("HAVEN_IPC_TRACE");
	ipc_trace = e && *e && strcmp(e, "0") != 0;
	if (!ident[0])
		snprintf(ident, sizeof(ident), "%s", program_invocation_short_name);
}

void hv_log_set_level(enum hv_log_level level)
{
	pthread_once(&log_once, log_init);
	log_level = level;
}

enum hv_log_level hv_log_get_level(void)
{
	pthread_once(&log_once, log_init);
	return log_level;
}

void hv_log_set_ident(const char *id)
{
	pthread_once(&log_once, log_init);
	snprintf(ident, sizeof(ident), "%s", id ? id : "");
}

bool hv_log_ipc_trace(void)
{
	pthread_once(&log_once, log_init);
	return ipc_trace;
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void hv_logv(enum hv_log_level level, const char *fmt, va_list ap)
{
	char line[2048];
	int saved = errno; /* so callers may use %m after us */
	int n;

	pthread_once(&log_once, log_init);
	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "%s[%d]: %s: ", ident, (int)getpid(),
		     level_names[level < 4 ? level : 3]);
	if (n < 0)
		return;
	errno = saved;
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* stderr write failures have nowhere to be reported */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		(void)0;
	errno = saved;
}

void hv_log(enum hv_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hv_logv(level, fmt, ap);
	va_end(ap);
}

int hv_log_errno(int err, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hv_log(HV_LOG_ERROR, "%s: %s", msg, strerror(err < 0 ? -err : err));
	return err < 0 ? err : -err;
}
