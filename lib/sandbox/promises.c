/* lib/sandbox/promises.c — promise names: parsing, formatting, and the
 * syscall-name table used by the SIGSYS log line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "haven/log.h"
#include "haven/sandbox.h"
#include "internal.h"

static const char *const promise_names[HV_P__COUNT] = {
	[HV_P_STDIO] = "stdio",	    [HV_P_RPATH] = "rpath",	  [HV_P_WPATH] = "wpath",
	[HV_P_CPATH] = "cpath",	    [HV_P_DPATH] = "dpath",	  [HV_P_TMPPATH] = "tmppath",
	[HV_P_INET] = "inet",	    [HV_P_UNIX] = "unix",	  [HV_P_DNS] = "dns",
	[HV_P_FATTR] = "fattr",	    [HV_P_CHOWN] = "chown",	  [HV_P_FLOCK] = "flock",
	[HV_P_GETPW] = "getpw",	    [HV_P_SENDFD] = "sendfd",	  [HV_P_RECVFD] = "recvfd",
	[HV_P_PROC] = "proc",	    [HV_P_EXEC] = "exec",	  [HV_P_ID] = "id",
	[HV_P_TTY] = "tty",	    [HV_P_THREAD] = "thread",	  [HV_P_PROTEXEC] = "prot_exec",
	[HV_P_SIGACTION] = "sigaction", [HV_P_SETTIME] = "settime", [HV_P_BPF] = "bpf", [HV_P_ACCEPT] = "accept",
	[HV_P_UEVENT] = "uevent",
	[HV_P_UNVEIL] = "unveil",   [HV_P_NO_ERROR] = "no_error",
};

static int promise_lookup(const char *name, size_t len)
{
	for (int i = 0; i < HV_P__COUNT; i++)
		if (strlen(promise_names[i]) == len && memcmp(promise_names[i], name, len) == 0)
			return i;
	/* OpenBSD spells SerenityOS's no_error "error". */
	if (len == 5 && memcmp(name, "error", 5) == 0)
		return HV_P_NO_ERROR;
	return -1;
}

int hv_promises_parse(const char *s, uint64_t *out)
{
	uint64_t mask = 0;

	for (const char *p = s; p && *p;) {
		size_t skip = strspn(p, " \t\n,");
		p += skip;
		size_t len = strcspn(p, " \t\n,");
		if (len == 0)
			break;
		int bit = promise_lookup(p, len);
		if (bit < 0) {
			hv_log_error("pledge: unknown promise \"%.*s\"", (int)len, p);
			return -EINVAL;
		}
		mask |= UINT64_C(1) << bit;
		p += len;
	}
	*out = mask;
	return 0;
}

void hv_promises_format(uint64_t mask, char *buf, size_t size)
{
	size_t used = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (int i = 0; i < HV_P__COUNT; i++) {
		if (!(mask & (UINT64_C(1) << i)))
			continue;
		size_t n = strlen(promise_names[i]) + (used ? 1 : 0);
		if (used + n + 1 > size)
			break;
		if (used)
			buf[used++] = ' ';
		strcpy(buf + used, promise_names[i]);
		used += strlen(promise_names[i]);
	}
}

int hv_pledge_check(const char *promises)
{
	uint64_t mask;
	return hv_promises_parse(promises, &mask);
}

/* This machine's system calls, generated at build time from libseccomp
 * (gen-syscall-table.c): no lookup at run time, and the SIGSYS handler can
 * name a call without allocating (the violation may happen inside malloc). */
#include "syscall-table.h"

void hv_syscall_names_init(void)
{
}

const char *hv_syscall_name(long nr)
{
	if (nr < 0 || nr >= HV_SYSCALL_NR_MAX)
		return NULL;
	return hv_syscall_table_names[nr];
}

static int by_name(const void *key, const void *entry)
{
	return strcmp(key, ((const struct hv_syscall_entry *)entry)->name);
}

int hv_syscall_nr(const char *name)
{
	const struct hv_syscall_entry *e =
		bsearch(name, hv_syscall_table_by_name, sizeof(hv_syscall_table_by_name) / sizeof(hv_syscall_table_by_name[0]),
			sizeof(hv_syscall_table_by_name[0]), by_name);
	return e ? e->nr : -ENOENT;
}
