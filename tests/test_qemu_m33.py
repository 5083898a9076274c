"""The Cortex-M33 board (QEMU mps2-an505, secure state): the example CNN trains on it to the
host C build's weights step for step, and the image's vector table and UART sit at the
AN505's secure addresses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fwtools import assert_qemu_trains_like_host, model_sources, needs_arm_gcc, needs_qemu

import tte
from tte.targets.firmware import build_firmware
from tte.targets.qemu import Stream, run_firmware
from tte.training.data import load_dataset, match_input

pytestmark = [needs_arm_gcc, needs_qemu]
BOARD = "qemu-mps2-an505"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fmnist_cnn.onnx"


def test_the_example_trains_on_the_m33_like_host_c() -> None:
    x, y = load_dataset("fashion-mnist", "train")
    xs = match_input(x[:64], (1, 1, 28, 28))
    q = tte.quantize(tte.load(str(EXAMPLE)), calibration=xs)
    assert_qemu_trains_like_host(q, "last-k:2", xs[:3], y[:3], board=BOARD)


def test_the_uart_image_reports_through_the_secure_uart(tmp_path: Path) -> None:
    """Embedded data in, report out through CMSDK UART0 at its secure alias 0x50200000."""
    xs = np.random.default_rng(0).integers(-128, 128, size=(2, 64), dtype=np.int8)
    s = Stream().train(xs[0], 1).train(xs[1], 2).crc().quit()
    fw = build_firmware(model_sources(), BOARD, out_dir=tmp_path, in_mode="embedded", out_mode="uart",
                        stream=s.to_bytes())
    image = fw.bin.read_bytes()
    assert int.from_bytes(image[0:4], "little") == 0x38000000 + fw.board.sram_bytes  # initial SP, secure SRAM
    assert 0x10000000 <= int.from_bytes(image[4:8], "little") < 0x10000000 + len(image)
    assert (0x50200000).to_bytes(4, "little") in image
    r = run_firmware(fw, s)
    assert len(r.losses) == 2 and r.crc32 is not None
    reference = run_firmware(build_firmware(model_sources(), "qemu-mps2-an500", out_dir=tmp_path / "m7",
                                            in_mode="embedded", out_mode="uart", stream=s.to_bytes()), s)
    assert (r.losses, r.crc32) == (reference.losses, reference.crc32)
