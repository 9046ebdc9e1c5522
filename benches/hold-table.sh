#!/usr/bin/env bash
# Prints the hold-model table for docs/performance.md: median ns/event of 5 runs per engine and N.
# Usage: benches/hold-table.sh [events]   (default 2,000,000 hold steps per run)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-2000000}
cargo build --release -q -p sim-core --example hold
bin=./target/release/examples/hold
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '| N | sim-core ns/event | heap ns/event | simcore ns/event | priority-queue ns/event | sim-core / heap | simcore / sim-core |\n'
printf '|---|---|---|---|---|---|---|\n'
for n in 1000 10000 100000 1000000; do
  declare -A m=()
  for e in sim-core heap simcore priority-queue; do
    m[$e]=$(for r in 1 2 3 4 5; do $bin --engine $e --pending $n --events "$events" --seed $r | sed 's/.*ns_per_event=\([0-9.]*\).*/\1/'; done | median)
  done
  printf '| %s | %s | %s | %s | %s | %.2f | %.2f |\n' "$n" "${m[sim-core]}" "${m[heap]}" "${m[simcore]}" "${m[priority-queue]}" \
    "$(echo "${m[sim-core]} / ${m[heap]}" | bc -l)" "$(echo "${m[simcore]} / ${m[sim-core]}" | bc -l)"
done
