#!/bin/bash
# make-seeds.sh — regenerate the small seed files in
# fuzz/corpus/imagedecoder-<format>/ with Debian's image tools (one file
# per variant the decoder has a branch for). Run by hand; seeds are committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/imagedecoder-seeds.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
convert -size 13x9 gradient:red-blue -fill lime -draw "point 3,3" -depth 8 s.png
convert s.png -alpha set -channel A -fx "i/w" +channel -depth 8 a.png
for i in 0 1 2; do convert -size 8x6 xc:none -fill "rgb($((i * 80)),50,200)" -draw "rectangle $i,1 $((i + 3)),4" PNG32:f$i.png; done
c() { mkdir -p "$root/fuzz/corpus/imagedecoder-$1"; cp "$2" "$root/fuzz/corpus/imagedecoder-$1/$3"; }
convert s.png PNG24:x && c png x rgb.png; convert a.png PNG32:x && c png x rgba.png
convert s.png -colors 8 PNG8:x && c png x pal.png; convert s.png -interlace PNG -depth 16 PNG48:x && c png x i16.png
apngasm x f0.png f1.png f2.png 1 10 >/dev/null && c png x anim.png
convert s.png -quality 80 jpg:x && c jpeg x base.jpg; convert s.png -interlace Plane jpg:x && c jpeg x prog.jpg
convert s.png -colorspace CMYK jpg:x && c jpeg x cmyk.jpg; convert s.png -colorspace gray jpg:x && c jpeg x gray.jpg
cp "$root/fuzz/corpus/imagedecoder-jpeg/base.jpg" o.jpg && exiftool -q -overwrite_original -n -Orientation=6 o.jpg && c jpeg o.jpg orient6.jpg
# Colour: small ICC profiles from Ghostscript's (libgs-common) for lcms2.
icc=/usr/share/color/icc/ghostscript
convert s.png -profile $icc/a98.icc PNG24:x && c png x icc.png
convert s.png -colorspace gray -profile $icc/ps_gray.icc -define png:color-type=0 png:x && c png x icc-gray.png
convert s.png -quality 80 -profile $icc/a98.icc jpg:x && c jpeg x icc.jpg
convert s.png -profile $icc/srgb.icc -profile $icc/ps_cmyk.icc -quality 80 jpg:x && c jpeg x icc-cmyk.jpg
convert s.png -colors 8 gif:x && c gif x still.gif
convert -delay 5 -dispose Previous f0.png f1.png f2.png -loop 0 gif:x && c gif x anim.gif
cwebp -quiet -q 50 s.png -o x && c webp x lossy.webp; cwebp -quiet -lossless a.png -o x && c webp x lossless.webp
img2webp -lossy f0.png f1.png f2.png -o x >/dev/null 2>&1 && c webp x anim.webp
qoiconv s.png x.qoi >/dev/null && c qoi x.qoi rgb.qoi; qoiconv a.png x.qoi >/dev/null && c qoi x.qoi rgba.qoi
convert s.png BMP3:x && c bmp x 24.bmp; convert s.png -colors 8 -type Palette -compress RLE BMP3:x && c bmp x rle8.bmp
convert a.png BMP:x && c bmp x v5-32.bmp; convert s.png -monochrome BMP2:x && c bmp x core-1.bmp
convert a.png -define icon:auto-resize=32,16 ico:x && c ico x bmp.ico; convert -size 256x256 xc:red a.png ico:x && c ico x png.ico
convert s.png -compress none ppm:x && c pnm x ascii.ppm; convert s.png -depth 16 ppm:x && c pnm x 16.ppm
convert s.png -monochrome pbm:x && c pnm x bin.pbm; convert a.png pam:x && c pnm x rgba.pam
convert s.png tga:x && c tga x 24.tga; convert s.png -colors 8 -type Palette -compress RLE tga:x && c tga x cmaprle.tga
mkdir -p "$root/fuzz/corpus/imagedecoder-sniff"
for d in png jpeg gif webp qoi bmp ico pnm tga; do
	f=$(ls "$root/fuzz/corpus/imagedecoder-$d" | head -1)
	cp "$root/fuzz/corpus/imagedecoder-$d/$f" "$root/fuzz/corpus/imagedecoder-sniff/$d-$f"
done
