"""The Python bindings on a real checkpoint (stories260K) compiled ahead of
time: forward, generate, perplexity and the errors of the C API."""

import os
import shutil

import numpy as np
import pytest

import lowbit

SHARED = os.environ.get(
    "LOWBIT_SHARED_DATA",
    os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared",
                 "data"))
CHECKPOINT = os.path.join(SHARED, "stories260K", "stories260K.bin")


@pytest.fixture(scope="module")
def artefact(tmp_path_factory):
    out = tmp_path_factory.mktemp("art") / "w4"
    return lowbit.compile(CHECKPOINT, "w4a16-rtn{group=0}", out, ctx=32,
                          entries=(1, 8))


@pytest.fixture
def model(artefact):
    with lowbit.Model(str(artefact)) as opened:
        yield opened


def test_shape_and_properties(model):
    assert model.vocab_size == 512
    assert model.context_length == 32
    logits = model.forward([1, 403, 407])
    assert logits.shape == (3, 512) and logits.dtype == np.float32
    assert np.isfinite(logits).all() and np.abs(logits).max() > 0
    assert model.position == 3


def test_incremental_forward_matches_one_call(model):
    tokens = [1, 403, 407, 261, 378, 300]
    whole = model.forward(tokens)
    model.reset()
    steps = np.concatenate([model.forward([t]) for t in tokens])
    np.testing.assert_allclose(steps, whole, rtol=1e-4, atol=1e-4)


def test_generate_is_greedy_forward(model):
    prompt = [1, 403, 407]
    ids = model.generate(prompt, 6)
    assert len(ids) == 6
    model.reset()
    context = list(prompt)
    for expected in ids:
        logits = model.forward(context)[-1]
        assert int(np.argmax(logits)) == expected
        model.reset()
        context.append(expected)


def test_perplexity_prefers_the_models_own_text(model):
    own = [1, 403] + model.generate([1, 403], 30)
    model.reset()
    ppl_own, scored = lowbit.perplexity(model, own[:32], ctx=32)
    rng = np.random.default_rng(3)
    noise = [int(t) for t in rng.integers(3, 512, size=32)]
    ppl_noise, _ = lowbit.perplexity(model, noise, ctx=32)
    assert scored == 15
    assert 1.0 <= ppl_own < ppl_noise


def test_errors(model, artefact, tmp_path):
    with pytest.raises(ValueError, match="outside the vocabulary of 512"):
        model.forward([600])
    with pytest.raises(IndexError, match="context overflow"):
        model.forward(list(range(1, 40)))
    with pytest.raises(ValueError, match="at least one token"):
        model.forward([])
    broken = tmp_path / "broken"
    shutil.copytree(artefact, broken)
    with open(broken / "weights.bin", "r+b") as f:
        f.seek(4100)
        byte = f.read(1)
        f.seek(4100)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="is corrupt"):
        lowbit.Model(str(broken))
    with pytest.raises(ValueError, match="cannot be read"):
        lowbit.Model(str(tmp_path / "missing"))
    with pytest.raises(RuntimeError, match="unknown recipe 'w5a5'"):
        lowbit.compile(CHECKPOINT, "w5a5", tmp_path / "x")


def test_closed_model(artefact):
    opened = lowbit.Model(str(artefact))
    opened.close()
    with pytest.raises(ValueError, match="closed"):
        opened.forward([1])


def _have_ptxas():
    cuda = os.environ.get("CUDA_PATH", "/usr/local/cuda")
    return shutil.which("ptxas") or os.access(
        os.path.join(cuda, "bin", "ptxas"), os.X_OK)


def _have_cuda_driver():
    import ctypes
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_gpu_artefact_reference_is_the_float_model(tmp_path):
    """A float16 GPU artefact, run on its host reference, gives the float
    CPU artefact's logits up to the f16 roundings of its activations."""
    gpu = lowbit.compile(CHECKPOINT, "none", tmp_path / "gpu", target="cuda",
                         ctx=32)
    cpu = lowbit.compile(CHECKPOINT, "none", tmp_path / "cpu", ctx=32,
                         entries=(1, 8))
    tokens = [1, 403, 407, 261, 378, 500, 9, 77]
    with lowbit.Model(str(gpu), device="reference") as reference, \
            lowbit.Model(str(cpu)) as exact:
        got, want = reference.forward(tokens), exact.forward(tokens)
    assert got.shape == want.shape == (len(tokens), 512)
    assert np.abs(got - want).max() <= 2e-2 * np.abs(want).max()
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()
    if not _have_cuda_driver():
        with pytest.raises(ValueError, match="GPU error: .*CUDA driver"):
            lowbit.Model(str(gpu))
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        lowbit.Model(str(gpu), device="tpu")
    # A speed-run artefact: the weights drawn from a seed, on the reference
    # the same for the same seed.
    drawn = lowbit.compile(CHECKPOINT, "w4a16-rtn{group=64}", tmp_path / "drawn",
                           target="cuda", ctx=16, random_weights=3)
    assert not (drawn / "weights.bin").exists()
    with lowbit.Model(str(drawn), device="reference") as first, \
            lowbit.Model(str(drawn), device="reference") as second:
        a, b = first.forward(tokens[:4]), second.forward(tokens[:4])
    assert np.isfinite(a).all() and np.abs(a).max() > 0
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="is a CPU artefact"):
        lowbit.Model(str(cpu), device="reference")
