"""The flash policy of the compile-time depthwise layouts (tte.compiler.emit.block.choose_prepared):
a board whose flash holds the model only without some of its layouts gets a build that fits,
with the layouts of least benefit per byte dropped, and whose inference (on the emulated M7,
where the kernels read the layouts) still gives the reference's bytes."""

from __future__ import annotations

import dataclasses
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from fwtools import needs_arm_gcc, needs_qemu

import tte
from tte.cli import main
from tte.compiler.analysis import analyze, with_flash_reserve
from tte.compiler.codegen import generate
from tte.compiler.compile import compile_model
from tte.compiler.emit.block import pw_replaced
from tte.models.paper import build_paper_onnx
from tte.reference import execute
from tte.targets.boards import get_board
from tte.targets.paths import resource_dir
from tte.targets.qemu import QemuEngine
from tte.targets.sim import Simulator

BOARD, SCHEME = "qemu-mps2-an500", "classifier-only"


@cache
def _small_mbv2() -> tte.Graph:
    g = tte.load(build_paper_onnx("mbv2-w0.35", resolution=32, num_classes=10, seed=0).SerializeToString())
    return tte.quantize(g, calibration=np.random.default_rng(0).uniform(-1, 1, (2, 3, 32, 32)).astype(np.float32))


def test_prepared_layouts_give_way_to_fit_the_flash() -> None:
    g = _small_mbv2()
    full = analyze(g, board=BOARD, scheme=SCHEME).report
    assert full["prepared_weight_bytes"] > 0 and not full["prepared_dropped_layers"]
    need = full["flash_data_bytes"]
    tight = dataclasses.replace(get_board(BOARD), flash_bytes=need - 1)
    a = analyze(g, board=tight, scheme=SCHEME)
    r = a.report
    assert r["fits"], r["verdict"]
    assert r["flash_data_bytes"] <= need - 1
    assert r["prepared_dropped_layers"] and r["prepared_layers"]
    assert sorted(r["prepared_layers"] + r["prepared_dropped_layers"]) == full["prepared_layers"]
    assert r["prepared_weight_bytes"] + r["prepared_dropped_bytes"] == full["prepared_weight_bytes"]
    # no flash at all for the layouts: all dropped, the rest of the data still fits
    none = dataclasses.replace(tight, flash_bytes=need - full["prepared_weight_bytes"])
    r0 = analyze(g, board=none, scheme=SCHEME).report
    assert r0["fits"] and r0["prepared_weight_bytes"] == 0 and not r0["prepared_layers"]

    sources = generate(a, "m")
    x = np.random.default_rng(3).integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    want = execute(g, {g.inputs[0]: x})[g.outputs[0]]
    np.testing.assert_array_equal(Simulator(a, sources, "m").infer(x), want)


def test_generated_c_holds_only_the_kept_layouts() -> None:
    g = _small_mbv2()
    full = analyze(g, board=BOARD, scheme=SCHEME)
    tight = dataclasses.replace(get_board(BOARD), flash_bytes=full.report["flash_data_bytes"] - 1)
    a = analyze(g, board=tight, scheme=SCHEME)
    names_full = _layout_arrays(generate(full, "m")["m.c"])
    names = _layout_arrays(generate(a, "m")["m.c"])
    assert names and names.items() < names_full.items()
    # a 1x1 layout that replaces its weight and bias costs their bytes less (not emitted)
    graphs = (a.scheduled.graph, a.inference.graph)
    replaced = sum(t.nbytes for k, t in g.tensors.items() if t.is_const and pw_replaced(k, graphs))
    assert 4 * sum(int(n) for n in names.values()) - replaced == a.report["prepared_weight_bytes"]


def _layout_arrays(c: str) -> dict[str, str]:
    """The compile-time layouts' C arrays (depthwise, its 3x3 blocks, and 1x1): name -> element count."""
    return dict(re.findall(r"const uint32_t (tte_(?:dwq|dwb|pwq)_[0-9a-f]+)\[(\d+)\]", c))


@needs_arm_gcc
@needs_qemu
def test_plain_path_of_a_dropped_layout_gives_the_same_bytes_on_the_m7() -> None:
    g = _small_mbv2()
    full = analyze(g, board=BOARD, scheme=SCHEME)
    # past the 3x3 blocks (dropped first): a depthwise layout dropped too, its kernel's plain path
    every = _layout_arrays(generate(full, "m")["m.c"])
    blocks = 4 * sum(int(n) for k, n in every.items() if k.startswith("tte_dwb_"))
    tight = dataclasses.replace(get_board(BOARD), flash_bytes=full.report["flash_data_bytes"] - blocks - 1)
    a = analyze(g, board=tight, scheme=SCHEME)
    kept = _layout_arrays(generate(a, "m")["m.c"])
    assert blocks and any(k.startswith("tte_dwq_") and k not in kept for k in every)
    x = np.random.default_rng(4).integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    want = execute(g, {g.inputs[0]: x})[g.outputs[0]]
    q = QemuEngine(a, generate(a, "m"), "m", board=BOARD)
    try:
        np.testing.assert_array_equal(q.infer(x).reshape(want.shape), want)
    finally:
        q.close()


@needs_arm_gcc
def test_the_measured_code_takes_its_flash_before_the_layouts() -> None:
    """Weight data and layouts fit, the code then does not: the compile drops layouts instead
    of refusing the model."""
    g = _small_mbv2()
    full = compile_model(g, board=BOARD, scheme=SCHEME)
    assert full["flash_code_bytes"] and full["prepared_weight_bytes"]
    tight = dataclasses.replace(get_board(BOARD), flash_bytes=full["flash_bytes"] - 1)
    r = compile_model(g, board=tight, scheme=SCHEME)
    assert r["fits"] and r["flash_bytes"] <= tight.flash_bytes
    assert r["prepared_dropped_layers"] and r["prepared_weight_bytes"] < full["prepared_weight_bytes"]


@pytest.mark.parametrize("scheme,kw", [(SCHEME, {}), ("none", {}), (SCHEME, {"input_rows": True}),
                                       (SCHEME, {"speed_sram_bytes": 4096})])
def test_layouts_chosen_again_equal_a_second_analysis(scheme: str, kw: dict[str, Any]) -> None:
    """with_flash_reserve (what the compile does when the measured code leaves the layouts too
    little flash) gives the report and the C of a new analysis with that reserve, for reserves
    that drop none, some and all of the layouts."""
    g = _small_mbv2()
    full = analyze(g, board=BOARD, scheme=scheme, **kw).report
    assert full["prepared_weight_bytes"]
    room = get_board(BOARD).flash_bytes - full["flash_data_bytes"]
    dropped = set()
    for reserve in (room, room + 1, room + full["prepared_weight_bytes"] // 2, room + full["prepared_weight_bytes"]):
        again = analyze(g, board=BOARD, scheme=scheme, flash_reserve_bytes=reserve, **kw)
        chosen = with_flash_reserve(analyze(g, board=BOARD, scheme=scheme, **kw), reserve)
        assert chosen is not None and chosen.report == again.report
        assert generate(chosen, "m") == generate(again, "m")
        dropped.add(len(again.report["prepared_dropped_layers"]))
    assert len(dropped) >= 3, dropped


def test_layouts_are_chosen_again_only_on_the_first_plans() -> None:
    """Where the faster arena did not fit and analyze planned again, its second plans followed the
    first ones' layouts: no shortcut then (the compile analyzes again)."""
    g = _small_mbv2()
    full = analyze(g, board=BOARD, scheme=SCHEME, speed_sram_bytes=8192)
    assert full.report["speed_sram_bytes"] == 8192 and with_flash_reserve(full, 1) is not None
    small = analyze(g, board=BOARD, scheme=SCHEME).report["peak_sram_bytes"]
    a = analyze(g, board=BOARD, scheme=SCHEME, speed_sram_bytes=8192, budget_bytes=small)
    assert a.report["fits"] and a.report["speed_sram_bytes"] == 0
    assert with_flash_reserve(a, 1) is None


def test_compile_cli_says_which_layouts_gave_way(tmp_path: Path) -> None:
    g = _small_mbv2()
    model = tmp_path / "m.tflite"
    tte.export(g, model)
    # the flash of the model as the CLI reads it back (its fusion may differ from the graph's)
    full = compile_model(tte.load(str(model)), board=BOARD, scheme=SCHEME)
    board = tmp_path / "tight.toml"
    board.write_text(re.sub(r"(?m)^flash_bytes = \d+$", f"flash_bytes = {full['flash_bytes'] - 1}",
                            (resource_dir("boards") / f"{BOARD}.toml").read_text()))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["compile", str(model), "--board", str(board), "--scheme", SCHEME, "-o", str(out)])
    assert r.exit_code == 0, r.output
    report = json.loads((out / "report.json").read_text())
    n = len(report["prepared_dropped_layers"])
    assert n and f"{n} layers (depthwise, fully connected) without their compile-time layout" in r.stdout


def test_doubled_1x1_layouts_only_where_the_flash_has_room() -> None:
    """An inference-only image's streamed 1x1 layouts take their doubled form (pwd_layout) while
    the flash has room for the extra weight bytes and fall back to pw_layout where it has not
    (below 32 inputs the doubled form, pe_layout's words by channel pairs, costs no byte more:
    always taken); a training image never doubles them; every build gives the reference's bytes."""
    g = _small_mbv2()
    full = analyze(g, board=BOARD, scheme="none")
    r = full.report
    assert r["prepared_doubled_layers"] and not r["prepared_dropped_layers"]
    assert not analyze(g, board=BOARD, scheme=SCHEME).report["prepared_doubled_layers"]
    assert len(_doubled_arrays(generate(full, "m")["m.c"])) == len(r["prepared_doubled_layers"])
    # no room for the doubled forms: the same layouts, none doubled, the extra bytes gone
    undoubled = analyze(g, board=dataclasses.replace(get_board(BOARD), flash_bytes=1 << 40), scheme="none")
    plain = undoubled.report["flash_data_bytes"] - sum(_extra_bytes(undoubled).values())
    none = analyze(g, board=dataclasses.replace(get_board(BOARD), flash_bytes=plain), scheme="none")
    r0 = none.report
    free = _free_doubled(undoubled)
    assert free and set(free) < set(r["prepared_doubled_layers"])
    assert r0["fits"] and r0["prepared_doubled_layers"] == free and not r0["prepared_dropped_layers"]
    assert r0["prepared_layers"] == r["prepared_layers"]
    assert len(_doubled_arrays(generate(none, "m")["m.c"])) == len(free)
    # room for some: the most pixels first, within the flash
    some = dataclasses.replace(get_board(BOARD), flash_bytes=plain + max(_extra_bytes(undoubled).values()))
    r1 = analyze(g, board=some, scheme="none").report
    assert r1["fits"] and 0 < len(r1["prepared_doubled_layers"]) < len(r["prepared_doubled_layers"])
    assert r1["flash_data_bytes"] <= some.flash_bytes
    x = np.random.default_rng(5).integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    want = execute(g, {g.inputs[0]: x})[g.outputs[0]]
    for a in (full, none):
        np.testing.assert_array_equal(Simulator(a, generate(a, "m"), "m").infer(x), want)


def _doubled_arrays(c: str) -> list[str]:
    return re.findall(r"const uint32_t (tte_pwd_[0-9a-f]+)\[", c)


def _free_doubled(a: Any) -> list[str]:
    """The 1x1 weights whose doubled layout costs no flash over pw_layout's (below 32 inputs)."""
    from tte.compiler.emit.block import _block_parts, pw_layout

    graph = a.inference.graph
    names = {pr[0]: _block_parts(n)[2].inputs[1] for n in graph.nodes
             if n.op == "streamed_block" and (pr := pw_layout(n, graph)) is not None}
    return sorted(names[k] for k, extra in _extra_bytes(a).items() if extra == 0)


def _extra_bytes(a: Any) -> dict[str, int]:
    """The doubled layouts' extra flash over pw_layout's, per pw_layout name (its weight bytes)."""
    from tte.compiler.emit.block import PW_DOUBLED_META, pw_layout, pwd_layout

    graph = a.inference.graph
    doubled = graph.meta[PW_DOUBLED_META]
    return {pr[0]: pwd_layout(n, graph)[1].nbytes - pr[1].nbytes for n in graph.nodes
            if n.op == "streamed_block" and (pr := pw_layout(n, graph)) is not None and pr[0] in doubled}

