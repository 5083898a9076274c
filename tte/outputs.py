"""Where tte writes: only its own files, never a file it did not create.

A folder that tte fills (`tte compile -o DIR`, a firmware build) carries a manifest,
``.tte-manifest.json``, naming the files tte wrote there. A folder is written only when it is
new, empty, or tte's own (by its manifest); in its own folder tte replaces only the files of
its manifest (with ``force``), and a file of the new output that is not in the manifest must
not exist yet. Everything is staged in a hidden temporary folder first and moved into place
only when complete, so a failure leaves the target as it was.

A single-file output (`-o model.tflite`) is written only when the file does not exist, or,
with ``force``, when tte wrote it (the caller says how to recognise its own files).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tte.errors import TteError
from tte.fsutil import make_public

MANIFEST = ".tte-manifest.json"


def read_manifest(folder: Path) -> list[str] | None:
    """The files tte wrote into ``folder``, or None when tte did not make it."""
    p = folder / MANIFEST
    if not p.is_file():
        return None
    try:
        files = json.loads(p.read_text()).get("files")
    except (json.JSONDecodeError, AttributeError, UnicodeDecodeError):
        return None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return [f for f in files if _is_plain_name(f)]


def _is_plain_name(name: str) -> bool:
    # A manifest names files inside its folder: nothing else can be touched through it. A name
    # with "/" is a file in a subfolder (a tree output, `nested=True`): no "..", ".", empty or
    # absolute parts.
    parts = name.split("/")
    return (bool(name) and name != MANIFEST and "\\" not in name
            and all(part not in ("", ".", "..") for part in parts))


def _inside(d: Path, name: str) -> bool:
    """Whether ``d/name`` lies in ``d`` through real folders only (no symlinked parent)."""
    cur = d
    for part in name.split("/")[:-1]:
        cur = cur / part
        if cur.is_symlink() or (cur.exists() and not cur.is_dir()):
            return False
    return True


def check_output_dir(out: str | os.PathLike[str], *, force: bool = False, option: str = "--force",
                     names: list[str] | None = None,
                     adopt: Callable[[Path], list[str] | None] | None = None) -> list[str]:
    """Refuse a folder tte may not write into; return the files of its manifest (to replace).

    ``option`` is how the caller's user asks to replace tte's earlier output (named in the error);
    an empty string means the caller always replaces its own files (a build cache). ``names``,
    when known, are the files the output will have: a foreign file among them is refused now.
    ``adopt`` recognises a folder that an older tte wrote before manifests and returns its files."""
    d = Path(out)
    if not d.exists():
        return []
    if not d.is_dir():
        raise TteError("output exists and is not a folder", file=str(d))
    owned = read_manifest(d)
    if owned is None and adopt is not None:
        owned = adopt(d)
    if owned is None:
        if any(d.iterdir()):
            raise TteError(f"folder is not empty and tte did not create it (no {MANIFEST}); "
                           "give a new or empty folder", file=str(d))
        return []
    if option and not force:
        raise TteError(f"folder holds an earlier tte output; pass {option} to replace tte's files in it "
                       "(other files are kept)", file=str(d))
    _check_collisions(d, names or [], owned)
    return owned


def _check_collisions(d: Path, names: list[str], owned: list[str]) -> None:
    foreign = sorted(n for n in names
                     if (n not in owned and ((d / n).exists() or (d / n).is_symlink())) or not _inside(d, n))
    if foreign:
        raise TteError(f"would overwrite {', '.join(foreign)}, which tte did not write; "
                       "move it or choose another folder", file=str(d))


def _write_manifest(folder: Path, names: list[str], command: str) -> None:
    from tte import __version__

    text = json.dumps({"tool": "tte", "version": __version__, "command": command, "files": sorted(names)},
                      indent=2) + "\n"
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(text)
    os.replace(tmp, folder / MANIFEST)


@contextmanager
def output_dir(out: str | os.PathLike[str], *, command: str, force: bool = False, option: str = "--force",
               adopt: Callable[[Path], list[str] | None] | None = None, nested: bool = False) -> Iterator[Path]:
    """Stage an output folder: yields an empty folder to fill; on success its files replace
    tte's files in ``out`` (and those of the old manifest that the new output lacks are removed),
    on failure nothing in ``out`` changes. ``nested``: the output may have subfolders (a C
    package); the manifest lists its files by relative path, and files of others in those
    subfolders are kept like those at the top."""
    d = Path(out).resolve()
    owned = check_output_dir(d, force=force, option=option, adopt=adopt)
    d.parent.mkdir(parents=True, exist_ok=True)
    fresh = not d.exists()
    stage = Path(tempfile.mkdtemp(prefix=f".{d.name}.tte-", dir=d if not fresh else d.parent))
    make_public(stage, directory=True)
    try:
        yield stage
        if nested:
            names = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if not p.is_dir())
        else:
            names = sorted(p.name for p in stage.iterdir())
        bad = [n for n in names if not _is_plain_name(n) or ("/" in n and not nested) or (stage / n).is_symlink()
               or not (stage / n).is_file()]
        if bad:
            raise TteError(f"tte writes only plain files into an output folder, not {', '.join(bad)}")
        if fresh:
            _write_manifest(stage, names, command)
            os.rename(stage, d)
            return
        _check_collisions(d, names, owned)
        for n in names:
            (d / n).parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / n, d / n)
        for n in set(owned) - set(names):
            old = d / n
            if _inside(d, n) and old.is_file() and not old.is_symlink():
                old.unlink()
        _write_manifest(d, names, command)
        shutil.rmtree(stage)   # empty but for the subfolders of a nested output
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def claim_dir(out: str | os.PathLike[str], names: list[str], *, command: str) -> Path:
    """Make ``out`` tte's folder for files that a tool writes in place (a firmware build cache):
    refuse a foreign non-empty folder or a foreign file of the same name, then record ``names``."""
    d = Path(out)
    if d.is_dir() and read_manifest(d) is None and {p.name for p in d.iterdir()} <= set(names):
        owned = list(names)  # a build folder from before manifests: only tte's file names in it
    else:
        owned = check_output_dir(d, option="")
    d.mkdir(parents=True, exist_ok=True)
    _check_collisions(d, names, owned)
    _write_manifest(d, sorted(set(owned) | set(names)), command)
    return d


def check_output_file(path: str | os.PathLike[str], *, force: bool = False,
                      ours: Callable[[Path], bool] = lambda p: False, option: str = "--force") -> None:
    """Refuse to overwrite an existing file, except one that tte wrote when ``force`` is given."""
    p = Path(path)
    if p.is_dir():
        raise TteError("output is a folder; give a file name", file=str(p))
    if not p.exists() and not p.is_symlink():
        if not p.parent.is_dir():
            raise TteError("the output's folder does not exist", file=str(p))
        return
    if not ours(p):
        raise TteError("file exists and tte did not write it; choose another name", file=str(p))
    if not force:
        raise TteError(f"file exists (written by tte earlier); pass {option} to replace it", file=str(p))


def is_tte_tflite(path: Path) -> bool:
    """A .tflite that tte's exporter wrote (its model description is "tte")."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if len(data) < 8 or data[4:8] != b"TFL3":
        return False
    try:
        from tte.export.tflite import model_description
        return model_description(data) == "tte"
    except Exception:  # noqa: BLE001  (a file that does not parse is not ours)
        return False


def write_file_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``path`` through a temporary file in its folder: it is complete or untouched."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent.resolve())
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        make_public(tmp)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
