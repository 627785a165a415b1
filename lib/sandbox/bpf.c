/* lib/sandbox/bpf.c — the promise rules as a seccomp classic-BPF program,
 * emitted directly, and loaded with seccomp(2).
 *
 * Why not libseccomp's seccomp_load(): it spends ~1 ms per fresh process
 * building its rule database and generating BPF, which every per-image
 * ImageDecoder process paid. Our rules are simple — per call, one
 * unconditional action or an OR of ANDs of argument checks that allow — so
 * the program is short to emit (~20 us). libseccomp stays the reference:
 * hv_pledge_export() prints its compilation of the same rules, and
 * tests/sandbox/test-bpf.c runs both programs in a BPF interpreter over
 * every call number and edge-case arguments and requires the same answer.
 *
 * Layout, shaped by what the kernel actually runs: since Linux 5.11 a call
 * the filter allows whatever its arguments is answered from a per-call
 * bitmap the kernel fills at load time by emulating the program, so at run
 * time the program only ever sees the calls whose answer depends on an
 * argument (fcntl, ioctl, mmap, openat, …) and the refused ones. So:
 *
 *   check arch (else kill)
 *   → the hottest argument-checked calls, most frequent first (a few
 *     compares; their rank comes from filter.c)
 *   → a binary decision tree over the other calls the program really
 *     runs for (argument-checked or refused outright)
 *   → a binary decision tree over the unconditional allows (run only by
 *     the kernel's load-time emulation, or on kernels without the cache)
 *     [x86_64: at its right edge, x32 numbers kill]
 *   → deny.
 * Each argument-checked call's block tests a list of values (ioctl
 * requests, fcntl commands) as a tree too once it is longer than a few.
 * Conditional jumps reach at most 255 instructions ahead (8-bit jt/jf):
 * farther ones become a test plus a "ja" with a 32-bit offset, decided at
 * layout.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "internal.h"

#define X32_SYSCALL_BIT 0x40000000u
#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#define NATIVE_AUDIT_ARCH 0
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#define ARG_HI(i) (ARG_LO(i) + 4)
#else
#define ARG_HI(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#define ARG_LO(i) (ARG_HI(i) + 4)
#endif

/* An instruction before layout: plain, or a jump to a label ("ja", or a
 * conditional one taken when the test holds / fails). Conditional jumps
 * start short (target in jt/jf, at most 255 ahead) and become a test
 * that skips one instruction plus a "ja" when their target is farther. */
enum { I_RAW, I_JA, I_JTRUE, I_JFALSE };

struct item {
	struct sock_filter f;
	unsigned label;
	uint8_t kind;
	bool wide;
};

struct emitter {
	struct item *v;
	size_t n, cap;
	size_t *label_at; /* item index a label precedes */
	size_t nlabels, caplabels;
	int err; /* first allocation failure; emission goes on as a no-op */
};

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 256;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * size);
	if (!q)
		return false;
	*p = q;
	*cap = c;
	return true;
}

static void item(struct emitter *e, uint8_t kind, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf, unsigned label)
{
	if (e->err)
		return;
	if (!grow((void **)&e->v, &e->cap, e->n + 1, sizeof(*e->v))) {
		e->err = -ENOMEM;
		return;
	}
	e->v[e->n++] = (struct item){.f = {.code = code, .jt = jt, .jf = jf, .k = k}, .label = label, .kind = kind};
}

/* Raw conditional jumps only ever skip fixed-size items (ja, ret). */
static void emit(struct emitter *e, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	item(e, I_RAW, code, k, jt, jf, 0);
}

static unsigned new_label(struct emitter *e)
{
	if (e->err)
		return 0;
	if (!grow((void **)&e->label_at, &e->caplabels, e->nlabels + 1, sizeof(*e->label_at))) {
		e->err = -ENOMEM;
		return 0;
	}
	e->label_at[e->nlabels] = SIZE_MAX;
	return (unsigned)e->nlabels++;
}

static void place(struct emitter *e, unsigned label)
{
	if (!e->err)
		e->label_at[label] = e->n;
}

static void jump(struct emitter *e, unsigned label)
{
	item(e, I_JA, BPF_JMP | BPF_JA, 0, 0, 0, label);
}

/* if (A op k) goto label */
static void jump_if(struct emitter *e, uint16_t op, uint32_t k, unsigned label)
{
	item(e, I_JTRUE, BPF_JMP | op | BPF_K, k, 0, 0, label);
}

/* if (!(A op k)) goto label */
static void jump_unless(struct emitter *e, uint16_t op, uint32_t k, unsigned label)
{
	item(e, I_JFALSE, BPF_JMP | op | BPF_K, k, 0, 0, label);
}

/* Lay the items out (widening conditional jumps whose target is too far,
 * until nothing changes: widening only grows distances) and resolve
 * labels. All jumps go forward. */
static int layout(struct emitter *e, struct hv_bpf *out)
{
	_hv_free_ size_t *pos = malloc((e->n + 1) * sizeof(*pos));
	if (!pos)
		return -ENOMEM;
	for (bool changed = true; changed;) {
		changed = false;
		pos[0] = 0;
		for (size_t i = 0; i < e->n; i++)
			pos[i + 1] = pos[i] + (e->v[i].wide ? 2 : 1);
		for (size_t i = 0; i < e->n; i++) {
			struct item *it = &e->v[i];
			if (it->kind == I_RAW || it->kind == I_JA || it->wide)
				continue;
			size_t to = e->label_at[it->label];
			if (to == SIZE_MAX || to <= i)
				return -EINVAL; /* unplaced label or backward jump: emitter bug */
			if (pos[to] - pos[i] - 1 > 255) {
				it->wide = true;
				changed = true;
			}
		}
	}
	size_t total = pos[e->n];
	if (total > BPF_MAXINSNS)
		return -E2BIG;
	_hv_free_ struct sock_filter *f = calloc(total ? total : 1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < e->n; i++) {
		const struct item *it = &e->v[i];
		struct sock_filter *o = &f[pos[i]];
		*o = it->f;
		if (it->kind == I_RAW)
			continue;
		size_t to = e->label_at[it->label];
		if (to == SIZE_MAX || to <= i)
			return -EINVAL;
		size_t dist = pos[to] - pos[i] - 1;
		if (it->kind == I_JA) {
			o->k = (uint32_t)dist;
		} else if (!it->wide) {
			o->jt = it->kind == I_JTRUE ? (uint8_t)dist : 0;
			o->jf = it->kind == I_JTRUE ? 0 : (uint8_t)dist;
		} else {
			o->jt = it->kind == I_JTRUE ? 0 : 1; /* into the ja, or over it */
			o->jf = it->kind == I_JTRUE ? 1 : 0;
			o[1] = (struct sock_filter){.code = BPF_JMP | BPF_JA, .k = (uint32_t)(dist - 1)};
		}
	}
	out->insns = HV_TAKE_PTR(f);
	out->n = total;
	return 0;
}

static void load_word(struct emitter *e, uint32_t offset)
{
	emit(e, BPF_LD | BPF_W | BPF_ABS, offset, 0, 0);
}

static void ret(struct emitter *e, uint32_t action)
{
	emit(e, BPF_RET | BPF_K, action, 0, 0);
}

/* (word & mask) == value, on the word just loaded; else goto fail. */
static void masked_eq(struct emitter *e, uint32_t offset, uint32_t mask, uint32_t value, unsigned fail)
{
	if (mask == 0) {
		if (value != 0)
			jump(e, fail); /* can never hold */
		return;
	}
	load_word(e, offset);
	if (mask != UINT32_MAX)
		emit(e, BPF_ALU | BPF_AND | BPF_K, mask, 0, 0);
	jump_unless(e, BPF_JEQ, value, fail);
}

/* One argument check (64-bit semantics, as libseccomp defines them). */
static int check(struct emitter *e, const struct scmp_arg_cmp *c, unsigned fail)
{
	if (c->arg >= 6)
		return -EINVAL;
	uint64_t a = c->datum_a, b = c->datum_b;
	switch (c->op) {
	case SCMP_CMP_EQ:
		masked_eq(e, ARG_HI(c->arg), UINT32_MAX, (uint32_t)(a >> 32), fail);
		masked_eq(e, ARG_LO(c->arg), UINT32_MAX, (uint32_t)a, fail);
		return 0;
	case SCMP_CMP_MASKED_EQ: /* (arg & datum_a) == datum_b */
		masked_eq(e, ARG_HI(c->arg), (uint32_t)(a >> 32), (uint32_t)(b >> 32), fail);
		masked_eq(e, ARG_LO(c->arg), (uint32_t)a, (uint32_t)b, fail);
		return 0;
	case SCMP_CMP_LT: { /* unsigned 64-bit arg < datum_a */
		unsigned pass = new_label(e);
		load_word(e, ARG_HI(c->arg));
		jump_if(e, BPF_JGT, (uint32_t)(a >> 32), fail);
		jump_unless(e, BPF_JEQ, (uint32_t)(a >> 32), pass); /* high word smaller */
		load_word(e, ARG_LO(c->arg));
		jump_if(e, BPF_JGE, (uint32_t)a, fail);
		place(e, pass);
		return 0;
	}
	default:
		return -EINVAL; /* the compiler never uses the others (see filter.c) */
	}
}

/* Rules that test one argument against a list of values (ioctl requests,
 * fcntl commands, open flags, ...): the same argument, op and mask, the
 * same high word, only the low word differs. */
static uint64_t cmp_mask(const struct scmp_arg_cmp *c)
{
	return c->op == SCMP_CMP_MASKED_EQ ? c->datum_a : UINT64_MAX;
}

static uint64_t cmp_value(const struct scmp_arg_cmp *c)
{
	return c->op == SCMP_CMP_MASKED_EQ ? c->datum_b : c->datum_a;
}

static size_t value_run(const struct hv_rule *const *rules, size_t j, size_t n)
{
	const struct hv_rule *a = rules[j];
	const struct scmp_arg_cmp *ca = &a->cmp[0];
	if (a->n != 1 || (ca->op != SCMP_CMP_EQ && ca->op != SCMP_CMP_MASKED_EQ) || (uint32_t)cmp_mask(ca) == 0)
		return 1;
	size_t k = j + 1;
	for (; k < n; k++) {
		const struct hv_rule *b = rules[k];
		const struct scmp_arg_cmp *cb = &b->cmp[0];
		if (b->n != 1 || b->action != a->action || cb->arg != ca->arg || cb->op != ca->op ||
		    cmp_mask(cb) != cmp_mask(ca) || cmp_value(cb) >> 32 != cmp_value(ca) >> 32)
			break;
	}
	return k - j;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

/* Is A (sorted v[lo..hi)) one of the values? A tree of JGE once the list
 * is longer than a few, compares at the leaves. */
static void value_tree(struct emitter *e, const uint32_t *v, size_t lo, size_t hi, unsigned pass, unsigned fail)
{
	if (hi - lo <= 4) {
		for (size_t i = lo; i < hi; i++)
			jump_if(e, BPF_JEQ, v[i], pass);
		jump(e, fail);
		return;
	}
	size_t mid = lo + (hi - lo) / 2;
	unsigned right = new_label(e);
	jump_if(e, BPF_JGE, v[mid], right);
	value_tree(e, v, lo, mid, pass, fail);
	place(e, right);
	value_tree(e, v, mid, hi, pass, fail);
}

/* Load and mask once, then the values as a tree. */
static void value_switch(struct emitter *e, const struct hv_rule *const *rules, size_t len)
{
	const struct scmp_arg_cmp *c = &rules[0]->cmp[0];
	uint64_t mask = cmp_mask(c), value = cmp_value(c);
	unsigned next = new_label(e), pass = new_label(e);
	uint32_t *v = malloc(len * sizeof(*v));
	if (!v) {
		e->err = -ENOMEM;
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		v[n++] = (uint32_t)cmp_value(&rules[i]->cmp[0]);
	qsort(v, n, sizeof(*v), cmp_u32);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || v[u - 1] != v[i])
			v[u++] = v[i];
	masked_eq(e, ARG_HI(c->arg), (uint32_t)(mask >> 32), (uint32_t)(value >> 32), next);
	load_word(e, ARG_LO(c->arg));
	if ((uint32_t)mask != UINT32_MAX)
		emit(e, BPF_ALU | BPF_AND | BPF_K, (uint32_t)mask, 0, 0);
	value_tree(e, v, 0, u, pass, next);
	free(v);
	place(e, pass);
	ret(e, rules[0]->action);
	place(e, next);
}

/* One call number's rules, grouped. */
struct group {
	int nr;
	uint8_t hot;
	bool unconditional;
	uint32_t action;
	const struct hv_rule **rules; /* conditional rules, when !unconditional */
	size_t n;
	unsigned label;
};

static int cmp_rule(const void *x, const void *y)
{
	const struct hv_rule *a = *(const struct hv_rule *const *)x, *b = *(const struct hv_rule *const *)y;
	if (a->nr != b->nr)
		return a->nr < b->nr ? -1 : 1;
	return a < b ? -1 : a > b; /* keep the order they were added in */
}

static bool same_rule(const struct hv_rule *a, const struct hv_rule *b)
{
	if (a->nr != b->nr || a->action != b->action || a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (a->cmp[i].arg != b->cmp[i].arg || a->cmp[i].op != b->cmp[i].op ||
		    a->cmp[i].datum_a != b->cmp[i].datum_a || a->cmp[i].datum_b != b->cmp[i].datum_b)
			return false;
	return true;
}

/* What the tree's leaves do on a miss, and whether the rightmost leaf
 * (numbers above every group's) must kill x32 numbers first. */
struct miss {
	unsigned label;
	unsigned badarch;
	bool x32;
	size_t leaf; /* compares at a leaf: few where the program runs, more
			where only the kernel's load-time emulation does */
};

/* A binary decision tree over the sorted groups set[lo..hi): JGE splits,
 * at most three compares at a leaf. */
static void dispatch(struct emitter *e, struct group *const *set, size_t lo, size_t hi, bool rightmost,
		     const struct miss *m)
{
	if (hi - lo <= m->leaf) {
		/* Allows share one return after the leaf. */
		unsigned allow = new_label(e);
		bool any_allow = false;
		for (size_t i = lo; i < hi; i++) {
			const struct group *g = set[i];
			if (g->unconditional && g->action == SECCOMP_RET_ALLOW) {
				jump_if(e, BPF_JEQ, (uint32_t)g->nr, allow);
				any_allow = true;
			} else if (g->unconditional) {
				emit(e, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)g->nr, 0, 1);
				ret(e, g->action);
			} else {
				jump_if(e, BPF_JEQ, (uint32_t)g->nr, g->label);
			}
		}
		if (rightmost && m->x32) {
			/* x32 numbers arrive with the x86_64 arch: another ABI,
			 * kill. -1 (a call skipped by a tracer) goes on to the
			 * deny action, as in libseccomp. */
			emit(e, BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 2);
			emit(e, BPF_JMP | BPF_JEQ | BPF_K, UINT32_MAX, 1, 0);
			jump(e, m->badarch);
		}
		jump(e, m->label);
		place(e, allow);
		if (any_allow)
			ret(e, SECCOMP_RET_ALLOW);
		return;
	}
	size_t mid = lo + (hi - lo) / 2;
	unsigned right = new_label(e);
	jump_if(e, BPF_JGE, (uint32_t)set[mid]->nr, right);
	dispatch(e, set, lo, mid, false, m);
	place(e, right);
	dispatch(e, set, mid, hi, rightmost, m);
}

static int by_hot(const void *x, const void *y)
{
	const struct group *a = *(struct group *const *)x, *b = *(struct group *const *)y;
	return a->hot != b->hot ? (a->hot < b->hot ? -1 : 1) : (a->nr > b->nr) - (a->nr < b->nr);
}

/* Does the kernel run the program for this call, or answer from its
 * cache (an allow that no argument changes)? */
static bool runs(const struct group *g)
{
	return !g->unconditional || g->action != SECCOMP_RET_ALLOW;
}

/* The three parts of the dispatch (see the top of the file): hot calls,
 * the tree of calls the program runs for, the tree of cached allows. */
static int dispatch_all(struct emitter *e, struct group *g, size_t ng, const struct miss *m)
{
	_hv_free_ struct group **hot = calloc(ng + 1, sizeof(*hot));
	_hv_free_ struct group **run = calloc(ng + 1, sizeof(*run));
	_hv_free_ struct group **cached = calloc(ng + 1, sizeof(*cached));
	size_t nh = 0, nr = 0, nc = 0;
	if (!hot || !run || !cached)
		return -ENOMEM;
	for (size_t i = 0; i < ng; i++) {
		if (!runs(&g[i]))
			cached[nc++] = &g[i];
		else if (g[i].hot && !g[i].unconditional)
			hot[nh++] = &g[i];
		else
			run[nr++] = &g[i];
	}
	qsort(hot, nh, sizeof(*hot), by_hot);
	for (size_t i = 0; i < nh; i++)
		jump_if(e, BPF_JEQ, (uint32_t)hot[i]->nr, hot[i]->label);
	unsigned tail = new_label(e);
	struct miss to_tail = {.label = tail, .leaf = 3};
	if (nr)
		dispatch(e, run, 0, nr, true, &to_tail);
	place(e, tail);
	dispatch(e, cached, 0, nc, true, m);
	return 0;
}

/* Sort the rules by system call and group them: one group per call, its
 * rules adjacent in `sorted`. -EINVAL for rules no filter can express
 * (a negative number, two answers for one call). */
static int group_rules(const struct hv_rules *rules, const struct hv_rule **sorted,
		       struct group *g, size_t *ngroups)
{
	size_t ng = 0;
	for (size_t i = 0; i < rules->n; i++)
		sorted[i] = &rules->v[i];
	qsort(sorted, rules->n, sizeof(*sorted), cmp_rule);
	for (size_t i = 0; i < rules->n; i++) {
		const struct hv_rule *x = sorted[i];
		if (x->nr < 0)
			return -EINVAL;
		if (ng == 0 || g[ng - 1].nr != x->nr)
			g[ng++] = (struct group){.nr = x->nr, .rules = &sorted[i], .action = x->action};
		if (x->hot)
			g[ng - 1].hot = x->hot;
		struct group *cur = &g[ng - 1];
		if (x->n == 0) {
			/* An unconditional rule covers every conditional one with
			 * the same action; two different answers is a compiler bug. */
			if (cur->unconditional && cur->action != x->action)
				return -EINVAL;
			cur->unconditional = true;
			cur->action = x->action;
		}
		cur->n = (size_t)(&sorted[i] - cur->rules) + 1;
	}
	/* Conditional rules must all give the same answer (allow) and no
	 * unconditional one may say something else. */
	for (size_t i = 0; i < ng; i++)
		for (size_t j = 0; j < g[i].n; j++)
			if (g[i].rules[j]->action != g[i].action)
				return -EINVAL;
	*ngroups = ng;
	return 0;
}

static void emitter_release(struct emitter *e)
{
	free(e->v);
	free(e->label_at);
}

static int emit_blocks(struct emitter *e, const struct group *g, size_t ng, uint32_t deny_action)
{
	int r = 0;
	for (size_t i = 0; i < ng && !r; i++) {
		if (g[i].unconditional)
			continue;
		place(e, g[i].label);
		for (size_t j = 0; j < g[i].n && !r; j++) {
			const struct hv_rule *x = g[i].rules[j];
			if (j > 0 && same_rule(x, g[i].rules[j - 1]))
				continue;
			size_t len = value_run(g[i].rules, j, g[i].n);
			if (len > 1) {
				value_switch(e, &g[i].rules[j], len);
				j += len - 1;
				continue;
			}
			unsigned next = new_label(e);
			for (unsigned k = 0; k < x->n && !r; k++)
				r = check(e, &x->cmp[k], next);
			ret(e, x->action);
			place(e, next);
		}
		ret(e, deny_action);
	}
	return r;
}

int hv_bpf_compile_arch(const struct hv_rules *rules, uint32_t arch, uint32_t deny_action, struct hv_bpf *out)
{
	if (arch == 0)
		arch = NATIVE_AUDIT_ARCH;
	if (arch != AUDIT_ARCH_X86_64 && arch != AUDIT_ARCH_AARCH64)
		return -EOPNOTSUPP;
	_hv_cleanup_(emitter_release) struct emitter e = {0};
	_hv_free_ const struct hv_rule **sorted = calloc(rules->n + 1, sizeof(*sorted));
	_hv_free_ struct group *g = calloc(rules->n + 1, sizeof(*g));
	size_t ng = 0;
	int r = 0;

	if (!sorted || !g)
		return -ENOMEM;
	if ((r = group_rules(rules, sorted, g, &ng)) < 0)
		return r;

	unsigned deny = new_label(&e), badarch = new_label(&e);
	load_word(&e, offsetof(struct seccomp_data, arch));
	jump_unless(&e, BPF_JEQ, arch, badarch);
	load_word(&e, offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < ng; i++)
		if (!g[i].unconditional)
			g[i].label = new_label(&e);
	struct miss m = {.label = deny, .badarch = badarch, .x32 = arch == AUDIT_ARCH_X86_64, .leaf = 8};
	if ((r = dispatch_all(&e, g, ng, &m)) < 0)
		return r;
	place(&e, deny);
	ret(&e, deny_action);
	place(&e, badarch);
	ret(&e, SECCOMP_RET_KILL_PROCESS);
	if ((r = emit_blocks(&e, g, ng, deny_action)) < 0)
		return r;
	if (e.err)
		return e.err;
	return layout(&e, out);
}

int hv_bpf_compile(const struct hv_rules *rules, uint32_t deny_action, struct hv_bpf *out)
{
	return hv_bpf_compile_arch(rules, 0, deny_action, out);
}

uint32_t hv_bpf_run(const struct sock_filter *insns, size_t n, const struct seccomp_data *d, unsigned *steps)
{
	uint32_t A = 0;
	unsigned count = 0;
	for (size_t pc = 0; pc < n; pc++, count++) {
		const struct sock_filter *f = &insns[pc];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k > sizeof(*d) - 4 || f->k % 4)
				return UINT32_MAX;
			memcpy(&A, (const unsigned char *)d + f->k, 4);
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			A &= f->k;
			break;
		case BPF_JMP | BPF_JA:
			pc += f->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += A == f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += A > f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += A >= f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (A & f->k) ? f->jt : f->jf;
			break;
		case BPF_RET | BPF_K:
			if (steps)
				*steps = count + 1;
			return f->k;
		default:
			return UINT32_MAX;
		}
	}
	return UINT32_MAX;
}

void hv_bpf_free(struct hv_bpf *prog)
{
	free(prog->insns);
	*prog = (struct hv_bpf){0};
}

/* Architectures the emitter does not know: libseccomp does it all. */
static int load_libseccomp(uint64_t p, const struct hv_filter_opts *o)
{
	scmp_filter_ctx ctx;
	int r = hv_filter_build(p, o, &ctx);
	if (r < 0)
		return r;
	r = seccomp_load(ctx);
	if (r >= 0 && o->deny_action == SCMP_ACT_NOTIFY)
		r = seccomp_notify_fd(ctx);
	seccomp_release(ctx);
	return r;
}

int hv_filter_load(uint64_t p, const struct hv_filter_opts *o)
{
	struct hv_rules rules;
	struct hv_bpf prog = {0};
	int r;

	if ((r = hv_filter_rules(p, o, &rules)) < 0)
		return r;
	r = hv_bpf_compile(&rules, o->deny_action, &prog);
	hv_rules_free(&rules);
	if (r == -EOPNOTSUPP)
		return load_libseccomp(p, o);
	if (r < 0)
		return hv_log_errno(r, "pledge: failed to emit the filter");

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r = -errno;
		hv_bpf_free(&prog);
		return r;
	}
	unsigned flags = 0;
	bool notify = o->deny_action == SCMP_ACT_NOTIFY;
	if (o->tsync)
		flags |= SECCOMP_FILTER_FLAG_TSYNC | (notify ? SECCOMP_FILTER_FLAG_TSYNC_ESRCH : 0);
	if (o->log)
		flags |= SECCOMP_FILTER_FLAG_LOG;
	if (notify)
		flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	struct sock_fprog fprog = {.len = (unsigned short)prog.n, .filter = prog.insns};
	long k = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
	r = k < 0 ? -errno : 0;
	hv_bpf_free(&prog);
	if (r < 0)
		return r;
	if (notify)
		return (int)k;
	if (o->tsync && k > 0)
		return -ESRCH; /* thread k could not be synchronized (as libseccomp says) */
	return 0;
}
