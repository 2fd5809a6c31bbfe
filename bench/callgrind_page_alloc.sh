#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Instructions per step of every bench_page_alloc case, counted by callgrind.
#
#   bench/callgrind_page_alloc.sh [BENCH [ARGS...]]
#
# BENCH defaults to build/bench/bench_page_alloc; ARGS go to it after
# --callgrind (e.g. --iters 20000, --only pcp0). The bench zeroes callgrind's
# counters before each case's loop and dumps them after it, so each dump holds
# one loop; this script divides each dump's Ir by the steps the bench printed.
# The dumps stay in the directory named on the last line, for
# callgrind_annotate (they were collected with --dump-instr=yes).
set -eu

bench=${1:-build/bench/bench_page_alloc}
[ $# -gt 0 ] && shift
dir=$(mktemp -d "${TMPDIR:-/tmp}/callgrind-page-alloc.XXXXXX")

valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$dir/cg.out" \
	"$bench" --callgrind "$@" >"$dir/bench.log" 2>"$dir/valgrind.log" || {
	echo "callgrind_page_alloc: the run failed; see $dir/valgrind.log" >&2
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
