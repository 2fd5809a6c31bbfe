#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Instructions per fault of every bench_fault case (libvmm's side only),
# counted by callgrind.
#
#   bench/callgrind_fault.sh [BENCH [ARGS...]]
#
# BENCH defaults to build/bench/bench_fault; ARGS go to it after --callgrind
# (default --reps 1 --pages 2000: one dump per case). bench/callgrind_bench.sh
# does the work and says where the dumps are.
set -eu

bench=${1:-build/bench/bench_fault}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- --reps 1 --pages 2000
exec "$(dirname "$0")/callgrind_bench.sh" "$bench" "$@"
