"""Generated C: structure, the C API, gcc/arm-none-eabi-gcc with -Werror, CRC and checkpoints.

The structure tests run the generator with stand-in emitters that only touch every tensor
reference (so they do not depend on the kernels); what the kernels compute is checked
against tte.reference in test_sim.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from models import example_int8

from tte.compiler import emit
from tte.compiler.analysis import Analysis, analyze
from tte.compiler.codegen import CSRC, generate
from tte.compiler.emit import Emitted
from tte.compiler.emit.block import fc_replaced, pw_replaced
from tte.errors import UnsupportedOpError
from tte.ir import Graph, Node
from tte.targets.cbuild import kernel_sources
from tte.training.data import fashion_mnist

ARM_FLAGS = [["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
             ["-mcpu=cortex-m0plus", "-mthumb"]]
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off"]




def touch_emitter(node: Node, g: Graph, ref: emit.Ref, prefix: str) -> Emitted:
    refs = [ref(t) for t in node.inputs + node.outputs if t]
    return Emitted([f"static const int32_t {prefix}tag = {len(refs)};"],
                   [f"(void){r};" for r in refs] + [f"(void){prefix}tag;"])


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    from tte.ir import OPS
    monkeypatch.setattr(emit, "EMITTERS", {op: touch_emitter for op in OPS})


def analysis(scheme: str = "last-k:2") -> Analysis:
    return analyze(example_int8(), scheme=scheme, budget_bytes=1 << 30)


def test_missing_emitters_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emit, "EMITTERS", {})
    with pytest.raises(UnsupportedOpError) as e:
        generate(analysis(), "m")
    assert "conv2d" in str(e.value) and "conv2d_weight_update" in str(e.value)


def test_layout_api_and_storage(stand_in: None) -> None:
    a = analysis()
    src = generate(a, "fm")
    c, h = src["fm.c"], src["fm.h"]
    fwd = a.forward
    x = fwd.tensors[fwd.inputs[0]]
    assert "typedef int8_t tte_input_t;" in h and "typedef int8_t tte_output_t;" in h
    for proto in ("void tte_init(void);", "void tte_infer(const tte_input_t *in, tte_output_t *out);",
                  "float tte_train_step(const tte_input_t *in, int32_t label);", "uint32_t tte_trainable_crc32(void);",
                  "void tte_get_weights(uint8_t *dst);", "void tte_set_weights(const uint8_t *src);",
                  "void tte_get_weights_range(uint8_t *dst, uint32_t off, uint32_t n);",
                  "void tte_set_weights_range(const uint8_t *src, uint32_t off, uint32_t n);"):
        assert proto in h
    assert f"#define TTE_INPUT_BYTES {x.nbytes}" in h
    assert "#define TTE_NUM_CLASSES 10" in h
    assert f"#define TTE_ARENA_BYTES {a.report['arena_bytes']}" in h
    assert f"#define TTE_TRAINABLE_BYTES {a.report['trainable_bytes']}" in h
    assert re.search(r"#define TTE_INPUT_ZERO_POINT -?\d+", h) and "#define TTE_INPUT_SCALE 0x" in h
    assert f"uint8_t bytes[{a.report['arena_bytes']}]" in c
    assert "malloc" not in c and "#include <stdio.h>" not in c
    assert re.findall(r"#include <(\w+\.h)>", c) == ["string.h"]
    # trained parameters are writable arrays, frozen ones const; every trained tensor, none twice
    for p in a.training.updates:
        t = fwd.tensors[p]
        assert re.search(rf"^static {'int8_t' if t.dtype == 'int8' else 'int32_t'} tte_p_\w+\[{t.size}\] = ",
                         c, re.M), p
    # (less those a compile-time layout replaces: tte.compiler.emit.block.fc_replaced, pw_replaced)
    graphs = (a.scheduled.graph, a.inference.graph)
    frozen = [k for k, t in fwd.tensors.items() if t.is_const and k not in a.training.updates
              and not fc_replaced(k, graphs) and not pw_replaced(k, graphs)]
    assert len(re.findall(r"^static const (?:int8_t|int32_t) tte_w_", c, re.M)) == len(frozen)
    assert "static int32_t tte_step[1];" in c


def test_regression_api(stand_in: None) -> None:
    a = analyze(example_int8(), scheme="classifier-only", loss="mse", budget_bytes=1 << 30)
    h = generate(a, "reg")["reg.h"]
    assert "float tte_train_step_regression(const tte_input_t *in, const float *target);" in h
    assert "tte_train_step(const tte_input_t *in, int32_t label)" not in h
    assert f"#define TTE_TARGET_BYTES {a.training.graph.tensors[a.training.label].nbytes}" in h


def _compile(cc: str, flags: list[str], src: dict[str, str], tmp: Path) -> None:
    for k, v in src.items():
        (tmp / k).write_text(v)
    files = [tmp / "fm.c", *kernel_sources()]
    for f in files:
        r = subprocess.run([cc, *flags, *STRICT, "-I", str(tmp), "-I", str(CSRC / "include"), "-c", str(f),
                            "-o", str(tmp / (f.stem + ".o"))], capture_output=True, text=True)
        assert r.returncode == 0, f"{cc} {' '.join(flags)} {f.name}:\n{r.stderr}"


def test_generated_c_is_strict_c99_on_gcc(stand_in: None, tmp_path: Path) -> None:
    _compile("gcc", ["-O2"], generate(analysis("full"), "fm"), tmp_path)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no arm-none-eabi-gcc")
@pytest.mark.parametrize("flags", ARM_FLAGS, ids=["cortex-m7", "cortex-m0plus"])
def test_generated_c_is_strict_c99_on_arm(stand_in: None, tmp_path: Path, flags: list[str]) -> None:
    _compile("arm-none-eabi-gcc", ["-Os", *flags], generate(analysis(), "fm"), tmp_path)


def test_crc_and_checkpoint_round_trip_in_c(stand_in: None) -> None:
    from tte.targets.sim import Simulator

    a = analysis()
    sim = Simulator(a, generate(a, "fmcrc"), "fmcrc")
    fwd = a.forward
    want = b"".join(fwd.tensors[p].data.tobytes() for p in a.training.updates)  # type: ignore[union-attr]
    assert sim.crc32() == zlib.crc32(want) & 0xFFFFFFFF       # CRC-32/ISO-HDLC, plan order
    w = sim.weights()
    for p in a.training.updates:
        np.testing.assert_array_equal(w[p], fwd.tensors[p].data)
    changed = {p: (v.astype(np.int64) + 1).clip(np.iinfo(v.dtype).min, np.iinfo(v.dtype).max).astype(v.dtype)
               for p, v in w.items()}
    sim.set_weights(changed)
    got = sim.weights()
    for p in changed:
        np.testing.assert_array_equal(got[p], changed[p])
    assert sim.crc32() == zlib.crc32(b"".join(changed[p].tobytes() for p in a.training.updates)) & 0xFFFFFFFF
    # a second simulator of the same build keeps its own weights
    other = Simulator(a, generate(a, "fmcrc"), "fmcrc")
    assert other.crc32() == zlib.crc32(want) & 0xFFFFFFFF
    assert sim.crc32() != other.crc32()


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no arm-none-eabi-gcc")
@pytest.mark.parametrize("flags", ARM_FLAGS, ids=["cortex-m7", "cortex-m0plus"])
def test_generated_c_with_the_real_kernels_is_strict_c99_on_arm(tmp_path: Path, flags: list[str]) -> None:
    a = analysis()
    _compile("arm-none-eabi-gcc", ["-Os", *flags], generate(a, "fm"), tmp_path)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="no arm-none-eabi-gcc")
def test_kernels_build_in_an_unoptimized_firmware(tmp_path: Path) -> None:
    """A Debug build (-O0) of the user's firmware: the kernels' inline assembly still finds its
    registers (tte/internal/optimized.h compiles them optimized)."""
    _compile("arm-none-eabi-gcc", ["-O0", *ARM_FLAGS[0]], generate(analysis(), "fm"), tmp_path)


def test_engine_c_trainer_matches_the_reference_crc() -> None:
    from tte.training.trainer import Trainer

    g = example_int8()
    xs, ys = fashion_mnist("train")
    trs = [Trainer(g, scheme="last-k:2", engine=e, lr=0.05) for e in ("ref", "c")]
    untrained = trs[0].weights_crc32()
    for i in range(20):
        losses = [t.step(xs[i:i + 1], ys[i:i + 1]) for t in trs]
        assert abs(losses[0] - losses[1]) < 1e-4
    assert trs[0].weights_crc32() == trs[1].weights_crc32() != untrained
    assert trs[1].evaluate(xs[:50], ys[:50]) == trs[0].evaluate(xs[:50], ys[:50])
