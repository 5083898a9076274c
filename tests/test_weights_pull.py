"""Weights checkpoints (csrc/include/tte/checkpoint.h) and `tte weights pull`.

Oracles: zlib's CRC-32 and the byte layout written out by hand for the format; the firmware
on QEMU for what the device holds; LiteRT's reference kernels for the pulled .tflite (its int8
outputs must equal the device's); onnx's own initializer reader for the pulled .onnx."""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from fwtools import needs_arm_gcc, needs_qemu

import tte
from tte.cli import main
from tte.compiler.analysis import analyze
from tte.compiler.codegen import generate
from tte.export.checkpoint import Checkpoint
from tte.ir import QuantParams
from tte.reference.boundary import quantize_array
from tte.targets.sim import Simulator
from tte.training.data import fashion_mnist

ROOT = Path(__file__).resolve().parent.parent
TFLITE = ROOT / "examples" / "fmnist_cnn_int8.tflite"

_CDEF = """
uint32_t tte_checkpoint_write(uint8_t *dst, uint32_t cap);
void tte_checkpoint_print(void (*write)(const char *s, uint32_t n));
int32_t tte_checkpoint_load(const uint8_t *src, uint32_t n);
"""


def _int8_images(split: str, n: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images as the example .tflite's int8 NHWC input bytes, with labels."""
    xs, ys = fashion_mnist(split)
    x = np.transpose(xs[start:start + n], (0, 2, 3, 1))
    q = quantize_array(x, QuantParams(np.float32(1 / 255), np.int64(-128)))
    return q.reshape(n, -1), ys[start:start + n].astype(np.int32)


@pytest.fixture(scope="module")
def host() -> Iterator[tuple[Simulator, Any]]:
    """The example model's generated C on the host, trained a few steps (classifier + last block)."""
    a = analyze(tte.load(TFLITE), scheme="last-k:2", budget_bytes=1 << 40)
    sim = Simulator(a, generate(a, "ck"), "ck")
    sim.ffi.cdef(_CDEF)
    xs, ys = _int8_images("train", 3)
    for x, y in zip(xs, ys, strict=True):
        sim.train_step(x, int(y))
    yield sim, a


def _write(sim: Simulator) -> bytes:
    n = 32 + sum(sim._sizes) + 4
    buf = sim.ffi.new("uint8_t[]", n)
    assert sim.lib.tte_checkpoint_write(buf, n) == n
    return bytes(sim.ffi.buffer(buf, n))


def _printed(sim: Simulator) -> str:
    parts: list[bytes] = []

    @sim.ffi.callback("void(const char *, uint32_t)")
    def write(s: Any, n: int) -> None:
        parts.append(bytes(sim.ffi.buffer(s, n)))

    sim.lib.tte_checkpoint_print(write)
    return b"".join(parts).decode("ascii")


def test_checkpoint_bytes_follow_the_format(host: tuple[Simulator, Any]) -> None:
    sim, a = host
    from tte.compiler.checkpoint import model_id

    data = _write(sim)
    payload = sim._read()
    mid = model_id(a.forward, list(a.training.updates))
    assert data[:8] == b"TTEC" + struct.pack("<HH", 1, 32)
    assert data[8:24] == mid
    assert struct.unpack_from("<II", data, 24) == (len(payload), 3)      # 3 training steps
    assert data[32:-4] == payload
    assert struct.unpack_from("<I", data, len(data) - 4)[0] == zlib.crc32(data[:-4])
    buf = sim.ffi.new("uint8_t[]", len(data))
    assert sim.lib.tte_checkpoint_write(buf, len(data) - 1) == 0          # too small: nothing
    assert bytes(sim.ffi.buffer(buf, len(data))) == bytes(len(data))


def test_printed_form_is_the_same_bytes_in_hex_lines(host: tuple[Simulator, Any]) -> None:
    sim, _ = host
    data, text = _write(sim), _printed(sim)
    lines = text.splitlines()
    assert lines[0] == f"tte-ckpt begin 1 {len(data)}" and lines[-1] == "tte-ckpt end"
    rows = [ln.split() for ln in lines[1:-1]]
    assert [int(r[1], 16) for r in rows] == list(range(0, len(data), 32))
    assert bytes.fromhex("".join(r[2] for r in rows)) == data
    # in a noisy log, with a terminal's prefixes and an older dump before it
    older = Checkpoint(data[8:24], 0, bytes(len(data) - 36)).to_bytes()
    noisy = "boot\n" + _print_py(older) + "".join(f"[12:00:0{i % 10}] {ln}\r\n" for i, ln in enumerate(lines))
    assert Checkpoint.from_printed(noisy).to_bytes() == data


def _print_py(data: bytes) -> str:
    rows = [f"tte-ckpt {o:08x} {data[o:o + 32].hex()}\n" for o in range(0, len(data), 32)]
    return f"tte-ckpt begin 1 {len(data)}\n" + "".join(rows) + "tte-ckpt end\n"


@pytest.mark.parametrize("damage, message", [
    (lambda ls: ls[:3] + ls[4:], "does not follow"),                  # a lost line
    (lambda ls: ls[:-3], "cut short"),                               # reset mid-dump
    (lambda ls: ls[:2] + [ls[2][:-1] + "%x" % (int(ls[2][-1], 16) ^ 1)] + ls[3:], "CRC mismatch"),  # a bit
])
def test_damaged_dumps_are_refused(host: tuple[Simulator, Any], damage: Any, message: str) -> None:
    sim, _ = host
    lines = _printed(sim).splitlines()
    with pytest.raises(tte.TteError, match=message):
        Checkpoint.from_printed("\n".join(damage(lines)))


def test_load_restores_and_refuses(host: tuple[Simulator, Any]) -> None:
    sim, _ = host
    data = _write(sim)
    before = sim._read()
    sim.lib.tte_set_weights(sim.ffi.from_buffer(bytes(len(before))))
    assert sim.lib.tte_checkpoint_load(data, len(data)) == 0
    assert sim._read() == before
    other = bytearray(Checkpoint(bytes(16), 3, data[32:-4]).to_bytes())
    bad_crc = bytearray(data)
    bad_crc[40] ^= 1
    for img, code in ((bytes(other), -4), (bytes(bad_crc), -5), (data[:-1], -1), (b"XXXX" + data[4:], -2)):
        assert sim.lib.tte_checkpoint_load(img, len(img)) == code
        assert sim._read() == before


# ---- `tte weights pull` -------------------------------------------------------------------


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pull") / "m"
    r = CliRunner().invoke(main, ["compile", str(TFLITE), "--board", "qemu-mps2-an500", "--scheme", "last-k:2",
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out


@needs_arm_gcc
@needs_qemu
def test_pull_from_a_qemu_uart_log_runs_in_litert_like_the_device(compiled: Path, tmp_path: Path) -> None:
    """Must show 4: train in QEMU, dump, pull, LiteRT gives the device's int8 outputs."""
    from tflite_oracles import run_litert

    from tte.targets.firmware import build_firmware
    from tte.targets.qemu import Stream, record, run_firmware

    xs, ys = _int8_images("train", 8)
    tx, _ = _int8_images("test", 8)
    s = Stream()
    for x, y in zip(xs, ys, strict=True):
        s.train(x, int(y))
    for x in tx:
        s.infer(x)
    s.crc()
    s.chunks.append(record("D"))
    res = run_firmware(build_firmware(compiled, "qemu-mps2-an500", in_mode="semihost"), s.quit(), count=False)
    log = tmp_path / "uart.log"
    log.write_text("\n".join(res.report) + "\n")
    out = tmp_path / "trained.tflite"
    r = CliRunner().invoke(main, ["weights", "pull", str(compiled), "--model", str(TFLITE), "--from", str(log),
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    pulled, original = tte.load(out), tte.load(TFLITE)
    trained = [n for n in original.tensors if original.tensors[n].data is not None
               and not np.array_equal(original.tensors[n].data, pulled.tensors[n].data)]
    assert trained and set(trained) <= {"classifier.weight", "classifier.bias", "mix.0.weight", "mix.0.bias",
                                         "blocks.2.project.0.weight", "blocks.2.project.0.bias"}
    ck = Checkpoint.from_printed(log.read_text())
    assert ck.steps == 8 and zlib.crc32(ck.payload) == res.crc32
    model = out.read_bytes()
    for x, device in zip(tx, res.outputs, strict=True):
        got = next(iter(run_litert(model, [x.reshape(1, 28, 28, 1)]).values()))
        np.testing.assert_array_equal(got.reshape(-1), device)


@needs_arm_gcc
@needs_qemu
def test_pull_qemu_trains_like_host_c(compiled: Path, tmp_path: Path) -> None:
    """`--qemu`: the firmware trains on the synthetic data of `tte run --qemu` and is pulled;
    the checkpoint holds what the same C on the host holds after the same steps."""
    from tte.cli.firmware import synthetic_data

    r = CliRunner().invoke(main, ["weights", "pull", str(compiled), "--model", str(TFLITE), "--qemu", "--steps",
                                  "3", "-o", str(tmp_path / "t.tflite"), "--save-checkpoint", str(tmp_path / "c.bin")])
    assert r.exit_code == 0, r.output
    ck = Checkpoint.from_bytes((tmp_path / "c.bin").read_bytes())
    a = analyze(tte.load(TFLITE), board="qemu-mps2-an500", scheme="last-k:2", budget_bytes=1 << 40)
    name = next(p.stem for p in compiled.glob("*.h"))
    sim = Simulator(a, {f"{name}{x}": (compiled / f"{name}{x}").read_text() for x in (".c", ".h")}, name)
    xs, ys = synthetic_data(28 * 28, 10, 3, 0)
    for x, y in zip(xs, ys, strict=True):
        sim.train_step(x, int(y))
    assert ck.steps == 3 and ck.payload == sim._read() != b"".join(
        np.ascontiguousarray(a.forward.tensors[p].data).tobytes() for p in a.training.updates)


def test_pull_refuses_another_models_checkpoint_and_keeps_files(compiled: Path, tmp_path: Path) -> None:
    mid = bytes.fromhex(__import__("json").loads((compiled / "report.json").read_text())["checkpoint"]["model_id"])
    n = __import__("json").loads((compiled / "report.json").read_text())["checkpoint"]["payload_bytes"]
    foreign = tmp_path / "other.bin"
    foreign.write_bytes(Checkpoint(bytes(a ^ 0xFF for a in mid), 1, bytes(n)).to_bytes())
    out = tmp_path / "t.tflite"
    r = CliRunner().invoke(main, ["weights", "pull", str(compiled), "--model", str(TFLITE), "--checkpoint",
                                  str(foreign), "-o", str(out)])
    assert r.exit_code == 2 and "checkpoint of another model" in r.output and not out.exists()
    # a model other than the compiled one: one weight changed
    g = tte.load(TFLITE)
    g.tensors["classifier.weight"].data = g.tensors["classifier.weight"].data.copy()
    g.tensors["classifier.weight"].data[0, 0] ^= 1
    other = tmp_path / "other.tflite"
    tte.export(g, other)
    good = tmp_path / "good.bin"
    good.write_bytes(Checkpoint(mid, 1, bytes(n)).to_bytes())
    r = CliRunner().invoke(main, ["weights", "pull", str(compiled), "--model", str(other), "--checkpoint",
                                  str(good), "-o", str(out)])
    assert r.exit_code == 2 and "not the model compiled" in r.output and not out.exists()
    # an output file that tte did not write is never replaced, even with --force
    out.write_text("mine")
    r = CliRunner().invoke(main, ["weights", "pull", str(compiled), "--model", str(TFLITE), "--checkpoint",
                                  str(good), "-o", str(out), "--force"])
    assert r.exit_code == 2 and "did not write" in r.output and out.read_text() == "mine"
    out.unlink()
    r = CliRunner().invoke(main, ["weights", "pull", str(compiled), "--model", str(TFLITE), "--checkpoint",
                                  str(good), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert not tte.load(out).tensors["classifier.weight"].data.any()       # the checkpoint's zeros


def test_pull_from_a_serial_device(host: tuple[Simulator, Any], tmp_path: Path) -> None:
    """A pseudo-terminal stands in for the board's USB serial port: the host sends the 'D'
    record, the 'board' answers with its printed checkpoint between other output."""
    sim, a = host
    data, text = _write(sim), _printed(sim)
    out = tmp_path / "m"
    from tte.compiler.compile import compile_model
    compile_model(tte.load(TFLITE), board="qemu-mps2-an500", scheme="last-k:2", out_dir=out, emit_c=False)
    master, slave = os.openpty()
    got: list[bytes] = []

    def board() -> None:
        got.append(os.read(master, 8))
        os.write(master, b"sensor: 0.12\r\n" + text.encode() + b"sensor: 0.13\r\n")

    t = threading.Thread(target=board)
    t.start()
    try:
        r = CliRunner().invoke(main, ["weights", "pull", str(out), "--model", str(TFLITE), "--from",
                                      os.ttyname(slave), "--timeout", "20", "-o", str(tmp_path / "t.tflite"),
                                      "--save-checkpoint", str(tmp_path / "c.bin")])
    finally:
        t.join(timeout=20)
        os.close(master)
        os.close(slave)
    assert r.exit_code == 0, r.output
    assert got == [b"D" + bytes(7)]
    assert (tmp_path / "c.bin").read_bytes() == data
    pulled = tte.load(tmp_path / "t.tflite")
    for name, w in sim.weights().items():
        np.testing.assert_array_equal(pulled.tensors[name].data, w)


def test_pull_writes_the_trained_initializers_into_a_qdq_onnx(tmp_path: Path) -> None:
    """A QDQ ONNX (onnxruntime's static quantization of the example): the pulled .onnx holds the
    device's int8 weights and int32 biases in ONNX's own layouts (Conv OIHW, Gemm [N, K])."""
    import onnx
    from onnx import numpy_helper
    from test_onnx_import import ort_static_qdq

    xs, _ = fashion_mnist("train")
    qdq = tmp_path / "q.onnx"
    qdq.write_bytes(ort_static_qdq((ROOT / "examples" / "fmnist_cnn.onnx").read_bytes(),
                                   [{"input": xs[i:i + 1]} for i in range(8)], tmp_path))
    from tte.compiler.compile import compile_model

    out = tmp_path / "m"   # report.json only (no firmware here): the C is generate()'s, as compile writes it
    compile_model(tte.load(qdq), board="qemu-mps2-an500", scheme="last-k:2", out_dir=out, name="q", emit_c=False)
    a = analyze(tte.load(qdq), board="qemu-mps2-an500", scheme="last-k:2", budget_bytes=1 << 40)
    sim = Simulator(a, generate(a, "q"), "q")
    sim.ffi.cdef(_CDEF)
    x = np.transpose(xs[:4], (0, 2, 3, 1))      # float input (float I/O around the int8 body), NHWC
    for i in range(4):
        sim.train_step(x[i], i)
    (tmp_path / "c.bin").write_bytes(_write(sim))
    r = CliRunner().invoke(main, ["weights", "pull", str(out), "--model", str(qdq), "--checkpoint",
                                  str(tmp_path / "c.bin"), "-o", str(tmp_path / "t.onnx")])
    assert r.exit_code == 0, r.output
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(tmp_path / "t.onnx")).graph.initializer}
    original = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(qdq)).graph.initializer}
    moved = 0
    for name, w in sim.weights().items():
        on = inits[name]
        want = np.transpose(w, (0, 3, 1, 2)) if w.ndim == 4 else w     # IR OHWI -> ONNX OIHW
        np.testing.assert_array_equal(on, want)
        moved += not np.array_equal(on, original[name])
    assert moved
    assert set(inits) == set(original)
