#!/usr/bin/env bash
# The quantization results table of the README: SmolLM2-135M on WikiText-2,
# one row per recipe, all on the same context and tokens. Calibrates once on
# the validation split (never the evaluation text), quantizes with each
# recipe, measures perplexity and reports the weights' size.
#
#   bench/quantization-table.sh [CHUNKS] [SAMPLES] [ROWS]
#
# CHUNKS windows of 512 tokens (default 40), SAMPLES calibration samples of
# 512 tokens (default 16); ROWS, a regular expression, picks the rows by
# name (default all).
#
# Prints a Markdown table on stdout; the logs go to $LOWBIT_BUILD_DIR/quant.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LOWBIT_BUILD_DIR:-$root/build}"
chunks="${1:-40}"
samples="${2:-16}"
pick="${3:-.}"
run="$build/bin/lowbit-run"
data="$root/../shared/data/text"
eval_text="$data/wikitext2_wiki.test.raw"
calib_text="$data/wikitext2_tokenized.valid.txt"
out="$build/quant"
mkdir -p "$out"

model="$build/models/smollm2-135m.mlirbc"
if [[ ! -f "$model" ]]; then
  "$root/scripts/fetch-models.sh" >&2
  "$run" import "$root/models/SmolLM2-135M-Instruct.Q4_1.gguf" -o "$model" \
    --ctx 512 --entries 1,64 >&2
fi
stats="$out/smollm2.stats.mlirbc"
if [[ ! -f "$stats" ]]; then
  echo "== calibrating on $samples samples of 512 tokens" >&2
  "$run" calibrate "$model" "$calib_text" -o "$stats" --samples "$samples" \
    --ctx 512 >&2
fi

# name | recipe ("" for the float model)
rows=(
  "float (f32)|"
  "W8A8 naive (RTN, per-token int8)|w8a8-rtn"
  "W8A8 SmoothQuant (alpha 0.5)|w8a8-smoothquant"
  "W4A16 g64 RTN|w4a16-rtn{group=64}"
  "W4A16 g64 AWQ|w4a16-awq{group=64}"
  "W4A16 g64 GPTQ|w4a16-gptq{group=64}"
  "W4A16 g64 SmoothQuant+|w4a16-smoothquant-plus{group=64}"
  "W4A4 g64 naive (RTN)|w4a4-rtn{group=64}"
  "W4A4 g64 SVDQuant (rank 32)|w4a4-svdquant{group=64 rank=32}"
  "W3A16 g64 GPTQ|w3a16-gptq{group=64}"
  "W2A16 g64 GPTQ|w2a16-gptq{group=64}"
  "W2 g64 PTQ1.61-style (10% of channels in int4)|w2-ptq161{group=64 fraction=0.1}"
  "W2 g64 PTQ1.61-style (25% of channels in int4)|w2-ptq161{group=64 fraction=0.25}"
)

echo "| model | perplexity | weight bytes | quantize time | command |"
echo "| --- | --- | --- | --- | --- |"
for row in "${rows[@]}"; do
  name="${row%%|*}"
  recipe="${row#*|}"
  [[ "$name" =~ $pick ]] || continue
  file="$model"
  seconds="-"
  command="lowbit-run perplexity MODEL WIKITEXT --ctx 512 --chunks $chunks"
  if [[ -n "$recipe" ]]; then
    tag="$(echo "$recipe" | tr -c 'a-z0-9\n' '_')"
    file="$out/$tag.mlirbc"
    echo "== $recipe" >&2
    start=$(date +%s)
    "$run" quantize "$model" --recipe "$recipe" --stats "$stats" -o "$file" \
      > "$out/$tag.quantize.log" 2>&1
    seconds="$(( $(date +%s) - start )) s"
    command="lowbit-run quantize MODEL --recipe \"$recipe\" --stats STATS -o OUT.mlirbc"
    bytes=$(sed -n 's/.*(\([0-9]*\) bytes of weights).*/\1/p' "$out/$tag.quantize.log")
  else
    tag=float
    file="$out/float.mlirbc"
    "$run" import "$root/models/SmolLM2-135M-Instruct.Q4_1.gguf" -o "$file" \
      --ctx 512 --entries 1,64 > "$out/float.import.log" 2>&1
    bytes=$(sed -n 's/.*(\([0-9]*\) bytes of weights).*/\1/p' "$out/float.import.log")
  fi
  ppl=$("$run" perplexity "$file" "$eval_text" --ctx 512 --chunks "$chunks" \
        2> "$out/$tag.perplexity.log" | sed -n 's/^perplexity: \([0-9.]*\).*/\1/p')
  echo "| $name | $ppl | $bytes | $seconds | \`$command\` |"
done
