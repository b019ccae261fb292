#!/usr/bin/env bash
# The main job: sets up the machine, builds LowBit, lowers the shipped W4A16
# MLP example through the reference pipeline to the LLVM dialect and runs it,
# checking it against the unlowered IR on the same seeded inputs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LOWBIT_BUILD_DIR:-$root/build}"

"$root/scripts/setup.sh"
"$root/scripts/build.sh"

example="$root/examples/w4a16-mlp.mlir"
lowered="$build/examples/w4a16-mlp.llvm.mlir"
mkdir -p "$(dirname "$lowered")"
echo "== quant-opt --lowbit-to-llvm $example"
"$build/bin/quant-opt" "$example" --lowbit-to-llvm -o "$lowered"
echo "   wrote $lowered ($(wc -c < "$lowered") bytes)"
echo "== lowbit-run exec (seed 1)"
"$build/bin/lowbit-run" exec "$lowered" --entry mlp --seed 1 -o "$build/examples/out"
echo "== lowbit-run compare: source IR vs lowered IR"
"$build/bin/lowbit-run" compare "$example" "$lowered" --entry mlp --seed 1 --tolerance 0
