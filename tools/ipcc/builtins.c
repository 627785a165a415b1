/* builtins.c — the type-name table: every type name a .ipc file may use
 * without defining it, SerenityOS's C++ spellings included, and the C type
 * each one becomes. docs/ipc-language.md reproduces this table; a name
 * missing here is an "unknown type" error that names it.
 */
#include <string.h>

#include "ipcc.h"

static const struct {
	const char *name;
	enum ipcc_kind kind;
} scalars[] = {
	{"bool", K_BOOL},
	{"i8", K_I8}, {"i16", K_I16}, {"i32", K_I32}, {"i64", K_I64},
	{"u8", K_U8}, {"u16", K_U16}, {"u32", K_U32}, {"u64", K_U64},
	{"int", K_I32}, {"unsigned", K_U32}, {"size_t", K_U64},
	{"float", K_F32}, {"f32", K_F32}, {"double", K_F64}, {"f64", K_F64},
	{"String", K_STRING}, {"AK::String", K_STRING}, {"StringView", K_STRING},
	{"FlyString", K_STRING}, {"URL::URL", K_STRING}, {"AK::URL", K_STRING}, {"URL", K_STRING},
	{"ByteString", K_BYTESTRING}, {"AK::ByteString", K_BYTESTRING},
	{"DeprecatedString", K_BYTESTRING}, {"DeprecatedFlyString", K_BYTESTRING},
	{"bytes", K_BYTES}, {"ByteBuffer", K_BYTES}, {"ReadonlyBytes", K_BYTES},
	{"File", K_FILE}, {"IPC::File", K_FILE},
	{"Buffer", K_BUFFER}, {"Core::AnonymousBuffer", K_BUFFER},
	{"Bitmap", K_BITMAP}, {"Gfx::ShareableBitmap", K_BITMAP},
	{"Empty", K_EMPTY}, {"AK::Empty", K_EMPTY},
};

static const struct {
	const char *name;
	enum ipcc_kind kind;
	unsigned nargs;
} containers[] = {
	{"Vector", K_VECTOR, 1}, {"AK::Vector", K_VECTOR, 1},
	{"Optional", K_OPTIONAL, 1}, {"AK::Optional", K_OPTIONAL, 1},
	{"HashMap", K_MAP, 2}, {"AK::HashMap", K_MAP, 2}, {"OrderedHashMap", K_MAP, 2},
	/* nargs 0: one or more (up to IPCC_MAX_VARIANT_ALTERNATIVES) */
	{"Variant", K_VARIANT, 0}, {"AK::Variant", K_VARIANT, 0},
	{"NonnullRefPtr", K_POINTER, 1}, {"RefPtr", K_POINTER, 1},
	{"NonnullOwnPtr", K_POINTER, 1}, {"OwnPtr", K_POINTER, 1},
};

/* Gfx's value types become small C structs every generated header declares. */
static const struct {
	const char *name, *cname, *mangle;
	enum ipcc_kind field_kind;
	const char *fields[4];
} gfx[] = {
	{"Gfx::IntPoint", "hv_int_point", "int_point", K_I32, {"x", "y"}},
	{"Gfx::IntSize", "hv_int_size", "int_size", K_I32, {"width", "height"}},
	{"Gfx::IntRect", "hv_int_rect", "int_rect", K_I32, {"x", "y", "width", "height"}},
	{"Gfx::FloatPoint", "hv_float_point", "float_point", K_F32, {"x", "y"}},
	{"Gfx::FloatSize", "hv_float_size", "float_size", K_F32, {"width", "height"}},
	{"Gfx::FloatRect", "hv_float_rect", "float_rect", K_F32, {"x", "y", "width", "height"}},
	{"Gfx::Color", "hv_color", "color", K_U32, {"argb"}},
};

enum ipcc_kind ipcc_builtin_scalar(const char *name)
{
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
		if (!strcmp(scalars[i].name, name))
			return scalars[i].kind;
	return K_UNRESOLVED;
}

enum ipcc_kind ipcc_builtin_container(const char *name, unsigned *nargs)
{
	for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++)
		if (!strcmp(containers[i].name, name)) {
			*nargs = containers[i].nargs;
			return containers[i].kind;
		}
	return K_UNRESOLVED;
}

void ipcc_builtins_init(ipcc_unit *u)
{
	for (size_t i = 0; i < sizeof(gfx) / sizeof(gfx[0]); i++) {
		ipcc_def *d = ipcc_alloc(&u->arena, sizeof(*d));
		d->kind = DEF_STRUCT;
		d->builtin = true;
		d->name = gfx[i].name;
		d->cname = gfx[i].cname;
		d->mangle = gfx[i].mangle;
		d->loc = (ipcc_loc){"<built-in>", 0, 0};
		for (size_t k = 0; k < 4 && gfx[i].fields[k]; k++) {
			ipcc_field fl = {.name = gfx[i].fields[k], .loc = d->loc};
			fl.type = ipcc_alloc(&u->arena, sizeof(*fl.type));
			fl.type->kind = gfx[i].field_kind;
			fl.type->name = gfx[i].field_kind == K_I32 ? "i32" : gfx[i].field_kind == K_F32 ? "f32" : "u32";
			ipcc_push(&u->arena, &d->fields, &d->nfields, &d->capfields, &fl, sizeof(fl));
		}
		ipcc_push(&u->arena, &u->builtins, &u->nbuiltins, &u->capbuiltins, &d, sizeof(d));
	}
}

ipcc_def *ipcc_builtin_def(ipcc_unit *u, const char *name)
{
	for (size_t i = 0; i < u->nbuiltins; i++)
		if (!strcmp(u->builtins[i]->name, name))
			return u->builtins[i];
	return NULL;
}

bool ipcc_is_builtin_name(const char *name)
{
	unsigned n;
	if (ipcc_builtin_scalar(name) != K_UNRESOLVED || ipcc_builtin_container(name, &n) != K_UNRESOLVED)
		return true;
	for (size_t i = 0; i < sizeof(gfx) / sizeof(gfx[0]); i++)
		if (!strcmp(gfx[i].name, name))
			return true;
	return false;
}
