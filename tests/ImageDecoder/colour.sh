#!/bin/bash
# colour.sh IMGCHECK MAKE-ICC IMGDECODE — embedded colour spaces come out
# as sRGB. Images tagged (not converted) with a Display P3 or Adobe RGB
# profile, and gray ones with a gamma 1.8 gray profile, all made by
# make-icc (lcms2), as PNG iCCP and JPEG APP2, are decoded and compared
# with ImageMagick's `-profile sRGB.icc` conversion; a PNG whose gAMA says
# linear with a check computed here. Tolerance: 1 for RGB PNG (lcms2's
# 8-bit transform vs ImageMagick's 16-bit one), 2 for gray PNG, 3 for JPEG
# (as corpus.sh's 2 for the decode, plus that rounding). Each converted image
# must also differ from its unconverted pixels, so a decoder that ignored
# the profile fails. Then the same through the sandboxed service.
set -uo pipefail
check=$(realpath "$1")
mkicc=$(realpath "$2")
imgdecode=$(realpath "$3")
dir=$(mktemp -d /tmp/imagedecoder-colour.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export HAVEN_PORTAL_DIR="$dir/no-portals" # spawn a decoder, never a running system's
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() { "$@" || fail "$*"; }

for p in srgb p3 adobe gray18; do "$mkicc" $p $p.icc || fail "make-icc $p"; done
# Every 4-level colour cube corner and edge: saturated colours move most.
convert hald:4 -depth 8 src.png
convert src.png -depth 8 rgba:src.rgba
convert src.png -colorspace gray -depth 8 gray.png
for p in p3 adobe gray18; do
	s=src.png; [ $p = gray18 ] && s=gray.png
	convert $s -profile $p.icc $p.png # no profile yet: assigned, pixels kept
	convert $s -quality 95 -sampling-factor 1x1 -profile $p.icc $p.jpg
	cmp -s <(convert $s -depth 8 rgba:-) <(convert $p.png -depth 8 rgba:-) || fail "assigning $p.icc changed the pixels"
	for f in $p.png $p.jpg; do
		# gray: lcms2's 8-bit gray transform is 2 off in the darkest tones
		tol=1; [ $p = gray18 ] && tol=2; [[ $f == *.jpg ]] && tol=3
		convert $f -profile srgb.icc -depth 8 rgba:ref-$f.rgba
		run "$check" compare $f $tol ref-$f.rgba
		convert $f -depth 8 rgba:unconverted-$f.rgba
		if "$check" compare $f 4 unconverted-$f.rgba >/dev/null 2>&1; then
			fail "$f: decoded as if it had no profile"
		fi
	done
done

# gAMA 1.0, no cHRM: the samples are linear light; sRGB-encode them.
python3 - src.rgba lin.rgba <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
def enc(v):
    x = v / 255
    y = 12.92 * x if x <= 0.0031308 else 1.055 * x ** (1 / 2.4) - 0.055
    return round(y * 255)
for i in range(len(d)):
    if i % 4 != 3:
        d[i] = enc(d[i])
open(sys.argv[2], 'wb').write(d)
PY
python3 - src.png gama1.png <<'PY'
import struct, sys, zlib
d = open(sys.argv[1], 'rb').read()
# keep IHDR, drop every colour chunk, put gAMA 100000 (1.0) after IHDR
out, pos = [d[:8]], 8
while pos < len(d):
    n = struct.unpack('>I', d[pos:pos + 4])[0]
    t = d[pos + 4:pos + 8]
    if t not in (b'gAMA', b'cHRM', b'sRGB', b'iCCP'):
        out.append(d[pos:pos + 12 + n])
    if t == b'IHDR':
        body = b'gAMA' + struct.pack('>I', 100000)
        out.append(struct.pack('>I', 4) + body + struct.pack('>I', zlib.crc32(body)))
    pos += 12 + n
open(sys.argv[2], 'wb').write(b''.join(out))
PY
run "$check" compare gama1.png 1 lin.rgba

# CMYK JPEG with a CMYK profile (Ghostscript's, libgs-common): lcms2's
# optimised 16-bit table against ImageMagick's exact float conversion is
# within 3 for nearly every sample and up to ~16 in the darkest tones, so
# the check is statistical; the naive conversion it replaces is far off.
cmyk_icc=/usr/share/color/icc/ghostscript/default_cmyk.icc
if [ -r $cmyk_icc ]; then
	convert src.png -profile srgb.icc -profile $cmyk_icc -quality 95 -sampling-factor 1x1 cmyk.jpg
	convert cmyk.jpg -profile srgb.icc -depth 8 rgba:ref-cmyk.jpg.rgba
	if "$imgdecode" --spawn cmyk.jpg out-cmyk.pam; then
		convert out-cmyk.pam -depth 8 rgba:out-cmyk.rgba
		python3 - out-cmyk.rgba ref-cmyk.jpg.rgba <<'PY' || fail "cmyk.jpg differs from ImageMagick's conversion"
import sys
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
d = sorted(abs(x - y) for x, y in zip(a, b))
print(f"cmyk.jpg: mean {sum(d) / len(d):.2f}, 99th percentile {d[len(d) * 99 // 100]}, max {d[-1]}")
sys.exit(0 if len(a) == len(b) and sum(d) / len(d) <= 1 and d[len(d) * 99 // 100] <= 4 and d[-1] <= 24 else 1)
PY
	else
		fail "imgdecode cmyk.jpg"
	fi
else
	fail "$cmyk_icc missing (libgs-common, scripts/deps.txt)"
fi

# Through the service: the sandboxed process converts too.
for f in p3.png adobe.jpg; do
	if "$imgdecode" --spawn "$f" out-$f.pam; then
		convert out-$f.pam -depth 8 rgba:out-$f.rgba
		python3 - out-$f.rgba ref-$f.rgba 3 <<'PY' || fail "imgdecode $f differs from ImageMagick's conversion"
import sys
a, b, tol = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read(), int(sys.argv[3])
sys.exit(0 if len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b)) <= tol else 1)
PY
	else
		fail "imgdecode $f"
	fi
done

echo "colour: $fails failure(s)"
[ $fails -eq 0 ]
