"""The generated model in firmware: the example CNN trained on QEMU gives the host
simulation's weights bit for bit; measured RAM agrees with the compiler's report; it links
for the Cortex-M0+ and M4 boards; a model that cannot fit is refused, and forced, fails at
link with the overflow size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fwtools import needs_arm_gcc, needs_qemu

import tte
from tte.cli import main
from tte.errors import TteError
from tte.targets.firmware import build_firmware
from tte.training.data import load_dataset, match_input
from tte.training.trainer import Trainer

pytestmark = [needs_arm_gcc, needs_qemu]
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fmnist_cnn.onnx"


@pytest.fixture(scope="module")
def example() -> tuple[tte.Graph, np.ndarray, np.ndarray]:
    g = tte.load(str(EXAMPLE))
    x, y = load_dataset("fashion-mnist", "train")
    shape = (1, 1, 28, 28)
    xs = match_input(x[:64], shape)
    q = tte.quantize(g, calibration=xs)
    return q, xs, y[:64]


@pytest.fixture(scope="module")
def compiled(example, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("fmnist") / "m"
    tte.compile(example[0], board="qemu-mps2-an500", scheme="last-k:2", out_dir=str(out))
    return out


def test_weights_after_training_on_qemu_equal_the_host_simulation(example) -> None:  # type: ignore[no-untyped-def]
    q, xs, ys = example
    steps = 3
    host = Trainer(q, scheme="last-k:2", engine="c", seed=0)
    board = Trainer(q, scheme="last-k:2", engine="qemu", seed=0)
    try:
        for i in range(steps):
            assert board.step(xs[i:i + 1], ys[i:i + 1]) == host.step(xs[i:i + 1], ys[i:i + 1])
        assert board.weights_crc32() == host.weights_crc32()
        for name, w in host.graph.weights().items():
            np.testing.assert_array_equal(board.graph.weights()[name], w, err_msg=name)
        assert board.weights_crc32() != Trainer(q, scheme="last-k:2", engine="c", seed=0).weights_crc32()
        counts = board.sim.instructions  # type: ignore[union-attr]
        assert len(counts) == steps and min(counts) > 1_000_000
    finally:
        board.sim.close()  # type: ignore[union-attr]


def test_tte_run_reports_counts_and_measured_ram(compiled: Path) -> None:
    r = CliRunner().invoke(main, ["run", str(compiled), "--qemu", "--steps", "2", "--infer", "1", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    for key in ("steps", "weights_crc32", "instructions_per_train_step", "instructions_per_inference",
                "stack_peak_bytes", "ram_bytes", "flash_bytes"):
        assert res[key] is not None, key
    assert res["steps"] == 2 and len(res["weights_crc32"]) == 8
    assert res["instructions_per_train_step"] > res["instructions_per_inference"] > 0
    rep = json.loads((compiled / "report.json").read_text())
    # measured .data + .bss + painted stack vs the compiler's peak: equal up to its stack estimate
    static = res["data_bytes"] + res["bss_bytes"]
    assert 0 < res["stack_peak_bytes"] < rep["stack_bytes"]
    assert abs(static - (rep["peak_sram_bytes"] - rep["stack_bytes"])) <= 512  # firmware's own buffers
    assert res["ram_bytes"] <= rep["peak_sram_bytes"]
    # the linker's flash image (.text + .rodata + .data) within the compiler's figure, which counts
    # the generated C's tables and the code of every kernel object the model links, whole
    assert res["flash_bytes"] <= rep["flash_bytes"] and rep["flash_code_bytes"]
    again = json.loads(CliRunner().invoke(main, ["run", str(compiled), "--qemu", "--steps", "2", "--infer", "1",
                                                 "--json"]).output)
    assert again["train_step_instructions"] == res["train_step_instructions"]
    assert again["weights_crc32"] == res["weights_crc32"]


@pytest.mark.parametrize("board", ["rp2040", "arduino-nano-33-ble-sense", "stm32f746g-disco"])
def test_example_links_for_cortex_m0plus_m4_m7(compiled: Path, board: str, tmp_path: Path) -> None:
    fw = build_firmware(compiled, board, out_dir=tmp_path, stream=b"Q" + bytes(7))
    rep = json.loads((compiled / "report.json").read_text())
    assert fw.sizes.flash_bytes <= fw.board.flash_bytes
    assert fw.sizes.ram_static_bytes <= rep["peak_sram_bytes"]


def test_build_cli_prints_sizes(compiled: Path) -> None:
    r = CliRunner().invoke(main, ["build", str(compiled), "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["ram_budget"] == 262144 and rep["flash_budget"] == 1048576
    assert rep["compiler_peak_sram_bytes"] > rep["ram_static_bytes"] > 0


@pytest.mark.slow
def test_full_update_mobilenetv2_refused_then_overflows_at_link(tmp_path: Path) -> None:
    from tte.compiler.analysis import BudgetError, analyze
    from tte.compiler.codegen import generate
    from tte.models.paper import build_paper_onnx

    g = tte.load(build_paper_onnx("mbv2-w0.35", resolution=128, num_classes=10, seed=0).SerializeToString())
    q = tte.quantize(g, calibration=np.random.default_rng(0).uniform(-1, 1, (2, 3, 128, 128)).astype(np.float32))
    with pytest.raises(BudgetError):
        tte.compile(q, board="qemu-mps2-an500", scheme="full", out_dir=str(tmp_path / "refused"))
    assert not (tmp_path / "refused").exists()
    # forced: generate the C anyway and link it
    a = analyze(q, board="qemu-mps2-an500", scheme="full", budget_bytes=1 << 40)
    out = tmp_path / "forced"
    out.mkdir()
    for name, text in generate(a, "mbv2_full").items():
        (out / name).write_text(text)
    (out / "report.json").write_text(json.dumps({"stack_bytes": a.report["stack_bytes"]}))
    with pytest.raises(TteError, match=r"RAM overflowed by [\d,]+ bytes") as e:
        build_firmware(out, "qemu-mps2-an500", out_dir=tmp_path / "fw", in_mode="semihost")
    over = int(str(e.value).split("overflowed by ")[1].split(" bytes")[0].replace(",", ""))
    # the linker's overflow is the compiler's excess over 256 KB, give or take the firmware's own buffers
    assert abs(over - (a.report["peak_sram_bytes"] - 262144)) < 4096


@pytest.mark.parametrize("model,scheme", [("mcunet-5fps", "paper:mcunet-5fps:99kb"),
                                          ("mbv2-w0.35", "paper:mbv2-w0.35:99kb"),
                                          ("proxyless-w0.3", "paper:proxyless-w0.3:98kb")])
def test_paper_model_trains_on_qemu_as_on_the_host(model: str, scheme: str) -> None:
    """The paper models at 128x128 under their paper schemes take the M7's specialized kernel
    paths (stem, wide 1x1, depthwise rows, streamed blocks, the fused backward's assembly
    loops): two training steps on QEMU give the host simulation's losses and weights."""
    from models import paper_int8

    q = paper_int8(model)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 1, 3, 128, 128)).astype(np.float32)
    host = Trainer(q, scheme=scheme, engine="c", seed=0)
    board = Trainer(q, scheme=scheme, engine="qemu", seed=0)
    try:
        untrained = host.weights_crc32()
        for i, label in enumerate((3, 7)):
            assert board.step(x[i], label) == host.step(x[i], label), f"step {i}"
        assert board.weights_crc32() == host.weights_crc32() != untrained
    finally:
        board.sim.close()  # type: ignore[union-attr]
