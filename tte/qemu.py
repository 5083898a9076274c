"""Run tte firmware on QEMU (`qemu-system-arm -M mps2-an500`, an emulated Cortex-M7).

The host writes a data stream (firmware/src/main.c gives the record format) to a file that
the firmware reads through semihosting, and reads back its line report. Instructions are
counted by our TCG plugin (firmware/qemu-plugin/tte_icount.c): every training step and
inference runs between the firmware's tte_region_begin / tte_region_end markers, and the
plugin writes the exact number of guest instructions executed in between. The first region
is empty; its count (the markers' own instructions) is subtracted from the others.

    from tte.qemu import Stream, run_firmware
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
from tte.firmware import ROOT, Firmware

QEMU = "qemu-system-arm"
PLUGIN_SOURCE = ROOT / "firmware" / "qemu-plugin" / "tte_icount.c"
PLUGIN_BUILD_DIR = ROOT / "build" / "qemu-plugin"
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


def _record(op: str, label: int = 0, payload: bytes = b"") -> bytes:
    pad = (-len(payload)) % 4
    return struct.pack("<B3xi", ord(op), label) + payload + b"\0" * pad


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
        if a.dtype != np.int8:
            raise TteError(f"firmware inputs are int8, got {a.dtype}")
        return a.tobytes()

    def train(self, x: np.ndarray | bytes, label: int) -> Stream:
        self.chunks.append(_record("T", int(label), self._bytes(x)))
        self.regions.append("train")
        return self

    def evaluate(self, x: np.ndarray | bytes, label: int) -> Stream:
        self.chunks.append(_record("E", int(label), self._bytes(x)))
        self.regions.append("infer")
        return self

    def infer(self, x: np.ndarray | bytes) -> Stream:
        self.chunks.append(_record("I", 0, self._bytes(x)))
        self.regions.append("infer")
        return self

    def crc(self) -> Stream:
        self.chunks.append(_record("C"))
        return self

    def get_weights(self) -> Stream:
        self.chunks.append(_record("G"))
        return self

    def set_weights(self, w: bytes) -> Stream:
        self.chunks.append(_record("S", 0, w))
        return self

    def quit(self) -> Stream:
        self.chunks.append(_record("Q"))
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
                 keep_dir: str | Path | None = None) -> RunResult:
    """Run the firmware on QEMU over `stream`; parse its report (semihosting file or UART).

    With an embedded-data build the stream is already in flash: pass the same Stream, for
    its list of counted regions."""
    b = fw.board
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
            cmd += ["-plugin", f"{so},begin=0x{begin:x},end=0x{end:x},out={icount}"]
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
    return res


def _parse_counts(lines: list[str], stream: Stream, res: RunResult) -> None:
    regions: list[int] = []
    for line in lines:
        tag, _, value = line.partition(" ")
        if tag == "region":
            regions.append(int(value))
        elif tag == "total":
            res.total_instructions = int(value)
        elif tag == "error":
            raise TteError(f"instruction counting failed: {value}")
    if not regions:
        raise TteError("the QEMU plugin counted no regions (markers not reached?)")
    res.marker_instructions = regions[0]
    res.region_instructions = [r - regions[0] for r in regions[1:]]
    if len(res.region_instructions) != len(stream.regions):
        raise TteError(f"counted {len(res.region_instructions)} regions, the stream has {len(stream.regions)}")
    for kind, n in zip(stream.regions, res.region_instructions, strict=True):
        (res.train_instructions if kind == "train" else res.infer_instructions).append(n)
