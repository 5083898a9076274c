"""Run tte firmware on QEMU (`qemu-system-arm -M mps2-an500`, an emulated Cortex-M7, or
`-M mps2-an505`, a Cortex-M33: the board file's qemu_machine).

The host writes a data stream (firmware/src/main.c gives the record format) to a file that
the firmware reads through semihosting, and reads back its line report. Instructions are
counted by our TCG plugin (firmware/qemu-plugin/tte_icount.c): every training step and
inference runs between the firmware's tte_region_begin / tte_region_end markers, and the
plugin writes the exact number of guest instructions executed in between. The first region
is empty; its count (the markers' own instructions) is subtracted from the others.

    from tte.targets.qemu import Stream, run_firmware
    s = Stream(); s.train(x, 3); s.crc(); res = run_firmware(fw, s)
    res.losses, res.crc32, res.train_instructions, res.stack_peak_bytes
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tte.errors import TteError
from tte.targets.cycles import COST_KEYS, CortexM7CostModel
from tte.targets.firmware import Firmware, memory_origins
from tte.targets.paths import cache_dir, resource_dir

QEMU = "qemu-system-arm"
PLUGIN_SOURCE = resource_dir("firmware") / "qemu-plugin" / "tte_icount.c"
PLUGIN_BUILD_DIR = cache_dir("qemu-plugin")
PLUGIN_CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-fvisibility=hidden")

# Firmware exit statuses (firmware/src/main.c, startup.c).
_EXIT_MEANING = {1: "protocol error", 2: "semihosting file error", 3: "hard fault", 4: "unexpected interrupt"}


def qemu_available() -> bool:
    return shutil.which(QEMU) is not None


def qemu_supports_plugins() -> bool:
    if not qemu_available():
        return False
    out = subprocess.run([QEMU, "-help"], capture_output=True, text=True, check=False).stdout
    return "-plugin" in out


def build_plugin(force: bool = False) -> Path:
    """Compile the instruction-count plugin with the host C compiler (once)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise TteError("no host C compiler (cc) to build the QEMU plugin")
    so = PLUGIN_BUILD_DIR / "libtte_icount.so"
    if not force and so.is_file() and so.stat().st_mtime >= PLUGIN_SOURCE.stat().st_mtime:
        return so
    PLUGIN_BUILD_DIR.mkdir(parents=True, exist_ok=True)
    tmp = so.with_suffix(".so.tmp")
    r = subprocess.run([cc, *PLUGIN_CFLAGS, "-o", str(tmp), str(PLUGIN_SOURCE)], capture_output=True, text=True,
                       check=False)
    if r.returncode != 0:
        raise TteError(f"cannot build the QEMU plugin:\n{r.stderr.strip()}", file=str(PLUGIN_SOURCE))
    tmp.replace(so)
    return so


MAX_RECORD_BYTES = (1 << 24) - 1  # the header's u24 length


def record(op: str, label: int = 0, payload: bytes = b"") -> bytes:
    """One stream record (firmware/src/main.c): op, payload length, label, payload padded to 4."""
    if len(payload) > MAX_RECORD_BYTES:
        raise TteError(f"a stream record holds at most {MAX_RECORD_BYTES:,} bytes, not {len(payload):,}")
    pad = (-len(payload)) % 4
    return (struct.pack("<B", ord(op)) + len(payload).to_bytes(3, "little") + struct.pack("<i", label)
            + payload + b"\0" * pad)


@dataclass
class Stream:
    """The command stream the firmware executes, built up record by record."""

    chunks: list[bytes] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)  # "train" / "infer", one per counted region

    @staticmethod
    def _bytes(x: np.ndarray | bytes) -> bytes:
        if isinstance(x, bytes):
            return x
        a = np.asarray(x)
        if a.dtype not in (np.int8, np.float32):
            raise TteError(f"firmware inputs are int8 or float32 (as the model's input), got {a.dtype}")
        return a.astype(a.dtype.newbyteorder("<")).tobytes()

    def train(self, x: np.ndarray | bytes, label: int, target: np.ndarray | None = None) -> Stream:
        """A training step: a label, or a regression model's float target (after the input)."""
        payload = self._bytes(x)
        if target is not None:
            payload += b"\0" * ((-len(payload)) % 4) + np.asarray(target, "<f4").tobytes()
        self.chunks.append(record("T", int(label), payload))
        self.regions.append("train")
        return self

    def evaluate(self, x: np.ndarray | bytes, label: int) -> Stream:
        self.chunks.append(record("E", int(label), self._bytes(x)))
        self.regions.append("infer")
        return self

    def infer(self, x: np.ndarray | bytes) -> Stream:
        self.chunks.append(record("I", 0, self._bytes(x)))
        self.regions.append("infer")
        return self

    def crc(self) -> Stream:
        self.chunks.append(record("C"))
        return self

    def get_weights(self) -> Stream:
        self.chunks.append(record("G"))
        return self

    def set_weights(self, w: bytes) -> Stream:
        self.chunks.append(record("S", 0, w))
        return self

    def quit(self) -> Stream:
        self.chunks.append(record("Q"))
        return self

    def to_bytes(self) -> bytes:
        return b"".join(self.chunks)


@dataclass
class RunResult:
    exit_code: int
    input_bytes: int = 0
    output_bytes: int = 0
    trainable_bytes: int = 0
    arena_bytes: int = 0
    losses: list[float] = field(default_factory=list)
    outputs: list[np.ndarray] = field(default_factory=list)
    predictions: list[int] = field(default_factory=list)
    crcs: list[int] = field(default_factory=list)
    weights: list[bytes] = field(default_factory=list)
    correct: int = 0
    scored: int = 0
    stack_peak_bytes: int = 0
    stack_region_bytes: int = 0
    marker_instructions: int = 0
    region_instructions: list[int] = field(default_factory=list)  # net of the markers
    train_instructions: list[int] = field(default_factory=list)
    infer_instructions: list[int] = field(default_factory=list)
    total_instructions: int = 0
    report: list[str] = field(default_factory=list)
    # With a cost model: per counted region the plugin's cost counts (net of the markers) and
    # the model's cycle estimate (tte/targets/cycles.py), never a measured cycle count.
    cost_model: CortexM7CostModel | None = None
    region_costs: list[dict[str, int]] = field(default_factory=list)
    train_cycles_estimate: list[int] = field(default_factory=list)
    infer_cycles_estimate: list[int] = field(default_factory=list)

    @property
    def crc32(self) -> int | None:
        return self.crcs[-1] if self.crcs else None


def _parse_report(lines: list[str], res: RunResult) -> None:
    for line in lines:
        tag, _, rest = line.partition(" ")
        f = rest.split()
        if tag == "R":
            res.input_bytes, res.output_bytes, res.trainable_bytes, res.arena_bytes = map(int, f)
        elif tag == "L":
            res.losses.append(struct.unpack("<f", struct.pack("<I", int(f[0], 16)))[0])
        elif tag == "P":
            res.predictions.append(int(f[0]))
            res.outputs.append(np.frombuffer(bytes.fromhex(f[2]), np.int8).copy())
        elif tag == "O":
            res.outputs.append(np.frombuffer(bytes.fromhex(f[0]), np.int8).copy())
        elif tag == "C":
            res.crcs.append(int(f[0], 16))
        elif tag == "W":
            res.weights.append(bytes.fromhex(f[0]) if f else b"")
        elif tag == "A":
            res.correct, res.scored = int(f[0]), int(f[1])
        elif tag == "K":
            res.stack_peak_bytes, res.stack_region_bytes = int(f[0]), int(f[1])


def run_firmware(fw: Firmware, stream: Stream, *, count: bool = True, timeout: float = 600.0,
                 keep_dir: str | Path | None = None, plugin_args: tuple[str, ...] = (),
                 cost_model: CortexM7CostModel | None = None) -> RunResult:
    """Run the firmware on QEMU over `stream`; parse its report (semihosting file or UART).

    With an embedded-data build the stream is already in flash: pass the same Stream, for
    its list of counted regions. plugin_args: extra `key=value` arguments for the counting
    plugin (its profile mode: prof=FILE, lo=ADDR, hi=ADDR; see tte_icount.c). cost_model:
    also count what it prices and give each region a cycle estimate (slower: the plugin
    then runs a callback per block and per load)."""
    b = fw.board
    if cost_model is not None:
        if not count:
            raise TteError("a cycle estimate needs the instruction count (count=True)")
        flash_lo = memory_origins(b)[0]
        plugin_args = (*plugin_args, *cost_model.plugin_args(flash_lo, flash_lo + b.flash_bytes))
    if not b.qemu_machine:
        raise TteError(f"board '{b.name}' has no QEMU machine (qemu_machine in its board file)")
    if fw.in_mode == "uart":
        raise TteError("QEMU runs feed data by semihosting or an embedded data set, not the UART")
    if not qemu_available():
        raise TteError(f"{QEMU} not found (install qemu-system-arm)")
    with tempfile.TemporaryDirectory(prefix="tte-qemu-") as tmp:
        work = (Path(keep_dir) if keep_dir else Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        (work / "tte_input.bin").write_bytes(stream.to_bytes() if fw.in_mode == "semihost" else b"")
        report_path = work / ("tte_uart.txt" if fw.out_mode == "uart" else "tte_report.txt")
        serial = f"file:{report_path}" if fw.out_mode == "uart" else "none"
        cmd = [QEMU, "-M", b.qemu_machine, "-cpu", b.core, "-nographic", "-monitor", "none", "-serial", serial,
               "-semihosting-config", "enable=on,target=native", "-kernel", str(fw.elf.resolve())]
        icount = work / "tte_icount.txt"
        if count:
            if not qemu_supports_plugins():
                raise TteError(f"{QEMU} was built without TCG plugin support (-plugin); cannot count instructions")
            so = build_plugin()
            begin, end = fw.symbol("tte_region_begin") & ~1, fw.symbol("tte_region_end") & ~1
            cmd += ["-plugin", ",".join((f"{so},begin=0x{begin:x},end=0x{end:x},out={icount}", *plugin_args))]
        try:
            proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise TteError(f"QEMU run did not finish within {timeout:.0f} s", file=str(fw.elf)) from None
        lines = report_path.read_text().splitlines() if report_path.is_file() else []
        res = RunResult(exit_code=proc.returncode, report=lines)
        _parse_report(lines, res)
        failure = next((ln[2:] for ln in lines if ln.startswith("F ")), None)
        if proc.returncode != 0 or failure or "Z" not in lines:
            why = failure or _EXIT_MEANING.get(proc.returncode, f"exit status {proc.returncode}")
            detail = (proc.stderr.strip() or proc.stdout.strip())[-800:]
            raise TteError(f"firmware run on QEMU failed: {why}" + (f"\n{detail}" if detail else ""),
                           file=str(fw.elf))
        if count:
            _parse_counts(icount.read_text().splitlines(), stream, res)
            if cost_model is not None:
                _price(res, stream, cost_model)
    return res


@dataclass
class PluginCounts:
    """What the counting plugin wrote: per region its instructions and, in cost mode, its
    cost counts (both gross: the first, empty region holds the markers' own share)."""

    regions: list[int] = field(default_factory=list)
    costs: list[dict[str, int]] = field(default_factory=list)
    total: int = 0


def parse_plugin_output(lines: list[str]) -> PluginCounts:
    out = PluginCounts()
    for line in lines:
        tag, _, value = line.partition(" ")
        if tag == "region":
            out.regions.append(int(value))
        elif tag == "cost":
            pairs = dict(item.split("=", 1) for item in value.split())
            if set(pairs) != set(COST_KEYS):
                raise TteError(f"the QEMU plugin's cost line has keys {sorted(pairs)}, expected {list(COST_KEYS)}")
            out.costs.append({k: int(v) for k, v in pairs.items()})
        elif tag == "total":
            out.total = int(value)
        elif tag == "error":
            raise TteError(f"instruction counting failed: {value}")
    if out.costs and len(out.costs) != len(out.regions):
        raise TteError(f"the QEMU plugin wrote {len(out.regions)} regions but {len(out.costs)} cost lines")
    return out


def _parse_counts(lines: list[str], stream: Stream, res: RunResult) -> None:
    counts = parse_plugin_output(lines)
    regions = counts.regions
    res.total_instructions = counts.total
    if not regions:
        raise TteError("the QEMU plugin counted no regions (markers not reached?)")
    res.marker_instructions = regions[0]
    res.region_instructions = [r - regions[0] for r in regions[1:]]
    if counts.costs:
        base = counts.costs[0]
        res.region_costs = [{k: c[k] - base[k] for k in COST_KEYS} for c in counts.costs[1:]]
    if len(res.region_instructions) != len(stream.regions):
        raise TteError(f"counted {len(res.region_instructions)} regions, the stream has {len(stream.regions)}")
    for kind, n in zip(stream.regions, res.region_instructions, strict=True):
        (res.train_instructions if kind == "train" else res.infer_instructions).append(n)


def _price(res: RunResult, stream: Stream, model: CortexM7CostModel) -> None:
    if len(res.region_costs) != len(res.region_instructions):
        raise TteError("the QEMU plugin wrote no cost counts (is the plugin up to date?)")
    res.cost_model = model
    for kind, n, c in zip(stream.regions, res.region_instructions, res.region_costs, strict=True):
        (res.train_cycles_estimate if kind == "train" else res.infer_cycles_estimate).append(model.estimate(n, c))


class QemuSession:
    """A firmware process on QEMU that executes commands one at a time (tte.Trainer's
    engine "qemu"): the data file and the report are named pipes, so the emulated board keeps
    its state (weights, the stochastic-rounding step counter) from one step to the next.

        with QemuSession(fw) as s:
            loss = s.train(x, 3); s.crc(); s.instructions[-1]
    """

    def __init__(self, fw: Firmware, *, count: bool = True, timeout: float = 600.0) -> None:
        import os
        import weakref

        if not fw.board.qemu_machine or fw.in_mode != "semihost" or fw.out_mode != "semihost":
            raise TteError("a QEMU session needs a semihosting build for a board with a QEMU machine")
        if not qemu_available():
            raise TteError(f"{QEMU} not found (install qemu-system-arm)")
        self.fw, self.timeout = fw, timeout
        self._tmp = tempfile.TemporaryDirectory(prefix="tte-qemu-session-")
        work = Path(self._tmp.name)
        os.mkfifo(work / "tte_input.bin")
        os.mkfifo(work / "tte_report.txt")
        self._icount_path = work / "tte_icount.txt"
        cmd = [QEMU, "-M", fw.board.qemu_machine, "-cpu", fw.board.core, "-nographic", "-monitor", "none",
               "-serial", "none", "-semihosting-config", "enable=on,target=native", "-kernel", str(fw.elf.resolve())]
        if count:
            so = build_plugin()
            begin, end = fw.symbol("tte_region_begin") & ~1, fw.symbol("tte_region_end") & ~1
            cmd += ["-plugin", f"{so},begin=0x{begin:x},end=0x{end:x},out={self._icount_path}"]
        self._log = open(work / "qemu.log", "w+b")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(cmd, cwd=work, stdout=self._log, stderr=subprocess.STDOUT)
        self._finalizer = weakref.finalize(self, QemuSession._kill, self.proc)
        # Our read end is opened read-write so that it never blocks and never sees EOF early.
        self._rfd = os.open(work / "tte_report.txt", os.O_RDWR | os.O_NONBLOCK)
        self._wfd = self._open_writer(work / "tte_input.bin")
        self._buf = b""
        self._icount_seen = 0
        self.counted = count
        self.instructions: list[int] = []  # per counted region, net of the markers
        self.marker_instructions = 0
        r = self._line("R")
        self.input_bytes, self.output_bytes, self.trainable_bytes, self.arena_bytes = map(int, r.split())

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    def _died(self) -> TteError:
        self._log.seek(0)
        detail = self._log.read().decode(errors="replace").strip()[-800:]
        why = _EXIT_MEANING.get(self.proc.returncode or 0, f"exit status {self.proc.returncode}")
        return TteError(f"firmware on QEMU stopped: {why}" + (f"\n{detail}" if detail else ""), file=str(self.fw.elf))

    def _open_writer(self, path: Path) -> int:
        import os
        import time

        deadline = time.monotonic() + 30
        while True:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                os.set_blocking(fd, True)
                return fd
            except OSError:  # ENXIO: QEMU has not opened its end yet
                if self.proc.poll() is not None:
                    raise self._died() from None
                if time.monotonic() > deadline:
                    raise TteError("QEMU did not open the data stream within 30 s") from None
                time.sleep(0.01)

    def _line(self, tag: str) -> str:
        import os
        import select
        import time

        deadline = time.monotonic() + self.timeout
        while b"\n" not in self._buf:
            ready, _, _ = select.select([self._rfd], [], [], 0.2)
            if ready:
                self._buf += os.read(self._rfd, 1 << 16)
            elif self.proc.poll() is not None:
                raise self._died()
            elif time.monotonic() > deadline:
                raise TteError(f"no reply from the firmware within {self.timeout:.0f} s")
        raw, _, self._buf = self._buf.partition(b"\n")
        line = raw.decode()
        if line.startswith("F "):
            raise TteError(f"firmware on QEMU failed: {line[2:]}", file=str(self.fw.elf))
        got, _, rest = line.partition(" ")
        if got != tag:
            raise TteError(f"unexpected firmware reply '{line[:60]}' (wanted {tag})")
        return rest

    def _send(self, chunk: bytes) -> None:
        import os

        view = memoryview(chunk)
        while view:
            try:
                n = os.write(self._wfd, view)
            except BrokenPipeError:
                raise self._died() from None
            view = view[n:]

    def _collect_counts(self) -> None:
        if not self.counted:
            return
        lines = self._icount_path.read_text().splitlines()
        for line in lines[self._icount_seen:]:
            tag, _, value = line.partition(" ")
            if tag != "region":
                continue
            if self._icount_seen == 0 and not self.marker_instructions:
                self.marker_instructions = int(value)
            else:
                self.instructions.append(int(value) - self.marker_instructions)
        self._icount_seen = len(lines)

    def train(self, x: np.ndarray | bytes, label: int, target: np.ndarray | None = None) -> float:
        s = Stream().train(x, label, target)
        self._send(s.to_bytes())
        bits = int(self._line("L"), 16)
        self._collect_counts()
        return float(struct.unpack("<f", struct.pack("<I", bits))[0])

    def infer(self, x: np.ndarray | bytes) -> np.ndarray:
        self._send(Stream().infer(x).to_bytes())
        out = np.frombuffer(bytes.fromhex(self._line("O")), np.int8).copy()
        self._collect_counts()
        return out

    def crc(self) -> int:
        self._send(Stream().crc().to_bytes())
        return int(self._line("C"), 16)

    def get_weights(self) -> bytes:
        self._send(Stream().get_weights().to_bytes())
        return bytes.fromhex(self._line("W"))

    def set_weights(self, w: bytes) -> None:
        if len(w) != self.trainable_bytes:
            raise TteError(f"weights have {len(w)} bytes, the firmware trains {self.trainable_bytes}")
        self._send(Stream().set_weights(w).to_bytes())
        self._line("S")

    def close(self) -> int:
        """End the firmware (it reports the stack peak); returns the painted stack peak."""
        import os

        peak = 0
        if self.proc.poll() is None:
            try:
                self._send(Stream().quit().to_bytes())
                self._line("A")
                peak = int(self._line("K").split()[0])
                self._line("Z")
                self.proc.wait(timeout=30)
            except (TteError, subprocess.TimeoutExpired):
                pass
        self._finalizer()
        for fd in (self._wfd, self._rfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        self._tmp.cleanup()
        return peak

    def __enter__(self) -> QemuSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class QemuEngine:
    """The generated training step on the emulated board, behind the interface that
    tte.Trainer uses for its engines: train_step, weights, crc32 (engine "qemu")."""

    def __init__(self, analysis: object, sources: dict[str, str], name: str,
                 board: str = "qemu-mps2-an500") -> None:
        from tte.compiler.analysis import Analysis
        from tte.compiler.codegen import source_digest
        from tte.targets.firmware import ModelSources, build_firmware

        assert isinstance(analysis, Analysis)
        self.analysis = analysis
        out = cache_dir("qemu-engine", source_digest(sources))
        out.mkdir(parents=True, exist_ok=True)
        for fname, text in sources.items():
            p = out / fname
            if not p.is_file() or p.read_text() != text:
                p.write_text(text)
        header = next(f for f in sources if f.endswith(".h"))
        from tte.targets.firmware import CSRC_DIR

        ms = ModelSources(tuple([out / f for f in sources if f.endswith(".c")]
                                + sorted((CSRC_DIR / "src").glob("*.c"))),
                          header, (out, CSRC_DIR / "include"))
        self.firmware = build_firmware(ms, board, out_dir=out / f"firmware-{board}", in_mode="semihost",
                                       weights_io=True)
        self.session = QemuSession(self.firmware)
        fwd = analysis.forward
        self.regression = analysis.training.graph.tensors[analysis.training.label].dtype == "float32"
        self.params = list(analysis.training.updates)
        self._sizes = [fwd.tensors[p].nbytes for p in self.params]
        self.session.set_weights(b"".join(np.ascontiguousarray(fwd.tensors[p].data).tobytes()
                                          for p in self.params))

    def train_step(self, x: np.ndarray, y: int | np.ndarray) -> float:
        if self.regression:
            return self.session.train(self._input(x), 0, np.asarray(y, np.float32).reshape(-1))
        return self.session.train(self._input(x), int(np.asarray(y).reshape(-1)[0]))

    def _input(self, x: np.ndarray) -> np.ndarray:
        """The input as the model takes it (int8, or float for a float-input model), flat."""
        fwd = self.analysis.forward
        return np.ascontiguousarray(x, fwd.tensors[fwd.inputs[0]].dtype).reshape(-1)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """The model output (int8, or float for a float output), flat; the firmware sends bytes."""
        fwd = self.analysis.forward
        raw = self.session.infer(self._input(x))
        return raw.view(np.dtype(fwd.tensors[fwd.outputs[0]].dtype).newbyteorder("<")).astype(
            fwd.tensors[fwd.outputs[0]].dtype)

    def crc32(self) -> int:
        return self.session.crc()

    def weights(self) -> dict[str, np.ndarray]:
        raw, out, off = self.session.get_weights(), {}, 0
        fwd = self.analysis.forward
        for p, n in zip(self.params, self._sizes, strict=True):
            t = fwd.tensors[p]
            out[p] = np.frombuffer(raw[off:off + n], dtype=t.dtype).reshape(t.shape).copy()
            off += n
        return out

    @property
    def instructions(self) -> list[int]:
        return self.session.instructions

    def close(self) -> int:
        return self.session.close()
