"""`tte fleet bridge`: a board without a network, running tte firmware with its command stream on the
UART, joins the fleet through the gateway. The board is the firmware on QEMU (mps2-an500) with its
UART on a pty, opened by the bridge as it opens a real serial port; the broker is a real Mosquitto.
Oracles: the knowledge graph (the board is there, online), the firmware's own CRC-32 of the weights
it holds, and the host C engine trained on the same samples from the same weights."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fleetkit import EXAMPLE, ROOT, agent_config, device_status, running_broker, start_manager, wait_until
from fwtools import needs_arm_gcc, needs_qemu

import tte
from fleet.bridge import CHECKPOINT, Bridge
from fleet.package import build, load_signing_key
from tte.cli import main
from tte.targets.firmware import build_firmware
from tte.targets.paths import cache_dir
from tte.targets.serial import SerialBoard
from tte.training.trainer import Trainer

SCHEME = "last-k:2"
BOARD = "qemu-mps2-an500"


def uart_firmware() -> tuple[Path, dict]:
    """The example model's generated training step for the emulated board, built with its stream on
    the UART (kept under build/, keyed by the generated C, as engine 'qemu' does); and its report."""
    from tte.compiler.analysis import analyze
    from tte.compiler.codegen import generate, source_digest
    from tte.targets.firmware import CSRC_DIR, ModelSources

    a = analyze(tte.load(EXAMPLE), board=BOARD, scheme=SCHEME)
    sources = generate(a, "fmnist_cnn")
    out = cache_dir("test-fleet-bridge", source_digest(sources))
    out.mkdir(parents=True, exist_ok=True)
    for name, text in sources.items():
        if not (out / name).is_file() or (out / name).read_text() != text:
            (out / name).write_text(text)
    ms = ModelSources(tuple([out / f for f in sources if f.endswith(".c")] + sorted((CSRC_DIR / "src").glob("*.c"))),
                      next(f for f in sources if f.endswith(".h")), (out, CSRC_DIR / "include"), report=a.report)
    fw = build_firmware(ms, BOARD, out_dir=out / "fw", in_mode="uart", out_mode="uart", weights_io=True)
    return fw.elf, a.report


@pytest.fixture(scope="module")
def built() -> tuple[Path, dict]:
    return uart_firmware()


@pytest.fixture(scope="module")
def firmware(built: tuple[Path, dict]) -> Path:
    return built[0]


class EmulatedBoard:
    """The firmware running on QEMU: its UART is the pty `port`; `reset()` presses its reset button."""

    def __init__(self, firmware: Path, directory: Path) -> None:
        self.monitor = directory / "monitor.sock"
        self.proc = subprocess.Popen(["qemu-system-arm", "-M", "mps2-an500", "-cpu", "cortex-m7", "-nographic",
                                      "-monitor", f"unix:{self.monitor},server=on,wait=off", "-serial", "pty",
                                      "-semihosting-config", "enable=on,target=native", "-kernel", str(firmware)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.port = ""

    def reset(self) -> None:
        import socket

        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.monitor))
            s.sendall(b"system_reset\n")
            time.sleep(0.2)


@pytest.fixture()
def board(firmware: Path, tmp_path: Path) -> Iterator[EmulatedBoard]:
    emu = EmulatedBoard(firmware, tmp_path)
    proc = emu.proc
    try:
        assert proc.stdout is not None
        out = b""
        deadline = time.monotonic() + 20
        while not re.search(rb"/dev/pts/\d+", out) and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 0.5)[0]:
                out += os.read(proc.stdout.fileno(), 4096)
        m = re.search(rb"(/dev/pts/\d+)", out)
        assert m, out
        emu.port = m.group(1).decode()
        yield emu
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory, built: tuple[Path, dict]) -> tuple[Path, np.ndarray,
                                                                                           np.ndarray]:
    """A package whose weights are not the firmware's (the example trained 3 steps on the host), and
    the sensor stream a board trains on."""
    rng = np.random.default_rng(1)
    xs = rng.random((24, 28, 28, 1), np.float32)
    ys = rng.integers(0, 10, 24)
    tr = Trainer(tte.load(EXAMPLE), scheme=SCHEME, engine="ref")
    for i in range(3):
        tr.step(xs[i:i + 1], ys[i:i + 1])
    d = tmp_path_factory.mktemp("pkg")
    (d / "report.json").write_text(json.dumps(built[1], default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    tte.export(tr.graph, str(d / "fmnist_cnn.tflite"))
    return d, xs, ys


def sample(xs: np.ndarray, ys: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
    """The sample of step i as the agent takes them from its stream (the last quarter held out)."""
    k = i % (len(xs) - max(1, min(32, len(xs) // 4)))
    return xs[k:k + 1], ys[k:k + 1]


def weights_of(model: Path) -> bytes:
    tr = Trainer(tte.load(model), scheme=SCHEME, engine="ref")
    return b"".join(np.ascontiguousarray(tr.training.graph.tensors[p].data).tobytes() for p in tr.training.updates)


@needs_arm_gcc
@needs_qemu
def test_board_on_a_serial_line_joins_gets_a_deploy_and_trains(tmp_path: Path, board: EmulatedBoard,
                                                               variant: tuple[Path, np.ndarray, np.ndarray]) -> None:
    pkg_dir, xs, ys = variant
    stream = tmp_path / "stream.npz"
    np.savez(stream, x=xs, y=ys)
    with running_broker(tmp_path / "broker", ["uart1"]) as b:
        m = start_manager(b.config)
        pkg = build(pkg_dir, load_signing_key(b.config.signing_key))
        m.add_package_to_graph(pkg)
        link = SerialBoard(board.port)
        untrained = link.crc()
        bridge = Bridge(agent_config(b.config, "uart1", tmp_path / "uart1", board=BOARD, engine="serial",
                                     sensors=["camera"], data=str(stream), train_every_s=0.05, telemetry_s=0.3),
                        link)
        bridge.start()
        try:
            # the board is in the graph, on its board, online
            assert wait_until(lambda: device_status(m.store, "uart1") == "online", 10)
            assert m.store.ask(f"ASK {{ <urn:tte:device:uart1> <https://tte.invalid/ns#onBoard> "
                               f"<urn:tte:board:{BOARD}> }}")
            m.offer(pkg, "uart1", "j1", block_size=2048)
            assert wait_until(lambda: m.jobs["uart1"].final, 30)
            assert m.jobs["uart1"].state == "applied", m.jobs["uart1"].detail
            # it trains on its stream through the gateway and reports it
            assert wait_until(lambda: m.telemetry.get("uart1", {}).get("steps", 0) >= 4, 30), m.telemetry
            t = m.telemetry["uart1"]
            assert np.isfinite(t["loss"]) and t["build_id"] == pkg.build_id
        finally:
            bridge.stop()
        m.stop()
    steps = bridge.model.steps  # type: ignore[union-attr]
    # the board holds the package's weights trained on the first `steps` samples, as the host C engine
    # trains them from the package's model (the firmware's CRC-32 against the host's)
    host = Trainer(tte.load(pkg_dir / "fmnist_cnn.tflite"), scheme=SCHEME, engine="c")
    assert zlib.crc32(weights_of(pkg_dir / "fmnist_cnn.tflite")) != untrained  # the deploy changed the board
    for i in range(steps):
        host.step(*sample(xs, ys, i))
    again = SerialBoard(board.port)
    try:
        assert again.crc() == host.weights_crc32()
    finally:
        again.close()
    slot = next(p for p in (tmp_path / "uart1" / "slots").iterdir() if (p / CHECKPOINT).is_file())
    assert zlib.crc32((slot / CHECKPOINT).read_bytes()) == host.weights_crc32()  # the gateway's mirror


@needs_arm_gcc
@needs_qemu
def test_a_package_for_another_model_is_refused_and_the_board_keeps_its_weights(
        tmp_path: Path, board: EmulatedBoard, variant: tuple[Path, np.ndarray, np.ndarray]) -> None:
    pkg_dir, _, _ = variant
    other = tmp_path / "other"
    other.mkdir()
    (other / "report.json").write_text((pkg_dir / "report.json").read_text())
    (other / "fmnist_cnn.tflite").write_bytes((pkg_dir / "fmnist_cnn.tflite").read_bytes())
    report = json.loads((other / "report.json").read_text())
    report["scheme"] = "last-k:1"  # fewer trained tensors than the firmware was built for
    (other / "report.json").write_text(json.dumps(report))
    with running_broker(tmp_path / "broker", ["uart1"]) as b:
        m = start_manager(b.config)
        pkg = build(other, load_signing_key(b.config.signing_key))
        link = SerialBoard(board.port)
        before = link.crc()
        bridge = Bridge(agent_config(b.config, "uart1", tmp_path / "uart1", board=BOARD, engine="serial"), link)
        bridge.start()
        try:
            assert wait_until(lambda: device_status(m.store, "uart1") == "online", 10)
            m.offer(pkg, "uart1", "j1", block_size=2048)
            assert wait_until(lambda: m.jobs["uart1"].final, 30)
            assert m.jobs["uart1"].state == "rolled_back", m.jobs["uart1"].state
            assert "firmware was built for another model" in m.jobs["uart1"].detail
        finally:
            bridge.stop()
        m.stop()
    again = SerialBoard(board.port)
    try:
        assert again.crc() == before
    finally:
        again.close()


def test_cli_port_missing_or_silent_is_a_clear_error(tmp_path: Path) -> None:
    broker_dir = tmp_path / "broker"
    r = CliRunner().invoke(main, ["fleet", "broker", "--dir", str(broker_dir), "--device", "b1", "--write-only"])
    assert r.exit_code == 0, r.output
    base = ["fleet", "bridge", "--broker-dir", str(broker_dir), "--id", "b1", "--board", BOARD]
    r = CliRunner().invoke(main, [*base, "--serial", str(tmp_path / "ttyNONE")])
    assert r.exit_code == 2 and "does not exist" in r.output, r.output
    r = CliRunner().invoke(main, [*base, "--serial", str(broker_dir / "credentials.json")])
    assert r.exit_code == 2 and "not a serial port" in r.output, r.output
    master, slave = os.openpty()  # a serial line with nothing behind it
    try:
        t0 = time.monotonic()
        r = CliRunner().invoke(main, [*base, "--serial", os.ttyname(slave), "--timeout", "0.5"])
        assert r.exit_code == 2 and "no answer from tte firmware" in r.output, r.output
        assert time.monotonic() - t0 < 5
        assert os.read(master, 64)[:1] == b"R"  # it asked
    finally:
        os.close(master)
        os.close(slave)


@needs_arm_gcc
@needs_qemu
def test_a_board_reset_gets_its_trained_weights_back(tmp_path: Path, board: EmulatedBoard,
                                                     variant: tuple[Path, np.ndarray, np.ndarray]) -> None:
    """Reset mid-training (the firmware starts again with the weights it was built with): the gateway
    loads the last weights it mirrored and training goes on from them. Oracle: host C trained on the
    same samples, restarted at the reset (the board's stochastic-rounding counter restarts too)."""
    pkg_dir, xs, ys = variant
    stream = tmp_path / "stream.npz"
    np.savez(stream, x=xs, y=ys)
    with running_broker(tmp_path / "broker", ["uart1"]) as b:
        m = start_manager(b.config)
        pkg = build(pkg_dir, load_signing_key(b.config.signing_key))
        bridge = Bridge(agent_config(b.config, "uart1", tmp_path / "uart1", board=BOARD, engine="serial",
                                     data=str(stream), train_every_s=0.05), SerialBoard(board.port))
        bridge.start()
        try:
            assert wait_until(lambda: device_status(m.store, "uart1") == "online", 10)
            m.offer(pkg, "uart1", "j1", block_size=2048)
            assert wait_until(lambda: m.jobs["uart1"].final, 30) and m.jobs["uart1"].state == "applied"
            assert wait_until(lambda: bridge.model is not None and bridge.model.steps >= 2, 30)
            link = bridge.board
            with link.lock:  # between two commands, so that the reset cuts none in half
                board.reset()
                assert wait_until(lambda: link.poll() or link.restarts == 1, 20)  # its start-up line came
            model = bridge.model
            assert wait_until(lambda: model.restores and model.steps >= model.restores[0] + 2, 30), model.restores
        finally:
            bridge.stop()
        m.stop()
    assert len(model.restores) == 1
    at, steps = model.restores[0], model.steps
    before = Trainer(tte.load(pkg_dir / "fmnist_cnn.tflite"), scheme=SCHEME, engine="c")
    for i in range(at):
        before.step(*sample(xs, ys, i))
    after = Trainer(before.graph, scheme=SCHEME, engine="c")
    for i in range(at, steps):
        after.step(*sample(xs, ys, i))
    again = SerialBoard(board.port)
    try:
        assert again.crc() == after.weights_crc32()
    finally:
        again.close()


@needs_arm_gcc
@needs_qemu
def test_cli_bridge_brings_the_board_online_and_offline(tmp_path: Path, board: EmulatedBoard) -> None:
    import signal
    import sys

    with running_broker(tmp_path / "broker", ["uart1"]) as b:
        m = start_manager(b.config)
        proc = subprocess.Popen([sys.executable, "-m", "tte.cli", "fleet", "bridge", "--broker-dir",
                                 str(tmp_path / "broker"), "--serial", board.port, "--board", BOARD, "--id", "uart1",
                                 "--state", str(tmp_path / "uart1"), "--mqtt", "5"], cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE, text=True)
        try:
            assert wait_until(lambda: device_status(m.store, "uart1") == "online", 20)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
            assert proc.returncode == 0, err
            assert f"tte firmware, {len(weights_of(EXAMPLE)):,} B trainable, input 784 B" in err, err
            assert wait_until(lambda: device_status(m.store, "uart1") == "offline", 10)
        finally:
            if proc.poll() is None:
                proc.kill()
            m.stop()


@needs_arm_gcc
def test_uart_input_build_replies_on_the_uart_too(tmp_path: Path) -> None:
    """`tte build --io uart` on the emulated board: the commands and the replies both on the UART."""
    from fwtools import model_sources

    fw = build_firmware(model_sources(), BOARD, out_dir=tmp_path, in_mode="uart", weights_io=True)
    assert (fw.in_mode, fw.out_mode) == ("uart", "uart")
    assert {"tte_uart_getc", "tte_uart_putc"} <= set(fw.symbols) and "tte_sh_open" not in fw.symbols
