/* unwind.h — a crash report from a live stopped process or from a core,
 * with elfutils' libdwfl (docs/crashdaemon.md: the report format). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define CRASH_MAX_REGS 64
#define CRASH_MAX_FRAMES 256
/* Frames of the crashing thread that make its signature (dedup key). */
#define CRASH_SIGNATURE_FRAMES 6

/* What is known about a crash before unwinding. */
struct crash_info {
	pid_t pid, tid; /* tid: the crashing thread (0: unknown) */
	uid_t uid;
	gid_t gid;
	int signo, code;
	uint64_t address;
	int64_t time; /* Unix seconds */
	char exe[4096];
	char service[128]; /* HAVEN_SERVICE of the process, "" when none */
	char cmdline[512];
	/* Registers of the crashing thread at the fault: the handler's
	 * ucontext (session) or the core's NT_PRSTATUS (kernel). */
	uint64_t regs[CRASH_MAX_REGS];
	unsigned nregs;
	bool regs_are_prstatus; /* user_regs_struct order, else ucontext's */
	const char *mode;	/* "session" or "kernel" */
};

/* /proc/PID/WHAT into buf (NUL-terminated, at most size - 1 bytes); its length. */
size_t crash_proc_read(pid_t pid, const char *what, char *buf, size_t size);
/* Fill exe, uid, gid, service and cmdline from /proc/PID (what exists). */
void crash_info_from_proc(struct crash_info *ci);

/* Write the report of ci to out: header, registers, modules, every
 * thread's backtrace. pid mode: every thread of ci->pid is already
 * ptrace-stopped by the caller; the crashing thread's frames inside the
 * crash handler are left out. core mode: core is the ELF core (an fd the
 * function reads, not closes). The signature (the dedup key, a malloc'd
 * string) is the executable's name, the signal and the crashing thread's
 * first functions. Returns 0 or a negative errno with *error set to a
 * static reason (the report then says what could not be done). */
int crash_unwind_pid(struct crash_info *ci, FILE *out, char **signature);
int crash_unwind_core(struct crash_info *ci, int core, FILE *out, char **signature);

/* The header alone, and the error line, for a crash that could not be
 * unwound (a core that is no core, a process already gone). */
void crash_report_header(const struct crash_info *ci, FILE *out);

/* From a core's notes: the crashing thread (first NT_PRSTATUS), its
 * registers, and NT_SIGINFO's signal, code and address. 0, or -EINVAL
 * when the notes hold none of it. */
struct Elf;
int crash_core_notes(struct Elf *elf, struct crash_info *ci);
/* The same on a note segment's raw bytes (what the fuzz target drives). */
int crash_parse_notes(const uint8_t *data, size_t len, struct crash_info *ci);

const char *crash_signal_name(int signo);
