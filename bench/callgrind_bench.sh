#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Instructions per step of every case of an allocator bench (bench_page_alloc,
# bench_slab, bench_vmalloc), counted by callgrind. bench/callgrind_page_alloc.sh,
# bench/callgrind_slab.sh and bench/callgrind_vmalloc.sh call it with their bench.
#
#   bench/callgrind_bench.sh BENCH [ARGS...]
#
# ARGS go to BENCH after --callgrind (e.g. --iters 20000, --only cache64).
# The bench zeroes callgrind's counters before each case's loop and dumps
# them after it, so each dump holds one loop; this script divides each dump's
# Ir by the steps the bench printed. The dumps stay in the directory named on
# the last line, for callgrind_annotate (they were collected with
# --dump-instr=yes), e.g. callgrind_annotate --inclusive=yes DIR/cg.out.N.
set -eu

bench=$1
shift
prog=$(basename "$bench")
dir=$(mktemp -d "${TMPDIR:-/tmp}/callgrind-${prog#bench_}.XXXXXX")

valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$dir/cg.out" \
	"$bench" --callgrind "$@" >"$dir/bench.log" 2>"$dir/valgrind.log" || {
	echo "callgrind_${prog#bench_}: the run failed; see $dir/valgrind.log" >&2
	exit 1
}

printf '%-16s %12s %10s %10s  %s\n' case Ir steps 'Ir/step' dump
for f in "$dir"/cg.out.*; do
	name=$(sed -n 's/^desc: Trigger: Client Request: bench://p' "$f")
	[ -n "$name" ] || continue
	ir=$(sed -n 's/^summary: //p' "$f")
	steps=$(awk -v n="$name" '$1 == "callgrind" && $3 == n { print $5 }' "$dir/bench.log")
	[ -n "$steps" ] || continue
	awk -v n="$name" -v ir="$ir" -v s="$steps" -v f="${f##*/}" -v i="${f##*.}" \
		'BEGIN { printf "%d\t%-16s %12d %10d %10.1f  %s\n", i, n, ir, s, ir / s, f }'
done | sort -n | cut -f2-
echo "dumps in $dir"
