#!/usr/bin/env bash
# Configures (once) and builds LowBit into build/ against LLVM/MLIR 22.
# Usage: scripts/build.sh [extra targets...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LOWBIT_BUILD_DIR:-$root/build}"
llvm=/usr/lib/llvm-22

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DMLIR_DIR="$llvm/lib/cmake/mlir" \
    -DLLVM_EXTERNAL_LIT="$llvm/bin/lit"
fi
cmake --build "$build" --target all "$@"
