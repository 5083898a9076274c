"""Deployable packages: a compiled model's report.json and its int8 model, as one signed artifact.

The artifact is a deterministic tar (sorted members, zero mtimes and owners), so the same inputs
give the same bytes and the same SHA-256. Its manifest (hash, size, build id, model, scheme,
the memory it needs) is signed with Ed25519; a device checks the hash of what it received and the
signature of the manifest before it applies anything.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fleet import protocol
from tte.errors import TteError

MODEL_SUFFIXES = (".tflite", ".onnx")
REPORT = "report.json"


@dataclass(frozen=True)
class Package:
    data: bytes
    manifest: dict[str, Any]
    signature: str  # base64 Ed25519 over canonical(manifest)

    @property
    def sha256(self) -> str:
        return str(self.manifest["sha256"])

    @property
    def build_id(self) -> str:
        return str(self.manifest["build_id"])


def canonical(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def new_signing_key() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a fresh Ed25519 key."""
    key = Ed25519PrivateKey.generate()
    priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return priv, pub


def load_signing_key(path: str | Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as e:
        raise TteError(f"cannot read signing key: {e}", file=str(path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise TteError("signing key is not an Ed25519 key", file=str(path))
    return key


def load_verify_key(path: str | Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as e:
        raise TteError(f"cannot read verification key: {e}", file=str(path)) from None
    if not isinstance(key, Ed25519PublicKey):
        raise TteError("verification key is not an Ed25519 key", file=str(path))
    return key


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    return buf.getvalue()


def unpack(data: bytes) -> dict[str, bytes]:
    """The files of an artifact (regular files with plain names only)."""
    out = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for m in tar.getmembers():
                if not m.isfile() or "/" in m.name or m.name.startswith("."):
                    raise TteError(f"package member '{m.name}' is not a plain file")
                f = tar.extractfile(m)
                assert f is not None
                out[m.name] = f.read()
    except tarfile.TarError as e:
        raise TteError(f"package is not a readable archive: {e}") from None
    return out


def build(directory: str | Path, key: Ed25519PrivateKey, model_id: str | None = None,
          modality: str | None = None) -> Package:
    """The signed package of DIR: its report.json and its one int8 model (.tflite or .onnx).
    `modality`: the sensor its input comes from (camera, microphone, accelerometer, ...); a device
    that declares its sensors and lacks this one refuses the package."""
    d = Path(directory)
    report_path = d / REPORT
    if not report_path.is_file():
        raise TteError("no report.json (compile the model first: `tte compile`)", file=str(d))
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError) as e:
        raise TteError(f"cannot read report: {e}", file=str(report_path)) from None
    models = sorted(p for p in d.iterdir() if p.suffix in MODEL_SUFFIXES and p.is_file())
    if len(models) != 1:
        raise TteError(f"a package directory needs exactly one model file (.tflite or .onnx), found {len(models)}",
                       file=str(d))
    scheme = report.get("scheme")
    if isinstance(scheme, dict):
        scheme = scheme.get("name")
    if not isinstance(scheme, str) or not scheme:
        raise TteError("report.json names no update scheme", file=str(report_path))
    model_file = models[0]
    data = _tar({REPORT: report_path.read_bytes(), "model" + model_file.suffix: model_file.read_bytes()})
    if len(data) > protocol.MAX_PACKAGE_BYTES:
        raise TteError(f"package is {len(data):,} bytes, over the {protocol.MAX_PACKAGE_BYTES:,} limit", file=str(d))
    sha = hashlib.sha256(data).hexdigest()
    board = report.get("board")
    manifest: dict[str, Any] = {
        "format": "tte-package-1", "sha256": sha, "size": len(data),
        "build_id": str(report.get("build_id") or sha[:16]),
        "model": protocol.check_name("model", model_id or report.get("name") or model_file.stem),
        "scheme": scheme,
    }
    if board:
        manifest["board"] = board if isinstance(board, str) else str(board.get("name"))
    for k in ("peak_sram_bytes", "flash_bytes"):
        if isinstance(report.get(k), int):
            manifest[k] = report[k]
    if modality:
        manifest["input_modality"] = modality
    return Package(data, manifest, sign(manifest, key))


def sign(manifest: dict[str, Any], key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.sign(canonical(manifest))).decode()


def verify(data: bytes, manifest: dict[str, Any], signature: str, key: Ed25519PublicKey) -> str | None:
    """None when `data` is what the signed manifest describes, else why not."""
    if len(data) != manifest["size"]:
        return f"size {len(data)} differs from the manifest's {manifest['size']}"
    if hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        return "SHA-256 mismatch"
    try:
        key.verify(base64.b64decode(signature, validate=True), canonical(manifest))
    except (InvalidSignature, ValueError):
        return "bad signature"
    return None


def describe_package(package: Package) -> list[Any]:
    """The knowledge-graph descriptions (semantic.describe) of the package's model and compiled artifact."""
    import time

    import tte
    from semantic.describe import describe_model
    from tte.inspect import summarize

    files = unpack(package.data)
    report = json.loads(files[REPORT])
    name = next(n for n in files if n.startswith("model."))
    summary = summarize(tte.load(files[name], name=package.manifest["model"]))
    created = report.get("created") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return describe_model(package.manifest["model"], summary, report, created, package.manifest.get("input_modality"))
