"""The fleet's MQTT protocol, version 1: the topic tree, the payloads, their limits and checks.

Every MQTT user (manager, device agent, broker ACL, federated transport) builds and parses
topics and payloads here, nowhere else.

Topics: ``tte/v1/<fleet>/<device>/<kind>``. A device may use its own subtree only (the broker's
ACL enforces it); the manager's events go to ``tte/v1/<fleet>/_fleet/events`` and its retained
summary to ``.../_fleet/status`` (device ids start with a letter or digit, so ``_fleet`` is never
a device). Control payloads are JSON objects
checked against the schemas below; file blocks are binary (a fixed header, then the bytes).

    kind            direction        retained  payload
    state           device -> all    yes       {"state": online|offline|lost, "bdseq"}  (also the will)
    register        device -> mgr    yes       {"board", "sensors", "firmware", "model", "keepalive", "bdseq"}
    td              device -> mgr    yes       a W3C Thing Description (JSON-LD)
    heartbeat       device -> mgr    no        {"bdseq"}, every keepalive / 2 seconds
    telemetry       device -> mgr    no        {"steps", "loss", "accuracy", "ram_bytes", ...}
    job             mgr -> device    no        {"job", "package": manifest, "signature", "block_size"}
    job/status      device -> mgr    no        {"job", "seq", "state", ...}
    stream/get      device -> mgr    no        {"sha256", "block_size", "offset", "bitmap"}
    stream/data     mgr -> device    no        binary block (see pack_block)
    _fleet/stream/<sha256>  mgr -> devices  no  the same blocks, once for every device of a rollout
    fed/task        mgr -> device    no        federated round task (federated.transports.mqtt)
    fed/update      device -> mgr    no        federated round update

Blocks reach a device two ways. A device asks for the blocks it misses (``stream/get``: offset
and bitmap, up to MAX_BLOCKS_PER_REQUEST) and the manager answers with all of them back to back
on the device's ``stream/data``. A rollout to many devices also names a package stream in its job
(``"stream"``: ``tte/v1/<fleet>/_fleet/stream/<sha256>``, which every device may read and none may
write): the device subscribes, reports ``downloading``, and the manager publishes every block
there once, when the stage's devices are listening; the broker fans them out. Blocks are QoS 0
on both paths: the bitmap makes the transfer reliable, a device asks for what it still misses.

``bdseq`` (birth/death sequence, as Sparkplug B's bdSeq) rises by one with every connection of
a device and is carried by its birth and its will: a will whose bdseq is older than the
device's latest birth comes from a dead connection and changes nothing. The broker sends a will
1.5 keepalives after the last packet, rounded up to its one-second check; the manager does not
wait for it: a device silent (no heartbeat) for 1.5 of its keepalives is `lost` already.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

ROOT = "tte"
VERSION = "v1"
FLEET_NODE = "_fleet"  # the manager's own node in a fleet's tree

MIN_BLOCK = 256
DEFAULT_BLOCK = 4096
MAX_BLOCK = 128 * 1024
MAX_PACKAGE_BYTES = 64 * 1024 * 1024
MAX_BLOCKS_PER_REQUEST = 256
MAX_CONTROL_BYTES = 16 * 1024  # any JSON control payload except a Thing Description
MAX_TD_BYTES = 64 * 1024
BROKER_MAX_PACKET = 256 * 1024  # the broker refuses anything larger outright

DEVICE_KINDS = ("state", "register", "td", "heartbeat", "telemetry", "job", "job/status", "stream/get", "stream/data",
                "fed/task", "fed/update")
STATES = ("online", "offline", "lost")
JOB_STATES = ("queued", "downloading", "verifying", "applied", "failed", "rolled_back")
JOB_FINAL = ("applied", "failed", "rolled_back")
# job state changes a device may report (the same state again carries progress)
JOB_NEXT: dict[str | None, tuple[str, ...]] = {
    None: JOB_STATES,
    "queued": ("queued", "downloading", "failed"),
    "downloading": ("downloading", "verifying", "failed"),
    "verifying": ("verifying", "applied", "failed", "rolled_back"),
    "applied": (),
    "failed": (),
    "rolled_back": (),
}



def _reachable(state: str | None) -> frozenset[str]:
    seen: set[str] = set()
    todo = list(JOB_NEXT[state])
    while todo:
        s = todo.pop()
        if s not in seen:
            seen.add(s)
            todo.extend(JOB_NEXT[s])
    return frozenset(seen)


# A status may skip states: the manager handles messages concurrently, so a later status (higher
# seq) can be seen before an earlier one, which then counts as out of order.
JOB_REACHABLE: dict[str | None, frozenset[str]] = {s: _reachable(s) for s in JOB_NEXT}

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SHA = "^[0-9a-f]{64}$"


class ProtocolError(ValueError):
    """A message that breaks the protocol: bad topic, malformed or oversize payload."""


def check_name(kind: str, name: str) -> str:
    """Fleet and device names are topic levels and IRI parts: letters, digits, '.', '_', '-'."""
    if not isinstance(name, str) or not _ID.match(name):
        raise ProtocolError(f"invalid {kind} name {name!r} (letters, digits, '.', '_', '-'; starts alphanumeric)")
    return name


def fleet_root(fleet: str) -> str:
    return f"{ROOT}/{VERSION}/{check_name('fleet', fleet)}"


def topic(fleet: str, device: str, kind: str) -> str:
    if kind not in DEVICE_KINDS:
        raise ValueError(f"unknown topic kind {kind!r}")
    return f"{fleet_root(fleet)}/{check_name('device', device)}/{kind}"


def stream_topic(fleet: str, sha256: str) -> str:
    """The package stream of an artifact: its blocks once for every device of a rollout."""
    if not re.fullmatch(_SHA, sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return f"{fleet_root(fleet)}/{FLEET_NODE}/stream/{sha256}"


def events_topic(fleet: str) -> str:
    return f"{fleet_root(fleet)}/{FLEET_NODE}/events"


def status_topic(fleet: str) -> str:
    return f"{fleet_root(fleet)}/{FLEET_NODE}/status"


def subscription(fleet: str, kind: str, device: str = "+") -> str:
    """A filter for `kind` of one device or (``+``) every device."""
    if kind not in DEVICE_KINDS:
        raise ValueError(f"unknown topic kind {kind!r}")
    return f"{fleet_root(fleet)}/{device}/{kind}"


@dataclass(frozen=True)
class Topic:
    fleet: str
    device: str
    kind: str


def parse_topic(t: str) -> Topic:
    parts = t.split("/")
    if len(parts) < 5 or parts[0] != ROOT or parts[1] != VERSION:
        raise ProtocolError(f"topic {t!r} is not under {ROOT}/{VERSION}/<fleet>/<device>/")
    kind = "/".join(parts[4:])
    if kind not in DEVICE_KINDS:
        raise ProtocolError(f"topic {t!r}: unknown kind {kind!r}")
    check_name("fleet", parts[2])
    check_name("device", parts[3])
    return Topic(parts[2], parts[3], kind)


# --- JSON payloads -----------------------------------------------------------------------

_NAME = {"type": "string", "pattern": _ID.pattern}
_COUNT = {"type": "integer", "minimum": 0}
_NUM = {"type": "number"}

_MANIFEST = {
    "type": "object",
    "required": ["format", "sha256", "size", "build_id", "model", "scheme"],
    "properties": {
        "format": {"const": "tte-package-1"},
        "sha256": {"type": "string", "pattern": _SHA},
        "size": {"type": "integer", "minimum": 1, "maximum": MAX_PACKAGE_BYTES},
        "build_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "model": _NAME,
        "scheme": {"type": "string", "minLength": 1, "maxLength": 128},
        "board": {"type": "string"},
        "peak_sram_bytes": _COUNT,
        "flash_bytes": _COUNT,
        "input_modality": {"type": "string"},
    },
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "state": {
        "type": "object", "required": ["state", "bdseq"], "additionalProperties": False,
        "properties": {"state": {"enum": list(STATES)}, "bdseq": _COUNT, "ts": _NUM},
    },
    "register": {
        "type": "object", "required": ["board", "bdseq"],
        "properties": {"board": _NAME, "sensors": {"type": "array", "items": _NAME, "maxItems": 64},
                       "firmware": {"type": "string", "maxLength": 128}, "model": {"type": ["string", "null"]},
                       "build_id": {"type": ["string", "null"]}, "bdseq": _COUNT,
                       "keepalive": {"type": "integer", "minimum": 1, "maximum": 65535}},
    },
    "heartbeat": {
        "type": "object", "required": ["bdseq"], "additionalProperties": False, "properties": {"bdseq": _COUNT},
    },
    "td": {"type": "object", "required": ["@context", "id", "title"]},
    "telemetry": {
        "type": "object", "required": ["steps"],
        "properties": {"steps": _COUNT, "loss": {"type": ["number", "null"]},
                       "accuracy": {"type": ["number", "null"]}, "ram_bytes": _COUNT},
    },
    "job": {
        "type": "object", "required": ["job", "package", "signature", "block_size"], "additionalProperties": False,
        "properties": {"job": _NAME, "package": _MANIFEST, "signature": {"type": "string", "maxLength": 200},
                       "block_size": {"type": "integer", "minimum": MIN_BLOCK, "maximum": MAX_BLOCK},
                       "stream": {"type": "string", "maxLength": 256}},
    },
    "job/status": {
        "type": "object", "required": ["job", "seq", "state"],
        "properties": {"job": _NAME, "seq": _COUNT, "state": {"enum": list(JOB_STATES)},
                       "detail": {"type": "string", "maxLength": 1000}, "bytes_received": _COUNT,
                       "bytes_resent": _COUNT, "build_id": {"type": ["string", "null"]}},
    },
    "stream/get": {
        "type": "object", "required": ["sha256", "block_size", "offset", "bitmap"], "additionalProperties": False,
        "properties": {"sha256": {"type": "string", "pattern": _SHA},
                       "block_size": {"type": "integer", "minimum": MIN_BLOCK, "maximum": MAX_BLOCK},
                       "offset": _COUNT, "bitmap": {"type": "string", "maxLength": 4 * MAX_BLOCKS_PER_REQUEST}},
    },
    "fed/task": {"type": "object", "required": ["round", "config", "model"]},
    "fed/update": {"type": "object", "required": ["round"]},
}
MAX_FED_BYTES = BROKER_MAX_PACKET - 4096  # a federated model message, base64 arrays in JSON
_LIMITS = {"td": MAX_TD_BYTES, "fed/task": MAX_FED_BYTES, "fed/update": MAX_FED_BYTES}


@cache
def _validator(kind: str) -> Any:
    import jsonschema

    schema = SCHEMAS[kind]
    return jsonschema.validators.validator_for(schema)(schema)


def limit(kind: str) -> int:
    if kind == "stream/data":
        return BLOCK_HEADER.size + MAX_BLOCK
    return _LIMITS.get(kind, MAX_CONTROL_BYTES)


def encode(kind: str, obj: dict[str, Any], check: bool = False) -> bytes:
    """The JSON payload of `kind`. Receivers check every payload; senders only when asked (`check`,
    as the tests do), since the schema check costs more than the encoding."""
    data = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    if check or kind not in SCHEMAS:
        decode(kind, data)
    return data


# payloads of these kinds that passed their check, by their bytes (the check is a pure function of
# them): a rollout sends all its devices the same job, and a fleet's births, heartbeats and
# registrations repeat the same few payloads (they carry no device name)
_CHECKED_KINDS = ("job", "state", "heartbeat", "register")
_CHECKED_MAX = 1024
_checked: dict[tuple[str, bytes], None] = {}


def decode(kind: str, payload: bytes) -> dict[str, Any]:
    """Parse and check a JSON payload of `kind`; ProtocolError names what is wrong."""
    if kind not in SCHEMAS:
        raise ProtocolError(f"{kind}: not a JSON kind")
    if len(payload) > limit(kind):
        raise ProtocolError(f"{kind}: oversize payload ({len(payload)} bytes > {limit(kind)})")
    try:
        obj = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"{kind}: malformed JSON ({e})") from None
    if (kind, payload) in _checked:
        return obj  # type: ignore[no-any-return]
    err = next(iter(_validator(kind).iter_errors(obj)), None)
    if err is not None:
        where = "/".join(map(str, err.absolute_path)) or "(root)"
        raise ProtocolError(f"{kind}: {where}: {err.message[:200]}")
    if kind == "stream/get":
        check_bitmap(obj)
    if kind in _CHECKED_KINDS:
        if len(_checked) >= _CHECKED_MAX:
            _checked.clear()
        _checked[kind, bytes(payload)] = None
    return obj  # type: ignore[no-any-return]


# --- block requests: which blocks a device still misses ---------------------------------------

def bitmap_encode(blocks: list[int], offset: int) -> str:
    """Bit i (LSB-first within each byte) set when block offset+i is wanted."""
    if not blocks:
        return ""
    n = max(blocks) - offset + 1
    if n > MAX_BLOCKS_PER_REQUEST or min(blocks) < offset:
        raise ValueError("blocks out of the request window")
    bits = bytearray((n + 7) // 8)
    for b in blocks:
        i = b - offset
        bits[i // 8] |= 1 << (i % 8)
    return base64.b64encode(bytes(bits)).decode()


def bitmap_decode(bitmap: str, offset: int) -> list[int]:
    try:
        bits = base64.b64decode(bitmap, validate=True)
    except (ValueError, TypeError):
        raise ProtocolError("stream/get: bitmap is not base64") from None
    return [offset + i * 8 + j for i, byte in enumerate(bits) for j in range(8) if byte >> j & 1]


def check_bitmap(req: dict[str, Any]) -> None:
    blocks = bitmap_decode(req["bitmap"], req["offset"])
    if len(blocks) > MAX_BLOCKS_PER_REQUEST or (blocks and blocks[-1] - req["offset"] >= MAX_BLOCKS_PER_REQUEST):
        raise ProtocolError(f"stream/get: more than {MAX_BLOCKS_PER_REQUEST} blocks in one request")


# --- binary blocks ------------------------------------------------------------------------------
# magic "TB", version 1, the artifact's SHA-256 (it names the transfer session), total size,
# block size, block index, CRC-32 of the block's bytes; then the bytes.

BLOCK_MAGIC = b"TB"
BLOCK_HEADER = struct.Struct(">2sB32sIIII")


class Block(NamedTuple):  # a tuple: built once per block received, the cheapest record
    sha256: str
    size: int
    block_size: int
    index: int
    data: bytes

    @property
    def offset(self) -> int:
        return self.index * self.block_size


def block_count(size: int, block_size: int) -> int:
    return (size + block_size - 1) // block_size


def pack_block(sha256: str, size: int, block_size: int, index: int, data: bytes) -> bytes:
    return BLOCK_HEADER.pack(BLOCK_MAGIC, 1, bytes.fromhex(sha256), size, block_size, index,
                             zlib.crc32(data)) + data


def unpack_block(payload: bytes) -> Block:
    if len(payload) > limit("stream/data"):
        raise ProtocolError(f"stream/data: oversize block ({len(payload)} bytes)")
    if len(payload) < BLOCK_HEADER.size:
        raise ProtocolError("stream/data: shorter than its header")
    magic, version, sha, size, block_size, index, crc = BLOCK_HEADER.unpack_from(payload)
    if magic != BLOCK_MAGIC or version != 1:
        raise ProtocolError("stream/data: not a version 1 block")
    data = payload[BLOCK_HEADER.size:]
    if not MIN_BLOCK <= block_size <= MAX_BLOCK or size > MAX_PACKAGE_BYTES:
        raise ProtocolError("stream/data: block size or total size out of range")
    n = block_count(size, block_size)
    expect = min(block_size, size - index * block_size) if index < n else -1
    if len(data) != expect:
        raise ProtocolError(f"stream/data: block {index} has {len(data)} bytes, expected {max(expect, 0)}")
    if zlib.crc32(data) != crc:
        raise ProtocolError(f"stream/data: block {index} fails its CRC-32")
    return Block(sha.hex(), size, block_size, index, data)
