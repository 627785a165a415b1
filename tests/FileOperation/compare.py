#!/usr/bin/env python3
"""compare.py A B [--skip NAME]... — whether tree A is what `cp -a` made in
B: the same entries, types, modes, owners, mtimes (ns), sizes, symlink
targets, user.* xattrs, hard-link groups, contents, and no more allocated
blocks than B (holes kept). Prints each difference; exit 1 if any."""
import hashlib
import os
import stat
import sys


def extents(f, size):
    """The data extents of an open file, [(start, end)]."""
    out, pos = [], 0
    while pos < size:
        try:
            data = os.lseek(f.fileno(), pos, os.SEEK_DATA)
        except OSError:
            break
        hole = os.lseek(f.fileno(), data, os.SEEK_HOLE)
        out.append((data, hole))
        pos = hole
    return out


def same_content(pa, pb):
    """Byte for byte, reading only where either file has data (outside,
    both read as zeros): a 1 GB sparse file costs what its data costs."""
    with open(pa, "rb") as fa, open(pb, "rb") as fb:
        size = os.fstat(fa.fileno()).st_size
        if size != os.fstat(fb.fileno()).st_size:
            return False
        for start, end in sorted(extents(fa, size) + extents(fb, size)):
            fa.seek(start)
            fb.seek(start)
            while start < end:
                n = min(end - start, 1 << 20)
                if fa.read(n) != fb.read(n):
                    return False
                start += n
    return True


def xattrs(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    return {n: os.getxattr(path, n, follow_symlinks=False) for n in names if n.startswith("user.")}


def walk(root, skip):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            if n in skip or n.startswith(".fileop-"):
                continue
            out[rel] = p
    return out


def main():
    args = sys.argv[1:]
    skip = {args[i + 1] for i, a in enumerate(args) if a == "--skip"}
    a, b = args[0], args[1]
    ta, tb = walk(a, skip), walk(b, skip)
    bad = []
    for rel in sorted(set(ta) | set(tb)):
        if rel not in ta or rel not in tb:
            bad.append("%s: only in %s" % (rel, a if rel in ta else b))
            continue
        pa, pb = ta[rel], tb[rel]
        sa, sb = os.lstat(pa), os.lstat(pb)
        for field in ("st_mode", "st_uid", "st_gid", "st_size", "st_mtime_ns", "st_nlink"):
            if stat.S_ISDIR(sa.st_mode) and field in ("st_size", "st_nlink"):
                continue
            if getattr(sa, field) != getattr(sb, field):
                bad.append("%s: %s %o != %o" % (rel, field, getattr(sa, field), getattr(sb, field))
                           if field == "st_mode" else
                           "%s: %s %r != %r" % (rel, field, getattr(sa, field), getattr(sb, field)))
        if stat.S_ISLNK(sa.st_mode):
            if os.readlink(pa) != os.readlink(pb):
                bad.append("%s: link target %r != %r" % (rel, os.readlink(pa), os.readlink(pb)))
            continue
        if xattrs(pa) != xattrs(pb):
            bad.append("%s: xattrs %r != %r" % (rel, xattrs(pa), xattrs(pb)))
        if stat.S_ISREG(sa.st_mode):
            if sa.st_blocks > sb.st_blocks + 8:
                bad.append("%s: %d blocks, cp -a's copy %d (holes lost)" % (rel, sa.st_blocks, sb.st_blocks))
            if not same_content(pa, pb):
                bad.append("%s: contents differ" % rel)
    # Hard links: the same groups of names share an inode in both trees.
    def groups(t):
        g = {}
        for rel, p in t.items():
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                g.setdefault(st.st_ino, []).append(rel)
        return sorted(sorted(v) for v in g.values())
    if groups(ta) != groups(tb):
        bad.append("hard links: %r != %r" % (groups(ta), groups(tb)))
    for line in bad:
        print("compare: " + line)
    print("compare: %d entries, %d differences" % (len(ta), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
