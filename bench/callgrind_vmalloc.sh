#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Instructions per step of every bench_vmalloc case, counted by callgrind.
#
#   bench/callgrind_vmalloc.sh [BENCH [ARGS...]]
#
# BENCH defaults to build/bench/bench_vmalloc; ARGS go to it after --callgrind
# (e.g. --iters 20000, --only vzalloc4). bench/callgrind_bench.sh does the
# work and says where the dumps are.
set -eu

bench=${1:-build/bench/bench_vmalloc}
[ $# -gt 0 ] && shift
exec "$(dirname "$0")/callgrind_bench.sh" "$bench" "$@"
