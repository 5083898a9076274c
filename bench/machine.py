"""Describe the machine and software a benchmark ran on (written into bench/results/*.json).

Enough to rerun it elsewhere and to explain a figure that does not reproduce: the commit and
whether the work tree had uncommitted changes, the exact version of every installed Python
distribution, the compilers, QEMU and the Debian packages that the firmware and data come from.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("gcc", "arm-none-eabi-gcc", "qemu-system-arm")
# The system packages `make setup` installs (plus the host compiler): firmware toolchain, C
# library, emulator, broker and the Fashion-MNIST files.
DEBIAN_PACKAGES = ("gcc", "gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm", "mosquitto",
                   "dataset-fashion-mnist")


def machine_info(repo: Path = PROJECT_ROOT) -> dict[str, Any]:
    return {"cpu": _cpu(), "cores": os.cpu_count(), "os": platform.platform(), "debian": _debian_release(),
            "python": platform.python_version(), "blas": _blas(), **git_state(repo),
            "tools": {t: _tool_version(t) for t in TOOLS},
            "debian_packages": {p: _dpkg_version(p) for p in DEBIAN_PACKAGES},
            "python_packages": python_packages()}


def git_state(repo: Path) -> dict[str, Any]:
    """HEAD and the tracked files that differ from it (a dirty tree did not produce the commit's figures)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False).stdout
        except OSError:
            return ""

    changed = sorted(line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines())
    return {"commit": git("rev-parse", "HEAD").strip(), "dirty": bool(changed), "dirty_files": changed}


def python_packages() -> dict[str, str]:
    """Every installed distribution and its exact version, by normalized name."""
    out = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            out[name.lower().replace("_", "-")] = dist.version
    return dict(sorted(out.items()))


def _blas() -> list[dict[str, Any]]:
    """numpy's BLAS and the kernel it picked for this CPU: float32 matrix products (and so any
    float figure) may round differently under another kernel (OPENBLAS_CORETYPE names it)."""
    import numpy  # noqa: F401  (loads the BLAS that threadpoolctl then reports)
    from threadpoolctl import threadpool_info

    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "MKL_"))}
    return [{"library": i.get("internal_api"), "version": i.get("version"), "kernel": i.get("architecture"),
             "threads": i.get("num_threads"), "env": env} for i in threadpool_info() if i.get("user_api") == "blas"]


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _debian_release() -> str:
    try:
        return Path("/etc/debian_version").read_text().strip()
    except OSError:
        return ""


def _tool_version(tool: str) -> str:
    """First line of ``tool --version``; empty when the tool is not installed."""
    path = shutil.which(tool)
    if path is None:
        return ""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""
    return out.splitlines()[0].strip() if out else ""


def _dpkg_version(package: str) -> str:
    try:
        res = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True,
                             check=False)
    except OSError:
        return ""
    return res.stdout.strip() if res.returncode == 0 else ""
