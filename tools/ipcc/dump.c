/* dump.c — `ipcc --dump`: what a file defines, as a person reads it:
 * endpoints with their magic, message ids and signatures, then types. */
#include "ipcc.h"

static void print_fields(ipcc_unit *u, FILE *out, const ipcc_field *fs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s", i ? ", " : "");
		if (fs[i].attrs & ATTR_UTF8)
			fprintf(out, "[UTF8] ");
		if (fs[i].attrs & ATTR_MAX_LENGTH)
			fprintf(out, "[MaxLength=%llu] ", (unsigned long long)fs[i].max_length);
		fprintf(out, "%s %s", ipcc_type_text(&u->arena, fs[i].type), fs[i].name);
	}
}

void ipcc_dump(ipcc_unit *u, FILE *out)
{
	ipcc_file *f = u->files[0];
	fprintf(out, "file %s (C prefix of its types: %s_)\n", f->path, f->prefix);
	for (size_t i = 0; i < f->nimports; i++)
		fprintf(out, "import %s\n", f->imports[i]->path);
	for (size_t e = 0; e < f->nendpoints; e++) {
		const ipcc_endpoint *ep = &f->endpoints[e];
		fprintf(out, "endpoint %s magic 0x%08x prefix %s_ messages %zu", ep->name, ep->magic, ep->prefix,
			ep->nmessages);
		if (ep->route)
			fprintf(out, " routed by %s %s", ipcc_type_text(&u->arena, ep->route->type), ep->route->name);
		fprintf(out, "\n");
		for (size_t i = 0; i < ep->nerrors; i++)
			fprintf(out, "  error %s = %d \"%s\"  -> %s_ERR_%s\n", ep->errors[i].name,
				-(int)(IPCC_ERROR_BASE + ep->errors[i].number), ep->errors[i].message, ep->upper,
				ep->errors[i].upper);
		for (size_t i = 0; i < ep->nmessages; i++) {
			const ipcc_message *m = &ep->messages[i];
			fprintf(out, "  %5u %s%s(", m->id, m->not_routed ? "[NotRouted] " : "", m->name);
			print_fields(u, out, m->params, m->nparams);
			if (m->oneway) {
				fprintf(out, ") =|");
			} else {
				fprintf(out, ") => (");
				print_fields(u, out, m->results, m->nresults);
				fprintf(out, ")");
			}
			fprintf(out, "  -> %s_%s\n", ep->prefix, m->snake);
		}
	}
	for (size_t i = 0; i < f->ndefs; i++) {
		const ipcc_def *d = f->defs[i];
		if (d->kind == DEF_ALIAS) {
			fprintf(out, "using %s = %s\n", d->name, ipcc_type_text(&u->arena, d->target));
		} else if (d->kind == DEF_STRUCT) {
			fprintf(out, "struct %s -> %s { ", d->name, d->cname);
			for (size_t k = 0; k < d->nfields; k++)
				fprintf(out, "%s %s; ", ipcc_type_text(&u->arena, d->fields[k].type), d->fields[k].name);
			fprintf(out, "}\n");
		} else {
			fprintf(out, "%s %s : %s -> %s { ", d->kind == DEF_FLAGS ? "flags" : "enum", d->name,
				d->underlying->name, d->cname);
			for (size_t k = 0; k < d->nenumerators; k++)
				fprintf(out, "%s = %lld; ", d->enumerators[k].name, (long long)d->enumerators[k].value);
			fprintf(out, "}\n");
		}
	}
}
