/* check.c — semantic checks between parsing and generation.
 *
 * Resolves every type name through builtins.c and the user's struct/enum
 * definitions (the root file's and its imports'), assigns C names, and
 * refuses what would make bad or non-compiling C: unknown or misused types,
 * duplicate names, reserved words, recursive structs, enumerator values out
 * of range, and two .ipc names that map to the same generated C name.
 * Every problem is reported; checking continues after each.
 */
#include <string.h>

#include "ipcc.h"

/* Largest struct (estimated sizeof) a .ipc may define. */
#define IPCC_MAX_STRUCT_SIZE 65536u

/* --- a set of generated names, to catch collisions ------------------------ */
typedef struct name_entry {
	const char *name, *what;
	ipcc_loc loc;
} name_entry;

typedef struct name_set {
	name_entry *slots;
	size_t cap, used;
} name_set;

static uint32_t hash_str(const char *s)
{
	return ipcc_fnv1a(s);
}

static const name_entry *set_add(ipcc_unit *u, name_set *s, const char *name, const char *what, ipcc_loc loc)
{
	if ((s->used + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		name_entry *n = ipcc_alloc(&u->arena, ncap * sizeof(*n));
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slots[i].name)
				continue;
			size_t j = hash_str(s->slots[i].name) & (ncap - 1);
			while (n[j].name)
				j = (j + 1) & (ncap - 1);
			n[j] = s->slots[i];
		}
		s->slots = n;
		s->cap = ncap;
	}
	size_t j = hash_str(name) & (s->cap - 1);
	while (s->slots[j].name) {
		if (!strcmp(s->slots[j].name, name))
			return &s->slots[j];
		j = (j + 1) & (s->cap - 1);
	}
	s->slots[j] = (name_entry){name, what, loc};
	s->used++;
	return NULL;
}

static const name_entry *set_find(const name_set *s, const char *name)
{
	if (!s->cap)
		return NULL;
	size_t j = hash_str(name) & (s->cap - 1);
	while (s->slots[j].name) {
		if (!strcmp(s->slots[j].name, name))
			return &s->slots[j];
		j = (j + 1) & (s->cap - 1);
	}
	return NULL;
}

/* Add a generated C name; report a collision with what already made it. */
static bool claim(ipcc_unit *u, name_set *s, const char *name, const char *what, ipcc_loc loc)
{
	const name_entry *old = set_add(u, s, name, what, loc);
	if (!old)
		return true;
	{
		if (old->loc.file)
			ipcc_error(u, loc, "%s would generate the C name '%s', already generated for %s at %s:%u:%u",
				   what, name, old->what, old->loc.file, old->loc.line, old->loc.col);
		else
			ipcc_error(u, loc, "%s would generate the C name '%s', already generated for %s", what, name,
				   old->what);
	}
	return false;
}

static bool valid_c_prefix(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* --- type resolution -------------------------------------------------------- */
/* The file's own types (and its imports') shadow those of --types files,
 * which are a library: defining `Point` must not clash with one there. */
static ipcc_def *find_def_exact(ipcc_unit *u, const char *name)
{
	ipcc_def *d = ipcc_builtin_def(u, name);
	if (d)
		return d;
	for (int types = 0; types < 2; types++)
		for (size_t i = 0; i < u->nfiles; i++)
			for (size_t k = 0; k < u->files[i]->ndefs && u->files[i]->is_types == types; k++)
				if (!strcmp(u->files[i]->defs[k]->name, name))
					return u->files[i]->defs[k];
	return NULL;
}

/* A name as written, then without C++'s global-scope "::", then without
 * "AK::" (AK's types are used unqualified in C++, so either spelling finds
 * one definition). */
static ipcc_def *find_def(ipcc_unit *u, const char *name)
{
	if (!strncmp(name, "::", 2))
		name += 2;
	ipcc_def *d = find_def_exact(u, name);
	if (!d && !strncmp(name, "AK::", 4))
		d = find_def_exact(u, name + 4);
	return d;
}

/* "HTTP::HeaderMap" → "http_header_map": each "::" becomes one "_". */
static char *snake_qualified(ipcc_arena *a, const char *name)
{
	char *flat = ipcc_alloc(a, strlen(name) + 1);
	size_t k = 0;
	for (const char *c = name; *c; c++) {
		if (c[0] == ':' && c[1] == ':')
			c++;
		flat[k++] = *c == ':' ? '_' : *c;
	}
	flat[k] = 0;
	return ipcc_snake(a, flat);
}

static bool valid_map_key(const ipcc_type *t)
{
	return t->kind == K_BOOL || ipcc_is_int_kind(t->kind) || t->kind == K_STRING || t->kind == K_BYTESTRING ||
	       t->kind == K_ENUM || t->kind == K_FLAGS;
}

static bool resolve_in(ipcc_unit *u, ipcc_type *t, bool variant_alternative);

static bool resolve(ipcc_unit *u, ipcc_type *t)
{
	return resolve_in(u, t, false);
}

/* Variant<A, B, ...>: one or more distinct alternatives (by C spelling,
 * since each becomes a union member named after it). */
static bool resolve_variant(ipcc_unit *u, ipcc_type *t)
{
	if (!t->nargs) {
		ipcc_error(u, t->loc, "'%s' takes at least 1 type argument, 0 given", t->name);
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < t->nargs; i++)
		ok = resolve_in(u, t->args[i], true) && ok;
	if (!ok)
		return false;
	for (size_t i = 0; i < t->nargs; i++)
		for (size_t k = 0; k < i; k++)
			if (!strcmp(ipcc_mangle(&u->arena, t->args[i]), ipcc_mangle(&u->arena, t->args[k]))) {
				ipcc_error(u, t->args[i]->loc, "'%s' appears twice in '%s' (alternatives must differ)",
					   ipcc_type_text(&u->arena, t->args[i]), ipcc_type_text(&u->arena, t));
				return false;
			}
	t->kind = K_VARIANT;
	t->alts = t->args;
	t->nalts = t->nargs;
	return true;
}

/* C++'s smart pointers carry their pointee: NonnullRefPtr<T> and
 * NonnullOwnPtr<T> are T, RefPtr<T> and OwnPtr<T> (which may be null) are
 * Optional<T>. */
static bool resolve_pointer(ipcc_unit *u, ipcc_type *t, bool variant_alternative)
{
	if (t->nargs != 1) {
		ipcc_error(u, t->loc, "'%s' takes 1 type argument, %zu given", t->name, t->nargs);
		return false;
	}
	if (!resolve_in(u, t->args[0], variant_alternative && !strncmp(t->name, "Nonnull", 7)))
		return false;
	if (strncmp(t->name, "Nonnull", 7)) {
		t->kind = K_OPTIONAL;
		t->elem = t->args[0];
		return true;
	}
	ipcc_type *p = t->args[0];
	t->kind = p->kind;
	t->def = p->def;
	t->elem = p->elem;
	t->value = p->value;
	t->alts = p->alts;
	t->nalts = p->nalts;
	return true;
}

static bool resolve_in(ipcc_unit *u, ipcc_type *t, bool variant_alternative)
{
	if (t->kind != K_UNRESOLVED)
		return true;
	unsigned want = 0;
	enum ipcc_kind ck = ipcc_builtin_container(t->name, &want);
	if (ck == K_VARIANT)
		return resolve_variant(u, t);
	if (ck == K_POINTER)
		return resolve_pointer(u, t, variant_alternative);
	if (ck != K_UNRESOLVED) {
		/* HashMap<K, V, Traits>: C++'s hashing traits mean nothing on the wire. */
		if (ck == K_MAP && t->nargs == 3)
			t->nargs = 2;
		if (t->nargs != want) {
			ipcc_error(u, t->loc, "'%s' takes %u type argument%s, %zu given", t->name, want,
				   want == 1 ? "" : "s", t->nargs);
			return false;
		}
		bool ok = resolve(u, t->args[0]);
		if (want == 2)
			ok = resolve(u, t->args[1]) && ok;
		if (!ok)
			return false;
		t->kind = ck;
		t->elem = t->args[0];
		t->value = want == 2 ? t->args[1] : NULL;
		if (ck == K_MAP && !valid_map_key(t->elem)) {
			ipcc_error(u, t->args[0]->loc,
				   "a HashMap key must be bool, an integer, String, ByteString, an enum or flags, not '%s'",
				   ipcc_type_text(&u->arena, t->args[0]));
			return false;
		}
		return true;
	}
	if (t->nargs) {
		ipcc_error(u, t->loc, "'%s' takes no type arguments", t->name);
		return false;
	}
	enum ipcc_kind k = ipcc_builtin_scalar(t->name);
	if (k == K_EMPTY && !variant_alternative) {
		ipcc_error(u, t->loc, "'%s' has no value: it can only be an alternative of a Variant", t->name);
		return false;
	}
	if (k != K_UNRESOLVED) {
		t->kind = k;
		return true;
	}
	ipcc_def *d = find_def(u, t->name);
	if (d && d->kind == DEF_ALIAS) {
		if (d->resolving == 2)
			return false; /* its error is reported already */
		if (d->resolving == 1) {
			ipcc_error(u, t->loc, "type alias '%s' refers to itself", d->name);
			return false;
		}
		d->resolving = 1;
		bool ok = resolve_in(u, d->target, variant_alternative);
		d->resolving = ok ? 0 : 2;
		if (!ok)
			return false;
		/* The alias's name stays (messages and dumps read as written). */
		t->kind = d->target->kind;
		t->def = d->target->def;
		t->elem = d->target->elem;
		t->value = d->target->value;
		t->alts = d->target->alts;
		t->nalts = d->target->nalts;
		return true;
	}
	if (d) {
		t->def = d;
		t->kind = d->kind == DEF_STRUCT ? K_STRUCT : d->kind == DEF_ENUM ? K_ENUM : K_FLAGS;
		return true;
	}
	ipcc_error(u, t->loc, "unknown type '%s' (see the type table in docs/ipc-language.md)", t->name);
	return false;
}

static bool max_length_applies(enum ipcc_kind k)
{
	return k == K_STRING || k == K_BYTESTRING || k == K_BYTES || k == K_VECTOR || k == K_MAP;
}

/* Resolve a field list and check its names; `what` is "field" / "parameter" / "result". */
static void check_fields(ipcc_unit *u, ipcc_field *fs, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		ipcc_field *f = &fs[i];
		if (ipcc_is_c_reserved(f->name))
			ipcc_error(u, f->loc, "'%s' is reserved in C (a keyword, a predefined macro, or the _ / hv_ prefix of generated names) and cannot name a %s",
				   f->name, what);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(fs[k].name, f->name)) {
				ipcc_error(u, f->loc, "duplicate %s name '%s' (first at line %u)", what, f->name, fs[k].loc.line);
				break;
			}
		if (!resolve(u, f->type))
			continue;
		if (f->attrs & ATTR_UTF8) {
			if (f->type->kind == K_BYTESTRING)
				f->type->kind = K_STRING; /* validated like String */
			else if (f->type->kind != K_STRING)
				ipcc_error(u, f->loc, "[UTF8] applies to String or ByteString, not '%s'",
					   ipcc_type_text(&u->arena, f->type));
		}
		if (f->attrs & ATTR_MAX_LENGTH) {
			if (!max_length_applies(f->type->kind))
				ipcc_error(u, f->loc, "[MaxLength] applies to strings, bytes, Vector and HashMap, not '%s'",
					   ipcc_type_text(&u->arena, f->type));
			else if (f->max_length > UINT32_MAX)
				ipcc_error(u, f->loc, "[MaxLength] must be at most 4294967295");
		}
	}
}

/* Recursive types: a struct may reach itself through a Vector, a HashMap
 * or an Optional (held by pointer in C: ipcc_opt_boxed), never by value
 * (a field, a Variant alternative: the C would be infinite).
 * First, which structs reach themselves at all (any edge)? */
static bool reaches(const ipcc_type *t, const ipcc_def *target, unsigned stamp);

static bool reaches_def(ipcc_def *d, const ipcc_def *target, unsigned stamp)
{
	if (d == target)
		return true;
	if ((unsigned)d->visiting == stamp)
		return false;
	d->visiting = (int)stamp;
	for (size_t i = 0; i < d->nfields; i++)
		if (reaches(d->fields[i].type, target, stamp))
			return true;
	return false;
}

static bool reaches(const ipcc_type *t, const ipcc_def *target, unsigned stamp)
{
	switch (t->kind) {
	case K_VECTOR: case K_OPTIONAL: return reaches(t->elem, target, stamp);
	case K_MAP: return reaches(t->elem, target, stamp) || reaches(t->value, target, stamp);
	case K_VARIANT:
		for (size_t i = 0; i < t->nalts; i++)
			if (reaches(t->alts[i], target, stamp))
				return true;
		return false;
	case K_STRUCT: return reaches_def(t->def, target, stamp);
	default: return false;
	}
}

static void find_recursive(ipcc_unit *u)
{
	unsigned stamp = 16; /* above walk_struct's 0..2 */
	for (size_t i = 0; i < u->nfiles; i++)
		for (size_t k = 0; k < u->files[i]->ndefs; k++) {
			ipcc_def *d = u->files[i]->defs[k];
			if (d->kind != DEF_STRUCT)
				continue;
			d->visiting = (int)++stamp;
			for (size_t f = 0; f < d->nfields && !d->recursive; f++)
				d->recursive = reaches(d->fields[f].type, d, stamp);
		}
	for (size_t i = 0; i < u->nfiles; i++)
		for (size_t k = 0; k < u->files[i]->ndefs; k++)
			u->files[i]->defs[k]->visiting = 0;
}

/* Whether a struct holds fds or buffers, settled as a fixed point (a walk
 * that meets a recursive struct in progress cannot know yet). */
static void settle_resources(ipcc_unit *u)
{
	for (size_t i = 0; i < u->nfiles; i++)
		for (size_t k = 0; k < u->files[i]->ndefs; k++)
			u->files[i]->defs[k]->has_resources = 1;
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < u->nfiles; i++)
			for (size_t k = 0; k < u->files[i]->ndefs; k++) {
				ipcc_def *d = u->files[i]->defs[k];
				for (size_t f = 0; f < d->nfields && d->has_resources == 1; f++)
					if (ipcc_has_resources(d->fields[f].type)) {
						d->has_resources = 2;
						changed = true;
					}
			}
	}
}

/* Then no struct may contain itself by value. One depth-first walk over
 * the by-value graph: 0 unvisited, 1 on the current path, 2 done, so
 * shared sub-structs are visited once (no blow-up on diamond shapes). */
static void walk_struct(ipcc_unit *u, ipcc_def *d);

static void walk_type(ipcc_unit *u, ipcc_def *d, const ipcc_field *f, const ipcc_type *t)
{
	switch (t->kind) {
	case K_OPTIONAL:
		if (!ipcc_opt_boxed(t))
			walk_type(u, d, f, t->elem);
		break;
	case K_VARIANT:
		for (size_t i = 0; i < t->nalts; i++)
			walk_type(u, d, f, t->alts[i]);
		break;
	case K_STRUCT:
		if (t->def->visiting == 1) {
			if (t->def == d)
				ipcc_error(u, f->loc, "struct '%s' contains itself through field '%s'", d->name, f->name);
			else
				ipcc_error(u, f->loc, "struct '%s' contains itself through field '%s' of struct '%s'",
					   t->def->name, f->name, d->name);
		} else if (t->def->visiting == 0) {
			walk_struct(u, t->def);
		}
		break;
	default: break;
	}
}

static void walk_struct(ipcc_unit *u, ipcc_def *d)
{
	d->visiting = 1;
	for (size_t i = 0; i < d->nfields; i++)
		walk_type(u, d, &d->fields[i], d->fields[i].type);
	d->visiting = 2;
}

/* An enum's or flag set's underlying type and values. Flags are unsigned
 * (u8..u64) and every value is given: a flag's bits are its meaning. */
static void check_enum(ipcc_unit *u, ipcc_def *d)
{
	bool flags = d->kind == DEF_FLAGS;
	const char *what = flags ? "flag set" : "enum";
	if (!d->underlying) {
		d->underlying = ipcc_alloc(&u->arena, sizeof(*d->underlying));
		d->underlying->name = "u32";
		d->underlying->kind = K_U32;
		d->underlying->loc = d->loc;
	} else if (!resolve(u, d->underlying)) {
		return;
	} else if (!flags && (!ipcc_is_int_kind(d->underlying->kind) || d->underlying->kind == K_I64 ||
			      d->underlying->kind == K_U64)) {
		ipcc_error(u, d->underlying->loc, "an enum's underlying type must be i8, i16, i32, u8, u16 or u32, not '%s'",
			   ipcc_type_text(&u->arena, d->underlying));
		return;
	} else if (flags && !(d->underlying->kind >= K_U8 && d->underlying->kind <= K_U64)) {
		ipcc_error(u, d->underlying->loc, "a flag set's underlying type must be u8, u16, u32 or u64, not '%s'",
			   ipcc_type_text(&u->arena, d->underlying));
		return;
	}
	if (!d->nenumerators)
		ipcc_error(u, d->loc, "%s '%s' has no %s", what, d->name, flags ? "flags" : "enumerators");
	int64_t lo = INT32_MIN, hi = INT32_MAX; /* a C enum constant is an int */
	switch (d->underlying->kind) {
	case K_I8: lo = INT8_MIN; hi = INT8_MAX; break;
	case K_I16: lo = INT16_MIN; hi = INT16_MAX; break;
	case K_U8: lo = 0; hi = UINT8_MAX; break;
	case K_U16: lo = 0; hi = UINT16_MAX; break;
	case K_U32: lo = 0; hi = flags ? (int64_t)UINT32_MAX : INT32_MAX; break;
	case K_U64: lo = 0; hi = INT64_MAX; break;
	default: break;
	}
	d->flag_mask = 0;
	for (size_t i = 0; i < d->nenumerators; i++) {
		ipcc_enumerator *e = &d->enumerators[i];
		if (flags && !e->explicit_value)
			ipcc_error(u, e->loc, "flag '%s' needs a value ('%s = 1', '= 2', '= 4', ...)", e->name, e->name);
		else if (e->value < lo || e->value > hi)
			ipcc_error(u, e->loc, "%s '%s' = %lld is out of range for %s (%lld..%lld)",
				   flags ? "flag" : "enumerator", e->name, (long long)e->value, d->underlying->name,
				   (long long)lo, (long long)hi);
		else
			d->flag_mask |= (uint64_t)e->value;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(d->enumerators[k].name, e->name)) {
				ipcc_error(u, e->loc, "duplicate %s '%s' (first at line %u)", flags ? "flag" : "enumerator",
					   e->name, d->enumerators[k].loc.line);
				break;
			}
	}
}

static void check_defs(ipcc_unit *u, name_set *cnames)
{
	/* Names first, so types may be used before (or in files before) their
	 * definition. Imports first: a clash is reported in the importing file. */
	for (size_t oi = 0; oi < u->nfiles; oi++) {
		size_t i = (oi + 1) % u->nfiles;
		ipcc_file *f = u->files[i];
		if (f->ndefs && !valid_c_prefix(f->prefix)) {
			ipcc_error(u, f->defs[0]->loc,
				   "the file name '%s' cannot prefix C type names (types need a file named with letters, digits and _)",
				   f->base);
			continue;
		}
		for (size_t k = 0; k < f->ndefs; k++) {
			ipcc_def *d = f->defs[k];
			d->cname = ipcc_printf(&u->arena, "%s_%s", f->prefix, snake_qualified(&u->arena, d->name));
			d->mangle = d->cname;
			d->upper = ipcc_upper(&u->arena, d->cname);
			if (ipcc_is_builtin_name(d->name)) {
				ipcc_error(u, d->loc, "'%s' is a built-in type name and cannot be redefined", d->name);
				continue;
			}
			ipcc_def *first = NULL;
			for (size_t oj = 0; oj <= oi && !first; oj++)
				for (size_t m = 0; m < u->files[(oj + 1) % u->nfiles]->ndefs; m++) {
					size_t j = (oj + 1) % u->nfiles;
					ipcc_def *o = u->files[j]->defs[m];
					if (o == d)
						break;
					if (!strcmp(o->name, d->name) && o->file->is_types == d->file->is_types) {
						first = o;
						break;
					}
				}
			if (first) {
				ipcc_error(u, d->loc, "duplicate type '%s' (first defined at %s:%u:%u)", d->name,
					   first->loc.file, first->loc.line, first->loc.col);
				continue;
			}
			if (d->kind == DEF_ALIAS)
				continue; /* another name: no C type of its own */
			/* Helpers are named after a type's C name (enc_<name>); containers'
			 * and built-ins' helpers use these shapes, so they are taken. */
			if (!strncmp(d->cname, "vec_", 4) || !strncmp(d->cname, "opt_", 4) || !strncmp(d->cname, "map_", 4) ||
			    !strncmp(d->cname, "hv_", 3)) {
				ipcc_error(u, d->loc,
					   "type '%s' would get the C name '%s', whose prefix ipcc keeps for containers; rename the type or the file",
					   d->name, d->cname);
				continue;
			}
			bool taken = false;
			for (size_t b = 0; b < u->nbuiltins && !taken; b++)
				if (!strcmp(u->builtins[b]->mangle, d->cname)) {
					ipcc_error(u, d->loc, "type '%s' would get the C name '%s', which the helpers of built-in '%s' use; rename the type or the file",
						   d->name, d->cname, u->builtins[b]->name);
					taken = true;
				}
			if (taken)
				continue;
			claim(u, cnames, d->cname, ipcc_printf(&u->arena, "type '%s'", d->name), d->loc);
			if (d->kind != DEF_STRUCT)
				for (size_t m = 0; m < d->nenumerators; m++) {
					bool dup = false;
					for (size_t q = 0; q < m; q++)
						dup = dup || !strcmp(d->enumerators[q].name, d->enumerators[m].name);
					if (dup)
						continue; /* check_enum reports it */
					claim(u, cnames,
					      ipcc_printf(&u->arena, "%s_%s", d->upper,
							  ipcc_upper(&u->arena, ipcc_snake(&u->arena, d->enumerators[m].name))),
					      ipcc_printf(&u->arena, "enumerator '%s.%s'", d->name, d->enumerators[m].name),
					      d->enumerators[m].loc);
				}
		}
	}
	for (size_t i = 0; i < u->nfiles; i++) {
		ipcc_file *f = u->files[i];
		for (size_t k = 0; k < f->ndefs; k++) {
			ipcc_def *d = f->defs[k];
			if (d->kind == DEF_ALIAS) {
				resolve(u, d->target); /* an unused alias is checked too */
				continue;
			}
			if (d->kind != DEF_STRUCT) {
				check_enum(u, d);
				continue;
			}
			if (!d->nfields)
				ipcc_error(u, d->loc, "struct '%s' has no fields", d->name);
			check_fields(u, d->fields, d->nfields, "field");
		}
	}
	if (u->errors)
		return;
	find_recursive(u);
	for (size_t i = 0; i < u->nfiles; i++)
		for (size_t k = 0; k < u->files[i]->ndefs; k++) {
			ipcc_def *d = u->files[i]->defs[k];
			if (d->kind == DEF_STRUCT && d->visiting == 0)
				walk_struct(u, d);
		}
	if (u->errors)
		return;
	settle_resources(u);
	/* Structs nest by value: a few levels of doubling make a C type (and a
	 * minimal message) of absurd size. */
	for (size_t i = 0; i < u->nfiles; i++)
		for (size_t k = 0; k < u->files[i]->ndefs; k++) {
			ipcc_def *d = u->files[i]->defs[k];
			ipcc_type t = {.kind = K_STRUCT, .def = d};
			if (d->kind == DEF_STRUCT && ipcc_c_size(&t) > IPCC_MAX_STRUCT_SIZE)
				ipcc_error(u, d->loc, "struct '%s' is too large in C (over %u bytes): hold big parts in a Vector or Optional",
					   d->name, IPCC_MAX_STRUCT_SIZE);
		}
}

/* Declared errors: distinct names and numbers, C names that collide with
 * nothing (constants, and the three helpers generated when there are any). */
static void check_errors(ipcc_unit *u, ipcc_endpoint *ep, name_set *cnames)
{
	if (!ep->nerrors)
		return;
	const char *epw = ipcc_printf(&u->arena, "the errors of endpoint '%s'", ep->name);
	static const char *const helpers[] = {"error", "error_name", "error_message"};
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		claim(u, cnames, ipcc_printf(&u->arena, "%s_%s", ep->prefix, helpers[i]), epw, ep->loc);
	for (size_t i = 0; i < ep->nerrors; i++) {
		ipcc_error_decl *e = &ep->errors[i];
		e->upper = ipcc_upper(&u->arena, ipcc_snake(&u->arena, e->name));
		if (!e->message)
			e->message = e->name;
		if (e->number < 1 || e->number > IPCC_MAX_ERROR_NUMBER)
			ipcc_error(u, e->loc, "error '%s' = %lld is out of range (1..%d)", e->name, (long long)e->number,
				   IPCC_MAX_ERROR_NUMBER);
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++) {
			if (!strcmp(ep->errors[k].name, e->name)) {
				ipcc_error(u, e->loc, "duplicate error '%s' (first at line %u)", e->name, ep->errors[k].loc.line);
				dup = true;
			} else if (ep->errors[k].number == e->number) {
				ipcc_error(u, e->loc, "error '%s' has the number %lld of error '%s' (line %u)", e->name,
					   (long long)e->number, ep->errors[k].name, ep->errors[k].loc.line);
				dup = true;
			}
		}
		for (const char *c = e->message; *c && !dup; c++)
			if (*c == '\\' || (unsigned char)*c < 0x20) {
				ipcc_error(u, e->loc, "the message of error '%s' may not contain a backslash or control character",
					   e->name);
				dup = true;
			}
		if (!dup)
			claim(u, cnames, ipcc_printf(&u->arena, "%s_ERR_%s", ep->upper, e->upper),
			      ipcc_printf(&u->arena, "error '%s'", e->name), e->loc);
	}
}

/* Ladybird's "routed by Type name": a message carries the route as its
 * parameter of that name (its handler routes it); one that has a parameter
 * of that name must give it the route's type. */
static void check_route(ipcc_unit *u, const ipcc_endpoint *ep, const ipcc_message *m)
{
	if (!ep->route || ep->route->type->kind == K_UNRESOLVED)
		return;
	for (size_t i = 0; i < m->nparams; i++) {
		const ipcc_field *p = &m->params[i];
		if (strcmp(p->name, ep->route->name) || p->type->kind == K_UNRESOLVED)
			continue;
		if (strcmp(ipcc_mangle(&u->arena, p->type), ipcc_mangle(&u->arena, ep->route->type)))
			ipcc_error(u, p->loc, "parameter '%s' is the route of endpoint '%s' and must be '%s', not '%s'", p->name,
				   ep->name, ipcc_type_text(&u->arena, ep->route->type), ipcc_type_text(&u->arena, p->type));
	}
}

static void check_endpoint(ipcc_unit *u, ipcc_endpoint *ep, name_set *cnames)
{
	ep->prefix = ipcc_snake(&u->arena, ep->name);
	ep->upper = ipcc_upper(&u->arena, ep->prefix);
	ep->magic = ipcc_fnv1a(ep->name);
	const char *epw = ipcc_printf(&u->arena, "endpoint '%s'", ep->name);
	if (claim(u, cnames, ipcc_printf(&u->arena, "%s_endpoint", ep->prefix), epw, ep->loc) &&
	    claim(u, cnames, ipcc_printf(&u->arena, "%s_handlers", ep->prefix), epw, ep->loc))
		claim(u, cnames, ipcc_printf(&u->arena, "%s_HANDLERS", ep->upper), epw, ep->loc);
	if (ep->nmessages > 65535)
		ipcc_error(u, ep->loc, "endpoint '%s' has more than 65535 messages", ep->name);
	check_errors(u, ep, cnames);
	if (ep->route)
		resolve(u, ep->route->type);
	for (size_t i = 0; i < ep->nmessages; i++) {
		ipcc_message *m = &ep->messages[i];
		m->snake = ipcc_snake(&u->arena, m->name);
		m->upper = ipcc_upper(&u->arena, m->snake);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(ep->messages[k].name, m->name)) {
				ipcc_error(u, m->loc, "duplicate message '%s' (first at line %u)", m->name,
					   ep->messages[k].loc.line);
				goto next;
			}
		if (ipcc_is_c_reserved(m->snake) && m->snake[0] != '_' && strncmp(m->snake, "hv_", 3)) {
			/* Prefixed in C except as a handlers-table field: a C keyword there breaks the struct. */
			ipcc_error(u, m->loc, "'%s' becomes the C keyword '%s' and cannot name a message", m->name, m->snake);
		}
		const char *mw = ipcc_printf(&u->arena, "message '%s'", m->name);
		static const char *const suffixes[] = {"", "_req", "_rep", "_async", "_cb", "_respond"};
		bool ok = true; /* one collision per message is enough to report */
		for (size_t s = 0; s < sizeof(suffixes) / sizeof(suffixes[0]) && ok; s++) {
			if (m->oneway && s >= 2)
				break;
			ok = claim(u, cnames, ipcc_printf(&u->arena, "%s_%s%s", ep->prefix, m->snake, suffixes[s]), mw, m->loc);
		}
		if (ok)
			claim(u, cnames, ipcc_printf(&u->arena, "%s_MSG_%s", ep->upper, m->upper), mw, m->loc);
		check_fields(u, m->params, m->nparams, "parameter");
		check_fields(u, m->results, m->nresults, "result");
		check_route(u, ep, m);
		/* The sync client takes every parameter, then one `<result>_out` each. */
		for (size_t r = 0; r < m->nresults; r++)
			for (size_t p = 0; p < m->nparams; p++)
				if (!strcmp(m->params[p].name, ipcc_printf(&u->arena, "%s_out", m->results[r].name)))
					ipcc_error(u, m->params[p].loc,
						   "parameter '%s' collides with the out-parameter of result '%s' in %s_%s()",
						   m->params[p].name, m->results[r].name, ep->prefix, m->snake);
	next:;
	}
}

/* Parameters become C parameters of the client functions: they must not
 * hide a type or function the generated code or its prototypes use. */
static void check_c_param(ipcc_unit *u, const name_set *cnames, const char *name, ipcc_loc loc)
{
	static const char *const libc[] = {"malloc", "free", "memset", "strlen", "close"};
	size_t n = strlen(name);
	const name_entry *e;
	if (n > 2 && !strcmp(name + n - 2, "_t")) {
		ipcc_error(u, loc, "'%s' ends in _t, reserved for C type names, and cannot name a parameter", name);
		return;
	}
	for (size_t i = 0; i < sizeof(libc) / sizeof(libc[0]); i++)
		if (!strcmp(name, libc[i])) {
			ipcc_error(u, loc, "'%s' would hide the C function generated code calls and cannot name a parameter",
				   name);
			return;
		}
	if ((e = set_find(cnames, name)))
		ipcc_error(u, loc, "'%s' is the generated C name of %s and cannot name a parameter", name, e->what);
}

int ipcc_check(ipcc_unit *u)
{
	if (u->errors || !u->nfiles)
		return -1;
	name_set cnames = {0};
	check_defs(u, &cnames);
	ipcc_file *root = u->files[0];
	for (size_t i = 0; i < root->nendpoints; i++) {
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++)
			if (!strcmp(root->endpoints[k].name, root->endpoints[i].name)) {
				ipcc_error(u, root->endpoints[i].loc, "duplicate endpoint '%s' (first at line %u)",
					   root->endpoints[i].name, root->endpoints[k].loc.line);
				dup = true;
			}
		if (!dup)
			check_endpoint(u, &root->endpoints[i], &cnames);
	}
	for (size_t i = 0; i < root->nendpoints; i++) {
		const ipcc_endpoint *ep = &root->endpoints[i];
		for (size_t k = 0; k < ep->nmessages; k++) {
			const ipcc_message *m = &ep->messages[k];
			for (size_t p = 0; p < m->nparams; p++)
				check_c_param(u, &cnames, m->params[p].name, m->params[p].loc);
			for (size_t r = 0; r < m->nresults; r++)
				check_c_param(u, &cnames, m->results[r].name, m->results[r].loc);
		}
	}
	return u->errors ? -1 : 0;
}
