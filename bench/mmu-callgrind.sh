#!/bin/sh
# SPDX-License-Identifier: MIT
# Instructions per operation of each bench_mmu benchmark, from callgrind: run
# it with N and 2N iterations and divide the difference in instructions
# executed (Ir) by N, so that setup and teardown cancel out.
#
#   bench/mmu-callgrind.sh build/bench/bench_mmu [N] [benchmark...]
set -eu
bench=${1:?usage: mmu-callgrind.sh BENCH_MMU [N] [BENCHMARK...]}
n=${2:-200000}
shift $(( $# >= 2 ? 2 : 1 ))
names=${*:-"loop l1_hit l1_hit_same l1_hit_api walk4_nopwc walk4_pwc walk5_nopwc walk5_pwc replay_1g replay_2m replay_4k replay_1g_api"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() {
	valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bench" --only "$1" --iters "$2" \
		>/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
	sed -n 's/^summary: *//p' "$tmp/out"
}
printf '%-14s %12s\n' benchmark 'instr/op'
for b in $names; do
	a=$(ir "$b" "$n")
	c=$(ir "$b" $((2 * n)))
	printf '%-14s %12.1f\n' "$b" "$(echo "($c - $a) / $n" | bc -l)"
done
