"""LowBit from Python: compile a model with a recipe, run the artefact.

    import lowbit
    lowbit.compile("SmolLM2.gguf", "w4a16-rtn{group=64}", "build/smollm2-w4")
    with lowbit.Model("build/smollm2-w4") as model:
        logits = model.forward([1, 504, 3458])      # numpy [3, vocab]
        ids = model.generate([1, 504, 3458], 16)    # greedy token ids
        ppl = lowbit.perplexity(model, token_ids, ctx=512)

Compiling runs the quant-compile tool (it needs LLVM); running needs only
liblowbit, which this package's extension is linked against.
"""

import math
import os
import shutil
import subprocess

import numpy as np

from ._lowbit import Model as _Model

__all__ = ["Model", "compile", "perplexity"]


class Model(_Model):
    """An opened artefact (see quant-compile); usable as a context manager."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _find_tool(name):
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.environ.get("LOWBIT_BIN_DIR"),
                      os.path.join(here, "..", "..", "bin")):
        if candidate and os.path.isfile(os.path.join(candidate, name)):
            return os.path.join(candidate, name)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(
            f"{name} not found: build LowBit, or set LOWBIT_BIN_DIR")
    return found


def compile(model, recipe, output, target="host", stats=None, calib=None,
            ctx=512, entries=(1, 64), chip=None, random_weights=None):
    """Compiles `model` with `recipe` (`none`: float) into the artefact
    directory `output`; returns `output`. Raises RuntimeError with
    quant-compile's message on failure. With target="cuda" the artefact
    runs on an NVIDIA GPU (`chip`, default sm_90); `random_weights=SEED`
    writes none and lets the runtime draw them (speed runs; `model` may then
    be a config.json)."""
    command = [_find_tool("quant-compile"), str(model), "--recipe", recipe,
               "--target", target, "--ctx", str(ctx), "-o", str(output)]
    # GPU artefacts run one token a step: they have no entry points.
    if target != "cuda":
        command += ["--entries", ",".join(str(e) for e in entries)]
    if chip:
        command += ["--chip", str(chip)]
    if random_weights is not None:
        command += ["--random-weights", str(int(random_weights))]
    if stats:
        command += ["--stats", str(stats)]
    if calib:
        command += ["--calib", str(calib)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip() or "quant-compile failed")
    return output


def perplexity(model, tokens, ctx=512, chunks=None):
    """Perplexity over `tokens` by llama.cpp's method: windows of `ctx`
    tokens, the second half of each scored. Returns (perplexity, scored)."""
    tokens = [int(t) for t in tokens]
    if ctx < 2 or ctx > model.context_length:
        raise ValueError(f"ctx must be between 2 and the model's context "
                         f"{model.context_length}")
    windows = len(tokens) // ctx
    if chunks is not None:
        windows = min(windows, chunks)
    if windows < 1:
        raise ValueError("fewer tokens than one window")
    total, scored = 0.0, 0
    for w in range(windows):
        window = tokens[w * ctx:(w + 1) * ctx]
        model.reset()
        logits = model.forward(window).astype(np.float64)
        for i in range(ctx // 2, ctx - 1):
            row = logits[i]
            top = row.max()
            log_sum = top + math.log(np.exp(row - top).sum())
            total += log_sum - row[window[i + 1]]
            scored += 1
    model.reset()
    return math.exp(total / scored), scored
