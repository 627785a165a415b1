/* main.c — the ipcc command line: compile .ipc files to C, check them, or
 * dump what they define. Outputs are written to temporary files and
 * renamed into place only when everything succeeded, so a failed run never
 * leaves half a header behind.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipcc.h"

/* Where shipped type files (SerenityOS.ipc) are installed; meson sets it. */
#ifndef IPCC_TYPES_DIR
#define IPCC_TYPES_DIR "/usr/local/share/haven/ipcc/types"
#endif

/* --types NAME: a path as given; a bare name that is no file here is one
 * of the installed type files. Returns a malloc'ed path. */
static char *types_path(const char *arg)
{
	if (strchr(arg, '/') || access(arg, F_OK) == 0)
		return strdup(arg);
	size_t n = strlen(arg);
	char *p = NULL;
	if (asprintf(&p, "%s/%s%s", IPCC_TYPES_DIR, arg, n > 4 && !strcmp(arg + n - 4, ".ipc") ? "" : ".ipc") < 0)
		return NULL;
	return p;
}

static void usage(FILE *out)
{
	fputs("Usage: ipcc [-o OUTDIR] [-I DIR]... [--types FILE]... [--depfile FILE] FILE.ipc...\n"
	      "       ipcc --check [--types FILE]... FILE.ipc...\n"
	      "       ipcc --dump FILE.ipc...\n"
	      "       ipcc --describe FILE.ipc...\n"
	      "\n"
	      "Compile Haven IPC definitions to C: FILE.ipc gives FILE.ipc.h and FILE.ipc.c.\n"
	      "\n"
	      "  -o, --output DIR    write the generated files into DIR (default: .)\n"
	      "  -I, --include DIR   also look for imported .ipc files in DIR\n"
	      "  -t, --types FILE    load FILE's structs and enums for every input (repeatable;\n"
	      "                      a bare NAME is " IPCC_TYPES_DIR "/NAME.ipc)\n"
	      "      --depfile FILE  write a Make-style dependency file (one input only)\n"
	      "      --check         only validate; write nothing\n"
	      "      --dump          print endpoints, magics, message ids and signatures\n"
	      "      --describe      print each endpoint's contract as one line of JSON (what\n"
	      "                      its servers answer to introspection: svc introspect)\n"
	      "  -h, --help          show this help\n"
	      "      --version       show the version\n"
	      "\n"
	      "Errors are printed as file:line:col: message. Exit status: 0 success,\n"
	      "1 errors in the input, 2 bad usage. See docs/ipc-language.md.\n",
	      out);
}

/* Write data to dir/name.tmpXXXXXX; the caller renames it into place. */
static char *write_temp(const char *dir, const char *name, const char *data, size_t len)
{
	size_t n = strlen(dir) + strlen(name) + 16;
	char *tmp = malloc(n);
	if (!tmp)
		return NULL;
	snprintf(tmp, n, "%s/%s.tmpXXXXXX", dir, name);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "ipcc: cannot create a file in '%s': %s\n", dir, strerror(errno));
		free(tmp);
		return NULL;
	}
	mode_t mask = umask(0);
	umask(mask);
	bool ok = fchmod(fd, 0666 & ~mask) == 0;
	for (size_t off = 0; ok && off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ok = false;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) != 0)
		ok = false;
	if (!ok) {
		fprintf(stderr, "ipcc: cannot write '%s': %s\n", tmp, strerror(errno));
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	return tmp;
}

static void dep_path(FILE *o, const char *p)
{
	for (; *p; p++) {
		if (*p == ' ' || *p == '#' || *p == '\\')
			fputc('\\', o);
		if (*p == '$')
			fputc('$', o);
		fputc(*p, o);
	}
}

static int write_outputs(ipcc_unit *u, const char *outdir, const char *depfile)
{
	char *h = NULL, *c = NULL;
	size_t hlen = 0, clen = 0;
	if (ipcc_generate(u, &h, &hlen, &c, &clen) < 0) {
		fprintf(stderr, "ipcc: out of memory generating %s\n", u->files[0]->path);
		return -1;
	}
	const char *base = u->files[0]->base;
	char hname[4096], cname[4096];
	snprintf(hname, sizeof(hname), "%s.ipc.h", base);
	snprintf(cname, sizeof(cname), "%s.ipc.c", base);
	char *htmp = write_temp(outdir, hname, h, hlen);
	char *ctmp = htmp ? write_temp(outdir, cname, c, clen) : NULL;
	char *dtmp = NULL;
	char hpath[8192], cpath[8192];
	snprintf(hpath, sizeof(hpath), "%s/%s", outdir, hname);
	snprintf(cpath, sizeof(cpath), "%s/%s", outdir, cname);
	if (ctmp && depfile) {
		char *d = NULL;
		size_t dlen = 0;
		FILE *o = open_memstream(&d, &dlen);
		if (o) {
			dep_path(o, hpath);
			fputc(':', o);
			for (size_t i = 0; i < u->nfiles; i++) {
				fputc(' ', o);
				dep_path(o, u->files[i]->path);
			}
			fputc('\n', o);
			fclose(o);
			const char *slash = strrchr(depfile, '/');
			char *ddir = slash ? strndup(depfile, (size_t)(slash - depfile)) : strdup(".");
			if (ddir && d)
				dtmp = write_temp(ddir, slash ? slash + 1 : depfile, d, dlen);
			free(ddir);
		}
		free(d);
	}
	free(h);
	free(c);
	int r = 0;
	if (!htmp || !ctmp || (depfile && !dtmp)) {
		r = -1;
	} else if (rename(htmp, hpath) < 0 || rename(ctmp, cpath) < 0 || (dtmp && rename(dtmp, depfile) < 0)) {
		fprintf(stderr, "ipcc: cannot write into '%s': %s\n", outdir, strerror(errno));
		r = -1;
	}
	if (r < 0) {
		if (htmp)
			unlink(htmp);
		if (ctmp)
			unlink(ctmp);
		if (dtmp)
			unlink(dtmp);
	}
	free(htmp);
	free(ctmp);
	free(dtmp);
	return r;
}

static void free_opts(const char **incs, char **types, size_t ntypes)
{
	free(incs);
	for (size_t i = 0; i < ntypes; i++)
		free(types[i]);
	free(types);
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_DUMP, OPT_DESCRIBE, OPT_DEPFILE, OPT_VERSION };
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"include", required_argument, NULL, 'I'},
		{"types", required_argument, NULL, 't'},
		{"depfile", required_argument, NULL, OPT_DEPFILE},
		{"check", no_argument, NULL, OPT_CHECK},
		{"dump", no_argument, NULL, OPT_DUMP},
		{"describe", no_argument, NULL, OPT_DESCRIBE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{0},
	};
	const char *outdir = ".", *depfile = NULL;
	bool check = false, dump = false, describe = false;
	const char **incs = NULL;
	size_t nincs = 0;
	char **types = NULL;
	size_t ntypes = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "o:I:t:h", opts, NULL)) != -1) {
		switch (opt) {
		case 't': {
			char **n = realloc(types, (ntypes + 1) * sizeof(*n));
			if (!n || !(n[ntypes] = types_path(optarg))) {
				fputs("ipcc: out of memory\n", stderr);
				return 1;
			}
			types = n;
			ntypes++;
			break;
		}
		case 'o': outdir = optarg; break;
		case 'I': {
			const char **n = realloc(incs, (nincs + 1) * sizeof(*n));
			if (!n) {
				free_opts(incs, types, ntypes);
				return 1;
			}
			incs = n;
			incs[nincs++] = optarg;
			break;
		}
		case OPT_DEPFILE: depfile = optarg; break;
		case OPT_CHECK: check = true; break;
		case OPT_DUMP: dump = true; break;
		case OPT_DESCRIBE: describe = true; break;
		case 'h': usage(stdout); free_opts(incs, types, ntypes); return 0;
		case OPT_VERSION: puts("ipcc (Haven) 0.1.0"); free_opts(incs, types, ntypes); return 0;
		default: usage(stderr); free_opts(incs, types, ntypes); return 2;
		}
	}
	if (optind >= argc || check + dump + describe > 1 || (depfile && argc - optind != 1)) {
		if (optind >= argc)
			fputs("ipcc: no input file\n", stderr);
		else if (check + dump + describe > 1)
			fputs("ipcc: --check, --dump and --describe exclude each other\n", stderr);
		else
			fputs("ipcc: --depfile takes exactly one input file\n", stderr);
		usage(stderr);
		free_opts(incs, types, ntypes);
		return 2;
	}
	if (!check && !dump && !describe) {
		struct stat st;
		if (stat(outdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "ipcc: output directory '%s' does not exist\n", outdir);
			free_opts(incs, types, ntypes);
			return 2;
		}
	}
	int status = 0;
	for (int i = optind; i < argc; i++) {
		ipcc_unit u;
		ipcc_unit_init(&u, stderr);
		u.include_dirs = incs;
		u.ninclude_dirs = nincs;
		u.types_files = (const char **)types;
		u.ntypes_files = ntypes;
		const char *in = argv[i];
		size_t len = strlen(in);
		if (len < 5 || strcmp(in + len - 4, ".ipc")) {
			fprintf(stderr, "%s: input files must end in .ipc\n", in);
			status = 1;
		} else if (ipcc_load_file(&u, in) < 0 || ipcc_check(&u) < 0) {
			status = 1;
		} else if (dump) {
			ipcc_dump(&u, stdout);
		} else if (describe) {
			for (size_t e = 0; e < u.files[0]->nendpoints; e++)
				printf("%s\n", ipcc_describe(&u.arena, &u.files[0]->endpoints[e]));
		} else if (!check && write_outputs(&u, outdir, depfile) < 0) {
			status = 1;
		}
		u.include_dirs = NULL;
		u.types_files = NULL;
		ipcc_unit_free(&u);
	}
	free_opts(incs, types, ntypes);
	if (fflush(stdout) != 0)
		status = 1;
	return status;
}
