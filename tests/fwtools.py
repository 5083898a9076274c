"""Shared helpers for the firmware and QEMU tests: the test model (firmware/test/), QEMU vs host."""

from __future__ import annotations

import copy
import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from tte.compiler.analysis import Analysis
from tte.compiler.codegen import generate
from tte.ir import Graph
from tte.reference import execute
from tte.targets.firmware import FIRMWARE_DIR, ModelSources
from tte.targets.qemu import QemuEngine
from tte.targets.sim import Simulator
from tte.training.trainer import Trainer

needs_arm_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                   reason="arm-none-eabi-gcc not installed (make setup)")
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None,
                                reason="qemu-system-arm not installed (make setup)")

TEST_MODEL_DIR = FIRMWARE_DIR / "test"


def model_sources(*defines: str) -> ModelSources:
    return ModelSources((TEST_MODEL_DIR / "tte_testmodel.c",), "tte_testmodel.h", (TEST_MODEL_DIR,),
                        defines=defines)



def assert_qemu_trains_like_host(q: Graph, scheme: str, xs: np.ndarray, ys: np.ndarray,
                                 board: str = "qemu-mps2-an500") -> None:
    """One step per sample on the firmware in QEMU (`board`: the M7 or the M33) and as host C:
    the same losses step by step, the same trained-weights CRC at the end, and weights that moved."""
    host = Trainer(q, scheme=scheme, engine="c", seed=0)
    emulated = Trainer(q, scheme=scheme, engine="qemu", seed=0, qemu_board=board)
    untrained = host.weights_crc32()
    try:
        for i in range(len(xs)):
            assert emulated.step(xs[i:i + 1], ys[i:i + 1]) == host.step(xs[i:i + 1], ys[i:i + 1]), f"step {i}"
        assert emulated.weights_crc32() == host.weights_crc32() != untrained
    finally:
        emulated.sim.close()  # type: ignore[union-attr]


def assert_infers_like_reference(g: Graph, a: Analysis, m7: bool, board: str = "qemu-mps2-an500") -> dict[str, str]:
    """The C generated for a (model "m") infers the reference's bytes for g on one random input:
    as host C and, with m7, on the emulated board. Returns the generated sources."""
    sources = generate(a, "m")
    x = np.random.default_rng(5).integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    want = execute(g, {g.inputs[0]: x})[g.outputs[0]]
    np.testing.assert_array_equal(Simulator(a, sources, "m").infer(x).reshape(want.shape), want)
    if m7:
        q = QemuEngine(a, sources, "m", board=board)
        try:
            np.testing.assert_array_equal(q.infer(x).reshape(want.shape), want)
        finally:
            q.close()
    return sources


def qemu_inference_outputs(g: Graph, xs: np.ndarray, out_dir: Path, scheme: str = "none") -> list[np.ndarray]:
    """g compiled (``scheme``) into firmware for the emulated M7, one inference per input of xs:
    the outputs the firmware gives."""
    from tte.compiler.compile import compile_model
    from tte.targets.firmware import build_firmware
    from tte.targets.qemu import Stream, run_firmware

    compile_model(g, board="qemu-mps2-an500", scheme=scheme, out_dir=out_dir)
    fw = build_firmware(out_dir, "qemu-mps2-an500", in_mode="semihost")
    s = Stream()
    for x in xs:
        s.infer(np.ascontiguousarray(x))
    return list(run_firmware(fw, s).outputs)


def with_params(g: Graph, params: dict[str, np.ndarray]) -> Graph:
    """g with the parameters' values replaced (the reference's graph after steps or an update)."""
    h = copy.deepcopy(g)
    for name, v in params.items():
        h.tensors[name] = dataclasses.replace(h.tensors[name], data=np.asarray(v, h.tensors[name].dtype))
    return h
