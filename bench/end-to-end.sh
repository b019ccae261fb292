#!/usr/bin/env bash
# End-to-end tokens/s of SmolLM2-135M built ahead of time as float32, W8A8 and
# W4A16 artefacts: each is compiled with quant-compile (the compile time is
# printed too), then `lowbit-run generate DIR` prefills a 60-token prompt and
# decodes exactly 96 tokens by sampling (seeded, so the runs are repeatable;
# --ignore-eos: a build that samples the end-of-text token early would
# otherwise time fewer tokens).
#
#   bench/end-to-end.sh [WORKDIR]     # default: build/bench-artefacts
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LOWBIT_BUILD_DIR:-$root/build}"
work="${1:-$build/bench-artefacts}"
model="$build/models/smollm2-135m.mlirbc"
if [[ ! -f "$model" ]]; then
  echo "end-to-end: $model is missing; scripts/run.sh imports it" >&2
  exit 1
fi
prompt="The history of the printing press begins in the fifteenth century, \
when a goldsmith in Mainz combined movable metal type, an oil-based ink and a \
wooden press adapted from those used for wine. Within fifty years printing \
shops had opened in more than two hundred cities across Europe, and"

mkdir -p "$work"
rows=()
for recipe in none w8a8-rtn "w4a16-rtn{group=64}"; do
  name="$(echo "$recipe" | tr -c 'a-z0-9\n' '_')"
  start=$(date +%s.%N)
  "$build/bin/quant-compile" "$model" --recipe "$recipe" -o "$work/$name" \
    >"$work/$name.compile.log" 2>&1
  compile=$(echo "$(date +%s.%N) - $start" | bc)
  line=$("$build/bin/lowbit-run" generate "$work/$name" --prompt "$prompt" \
    -n 96 --temperature 0.7 --seed 1 --ignore-eos | tail -n 1)
  echo "$recipe: $line"
  prefill=$(echo "$line" | sed -E 's/.*prefill: ([0-9]+) tokens in [0-9.]+ s \(([0-9.]+) tokens\/s\).*/\1 \2/')
  decode=$(echo "$line" | sed -E 's/.*decode: ([0-9]+) tokens in [0-9.]+ s \(([0-9.]+) tokens\/s\).*/\1 \2/')
  rows+=("$recipe|$compile|$prefill|$decode")
done

float_decode=$(echo "${rows[0]}" | awk -F'|' '{split($4, d, " "); print d[2]}')
echo
echo "| build | compile | prefill tokens/s | decode tokens/s | decode vs float32 |"
echo "| --- | --- | --- | --- | --- |"
for row in "${rows[@]}"; do
  IFS='|' read -r recipe compile prefill decode <<<"$row"
  read -r ptokens prate <<<"$prefill"
  read -r dtokens drate <<<"$decode"
  printf '| %s | %.1f s | %s (%s tokens) | %s (%s tokens) | %.2fx |\n' \
    "$recipe" "$compile" "$prate" "$ptokens" "$drate" "$dtokens" \
    "$(echo "$drate / $float_decode" | bc -l)"
done
