"""The lock (pylock.toml, PEP 751) against what tte asks for and what the venv holds.

`make setup` installs exactly the files the lock names; pyproject.toml keeps the ranges tte works
with and pins the oracles. These checks read both files as they are and the installed
distributions' own metadata, so a lock that drifts from either side fails here."""

from __future__ import annotations

import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _lock() -> dict[str, dict]:  # type: ignore[type-arg]
    d = tomllib.loads((ROOT / "pylock.toml").read_text())
    assert d["lock-version"] == "1.0"
    return {canonicalize_name(p["name"]): p for p in d["packages"]}


def _asked() -> list[Requirement]:
    p = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(p["dependencies"])
    for extra in ("test", "flower"):
        reqs += p["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


def test_every_locked_package_names_one_hashed_file() -> None:
    for name, p in _lock().items():
        files = p.get("wheels", []) + ([p["sdist"]] if "sdist" in p else [])
        assert files, f"{name}: no file locked"
        for f in files:
            assert f.get("url") or f.get("path"), f"{name}: {f.get('name')} has no location"
            assert len(f["hashes"]["sha256"]) == 64, f"{name}: {f.get('name')} has no sha256"


# locked from a file on this machine's disk, not from PyPI: the CPU build of torch (PyPI's
# torch 2.13.0 wheel for Linux is the CUDA build, several GB); the README's set-up says so
LOCAL_FILES = {"torch"}


def test_every_locked_file_comes_from_pypi() -> None:
    """A fresh machine reaches PyPI, not this one's disk: every locked file is PyPI's (the
    sha256 then checks it), but for LOCAL_FILES."""
    for name, p in _lock().items():
        for f in p.get("wheels", []) + ([p["sdist"]] if "sdist" in p else []):
            if name not in LOCAL_FILES:
                assert f.get("url", "").startswith("https://files.pythonhosted.org/"), f"{name}: {f.get('url')}"


def test_the_lock_satisfies_pyproject() -> None:
    """Every dependency and extra of pyproject.toml is locked at a version its specifier admits
    (the oracles' == pins included; a local tag such as torch's +cpu is ignored, as pip does)."""
    lock = _lock()
    for r in _asked():
        name = canonicalize_name(r.name)
        assert name in lock, f"{r} is not in pylock.toml"
        v = Version(lock[name]["version"])
        assert r.specifier.contains(Version(v.public), prereleases=True), f"{r}: locked {v}"
        for extra in r.extras:  # e.g. flwr[simulation]: its extra's requirements are locked too
            for dep in metadata.requires(r.name) or []:
                d = Requirement(dep)
                if d.marker is not None and d.marker.evaluate({"extra": extra}):
                    assert canonicalize_name(d.name) in lock, f"{r} needs {d.name}, not locked"


def test_the_venv_holds_the_locked_versions() -> None:
    """What make setup installed is the lock, version for version (tte itself, editable, aside).
    Only the environment's site-packages are read: a package may put its vendored copies on
    sys.path (ray's thirdparty_files carry psutil and colorama), which pip did not install."""
    lock = _lock()
    site = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions(path=site)}
    installed.pop("tte", None)
    if "pip" not in installed:
        pytest.skip("not a pip-managed environment")
    wrong = {n: (installed.get(n), p["version"]) for n, p in lock.items() if installed.get(n) != p["version"]}
    assert not wrong, f"installed vs locked: {wrong}"
    extra = sorted(set(installed) - set(lock))
    assert not extra, f"installed but not locked: {extra}"
