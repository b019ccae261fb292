#!/usr/bin/env bash
# GPU decode: compiles the GPU artefacts the README's decode table measures
# (float16 and W4A16 builds of stories260K with its real weights, and of the
# SmolLM2-135M and 7B Llama shapes with seeded random weights), then, where
# a CUDA driver is present, checks every artefact's step against its host
# reference and times decode. Without a GPU it stops after compiling: copy
# the output directory, build/bin/lowbit-gpu-check, build/bin/lowbit-bench-
# decode and build/lib/liblowbit{,_cuda}.so to a GPU machine and run the two
# commands it prints.
#
#   bench/gpu/decode-bench.sh [OUT]        (default build/gpu-decode)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${LOWBIT_BUILD_DIR:-$root/build}/bin"
out="${1:-$root/build/gpu-decode}"
stories="$root/../shared/data/stories260K/stories260K.bin"
mkdir -p "$out"

compile() { # MODEL RECIPE NAME [options]
  local model="$1" recipe="$2" name="$3"
  shift 3
  "$bin/quant-compile" "$model" --recipe "$recipe" --target cuda \
    -o "$out/$name" "$@" > /dev/null
  echo "compiled $out/$name"
}
compile "$stories" none stories260k-f16
compile "$stories" "w4a16-rtn{group=64}" stories260k-w4
for config in smollm2-135m llama-7b; do
  group=128
  [[ $config == smollm2-135m ]] && group=64 # 576 channels: groups of 64
  compile "$root/bench/gpu/configs/$config.json" none "$config-f16" \
    --random-weights 1 --ctx 1024
  compile "$root/bench/gpu/configs/$config.json" "w4a16-rtn{group=$group}" \
    "$config-w4" --random-weights 1 --ctx 1024
  compile "$root/bench/gpu/configs/$config.json" \
    "w4a16-rtn{group=$group head=w4}" "$config-w4-headw4" --random-weights 1 \
    --ctx 1024
done

check="$bin/lowbit-gpu-check --model $out/stories260k-f16 --model $out/stories260k-w4 --model $out/smollm2-135m-f16 --model $out/smollm2-135m-w4 --steps 300"
bench="$bin/lowbit-bench-decode $out/smollm2-135m-f16 $out/smollm2-135m-w4 $out/smollm2-135m-w4-headw4 $out/llama-7b-f16 $out/llama-7b-w4 $out/llama-7b-w4-headw4 --tokens 256"
if ! python3 -c 'import ctypes; ctypes.CDLL("libcuda.so.1")' 2> /dev/null; then
  echo "no CUDA driver here; on a GPU machine run:"
  echo "  $check"
  echo "  $bench"
  exit 0
fi
$check
$bench
