#!/usr/bin/env bash
# The main job: sets up the machine, builds LowBit, fetches SmolLM2-135M
# (a GGUF checkpoint), imports it into float IR with its tokenizer, compiles
# a W4A16 artefact of it ahead of time and generates with that, then
# measures the float model's WikiText-2 perplexity on a default slice,
# printing tokens/s throughout.
#
#   scripts/run.sh                # 16 windows of 512 tokens
#   LOWBIT_PPL_CHUNKS=0 scripts/run.sh   # the whole test set (about an hour)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LOWBIT_BUILD_DIR:-$root/build}"
chunks="${LOWBIT_PPL_CHUNKS:-16}"
text="$root/../shared/data/text/wikitext2_wiki.test.raw"

"$root/scripts/setup.sh"
"$root/scripts/build.sh"
"$root/scripts/fetch-models.sh"

run="$build/bin/lowbit-run"
gguf="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
model="$build/models/smollm2-135m.mlirbc"
mkdir -p "$(dirname "$model")"

echo "== lowbit-run import (GGUF -> float IR with the tokenizer)"
"$run" import "$gguf" -o "$model" --ctx 512 --entries 1,64
artefact="$build/artefacts/smollm2-w4a16"
echo "== quant-compile (W4A16, RTN, groups of 64 -> shared library + weights)"
"$build/bin/quant-compile" "$model" --recipe "w4a16-rtn{group=64}" -o "$artefact"
echo "== lowbit-run generate with the W4A16 artefact (greedy)"
"$run" generate "$artefact" --prompt "The three primary colors are" -n 48
echo "== lowbit-run perplexity (WikiText-2 test, ctx 512)"
if [[ "$chunks" -gt 0 ]]; then
  "$run" perplexity "$model" "$text" --ctx 512 --chunks "$chunks"
else
  "$run" perplexity "$model" "$text" --ctx 512
fi
