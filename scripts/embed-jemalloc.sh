#!/bin/sh
# Link libvmm's jemalloc backend with Debian's libjemalloc_pic.a into one
# relocatable object, then make every symbol local except the backend's own
# entry points. The jemalloc inside libvmm then serves libvmm alone: the
# program that links libvmm (shared or static) keeps its own malloc.
#
# usage: embed-jemalloc.sh LD OBJCOPY OUTPUT WRAPPER.a LIBJEMALLOC_PIC.a KEEP-SYMS
set -eu
ld=$1 objcopy=$2 out=$3 wrapper=$4 jemalloc=$5 keep=$6
"$ld" -r -o "$out.tmp" --whole-archive "$wrapper" --no-whole-archive "$jemalloc"
"$objcopy" --keep-global-symbols="$keep" "$out.tmp" "$out"
rm -f "$out.tmp"
