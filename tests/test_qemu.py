"""The firmware on QEMU mps2-an500 (emulated Cortex-M7): the test model's results checked
against Python, exact instruction counts from our TCG plugin, stack painting, I/O paths."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from fwtools import model_sources, needs_arm_gcc, needs_qemu

from tte.errors import TteError
from tte.targets.firmware import build_firmware
from tte.targets.qemu import Stream, qemu_supports_plugins, run_firmware

pytestmark = [needs_arm_gcc, needs_qemu]

INIT_WEIGHTS = np.arange(-40, 56, 3, dtype=np.int32)  # firmware/test/tte_testmodel.c
FRAME = 256


def mirror_train(w: np.ndarray, x: np.ndarray, label: int) -> tuple[np.ndarray, float]:
    """tte_testmodel.c's training step in Python."""
    xi = x.astype(np.int32)
    d = (xi[:32] ^ xi[32:64]) >> 4
    w = ((w + d + (label & 3) + 128) % 256) - 128
    loss = np.float32(np.int32(w.sum())) / np.float32(100.0)
    return w, float(loss)


def mirror_infer(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = []
    for k in range(4):
        acc = sum(int(w[(i + k) % 32]) * int(x[i]) for i in range(64)) >> 8
        out.append(max(-128, min(127, acc)))
    return np.array(out, np.int8)


@pytest.fixture(scope="module")
def fw(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return build_firmware(model_sources(), "qemu-mps2-an500", out_dir=tmp_path_factory.mktemp("an500"),
                          weights_io=True)


def test_training_inference_and_crc_match_python(fw) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    xs = rng.integers(-128, 128, size=(6, 64), dtype=np.int8)
    labels = [3, 1, 2, 0, 5, 7]
    s = Stream()
    for x, y in zip(xs, labels):
        s.train(x, y)
    s.evaluate(xs[0], 2).infer(xs[1]).crc().get_weights().quit()
    r = run_firmware(fw, s)
    w = INIT_WEIGHTS.copy()
    losses = []
    for x, y in zip(xs, labels):
        w, loss = mirror_train(w, x, y)
        losses.append(loss)
    assert r.losses == losses  # float32 bits, exactly
    wb = w.astype(np.int8).tobytes()
    assert r.weights == [wb]
    assert r.crc32 == zlib.crc32(wb)
    np.testing.assert_array_equal(r.outputs[0], mirror_infer(w, xs[0]))
    np.testing.assert_array_equal(r.outputs[1], mirror_infer(w, xs[1]))
    assert r.predictions == [int(np.argmax(mirror_infer(w, xs[0])))]
    assert (r.correct, r.scored) == (int(r.predictions[0] == 2), 1)
    assert (r.input_bytes, r.output_bytes, r.trainable_bytes) == (64, 4, 32)


def test_set_weights_round_trip(fw) -> None:  # type: ignore[no-untyped-def]
    w = bytes(range(100, 132))
    r = run_firmware(fw, Stream().set_weights(w).get_weights().crc())
    assert r.weights == [w] and r.crc32 == zlib.crc32(w)


@pytest.mark.skipif(not qemu_supports_plugins(), reason="qemu-system-arm without -plugin")
def test_instruction_counts_are_exact_and_repeatable(fw) -> None:  # type: ignore[no-untyped-def]
    """A negative label runs a loop of exactly two instructions per iteration."""
    x = np.zeros(64, np.int8)
    s = Stream()
    for label in (-10, -1000, -11, -1000, 4, 4):
        s.train(x, label)
    s.infer(x)
    a = run_firmware(fw, s)
    b = run_firmware(fw, s)
    assert a.train_instructions == b.train_instructions and a.infer_instructions == b.infer_instructions
    t = a.train_instructions
    assert t[1] - t[0] == 2 * 990
    assert t[2] - t[0] == 2
    assert t[3] == t[1] and t[4] == t[5]
    assert len(a.infer_instructions) == 1 and a.infer_instructions[0] > 64 * 4  # 256 MACs at least
    assert a.marker_instructions > 0 and a.total_instructions > sum(t)


def test_painted_stack_peak_follows_recursion_depth(fw) -> None:  # type: ignore[no-untyped-def]
    x = np.zeros(64, np.int8)
    peaks = {}
    for depth in (8, 40):
        peaks[depth] = run_firmware(fw, Stream().train(x, depth), count=False).stack_peak_bytes
    grown = peaks[40] - peaks[8]
    assert 32 * FRAME <= grown <= 32 * (FRAME + 32)  # a frame plus saved registers per level
    assert peaks[8] >= 8 * FRAME
    r = run_firmware(fw, Stream().train(x, 0), count=False)
    assert r.stack_peak_bytes < peaks[8]
    assert r.stack_region_bytes == fw.board.sram_bytes - fw.sizes.data - fw.sizes.bss


def test_bss_is_zeroed_and_data_copied(fw) -> None:  # type: ignore[no-untyped-def]
    r = run_firmware(fw, Stream().train(np.zeros(64, np.int8), 0).get_weights(), count=False)
    # loss -1.0 would mean the arena (.bss) was not zero at tte_init
    assert r.losses[0] == float(np.float32(np.int32(INIT_WEIGHTS.sum())) / np.float32(100.0))


def test_embedded_data_and_uart_report(tmp_path: Path) -> None:
    """Data compiled into flash, report over the CMSDK UART (QEMU -serial file)."""
    rng = np.random.default_rng(2)
    xs = rng.integers(-128, 128, size=(3, 64), dtype=np.int8)
    s = Stream()
    for i, x in enumerate(xs):
        s.train(x, i)
    s.crc().quit()
    fw = build_firmware(model_sources(), "qemu-mps2-an500", out_dir=tmp_path, in_mode="embedded", out_mode="uart",
                        stream=s.to_bytes())
    assert "input_buf" not in fw.ram_symbols  # inputs are read in place from flash
    r = run_firmware(fw, s)
    w = INIT_WEIGHTS.copy()
    for i, x in enumerate(xs):
        w, _ = mirror_train(w, x, i)
    assert r.crc32 == zlib.crc32(w.astype(np.int8).tobytes())
    assert len(r.train_instructions) == 3


def test_protocol_errors_fail_clearly(fw) -> None:  # type: ignore[no-untyped-def]
    s = Stream()
    s.chunks.append(struct.pack("<B3xi", ord("X"), 0))  # length 0
    with pytest.raises(TteError, match="unknown-command"):
        run_firmware(fw, s, count=False)
    s = Stream()
    s.chunks.append(struct.pack("<B", ord("T")) + (64).to_bytes(3, "little") + struct.pack("<i", 0) + bytes(10))
    with pytest.raises(TteError, match="truncated-input"):
        run_firmware(fw, s, count=False)


@pytest.mark.parametrize("size", [0, 63, 65, 128])
def test_a_record_of_the_wrong_size_is_rejected(fw, size: int) -> None:  # type: ignore[no-untyped-def]
    """Each record says how long its payload is; the device refuses one that is not an input's size
    (a misaligned stream would otherwise train on shifted bytes)."""
    s = Stream().train(np.zeros(64, np.int8), 0).train(np.zeros(size, np.int8), 1).crc()
    with pytest.raises(TteError, match="bad-length"):
        run_firmware(fw, s, count=False)
    s = Stream().crc()
    s.chunks[-1] = struct.pack("<B", ord("C")) + (4).to_bytes(3, "little") + struct.pack("<i", 0) + bytes(4)
    with pytest.raises(TteError, match="bad-length"):
        run_firmware(fw, s, count=False)
