/* tests/sandbox/test-bpf.c — the directly emitted seccomp program (what
 * hv_pledge() loads, lib/sandbox/bpf.c) against libseccomp's compilation of
 * the same rules (what hv_pledge_export() shows): both run in a classic-BPF
 * interpreter over every call number of the architecture, x32 and foreign
 * ABIs, and arguments built from each rule's own constants (exact values,
 * neighbours, high bits set, bits outside and inside masks), for every
 * promise alone, common sets, all together, and every deny action, for
 * x86_64 and for aarch64 whatever the machine (both compilers take the
 * other architecture's numbers). Any call where the two answer differently
 * is a failure. Nothing is loaded, so it
 * also runs under valgrind. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "sandbox-test.h"

struct prog {
	struct sock_filter *v;
	size_t n;
};

/* Classic BPF as the kernel runs it for seccomp (the subset both
 * compilers use, plus scratch memory and X for safety). Returns the action,
 * or 0xdeadbeef for a program the kernel would reject at run time. */
static uint32_t run(const struct prog *p, const struct seccomp_data *d)
{
	uint32_t A = 0, X = 0, mem[BPF_MEMWORDS] = {0};
	const unsigned char *data = (const unsigned char *)d;
	for (size_t pc = 0; pc < p->n; pc++) {
		const struct sock_filter *f = &p->v[pc];
		uint32_t k = f->k;
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (k > sizeof(*d) - 4 || k % 4)
				return 0xdeadbeef;
			memcpy(&A, data + k, 4);
			break;
		case BPF_LD | BPF_IMM:
			A = k;
			break;
		case BPF_LDX | BPF_IMM:
			X = k;
			break;
		case BPF_LD | BPF_MEM:
			A = mem[k % BPF_MEMWORDS];
			break;
		case BPF_LDX | BPF_MEM:
			X = mem[k % BPF_MEMWORDS];
			break;
		case BPF_ST:
			mem[k % BPF_MEMWORDS] = A;
			break;
		case BPF_STX:
			mem[k % BPF_MEMWORDS] = X;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			A &= k;
			break;
		case BPF_ALU | BPF_OR | BPF_K:
			A |= k;
			break;
		case BPF_MISC | BPF_TAX:
			X = A;
			break;
		case BPF_MISC | BPF_TXA:
			A = X;
			break;
		case BPF_JMP | BPF_JA:
			pc += k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += A == k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += A > k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += A >= k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (A & k) ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JEQ | BPF_X:
			pc += A == X ? f->jt : f->jf;
			break;
		case BPF_RET | BPF_K:
			return k;
		case BPF_RET | BPF_A:
			return A;
		default:
			fprintf(stderr, "interpreter: unknown opcode 0x%x at %zu\n", f->code, pc);
			return 0xdeadbeef;
		}
	}
	return 0xdeadbeef; /* fell off the end */
}

static int libseccomp_prog(uint64_t mask, const struct hv_filter_opts *o, struct prog *out)
{
	scmp_filter_ctx ctx;
	int r = hv_filter_build(mask, o, &ctx);
	if (r < 0)
		return r;
	int fd = memfd_create("bpf", MFD_CLOEXEC);
	if (fd < 0 || (r = seccomp_export_bpf(ctx, fd)) < 0) {
		seccomp_release(ctx);
		if (fd >= 0)
			close(fd);
		return r < 0 ? r : -errno;
	}
	seccomp_release(ctx);
	off_t len = lseek(fd, 0, SEEK_END);
	out->v = malloc((size_t)len);
	out->n = (size_t)len / sizeof(struct sock_filter);
	r = out->v && pread(fd, out->v, (size_t)len, 0) == len ? 0 : -EIO;
	close(fd);
	return r;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define CANDS 96
struct cands {
	uint64_t v[6][CANDS];
	unsigned n[6];
};

static void add_cand(struct cands *c, unsigned arg, uint64_t v)
{
	if (arg >= 6 || c->n[arg] >= CANDS)
		return;
	for (unsigned i = 0; i < c->n[arg]; i++)
		if (c->v[arg][i] == v)
			return;
	c->v[arg][c->n[arg]++] = v;
}

/* Values around every constant the rules for nr test. */
static void collect(const struct hv_rules *rules, int nr, struct cands *c)
{
	memset(c, 0, sizeof(*c));
	for (unsigned a = 0; a < 6; a++) {
		add_cand(c, a, 0);
		add_cand(c, a, UINT64_MAX);
	}
	for (size_t i = 0; i < rules->n; i++) {
		const struct hv_rule *x = &rules->v[i];
		if (x->nr != nr)
			continue;
		for (unsigned k = 0; k < x->n; k++) {
			const struct scmp_arg_cmp *cmp = &x->cmp[k];
			uint64_t v = cmp->op == SCMP_CMP_MASKED_EQ ? cmp->datum_b : cmp->datum_a;
			uint64_t m = cmp->op == SCMP_CMP_MASKED_EQ ? cmp->datum_a : UINT64_MAX;
			const uint64_t around[] = {
				v, v + 1, v - 1, v | (UINT64_C(1) << 32), v | UINT64_C(0xffffffff00000000),
				v | (~m & 0x5a5a5a5au), v ^ (m & (0 - m)), m, (uint32_t)~v,
			};
			for (size_t j = 0; j < sizeof(around) / sizeof(around[0]); j++)
				add_cand(c, cmp->arg, around[j]);
		}
	}
}

static int compare(const char *what, const struct prog *mine, const struct prog *ref, struct seccomp_data *d)
{
	uint32_t a = run(mine, d), b = run(ref, d);
	if (a == b && a != 0xdeadbeef)
		return 0;
	CHECK_MSG(false, "%s: nr %d arch 0x%x args %#llx %#llx %#llx %#llx: emitted 0x%x, libseccomp 0x%x", what, d->nr,
	      d->arch, (unsigned long long)d->args[0], (unsigned long long)d->args[1],
	      (unsigned long long)d->args[2], (unsigned long long)d->args[3], a, b);
	return 1;
}

static size_t compared;

/* arch: AUDIT_ARCH_X86_64 or AUDIT_ARCH_AARCH64 (also libseccomp's
 * SCMP_ARCH_* values): both compilers build for it, whatever this machine. */
static void check_set(const char *promises, uint32_t deny, const void *exec_pin, uint32_t arch)
{
	uint64_t mask;
	if (hv_promises_parse(promises, &mask) < 0) {
		CHECK_MSG(false, "parse %s", promises);
		return;
	}
	struct hv_filter_opts o = {.deny_action = deny, .tsync = true, .exec_pin = exec_pin, .self_pid = 4242,
				   .arch = arch};
	struct hv_rules rules;
	struct hv_bpf bpf = {0};
	struct prog ref = {0};
	if (hv_filter_rules(mask, &o, &rules) < 0) {
		CHECK_MSG(false, "\"%s\": rules", promises);
		return;
	}
	int r = hv_bpf_compile_arch(&rules, arch, deny, &bpf);
	CHECK_MSG(r == 0, "\"%s\": emit: %s", promises, strerror(-r));
	r = r == 0 ? libseccomp_prog(mask, &o, &ref) : r;
	CHECK_MSG(r == 0, "\"%s\": libseccomp export: %s", promises, strerror(-r));
	if (r < 0) {
		hv_bpf_free(&bpf);
		hv_rules_free(&rules);
		return;
	}
	struct prog mine = {bpf.insns, bpf.n};
	CHECK_MSG(mine.n <= BPF_MAXINSNS, "\"%s\": %zu instructions", promises, mine.n);

	char what[160];
	snprintf(what, sizeof(what), "%s \"%s\" deny 0x%x", arch == AUDIT_ARCH_X86_64 ? "x86_64" : "aarch64",
		 promises, deny);
	int bad = 0;
	struct seccomp_data d = {.arch = arch};
	for (int nr = 0; nr < 1024 && bad < 5; nr++) {
		struct cands c;
		collect(&rules, nr, &c);
		d.nr = nr;
		/* Every candidate of every argument with the others zero... */
		memset(d.args, 0, sizeof(d.args));
		for (unsigned a = 0; a < 6; a++)
			for (unsigned i = 0; i < c.n[a]; i++) {
				d.args[a] = c.v[a][i];
				bad += compare(what, &mine, &ref, &d);
				compared++;
			}
		/* ...each rule satisfied exactly, then one argument varied... */
		for (size_t i = 0; i < rules.n; i++) {
			const struct hv_rule *x = &rules.v[i];
			if (x->nr != nr)
				continue;
			uint64_t base[6] = {0};
			for (unsigned k = 0; k < x->n; k++) {
				const struct scmp_arg_cmp *cmp = &x->cmp[k];
				base[cmp->arg] = cmp->op == SCMP_CMP_MASKED_EQ ? cmp->datum_b
						 : cmp->op == SCMP_CMP_LT  ? cmp->datum_a - 1
									   : cmp->datum_a;
			}
			for (unsigned a = 0; a < 6; a++)
				for (unsigned j = 0; j <= c.n[a]; j++) {
					memcpy(d.args, base, sizeof(base));
					if (j < c.n[a])
						d.args[a] = c.v[a][j];
					bad += compare(what, &mine, &ref, &d);
					compared++;
				}
		}
		/* ...and random mixes. */
		for (int t = 0; t < 64; t++) {
			for (unsigned a = 0; a < 6; a++)
				d.args[a] = c.v[a][next_random() % c.n[a]];
			bad += compare(what, &mine, &ref, &d);
			compared++;
		}
	}
	/* Other ABIs: x32 numbers, -1 (a call a tracer skipped), i386. */
	memset(d.args, 0, sizeof(d.args));
	const uint32_t odd_nrs[] = {0x40000000u, 0x40000001u, 0x4000003bu, 0x7fffffffu, 0xffffffffu, 0x3fffffffu};
	for (size_t i = 0; i < sizeof(odd_nrs) / sizeof(odd_nrs[0]); i++) {
		d.nr = (int)odd_nrs[i];
		bad += compare(what, &mine, &ref, &d);
	}
	const uint32_t others[] = {AUDIT_ARCH_I386, AUDIT_ARCH_ARM, arch == AUDIT_ARCH_X86_64 ? AUDIT_ARCH_AARCH64
											   : AUDIT_ARCH_X86_64};
	for (size_t a = 0; a < sizeof(others) / sizeof(others[0]); a++) {
		d.arch = others[a];
		for (int nr = 0; nr < 400; nr += 7) {
			d.nr = nr;
			bad += compare(what, &mine, &ref, &d);
		}
	}
	free(ref.v);
	hv_bpf_free(&bpf);
	hv_rules_free(&rules);
}

int main(void)
{
	/* As in test-compile: under valgrind libseccomp's kernel probes fail.
	 * Level 6 (not 5): libseccomp only compiles NOTIFY filters from there. */
	if (seccomp_api_get() < 6 && seccomp_api_set(6) < 0) {
		fprintf(stderr, "libseccomp refuses API level 6\n");
		return 1;
	}
	static const char *const sets[] = {
		"", "stdio", "rpath", "wpath", "cpath", "dpath", "tmppath", "inet", "unix", "dns", "fattr",
		"chown", "flock", "getpw", "sendfd", "recvfd", "proc", "exec", "id", "tty", "thread",
		"prot_exec", "sigaction", "settime", "bpf", "accept", "uevent", "unveil", "no_error", "stdio bpf",
		"stdio rpath", "stdio recvfd sendfd", "stdio rpath wpath cpath unix accept",
		"stdio rpath inet dns", "stdio rpath dns unix accept", "stdio rpath proc exec unix accept",
		"stdio thread", "stdio proc", "stdio tty", "stdio fattr flock", "stdio sigaction",
		"stdio prot_exec", "stdio tmppath", "stdio getpw", "stdio id proc", "stdio uevent",
		("stdio rpath wpath cpath dpath tmppath inet unix dns fattr chown flock getpw sendfd recvfd proc "
		 "exec id tty thread prot_exec sigaction settime bpf accept uevent unveil no_error"),
	};
	static const uint32_t denies[] = {SCMP_ACT_TRAP, SCMP_ACT_KILL_PROCESS, SCMP_ACT_ERRNO(EPERM),
					  SCMP_ACT_NOTIFY};
	static const char exec_path[] = "/usr/bin/true";
	static const uint32_t arches[] = {AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64};
	for (size_t a = 0; a < sizeof(arches) / sizeof(arches[0]); a++) {
		for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
			for (size_t j = 0; j < sizeof(denies) / sizeof(denies[0]); j++)
				check_set(sets[i], denies[j], j == 1 ? exec_path : NULL, arches[a]);
		/* The exec pin with a pointer whose high word is not zero. */
		check_set("stdio rpath", SCMP_ACT_KILL_PROCESS, (const void *)(uintptr_t)UINT64_C(0x00007ffd00001234),
			  arches[a]);
	}

	if (check_failures) {
		fprintf(stderr, "%d difference(s) (%zu calls compared)\n", check_failures, compared);
		return 1;
	}
	printf("ok: %zu calls compared\n", compared);
	return 0;
}
