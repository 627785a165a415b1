#!/bin/bash
# corpus.sh IMGCHECK — make a corpus of every format and variant ImageDecoder
# claims with Debian's tools (ImageMagick, libwebp's cwebp/img2webp, apngasm,
# qoiconv, exiftool, netpbm), decode each in-process and compare pixel by
# pixel with a reference decode: ImageMagick's (or the lossless source
# frames for animations). Tolerance: 0 for lossless formats; 1 where
# 5/15-bit samples are scaled to 8 bits; 2 for JPEG/lossy WebP decoded by
# the same libraries with other options (and 16-bit gray, where ImageMagick
# rounds differently); 6 for CMYK JPEG (colour-model
# arithmetic differs). Then truncated, mutated and oversized inputs.
set -euo pipefail
check=$(realpath "$1")
for t in convert cwebp img2webp apngasm qoiconv exiftool pamdepth ppmtotga python3; do
	command -v $t >/dev/null || { echo "corpus.sh: $t missing (see scripts/deps.txt)" >&2; exit 1; }
done
dir=$(mktemp -d /tmp/imagedecoder-corpus.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
fails=0
run() { if ! "$@"; then fails=$((fails + 1)); fi; }
# ref FILE TOL [convert options]: reference from ImageMagick, one raw RGBA per frame
ref() {
	local f=$1 tol=$2; shift 2
	mkdir -p "ref-$f"
	convert "$f" "$@" -depth 8 +adjoin "rgba:ref-$f/%03d.rgba"
	run "$check" compare "$f" "$tol" "ref-$f"/*.rgba
}

# Sources: 8-bit, odd sizes, sharp edges and gradients.
convert -size 67x45 gradient:red-blue -fill lime -draw "circle 30,20 40,30" \
	-fill white -draw "rectangle 2,2 10,10" -depth 8 src.png
convert src.png -alpha set -channel A -fx "0.15+0.85*i/w" +channel -depth 8 srca.png
convert src.png -colors 200 src200.png

# PNG
convert src.png PNG24:png-rgb.png;            ref png-rgb.png 0
convert srca.png PNG32:png-rgba.png;          ref png-rgba.png 0
convert src.png -colorspace gray PNG8:png-gray.png; ref png-gray.png 0
convert srca.png -colorspace gray -depth 8 png-graya.png; ref png-graya.png 0
convert src200.png PNG8:png-pal.png;          ref png-pal.png 0
convert srca.png -channel A -threshold 50% +channel PNG8:png-paltrns.png; ref png-paltrns.png 0
convert src.png -depth 16 PNG48:png-16.png;   ref png-16.png 0
convert srca.png -depth 16 PNG64:png-16a.png; ref png-16a.png 0
convert src.png -interlace PNG PNG24:png-interlaced.png; ref png-interlaced.png 0
convert src.png -monochrome png-1bit.png;     ref png-1bit.png 0

# APNG: frames with transparency and motion; the reference is the sources.
for i in 0 1 2 3; do
	convert -size 40x30 xc:none -fill "rgb($((i * 60)),100,200)" -draw "rectangle $((i * 6)),4 $((i * 6 + 12)),20" \
		-fill orange -draw "circle 20,15 $((24 + i)),18" -depth 8 PNG32:af$i.png
	convert af$i.png -depth 8 rgba:af$i.rgba
done
apngasm anim.png af0.png af1.png af2.png af3.png 1 10 >/dev/null
run "$check" compare anim.png 0 af0.rgba af1.rgba af2.rgba af3.rgba
info=$("$check" info anim.png); echo "info anim.png: $info"
[[ $info == "apng 40x30 4 0 100 100 100 100" ]] || { echo "FAIL anim.png info: $info"; fails=$((fails + 1)); }

# JPEG: baseline, 4:4:4, progressive, grayscale, CMYK, EXIF orientations.
convert src.png -quality 90 jpg-base.jpg;                     ref jpg-base.jpg 2
convert src.png -quality 95 -sampling-factor 1x1 jpg-444.jpg; ref jpg-444.jpg 2
convert src.png -quality 90 -interlace Plane jpg-prog.jpg;    ref jpg-prog.jpg 2
convert src.png -colorspace gray -quality 90 jpg-gray.jpg;    ref jpg-gray.jpg 2
convert src.png -colorspace CMYK -quality 95 jpg-cmyk.jpg;    ref jpg-cmyk.jpg 6 -colorspace sRGB
for o in 3 6 8; do
	cp jpg-base.jpg jpg-orient$o.jpg
	exiftool -q -overwrite_original -n -Orientation=$o jpg-orient$o.jpg
	ref jpg-orient$o.jpg 2 -auto-orient
done

# GIF: still, transparent, interlaced, animated with each disposal.
convert src200.png gif-still.gif;                  ref gif-still.gif 0
convert srca.png -channel A -threshold 50% +channel gif-trans.gif; ref gif-trans.gif 0
convert src200.png -interlace GIF gif-interlaced.gif; ref gif-interlaced.gif 0
convert -delay 10 af0.png af1.png af2.png af3.png -loop 0 -layers optimize gif-anim.gif
ref gif-anim.gif 0 -coalesce
convert -delay 7 -dispose Background af0.png af1.png af2.png -loop 3 gif-dispbg.gif; ref gif-dispbg.gif 0 -coalesce
convert -delay 7 -dispose Previous af0.png af1.png af2.png gif-dispprev.gif; ref gif-dispprev.gif 0 -coalesce
info=$("$check" info gif-dispbg.gif); echo "info gif-dispbg.gif: $info"
[[ $info == "gif 40x30 3 3 70 70 70" ]] || { echo "FAIL gif-dispbg.gif info: $info"; fails=$((fails + 1)); }

# BMP: header versions, depths, bitfields, RLE.
convert src.png BMP3:bmp3-24.bmp;          ref bmp3-24.bmp 0
convert src200.png -type Palette BMP3:bmp3-8.bmp; ref bmp3-8.bmp 0
convert src.png -colors 16 -type Palette BMP3:bmp3-4.bmp; ref bmp3-4.bmp 0
convert src.png -monochrome BMP3:bmp3-1.bmp;  ref bmp3-1.bmp 0
convert src200.png -type Palette -compress RLE BMP3:bmp3-rle8.bmp; ref bmp3-rle8.bmp 0
convert src.png BMP2:bmp2-core.bmp;         ref bmp2-core.bmp 0
convert srca.png BMP:bmp5-32a.bmp;          ref bmp5-32a.bmp 0
# Variants ImageMagick 6 does not write, made from the same source with
# their expected pixels (5/6-bit samples scale as v*255/max, rounded).
python3 - ref-png-rgb.png/000.rgba 67 45 <<'PY'
import struct, sys
src = open(sys.argv[1], 'rb').read(); W, H = int(sys.argv[2]), int(sys.argv[3])
px = [src[i*4:i*4+4] for i in range(W*H)]
sc = lambda v, m: (v * 255 + m // 2) // m
def bmp(name, hdr, pal, rows, top_down=False):
	data = b''.join(rows)
	off = 14 + len(hdr) + len(pal)
	open(name, 'wb').write(b'BM' + struct.pack('<IHHI', off + len(data), 0, 0, off) + hdr + pal + data)
def info(bpp, comp, size, h=H, colors=0):
	return struct.pack('<IiiHHIIiiII', 40, W, h, 1, bpp, comp, size, 2835, 2835, colors, 0)
def pad(b): return b + b'\0' * (-len(b) % 4)
def out(name, rgba): open(name, 'wb').write(b''.join(bytes(p) for p in rgba))
# 16-bit 565 with BI_BITFIELDS masks after the INFO header.
rows, exp = [], []
for y in range(H - 1, -1, -1):
	rows.append(pad(b''.join(struct.pack('<H', (p[0] >> 3) << 11 | (p[1] >> 2) << 5 | p[2] >> 3) for p in px[y*W:(y+1)*W])))
for p in px: exp.append((sc(p[0] >> 3, 31), sc(p[1] >> 2, 63), sc(p[2] >> 3, 31), 255))
bmp('bmp-565.bmp', info(16, 3, 0) + struct.pack('<III', 0xf800, 0x07e0, 0x001f), b'', rows); out('bmp-565.rgba', exp)
# 16-bit 555 BI_RGB, stored top-down (negative height).
rows, exp = [], []
for y in range(H):
	rows.append(pad(b''.join(struct.pack('<H', (p[0] >> 3) << 10 | (p[1] >> 3) << 5 | p[2] >> 3) for p in px[y*W:(y+1)*W])))
for p in px: exp.append((sc(p[0] >> 3, 31), sc(p[1] >> 3, 31), sc(p[2] >> 3, 31), 255))
bmp('bmp-555td.bmp', info(16, 0, 0, -H), b'', rows); out('bmp-555td.rgba', exp)
# 32-bit BI_RGB whose fourth bytes are all zero: shown opaque.
rows = [b''.join(bytes((p[2], p[1], p[0], 0)) for p in px[y*W:(y+1)*W]) for y in range(H - 1, -1, -1)]
bmp('bmp-32x.bmp', info(32, 0, 0), b'', rows); out('bmp-32x.rgba', [(p[0], p[1], p[2], 255) for p in px])
# RLE4: 16 gray levels; each row starts with a 5-pixel literal run, then repeats.
idx = [((p[0] * 3 + p[1] * 6 + p[2]) // 10) >> 4 for p in px]
pal = b''.join(bytes((i * 17, i * 17, i * 17, 0)) for i in range(16))
rle = b''
for y in range(H - 1, -1, -1):
	r = idx[y*W:(y+1)*W]
	lit = r[:5]
	rle += bytes((0, 5, lit[0] << 4 | lit[1], lit[2] << 4 | lit[3], lit[4] << 4, 0))
	x = 5
	while x < W:
		n = 1
		while x + n < W and r[x + n] == r[x] and n < 255: n += 1
		rle += bytes((n, r[x] << 4 | r[x]))
		x += n
	rle += b'\0\0'
rle += b'\0\1'
bmp('bmp-rle4.bmp', info(4, 2, len(rle), colors=16), pal, [rle]); out('bmp-rle4.rgba', [(i * 17, i * 17, i * 17, 255) for i in idx])
# TGA 16-bit (1555 with the alpha bit), top-left origin.
hdr = struct.pack('<BBBHHBHHHHBB', 0, 0, 2, 0, 0, 0, 0, 0, W, H, 16, 0x21)
body = b''.join(struct.pack('<H', (0x8000 if p[1] > 100 else 0) | (p[0] >> 3) << 10 | (p[1] >> 3) << 5 | p[2] >> 3) for p in px)
open('tga-16.tga', 'wb').write(hdr + body)
out('tga-16.rgba', [(sc(p[0] >> 3, 31), sc(p[1] >> 3, 31), sc(p[2] >> 3, 31), 255 if p[1] > 100 else 0) for p in px])
PY
for f in bmp-565 bmp-555td bmp-32x bmp-rle4 tga-16; do e=${f%%-*}; run "$check" compare $f.$e 0 $f.rgba; done

# ICO / CUR: BMP- and PNG-embedded entries; the largest one is chosen.
convert srca.png -define icon:auto-resize=48,32,16 ico-bmp.ico
ref ico-bmp.ico 0 -delete 1--1
convert -size 256x256 gradient:yellow-purple -alpha set -channel A -fx "i/w" +channel -depth 8 big.png
convert src.png big.png ico-png.ico
ref ico-png.ico 0 -delete 0
python3 - ico-bmp.ico cur-bmp.cur <<'PY'
import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[2] = 2; open(sys.argv[2], 'wb').write(d)
PY
run "$check" compare cur-bmp.cur 0 ref-ico-bmp.ico/*.rgba

# PNM: ASCII and binary, 16-bit, other maxvals, PAM with alpha.
convert src.png -monochrome -compress none pbm-ascii.pbm; ref pbm-ascii.pbm 0
convert src.png -monochrome pbm-bin.pbm;                  ref pbm-bin.pbm 0
convert src.png -colorspace gray -compress none pgm-ascii.pgm; ref pgm-ascii.pgm 0
convert src.png -colorspace gray pgm-bin.pgm;             ref pgm-bin.pgm 0
convert src.png -compress none ppm-ascii.ppm;             ref ppm-ascii.ppm 0
convert src.png ppm-bin.ppm;                              ref ppm-bin.ppm 0
convert src.png -depth 16 ppm-16.ppm;                     ref ppm-16.ppm 0
convert src.png -colorspace gray -depth 16 pgm-16.pgm;    ref pgm-16.pgm 1
pamdepth 15 ppm-bin.ppm > ppm-max15.ppm;                  ref ppm-max15.ppm 1
convert srca.png pam-rgba.pam;                            ref pam-rgba.pam 0
convert srca.png -colorspace gray pam-graya.pam;          ref pam-graya.pam 0

# QOI
qoiconv src.png qoi-rgb.qoi >/dev/null;   run "$check" compare qoi-rgb.qoi 0 ref-png-rgb.png/000.rgba
qoiconv srca.png qoi-rgba.qoi >/dev/null; run "$check" compare qoi-rgba.qoi 0 ref-png-rgba.png/000.rgba

# TGA: true-colour, alpha, grayscale, colour-mapped, RLE. ImageMagick 6.9
# stores TGA rows top-first while flagging bottom-up (and reads them back
# the same way; netpbm's tgatoppm agrees with us), so its reference is
# flipped; netpbm-written files are compared with the source itself.
convert src.png tga-24.tga;                           ref tga-24.tga 0 -flip
convert srca.png tga-32.tga;                          ref tga-32.tga 0 -flip
convert src.png -compress RLE tga-24rle.tga;          ref tga-24rle.tga 0 -flip
convert src.png -colorspace gray -type Grayscale tga-gray.tga; ref tga-gray.tga 0 -flip
convert src200.png -type Palette tga-cmap.tga;        ref tga-cmap.tga 0 -flip
convert src200.png -type Palette -compress RLE tga-cmaprle.tga; ref tga-cmaprle.tga 0 -flip
convert src.png ppm:- | ppmtotga -rgb > tga-netpbm-rle.tga 2>/dev/null
convert src.png ppm:- | ppmtotga -rgb -norle > tga-netpbm.tga 2>/dev/null
run "$check" compare tga-netpbm-rle.tga 0 ref-png-rgb.png/000.rgba
run "$check" compare tga-netpbm.tga 0 ref-png-rgb.png/000.rgba

# WebP: lossy, lossless, lossy with alpha, animated lossless.
cwebp -quiet -q 80 src.png -o webp-lossy.webp;          ref webp-lossy.webp 2
cwebp -quiet -lossless srca.png -o webp-lossless.webp;   ref webp-lossless.webp 0
cwebp -quiet -q 80 -alpha_q 100 srca.png -o webp-alpha.webp; ref webp-alpha.webp 2
img2webp -loop 2 -lossless -d 80 af0.png af1.png af2.png af3.png -o webp-anim.webp >/dev/null 2>&1
run "$check" compare webp-anim.webp 0 af0.rgba af1.rgba af2.rgba af3.rgba
info=$("$check" info webp-anim.webp); echo "info webp-anim.webp: $info"
[[ $info == "webp 40x30 4 2 80 80 80 80" ]] || { echo "FAIL webp-anim.webp info: $info"; fails=$((fails + 1)); }

# Hostile input: truncations and mutations of every file must end cleanly.
for f in *.png *.jpg *.gif *.bmp *.ico *.cur *.pbm *.pgm *.ppm *.pam *.qoi *.tga *.webp; do
	[ -f "$f" ] && run "$check" robust "$f"
done

# Decompression bombs: sizes over the limits are refused before allocation.
python3 - <<'PY'
import struct, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
ihdr = struct.pack('>IIBBBBB', 60000, 60000, 8, 6, 0, 0, 0)
row = zlib.compressobj(9)
data = b''.join(row.compress(b'\0' * 240001) for _ in range(16)) + row.flush()
open('bomb.png', 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', data) + chunk(b'IEND', b''))
# GIF: 65535x65535 screen holding one 1x1 frame.
gif = b'GIF89a' + struct.pack('<HHBBB', 65535, 65535, 0x80, 0, 0) + b'\0\0\0\xff\xff\xff'
gif += b',' + struct.pack('<HHHHB', 0, 0, 1, 1, 0) + b'\x02\x02\x44\x01\x00;'
open('bomb.gif', 'wb').write(gif)
# PNM: a header promising 65535x65535 with a few bytes of data.
open('bomb.ppm', 'wb').write(b'P6 65535 65535 255\n' + b'\0' * 64)
# BMP declaring 60000x60000 at 32 bits.
bmp = b'BM' + struct.pack('<IHHI', 0, 0, 0, 54) + struct.pack('<IiiHHIIiiII', 40, 60000, 60000, 1, 32, 0, 0, 0, 0, 0, 0)
open('bomb.bmp', 'wb').write(bmp + b'\0' * 64)
PY
for f in bomb.png bomb.gif bomb.ppm bomb.bmp; do run "$check" expect $f toolarge; done
head -c 1000 jpg-base.jpg > trunc.jpg; run "$check" expect trunc.jpg truncated
# A header claiming 8000x8000 over the data of 64x64, baseline and
# progressive: libjpeg meets EOI early ("premature end of data segment")
# and would fill the rest with grey. Issue 12: refused as truncated.
convert -size 64x64 gradient:red-blue -quality 90 small.jpg
convert small.jpg -interlace Plane small-prog.jpg
for f in small small-prog; do
	python3 - $f.jpg $f-8000.jpg <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read()); i = 2
while d[i + 1] not in (0xc0, 0xc1, 0xc2): i += 2 + struct.unpack_from('>H', d, i + 2)[0]
struct.pack_into('>HH', d, i + 5, 8000, 8000)  # SOFn: length, precision, height, width
open(sys.argv[2], 'wb').write(d)
PY
	run "$check" expect $f-8000.jpg truncated
done
# Guards against: a per-frame pixel limit checked against the wrong
# bound. A JPEG header claiming 30000x2300 (69 Mpx, over IMG_MAX_PIXELS'
# 64 Mpx, under the 128 Mpx of all frames) is refused from its header.
python3 - small.jpg jpg-big.jpg <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read()); i = 2
while d[i + 1] not in (0xc0, 0xc1, 0xc2): i += 2 + struct.unpack_from('>H', d, i + 2)[0]
struct.pack_into('>HH', d, i + 5, 2300, 30000)  # SOFn: height, width
open(sys.argv[2], 'wb').write(d)
PY
run "$check" expect jpg-big.jpg toolarge
head -c 300 png-rgb.png > trunc.png;  run "$check" expect trunc.png truncated
head -c 200 gif-anim.gif > trunc.gif; run "$check" expect trunc.gif truncated
printf 'hello world, not an image at all' > text.txt; run "$check" expect text.txt unsupported
cp png-rgb.png crc.png; printf '\xff' | dd of=crc.png bs=1 seek=40 conv=notrunc 2>/dev/null
run "$check" expect crc.png corrupt

echo "corpus: $fails failure(s)"
[ $fails -eq 0 ]
