"""The wheel alone is enough: built from the sources with the pinned setuptools, installed into
a fresh venv that cannot see the checkout, `tte boards`, `tte compile`, `tte build` and
`tte run --qemu` work, and the QEMU run trains the example to the weights of the host C build.

The fresh venv has no pip packages of its own besides the wheel; its dependencies are the
pinned set of the venv running this test, reached through one .pth line that names that venv's
site-packages. Python adds such a line to sys.path but does not run the .pth files found there,
so the editable install of the checkout (a .pth hook in that folder) stays inactive; the test
checks that the only folder on sys.path holding tte, csrc or boards is the fresh venv's own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from fwtools import needs_arm_gcc, needs_qemu

import tte
from tte.cli.firmware import synthetic_data
from tte.training.trainer import Trainer

pytestmark = [needs_arm_gcc, needs_qemu, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "fmnist_cnn_int8.tflite"
STEPS = 3


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A fresh venv with the wheel built from a copy of the sources, and its environment."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".*", "build", "dist", "*.egg-info", "__pycache__", "tests", "bench"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(tmp / "dist"), str(src)], cwd=tmp)
    wheel = next((tmp / "dist").glob("tte-*.whl"))
    _run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")], cwd=tmp)
    python = tmp / "venv" / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
          str(wheel)], cwd=tmp)
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=tmp).strip())
    deps = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (site / "tte-dependencies.pth").write_text("\n".join(deps) + "\n")
    shutil.rmtree(src)  # the sources the wheel came from are gone too
    work, home = tmp / "work", tmp / "home"
    work.mkdir()
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "TTE_BOARDS_DIR", "TTE_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}")
    return {"python": python, "site": site, "work": work, "home": home, "env": env}  # type: ignore[dict-item]


def tte_cli(v: dict, *args: str) -> str:  # type: ignore[type-arg]
    return _run([str(v["python"].parent / "tte"), *args], cwd=v["work"], env=v["env"])


def test_only_the_wheel_provides_tte(venv: dict) -> None:  # type: ignore[type-arg]
    probe = ("import json, sys, tte; from tte.targets.paths import resource_dir; "
             "print(json.dumps({'file': tte.__file__, 'path': sys.path, "
             "'dirs': {n: str(resource_dir(n)) for n in ('csrc', 'boards', 'firmware', 'examples')}}))")
    info = json.loads(_run([str(venv["python"]), "-c", probe], cwd=venv["work"], env=venv["env"]))
    site = venv["site"]
    assert Path(info["file"]).is_relative_to(site)
    for d in info["dirs"].values():
        assert Path(d).is_relative_to(site / "tte" / "_data") and Path(d).is_dir()
    providers = [p for p in info["path"] if p and any(Path(p, n).exists() for n in ("tte", "csrc", "boards"))]
    assert providers == [str(site)]
    assert str(ROOT) not in info["path"]


def test_boards_compile_build_and_run_on_qemu(venv: dict) -> None:  # type: ignore[type-arg]
    boards = {b["name"] for b in json.loads(tte_cli(venv, "boards", "--json"))}
    assert boards == {p.stem for p in (ROOT / "boards").glob("*.toml")}

    model = venv["work"] / EXAMPLE.name
    shutil.copyfile(EXAMPLE, model)
    report = json.loads(tte_cli(venv, "compile", model.name, "--board", "qemu-mps2-an500", "-o", "m", "--json"))
    assert report["board"] == "qemu-mps2-an500" and report["verdict"].startswith("fits")
    sizes = json.loads(tte_cli(venv, "build", "m", "--json"))
    assert Path(venv["work"], sizes["elf"]).is_file()
    run = json.loads(tte_cli(venv, "run", "m", "--qemu", "--steps", str(STEPS), "--infer", "0", "--json"))

    # The same steps as host C in this process (the checkout's tte): same losses, same weights.
    g = tte.load(str(EXAMPLE))
    shape = g.tensors[g.inputs[0]].shape
    xs, ys = synthetic_data(int(np.prod(shape)), int(g.tensors[g.outputs[0]].shape[-1]), STEPS, 0)
    host = Trainer(g, scheme=report["scheme"], engine="c", seed=0)
    losses = [host.step(xs[i].reshape(shape), ys[i:i + 1]) for i in range(STEPS)]
    assert run["losses"] == losses
    assert run["weights_crc32"] == f"{host.weights_crc32():08x}"
    # Build outputs of an installed tte go to the user's cache, not into site-packages.
    assert (venv["home"] / ".cache" / "tte" / "qemu-plugin" / "libtte_icount.so").is_file()
    assert not any((venv["site"] / "build").glob("*"))
