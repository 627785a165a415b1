/* notes.c — what a core's notes say about the crash: the crashing thread
 * and its registers (the first NT_PRSTATUS: the kernel writes the thread
 * that took the signal first) and the signal with its code and address
 * (NT_SIGINFO). Core files come from outside: every length is checked
 * (fuzz/CrashDaemon drives crash_parse_notes). */
#include <elf.h>
#include <errno.h>
#include <gelf.h>
#include <string.h>

#include <haven/util.h>

#include "unwind.h"

#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif

/* x86_64's struct elf_prstatus: pr_pid at 32, pr_reg at 112 (27 words). */
#define PRSTATUS_PID 32
#define PRSTATUS_REG 112
#define PRSTATUS_NREG 27

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void from_prstatus(const uint8_t *d, size_t len, struct crash_info *ci)
{
	if (len < PRSTATUS_PID + 4)
		return;
	ci->tid = (pid_t)get_u32(d + PRSTATUS_PID);
	size_t n = len > PRSTATUS_REG ? (len - PRSTATUS_REG) / 8 : 0;
	n = HV_MIN(n, (size_t)PRSTATUS_NREG);
	memcpy(ci->regs, d + PRSTATUS_REG, n * 8);
	ci->nregs = (unsigned)n;
	ci->regs_are_prstatus = true;
}

static void from_siginfo(const uint8_t *d, size_t len, struct crash_info *ci)
{
	if (len < 24)
		return;
	ci->signo = (int)get_u32(d);
	ci->code = (int)get_u32(d + 8);
	memcpy(&ci->address, d + 16, 8);
}

int crash_parse_notes(const uint8_t *data, size_t len, struct crash_info *ci)
{
	bool found = false, have_prstatus = false;
	size_t off = 0;
	while (len - off >= 12) {
		uint32_t namesz = get_u32(data + off), descsz = get_u32(data + off + 4);
		uint32_t type = get_u32(data + off + 8);
		size_t name_end = off + 12 + HV_ALIGN_UP((size_t)namesz, 4);
		if (namesz > len || name_end > len || descsz > len - name_end)
			return found ? 0 : -EINVAL;
		const uint8_t *desc = data + name_end;
		bool core = namesz >= 4 && !memcmp(data + off + 12, "CORE", 4);
		if (core && type == NT_PRSTATUS && !have_prstatus) {
			from_prstatus(desc, descsz, ci);
			have_prstatus = found = true;
		} else if (core && type == NT_SIGINFO) {
			from_siginfo(desc, descsz, ci);
			found = true;
		}
		size_t next = name_end + HV_ALIGN_UP((size_t)descsz, 4);
		if (next <= off || next > len)
			break;
		off = next;
	}
	return found ? 0 : -EINVAL;
}

int crash_core_notes(Elf *elf, struct crash_info *ci)
{
	size_t n;
	if (elf_getphdrnum(elf, &n) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz, ELF_T_BYTE);
		if (d && d->d_buf)
			return crash_parse_notes(d->d_buf, d->d_size, ci);
	}
	return -EINVAL;
}
