/* unwind.c — reports with elfutils' libdwfl: modules, threads, frames with
 * function names and file:line (debug info found by build-id, in
 * /usr/lib/debug too: dwfl_standard_find_debuginfo), and the signature
 * that deduplicates crashes. One writer for both ways a crash arrives. */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <haven/util.h>

#include "unwind.h"

static char *debuginfo_path;
static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};
static const Dwfl_Callbacks core_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

HV_DEFINE_CLEANUP(Dwfl *, dwfl_end)
HV_DEFINE_CLEANUP(Elf *, elf_end)

const char *crash_signal_name(int signo)
{
	switch (signo) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGILL: return "SIGILL";
	case SIGABRT: return "SIGABRT";
	case SIGTRAP: return "SIGTRAP";
	case SIGSYS: return "SIGSYS";
	case SIGQUIT: return "SIGQUIT";
	case SIGXCPU: return "SIGXCPU";
	case SIGXFSZ: return "SIGXFSZ";
	default: return "SIG?";
	}
}

/* /proc files say their size is 0: read until EOF, at most size - 1. */
size_t crash_proc_read(pid_t pid, const char *what, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	_hv_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	while (fd >= 0 && n + 1 < size) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

static void read_proc_str(pid_t pid, const char *what, char *buf, size_t size, bool nul_to_space)
{
	size_t n = crash_proc_read(pid, what, buf, size);
	for (size_t i = 0; i < n && nul_to_space; i++)
		if (buf[i] == '\0' || buf[i] == '\n')
			buf[i] = ' ';
	while (nul_to_space && n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
}

/* HAVEN_SERVICE from the process's environment (SystemServer sets it). */
static void read_service(pid_t pid, char *out, size_t size)
{
	size_t cap = 256 * 1024;
	char *env = malloc(cap);
	out[0] = '\0';
	if (!env)
		return;
	size_t len = crash_proc_read(pid, "environ", env, cap);
	for (size_t i = 0; i < len;) {
		const char *s = env + i;
		size_t l = strnlen(s, len - i);
		if (!strncmp(s, "HAVEN_SERVICE=", 14))
			snprintf(out, size, "%.*s", (int)(l - 14), s + 14);
		i += l + 1;
	}
	free(env);
}

void crash_info_from_proc(struct crash_info *ci)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)ci->pid);
	ssize_t n = readlink(path, ci->exe, sizeof(ci->exe) - 1);
	if (n > 0)
		ci->exe[n] = '\0';
	char status[4096];
	read_proc_str(ci->pid, "status", status, sizeof(status), false);
	const char *u = strstr(status, "\nUid:");
	if (u)
		ci->uid = (uid_t)strtoul(u + 5, NULL, 10);
	const char *g = strstr(status, "\nGid:");
	if (g)
		ci->gid = (gid_t)strtoul(g + 5, NULL, 10);
	read_proc_str(ci->pid, "cmdline", ci->cmdline, sizeof(ci->cmdline), true);
	read_service(ci->pid, ci->service, sizeof(ci->service));
}

static const char *const ucontext_regs[] = {
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx",
	"rdx", "rax", "rcx", "rsp", "rip", "eflags", "csgsfs", "err", "trapno", "oldmask", "cr2"};
static const char *const prstatus_regs[] = {
	"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
	"rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base",
	"ds", "es", "fs", "gs"};

static void write_registers(const struct crash_info *ci, FILE *out)
{
	if (!ci->nregs)
		return;
	fputs("registers:", out);
	for (unsigned i = 0; i < ci->nregs; i++) {
		const char *name = NULL;
#if defined(__x86_64__)
		if (ci->regs_are_prstatus && i < HV_ARRAY_SIZE(prstatus_regs))
			name = prstatus_regs[i];
		else if (!ci->regs_are_prstatus && i < HV_ARRAY_SIZE(ucontext_regs))
			name = ucontext_regs[i];
#endif
		if (name)
			fprintf(out, " %s=0x%" PRIx64, name, ci->regs[i]);
		else
			fprintf(out, " r%u=0x%" PRIx64, i, ci->regs[i]);
	}
	fputc('\n', out);
}

void crash_report_header(const struct crash_info *ci, FILE *out)
{
	char when[64] = "";
	time_t t = (time_t)ci->time;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "haven-crash-report: 1\n");
	fprintf(out, "mode: %s\n", ci->mode ? ci->mode : "session");
	fprintf(out, "executable: %s\n", ci->exe[0] ? ci->exe : "?");
	if (ci->cmdline[0])
		fprintf(out, "cmdline: %s\n", ci->cmdline);
	fprintf(out, "pid: %d\nuid: %u\ngid: %u\n", (int)ci->pid, (unsigned)ci->uid,
		(unsigned)ci->gid);
	fprintf(out, "time: %s (%" PRId64 ")\n", when, ci->time);
	if (ci->service[0])
		fprintf(out, "service: %s\n", ci->service);
	fprintf(out, "signal: %d %s\ncode: %d\naddress: 0x%" PRIx64 "\n", ci->signo,
		crash_signal_name(ci->signo), ci->code, ci->address);
	if (ci->tid)
		fprintf(out, "crashing-thread: %d\n", (int)ci->tid);
	write_registers(ci, out);
}

/* --- frames ------------------------------------------------------------ */

struct frame {
	Dwarf_Addr pc;
	bool activation;
};

struct walk {
	FILE *out;
	struct crash_info *ci;
	bool skip_handler; /* session mode: drop the handler's own frames */
	FILE *sig;	   /* the signature being built */
	int threads;
};

struct frames {
	struct frame f[CRASH_MAX_FRAMES];
	int n;
};

static int collect_frame(Dwfl_Frame *state, void *arg)
{
	struct frames *fr = arg;
	Dwarf_Addr pc;
	bool act;
	if (!dwfl_frame_pc(state, &pc, &act))
		return DWARF_CB_ABORT;
	fr->f[fr->n].pc = pc;
	fr->f[fr->n].activation = act;
	return ++fr->n < CRASH_MAX_FRAMES ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* One frame's line: address, function+offset, file:line, module. The
 * function (or module+offset) goes to the signature when sig is set. */
static void write_frame(Dwfl *dwfl, int index, const struct frame *f, FILE *out, FILE *sig)
{
	/* A return address points after the call: look up the call. */
	Dwarf_Addr pc = f->activation ? f->pc : f->pc - 1;
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, pc);
	const char *name = NULL, *modname = NULL, *file = NULL;
	GElf_Off off = 0;
	GElf_Sym sym;
	Dwarf_Addr mod_start = 0;
	int line = 0;
	if (mod) {
		modname = dwfl_module_info(mod, NULL, &mod_start, NULL, NULL, NULL, NULL, NULL);
		name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
		Dwfl_Line *l = dwfl_module_getsrc(mod, pc);
		if (l)
			file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
	}
	fprintf(out, "  #%-2d 0x%016" PRIx64 " %s", index, (uint64_t)f->pc, name ? name : "??");
	if (name)
		fprintf(out, "+0x%" PRIx64, (uint64_t)off);
	if (file)
		fprintf(out, " (%s:%d)", file, line);
	if (modname) {
		const char *base = strrchr(modname, '/');
		fprintf(out, " [%s]", base ? base + 1 : modname);
	}
	fputc('\n', out);
	if (!sig)
		return;
	if (name)
		fprintf(sig, " %s", name);
	else if (modname)
		fprintf(sig, " %s+0x%" PRIx64, strrchr(modname, '/') ? strrchr(modname, '/') + 1 : modname,
			(uint64_t)(pc - mod_start));
	else
		fputs(" ??", sig);
}

/* The first frame of the interrupted code: the one at the pc the handler
 * reported, else the one after the signal trampoline (the first frame
 * after #0 whose pc is not a return address, and the same after it). */
static int handler_frames(const struct crash_info *ci, const struct frames *fr)
{
#if defined(__x86_64__)
	if (!ci->regs_are_prstatus && ci->nregs > 16)
		for (int i = 1; i < fr->n; i++)
			if (fr->f[i].pc == ci->regs[16]) /* REG_RIP */
				return i;
#endif
	for (int i = 1; i < fr->n; i++)
		if (fr->f[i].activation)
			return i + 1 < fr->n && fr->f[i + 1].activation ? i + 1 : i;
	return 0;
}

static int write_thread(Dwfl_Thread *thread, void *arg)
{
	struct walk *w = arg;
	pid_t tid = dwfl_thread_tid(thread);
	bool crashing = w->ci->tid ? tid == w->ci->tid : w->threads == 0;
	if (!w->ci->tid && crashing)
		w->ci->tid = tid;
	w->threads++;
	struct frames *fr = calloc(1, sizeof(*fr));
	if (!fr)
		return DWARF_CB_ABORT;
	int r = dwfl_thread_getframes(thread, collect_frame, fr);
	fprintf(w->out, "\nthread %d%s:\n", (int)tid, crashing ? " (crashing)" : "");
	int first = 0;
	/* The handler ran on a signal frame: the interrupted code is the next
	 * activation (the frame whose pc is not a return address). */
	if (crashing && w->skip_handler)
		first = handler_frames(w->ci, fr);
	for (int i = first; i < fr->n; i++)
		write_frame(dwfl_thread_dwfl(thread), i - first, &fr->f[i], w->out,
			    crashing && i - first < CRASH_SIGNATURE_FRAMES ? w->sig : NULL);
	if (r < 0 && fr->n < CRASH_MAX_FRAMES && dwfl_errno())
		fprintf(w->out, "  (unwinding stopped: %s)\n", dwfl_errmsg(-1));
	free(fr);
	return DWARF_CB_OK;
}

static int write_module(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr start, void *arg)
{
	FILE *out = arg;
	Dwarf_Addr end;
	dwfl_module_info(mod, NULL, NULL, &end, NULL, NULL, NULL, NULL);
	const unsigned char *id;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &id, &vaddr);
	fprintf(out, "  0x%016" PRIx64 "-0x%016" PRIx64 " ", (uint64_t)start, (uint64_t)end);
	for (int i = 0; i < n; i++)
		fprintf(out, "%02x", id[i]);
	fprintf(out, "%s %s\n", n > 0 ? "" : "-", name);
	return DWARF_CB_OK;
}

/* Modules, threads and the signature, once dwfl knows the process. */
static int write_body(Dwfl *dwfl, struct crash_info *ci, bool skip_handler, FILE *out,
		      char **signature)
{
	char *sigbuf = NULL;
	size_t siglen = 0;
	FILE *sig = open_memstream(&sigbuf, &siglen);
	if (!sig)
		return -ENOMEM;
	const char *base = strrchr(ci->exe, '/');
	fprintf(sig, "%s %s:", base ? base + 1 : ci->exe, crash_signal_name(ci->signo));
	/* The threads first: unwinding is what loads the modules' details. */
	char *body = NULL;
	size_t blen = 0;
	FILE *bf = open_memstream(&body, &blen);
	if (!bf) {
		fclose(sig);
		free(sigbuf);
		return -ENOMEM;
	}
	struct walk w = {.out = bf, .ci = ci, .skip_handler = skip_handler, .sig = sig};
	int r = dwfl_getthreads(dwfl, write_thread, &w);
	fclose(bf);
	fclose(sig);
	if (ci->tid)
		fprintf(out, "crashing-thread: %d\n", (int)ci->tid);
	fprintf(out, "threads: %d\nsignature:%s\n", w.threads, strchr(sigbuf, ':') + 1);
	fputs("\nmodules:\n", out);
	dwfl_getmodules(dwfl, write_module, out, 0);
	fwrite(body, 1, blen, out);
	free(body);
	if (r < 0 && !w.threads) {
		free(sigbuf);
		return -EIO;
	}
	*signature = sigbuf;
	return 0;
}

int crash_unwind_pid(struct crash_info *ci, FILE *out, char **signature)
{
	_hv_cleanup_(dwfl_endp) Dwfl *dwfl = dwfl_begin(&proc_callbacks);
	if (!dwfl)
		return -ENOMEM;
	struct crash_info hdr = *ci;
	hdr.tid = 0; /* written with the body, once known */
	crash_report_header(&hdr, out);
	dwfl_report_begin(dwfl);
	int r = dwfl_linux_proc_report(dwfl, ci->pid);
	dwfl_report_end(dwfl, NULL, NULL);
	if (r != 0) {
		fprintf(out, "error: cannot read the process's modules: %s\n",
			r < 0 ? dwfl_errmsg(-1) : strerror(r));
		return r > 0 ? -r : -EIO;
	}
	/* true: we stopped every thread ourselves (PTRACE_SEIZE + INTERRUPT). */
	r = dwfl_linux_proc_attach(dwfl, ci->pid, true);
	if (r != 0) {
		fprintf(out, "error: cannot attach: %s\n", r < 0 ? dwfl_errmsg(-1) : strerror(r));
		return r > 0 ? -r : -EIO;
	}
	return write_body(dwfl, ci, true, out, signature);
}

int crash_unwind_core(struct crash_info *ci, int core, FILE *out, char **signature)
{
	elf_version(EV_CURRENT);
	_hv_cleanup_(elf_endp) Elf *elf = elf_begin(core, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	if (!elf || !gelf_getehdr(elf, &eh) || eh.e_type != ET_CORE) {
		crash_report_header(ci, out);
		fprintf(out, "error: not an ELF core file\n");
		return -EINVAL;
	}
	crash_core_notes(elf, ci);
	struct crash_info hdr = *ci;
	hdr.tid = 0;
	crash_report_header(&hdr, out);
	_hv_cleanup_(dwfl_endp) Dwfl *dwfl = dwfl_begin(&core_callbacks);
	if (!dwfl)
		return -ENOMEM;
	dwfl_report_begin(dwfl);
	int r = dwfl_core_file_report(dwfl, elf, ci->exe[0] == '/' ? ci->exe : NULL);
	dwfl_report_end(dwfl, NULL, NULL);
	if (r < 0) {
		fprintf(out, "error: cannot read the core's modules: %s\n", dwfl_errmsg(-1));
		return -EINVAL;
	}
	if (dwfl_core_file_attach(dwfl, elf) < 0) {
		fprintf(out, "error: cannot read the core's threads: %s\n", dwfl_errmsg(-1));
		return -EINVAL;
	}
	return write_body(dwfl, ci, false, out, signature);
}
