"""Row-streamed input (analyze / compile_model ``input_rows``, `tte compile --input-rows`): the
input image is not in the arena; the first streamed block reads it row by row, from the image
passed as ``in`` or from the application's reader (tte_set_input_reader). Oracles: tte.reference,
the normal compile's C on the host and the emulated M7, and the rows the reader was asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fwtools import needs_arm_gcc, needs_qemu
from rowsnet import check_rows_like_normal, row_reader, rows_net, rows_sim

from tte.compiler.analysis import analyze
from tte.compiler.codegen import generate
from tte.compiler.emit.block import INPUT_WINDOW_HEAD
from tte.errors import TteError
from tte.ir import Tensor
from tte.targets.sim import Simulator

# (side, stem kernel, stem stride): the paper models' 3x3 stride-2 stem on an odd side (its last
# rows at the border), and a 1x1 stride-2 stem (the odd rows read by no E row, the last one after
# E's last row: asked for and dropped)
SHAPES = [(15, 3, 2), (16, 1, 2)]


def _sim(g: Any, rows: bool, scheme: str = "last-k:2", tag: str = "") -> Simulator:
    return rows_sim(g, rows, scheme, f"rows{int(rows)}_{tag}")


@pytest.mark.parametrize("side,k,stride", SHAPES)
def test_rows_give_the_normal_compiles_bits_by_pointer_and_by_reader(side: int, k: int, stride: int) -> None:
    g = rows_net(side, k, stride, name=f"rowsnet{side}_{k}")
    x_name = g.inputs[0]
    rng = np.random.default_rng(side)
    xs = [rng.integers(-128, 128, g.tensors[x_name].shape).astype(np.int8) for _ in range(3)]
    tag = f"{side}_{k}_{stride}"
    normal, rows = _sim(g, False, tag=tag), _sim(g, True, tag=tag)
    assert rows.analysis.report["input_rows"] and not rows.analysis.report["input_in_arena"]
    assert x_name not in rows.analysis.plan.offsets and x_name not in rows.analysis.inference_plan.offsets
    check_rows_like_normal(g, normal, rows, xs)
    ffi, lib = rows.ffi, rows.lib
    h = g.tensors[x_name].shape[1]
    x = xs[0]
    asked = []
    fn = row_reader(rows, x, asked)
    lib.tte_set_input_reader(fn, ffi.NULL)
    out = np.zeros(g.tensors[g.outputs[0]].size, np.int8)
    lib.tte_infer(ffi.NULL, ffi.from_buffer("int8_t[]", out))
    assert asked == list(range(h))
    np.testing.assert_array_equal(out.reshape(g.tensors[g.outputs[0]].shape), rows.infer(x))
    # neither an image nor a reader: no step runs
    lib.tte_set_input_reader(ffi.NULL, ffi.NULL)
    crc = lib.tte_trainable_crc32()
    assert lib.tte_train_step(ffi.NULL, 0) == -1.0 and lib.tte_trainable_crc32() == crc


def test_the_arena_holds_no_input_and_the_header_says_so() -> None:
    """Inference alone: the normal arena holds the whole image (the first block's output over its
    consumed rows), the row-streamed one only the window of the stem's three rows, in the first
    block's scratch."""
    g = rows_net(16, 3, 2, name="rowsnet_arena")
    x = g.tensors[g.inputs[0]]
    normal = analyze(g, scheme="none", input_rows=False).report
    rows_a = analyze(g, scheme="none", input_rows=True)
    rows = rows_a.report
    assert normal["input_in_arena"] and not rows["input_in_arena"] and rows["input_rows"]
    window = 3 * x.shape[2] * x.shape[3]
    assert rows["arena_bytes"] < normal["arena_bytes"]
    assert g.inputs[0] not in rows_a.inference_plan.offsets
    assert rows["peak_sram_bytes"] == normal["peak_sram_bytes"] - normal["arena_bytes"] + rows["arena_bytes"]
    scratch = next(b for b in rows_a.inference_plan.buffers if b.name.endswith("@scratch") and b.first == 0)
    normal_scratch = next(b for b in analyze(g, scheme="none").inference_plan.buffers
                          if b.name.endswith("@scratch") and b.first == 0)
    # the window's head (its state) and rows, from an 8-byte boundary
    assert window + INPUT_WINDOW_HEAD <= scratch.size - normal_scratch.size <= window + INPUT_WINDOW_HEAD + 7
    src = generate(rows_a, "rowsnet_arena")
    h = src["rowsnet_arena.h"]
    assert "#define TTE_INPUT_ROWS 1" in h and f"#define TTE_INPUT_ROW_BYTES {x.shape[2] * x.shape[3]}" in h
    assert "tte_set_input_reader(" in h and "tte_input_buffer(void)" not in h + src["rowsnet_arena.c"]


def test_inputs_the_block_cannot_take_row_by_row_are_refused() -> None:
    from blocknet import block_net

    # the first op a plain conv (the stem alone, not a streamed block's expand conv)
    g = block_net([(8, 16, 1, 8)], 8, 3, "stem_first")
    with pytest.raises(TteError, match=r"first op is conv2d '[^']*'.*not a streamed block"):
        analyze(g, scheme="last-k:1", input_rows=True)
    # nothing streamed without reordering
    g = rows_net(16, 3, 2, name="rows_unstreamed")
    with pytest.raises(TteError, match=r"first op is conv2d 'stem'.*not a streamed block"):
        analyze(g, scheme="last-k:1", reorder=False, input_rows=True)
    # a float input: QUANTIZE reads it whole
    f = g.copy()
    x = f.inputs[0]
    f.add_tensor(Tensor("x_float", f.tensors[x].shape, "float32"))
    f.add_node("quantize", ["x_float"], [x])
    f.nodes.insert(0, f.nodes.pop())
    f.inputs = ["x_float"]
    with pytest.raises(TteError, match=r"needs an int8 input.*first op quantize .*QUANTIZE"):
        analyze(f, scheme="last-k:1", input_rows=True)


@needs_arm_gcc
@needs_qemu
@pytest.mark.parametrize("in_mode", ["semihost", pytest.param("embedded", marks=pytest.mark.slow)])
def test_rows_on_the_emulated_m7_give_the_host_bits(in_mode: str, tmp_path: Path) -> None:
    """The M7 build (its DSP stem and streamed block) of a row-streamed compile: the input from
    the harness's own buffer (semihosting: the transport's, not the model's) or read in place from
    flash (embedded data): the losses, outputs and trained weights of the normal compile on the host."""
    from tte.compiler.compile import compile_model
    from tte.targets.firmware import build_firmware
    from tte.targets.qemu import Stream, run_firmware

    g = rows_net(15, 3, 2, name="rowsnet_m7")
    x_name = g.inputs[0]
    rng = np.random.default_rng(7)
    xs = [rng.integers(-128, 128, g.tensors[x_name].shape).astype(np.int8) for _ in range(3)]
    out = tmp_path / "m"
    report = compile_model(g, board="qemu-mps2-an500", scheme="last-k:2", out_dir=out, input_rows=True)
    assert report["input_rows"] and not report["input_in_arena"]
    s = Stream()
    for i, x in enumerate(xs[:2]):
        s.train(x, i)
    s.infer(xs[2]).crc().quit()
    fw = build_firmware(out, "qemu-mps2-an500", out_dir=tmp_path / "fw", in_mode=in_mode,
                        stream=s.to_bytes() if in_mode == "embedded" else None)
    assert ("input_image" in fw.ram_symbols) == (in_mode == "semihost")
    r = run_firmware(fw, s)
    host = _sim(g, False, tag="m7")
    losses = [host.train_step(x, i) for i, x in enumerate(xs[:2])]
    assert r.losses == losses
    np.testing.assert_array_equal(r.outputs[0].reshape(-1), host.infer(xs[2]).reshape(-1))
    assert r.crc32 == host.crc32()


SANITIZED_RUN = """
import sys
sys.path.insert(0, "tests")
from rowsnet import rows_net, run_rows_sanitized

print("rows ok", run_rows_sanitized(rows_net(15, 3, 2, name="rows_asan"), "rows_asan", sys.argv[1]))
"""


@pytest.mark.slow
def test_row_paths_under_asan_and_ubsan(tmp_path: Path) -> None:
    """The pointer and reader paths (inference and training steps) with the kernels and the
    generated C under AddressSanitizer and UndefinedBehaviorSanitizer (tests/test_c_sanitizers.py)."""
    import subprocess
    import sys

    from tte.targets import cbuild

    script = tmp_path / "rows_asan.py"
    script.write_text(SANITIZED_RUN)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, env=cbuild.sanitizer_env(), timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "rows ok" in out and "AddressSanitizer" not in out and "runtime error" not in out, out[-4000:]


def test_compile_cli_input_rows(tmp_path: Path) -> None:
    """`tte compile --input-rows`: the report and the header of the mode; a model whose first op
    cannot take the rows is refused with the reason (exit 2, nothing written)."""
    import json

    from click.testing import CliRunner

    import tte
    from tte.cli import main

    model = tmp_path / "rows.tflite"
    tte.export(rows_net(15, 3, 2, name="rows_cli"), model)   # an odd side: no PAD op in TFLite
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["compile", str(model), "--scheme", "last-k:2", "--input-rows", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "input given row by row" in r.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["input_rows"] and not report["input_in_arena"]
    assert "#define TTE_INPUT_ROWS 1" in (out / "rows.h").read_text()
    r = CliRunner().invoke(main, ["compile", str(model), "--scheme", "last-k:2", "--input-rows", "--no-reorder",
                                  "-o", str(tmp_path / "refused")])
    assert r.exit_code == 2 and "not a streamed block" in r.stderr and not (tmp_path / "refused").exists()
