"""Weights checkpoints on the host: read one (bytes or a device's printed dump), check that it
belongs to a compiled model, and put its tensors back into that model's int8 graph.

The format is csrc/include/tte/checkpoint.h's (version 1). What a checkpoint holds is exactly
what int8 training changes on the device: the trained int8 weights and int32 biases, whole, in
plan order. Training never changes a quantization parameter (QAS scales the gradients, not the
tensors' scales), so the trained graph keeps every scale and zero point of the compiled one and
a .tflite of it is the device's model bit for bit. The one piece of device state a model file
has no place for is the step counter of stochastic rounding (the header's ``steps``), which
only matters to further training.

    ck = Checkpoint.from_bytes(data)            # or from_printed(log_text)
    trained = apply_checkpoint(graph, report, ck)
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from tte.errors import TteError
from tte.ir import Graph

MAGIC = b"TTEC"
VERSION = 1
HEADER_BYTES = 32
TRAILER_BYTES = 4
LINE_TAG = "tte-ckpt"

_LINE = re.compile(r"tte-ckpt (begin (\d+) (\d+)|end|([0-9a-fA-F]{8}) ([0-9a-fA-F]*))\s*$")


@dataclass(frozen=True)
class Checkpoint:
    model_id: bytes
    steps: int
    payload: bytes

    @classmethod
    def from_bytes(cls, data: bytes, where: str | None = None) -> Checkpoint:
        """Parse and check a checkpoint image (magic, version, size, CRC)."""
        if len(data) < HEADER_BYTES + TRAILER_BYTES or data[:4] != MAGIC:
            raise TteError("not a tte weights checkpoint (no TTEC header)", file=where)
        version, header = struct.unpack_from("<HH", data, 4)
        if version != VERSION or header != HEADER_BYTES:
            raise TteError(f"checkpoint format version {version} (header {header} bytes); this tte reads "
                           f"version {VERSION}", file=where)
        (payload_bytes, steps) = struct.unpack_from("<II", data, 24)
        if len(data) != HEADER_BYTES + payload_bytes + TRAILER_BYTES:
            raise TteError(f"checkpoint has {len(data)} bytes; its header says "
                           f"{HEADER_BYTES + payload_bytes + TRAILER_BYTES} (truncated or damaged)", file=where)
        body = data[:HEADER_BYTES + payload_bytes]
        (crc,) = struct.unpack_from("<I", data, len(body))
        if zlib.crc32(body) & 0xFFFFFFFF != crc:
            raise TteError(f"checkpoint CRC mismatch (stored {crc:08x}, computed "
                           f"{zlib.crc32(body) & 0xFFFFFFFF:08x}): damaged", file=where)
        return cls(bytes(data[8:24]), steps, bytes(data[HEADER_BYTES:HEADER_BYTES + payload_bytes]))

    @classmethod
    def from_printed(cls, text: str, where: str | None = None) -> Checkpoint:
        """The last complete printed checkpoint in a log (other lines and prefixes are ignored)."""
        blocks = printed_blocks(text, where)
        if not blocks:
            raise TteError(f"no checkpoint dump ('{LINE_TAG} begin' ... '{LINE_TAG} end') in the log", file=where)
        return cls.from_bytes(blocks[-1], where)

    def to_bytes(self) -> bytes:
        body = (MAGIC + struct.pack("<HH", VERSION, HEADER_BYTES) + self.model_id
                + struct.pack("<II", len(self.payload), self.steps) + self.payload)
        return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def printed_blocks(text: str, where: str | None = None) -> list[bytes]:
    """Every complete printed checkpoint in ``text``, in order. When the last dump is broken
    (lines lost, cut short by a reset or the end of the log) that is an error: an earlier
    dump is not what the device holds now."""
    blocks: list[bytes] = []
    cur: bytearray | None = None
    total = 0
    problem = ""
    for raw in text.splitlines():
        at = raw.find(LINE_TAG)
        if at < 0:
            continue
        m = _LINE.match(raw[at:].rstrip("\r"))
        if m is None:
            continue
        if m.group(2) is not None:               # begin
            if int(m.group(2)) != VERSION:
                problem = f"checkpoint dump of format version {m.group(2)}; this tte reads version {VERSION}"
                cur = None
                continue
            cur, total, problem = bytearray(), int(m.group(3)), ""
        elif m.group(1) == "end":
            if cur is not None:
                if len(cur) == total:
                    blocks.append(bytes(cur))
                else:
                    problem = f"checkpoint dump ends after {len(cur)} of {total} bytes"
            cur = None
        elif cur is not None:
            off, hexdata = int(m.group(4), 16), m.group(5)
            if off != len(cur) or len(hexdata) % 2:
                problem = f"checkpoint dump line at offset {off:#x} does not follow byte {len(cur):#x} (lost lines?)"
                cur = None
                continue
            cur += bytes.fromhex(hexdata)
    if cur is not None:
        problem = f"checkpoint dump cut short: {len(cur)} of {total} bytes, no '{LINE_TAG} end'"
    if problem:  # the last dump is broken: an older one is not what the device holds now
        raise TteError(problem, file=where)
    return blocks


def compile_layout(report: dict[str, Any], where: str | None = None) -> dict[str, Any]:
    """report.json's "checkpoint" section (tte.compiler.checkpoint.checkpoint_report)."""
    ck = report.get("checkpoint")
    if not isinstance(ck, dict) or ck.get("format_version") != VERSION:
        raise TteError("report.json does not describe a version 1 weights checkpoint (compiled by an older "
                       "tte); compile again with `tte compile --force`", file=where)
    return ck


def check_model(graph: Graph, layout: dict[str, Any], model: str, compiled: str) -> None:
    """Refuse a source model that is not the one compiled in ``compiled`` (by the model id)."""
    from tte.compiler.checkpoint import model_id

    names = [t["name"] for t in layout["tensors"]]
    missing = [n for n in names if n not in graph.tensors]
    if missing or not graph.is_quantized:
        why = ("is float; tte compiled an int8 version of it: give the int8 model that was compiled "
               "(`tte quantize MODEL -o model.tflite`, then compile that)" if not graph.is_quantized
               else f"has no tensor '{missing[0]}' that {compiled} trains")
        raise TteError(f"not the model compiled in {compiled}: it {why}", file=model)
    got = model_id(graph, names).hex()
    if got != layout["model_id"]:
        raise TteError(f"not the model compiled in {compiled} (model id {got}, the compile's "
                       f"{layout['model_id']}): its weights, quantization or ops differ", file=model)


def apply_checkpoint(graph: Graph, layout: dict[str, Any], ck: Checkpoint, *, where: str | None = None,
                     compiled: str = "the compile folder") -> Graph:
    """A copy of ``graph`` with the checkpoint's tensors; refuses a checkpoint of another model."""
    if ck.model_id.hex() != layout["model_id"]:
        raise TteError(f"checkpoint of another model (model id {ck.model_id.hex()}); {compiled} compiled "
                       f"model id {layout['model_id']}", file=where)
    if len(ck.payload) != layout["payload_bytes"]:
        raise TteError(f"checkpoint holds {len(ck.payload)} bytes of weights; {compiled} trains "
                       f"{layout['payload_bytes']}", file=where)
    out = graph.copy()
    for t in layout["tensors"]:
        raw = ck.payload[t["offset"]:t["offset"] + t["bytes"]]
        arr = np.frombuffer(raw, np.dtype(t["dtype"]).newbyteorder("<")).astype(t["dtype"]).reshape(t["shape"])
        out.tensors[t["name"]].data = arr
    return out
