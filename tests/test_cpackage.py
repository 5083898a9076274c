"""`tte package`: the compiled example model as a C library folder that builds on its own.

Oracles: `Trainer(engine="c")` for the trained weights (the host build of the copied folder
must reach its CRC-32 and losses), the linker's symbol tables (nm) for "exactly the kernels the
model calls", gcc / clang / arm-none-eabi-gcc with -Werror for every core, the Arduino library
specification (1.5 format) for the layout."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import models
import numpy as np
import pytest
import user_models
from click.testing import CliRunner
from fwtools import needs_arm_gcc

import tte
from tte.cli import main
from tte.targets.cpackage import write_package
from tte.training.data import fashion_mnist
from tte.training.trainer import Trainer

NAME = "fmnist_cnn"
STEPS = 4
CHECKOUT = Path(__file__).resolve().parents[1]
CSRC_SRC = CHECKOUT / "csrc" / "src"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example model compiled for the STM32F746G (M7)."""
    out = tmp_path_factory.mktemp("cpkg") / "m"
    tte.compile(models.example_int8(), board="stm32f746g-disco", scheme="last-k:2", out_dir=str(out))
    return out


@pytest.fixture(scope="module")
def package(compiled: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Its package, copied to a folder of its own (as a user would move it into their project)."""
    write_package(compiled, compiled.parent / "pkg")
    moved = tmp_path_factory.mktemp("elsewhere") / NAME
    shutil.copytree(compiled.parent / "pkg", moved)
    return moved


def _make(pkg: Path, *args: str) -> None:
    proc = subprocess.run(["make", "-j2", "-C", str(pkg), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]


def _samples() -> tuple[np.ndarray, np.ndarray]:
    xs, ys = fashion_mnist("train")
    return xs[:STEPS], ys[:STEPS]


def _host_run(program: Path, xs: np.ndarray, ys: np.ndarray) -> tuple[list[float], int]:
    blob = b"".join(np.int32(y).tobytes() + np.ascontiguousarray(x, np.float32).tobytes() for x, y in zip(xs, ys))
    out = subprocess.run([str(program)], input=blob, capture_output=True, check=True).stdout.decode()
    losses = [float(np.float32(m)) for m in re.findall(r"^step \d+ loss (\S+)$", out, re.M)]
    crc = re.search(r"^crc32 ([0-9a-f]{8})$", out, re.M)
    assert crc is not None, out
    return losses, int(crc.group(1), 16)


def test_package_names_nothing_of_the_checkout(package: Path) -> None:
    for f in package.rglob("*"):
        if f.is_file():
            assert str(CHECKOUT) not in f.read_text(errors="replace"), f


@needs_arm_gcc
def test_copied_folder_builds_with_make_and_trains_like_trainer_c(package: Path) -> None:
    _make(package)                                   # host
    _make(package, "CROSS=arm-none-eabi-")           # the board's core: the M7
    xs, ys = _samples()
    host = Trainer(models.example_int8(), scheme="last-k:2", engine="c", seed=0)
    untrained = host.weights_crc32()
    want = [host.step(xs[i:i + 1], ys[i:i + 1]) for i in range(STEPS)]
    losses, crc = _host_run(package / "build" / "host" / f"{NAME}_host", xs, ys)
    assert crc == host.weights_crc32() != untrained
    assert losses == [float(np.float32(v)) for v in want]
    # the M7 library is complete: it links into a program (newlib's stubs for stdio)
    lib = package / "build" / "cortex-m7" / f"lib{NAME}.a"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard",
                    "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{package / 'src'}",
                    f"-I{package / 'examples' / NAME}", "--specs=nosys.specs", "-Wl,--gc-sections",
                    str(package / "extras" / "host_main.c"), str(package / "examples" / NAME / "tte_app.c"),
                    str(lib), "-o", str(package / "build" / "m7.elf")], check=True, capture_output=True)


def _symbols(obj: Path, flag: str) -> set[str]:
    out = subprocess.run(["nm", flag, str(obj)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def test_kernel_files_are_exactly_those_the_model_reaches(package: Path) -> None:
    """By the linker's symbol tables: from the model's undefined symbols, following the kernel
    objects that define them, every packaged kernel is reached, and nothing is left undefined
    but libc."""
    build = package / "build" / "host"
    if not (build / f"lib{NAME}.a").exists():
        _make(package)
    kobjs = sorted((build / "obj" / "src" / "tte_kernels").glob("*.o"))
    defined = {o: _symbols(o, "--defined-only") for o in kobjs}
    reached: set[Path] = set()
    todo = _symbols(build / "obj" / "src" / f"{NAME}.o", "-u")
    unresolved: set[str] = set()
    while todo:
        sym = todo.pop()
        owner = next((o for o in kobjs if sym in defined[o]), None)
        if owner is None:
            unresolved.add(sym)
        elif owner not in reached:
            reached.add(owner)
            todo |= _symbols(owner, "-u")
    # a kernel file whose code is all under a core feature (the DSP window convolution) compiles to
    # an empty object on the host: it is packaged for the cores that have the feature
    host_code = {o for o in kobjs if defined[o]}
    assert reached == host_code, sorted(o.name for o in host_code - reached)
    assert all((CSRC_SRC / f"{o.stem}.c").read_text().count("__ARM_FEATURE") for o in set(kobjs) - host_code)
    assert not {s for s in unresolved if s.startswith("tte_")}, unresolved
    shipped = {p.stem for p in (package / "src" / "tte_kernels").glob("*.c")}
    assert shipped == {o.stem for o in kobjs} and len(shipped) < len(list((CHECKOUT / "csrc" / "src").glob("*.c")))


CORES = ["cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m33"]


@needs_arm_gcc
@pytest.mark.slow
@pytest.mark.parametrize("cpu", CORES)
def test_builds_without_warnings_for_every_core(package: Path, cpu: str) -> None:
    _make(package, "CROSS=arm-none-eabi-", f"CPU={cpu}")
    lib = package / "build" / cpu / f"lib{NAME}.a"
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", str(lib)], capture_output=True, text=True,
                           check=True).stdout
    # the objects were built for that core (M0+: ARMv6-M without FPU; the others with their FPU)
    arch = {"cortex-m0plus": "v6S-M", "cortex-m4": "v7E-M", "cortex-m7": "v7E-M", "cortex-m33": "v8-M.main"}[cpu]
    assert f"Tag_CPU_arch: {arch}" in attrs
    assert ("Tag_FP_arch" in attrs) == (cpu != "cortex-m0plus")


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang not installed (make setup)")
def test_clang_host_build_trains_like_gcc(package: Path) -> None:
    _make(package, "CC=clang", "BUILD=build/clang")
    xs, ys = _samples()
    host = Trainer(models.example_int8(), scheme="last-k:2", engine="c", seed=0)
    for i in range(STEPS):
        host.step(xs[i:i + 1], ys[i:i + 1])
    assert _host_run(package / "build" / "clang" / f"{NAME}_host", xs, ys)[1] == host.weights_crc32()


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")
def test_cmake_builds_the_library(package: Path, tmp_path: Path) -> None:
    for cmd in (["cmake", "-S", str(package), "-B", str(tmp_path), "-DCMAKE_C_FLAGS=-Werror"],
                ["cmake", "--build", str(tmp_path), "-j2"]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / f"lib{NAME}.a").is_file()


# Arduino library specification, 1.5 format (rev. 2.2): library.properties fields and layout.
ARDUINO_REQUIRED = ("name", "version", "author", "maintainer", "sentence", "paragraph", "category", "url",
                    "architectures")
ARDUINO_CATEGORIES = {"Display", "Communication", "Signal Input/Output", "Sensors", "Device Control", "Timing",
                      "Data Storage", "Data Processing", "Other"}


def _properties(path: Path) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"not key=value: {line!r}"
            assert key not in props, f"{key} given twice"
            props[key] = value
    return props


def test_arduino_layout_follows_the_library_specification(package: Path) -> None:
    props = _properties(package / "library.properties")
    for key in ARDUINO_REQUIRED:
        assert props.get(key, "").strip(), f"library.properties lacks {key}"
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.\-]*", props["name"]) and len(props["name"]) <= 63
    assert not props["name"].lower().startswith("arduino")
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", props["version"])
    assert props["category"] in ARDUINO_CATEGORIES
    assert props["url"].startswith(("http://", "https://"))
    assert all(a.strip() for a in props["architectures"].split(","))
    # src/: the sources, compiled recursively; only the model's public header at its top (the IDE
    # #includes every header there); `includes` names it
    top_headers = sorted(p.name for p in (package / "src").glob("*.h"))
    assert top_headers == [f"{NAME}.h"] and props["includes"] == f"{NAME}.h"
    assert (package / "src" / f"{NAME}.c").is_file() and list((package / "src").rglob("tte_kernels/*.c"))
    # no 1.0-format remnants that would switch the IDE to the old layout
    assert not (package / "utility").exists() and not list(package.glob("*.c")) and not list(package.glob("*.h"))
    # examples/<sketch>/<sketch>.ino
    sketches = [p for p in (package / "examples").iterdir() if p.is_dir()]
    assert sketches and all((s / f"{s.name}.ino").is_file() for s in sketches)
    ino = (package / "examples" / NAME / f"{NAME}.ino").read_text()
    assert "void setup()" in ino and "void loop()" in ino and f"#include <{NAME}.h>" in ino
    # PlatformIO: library.json with the numerics flags, sources in src/
    pio = json.loads((package / "library.json").read_text())
    assert pio["name"] == props["name"] and pio["version"] == props["version"]
    assert pio["build"]["srcDir"] == "src" and {"-ffp-contract=off", "-fno-fast-math"} <= set(pio["build"]["flags"])
    # Zephyr module
    assert "cmake: zephyr" in (package / "zephyr" / "module.yml").read_text()
    assert "zephyr_library_sources" in (package / "zephyr" / "CMakeLists.txt").read_text()


NRF52840 = ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]


@needs_arm_gcc
def test_sketch_c_parts_compile_and_link_for_the_nrf52840(package: Path, tmp_path: Path) -> None:
    """What the Arduino builder compiles for the Nano 33 BLE Sense: every .c of src/ (recursively)
    and of the sketch folder; the .ino's C++ side is checked to include the C headers cleanly."""
    sketch = package / "examples" / NAME
    sources = sorted((package / "src").rglob("*.c")) + sorted(sketch.glob("*.c"))
    flags = [*NRF52840, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections",
             "-fdata-sections", f"-I{package / 'src'}", f"-I{sketch}"]
    objs = []
    for src in sources:
        obj = tmp_path / f"{src.stem}.o"
        proc = subprocess.run(["arm-none-eabi-gcc", *flags, "-c", str(src), "-o", str(obj)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        objs.append(str(obj))
    # every symbol resolves: link with the sketch's entry points kept
    subprocess.run(["arm-none-eabi-gcc", *NRF52840, "--specs=nosys.specs", "-nostartfiles", "-Wl,--gc-sections",
                    "-Wl,--entry=tte_app_learn", "-Wl,-u,tte_app_predict", "-Wl,-u,tte_app_init", *objs,
                    "-o", str(tmp_path / "sketch.elf")], check=True, capture_output=True)
    cxx = tmp_path / "sketch_headers.cpp"
    cxx.write_text(f'#include <{NAME}.h>\n#include "tte_app.h"\n'
                   "extern \"C\" float learn(const float *x) { tte_app_init(); return tte_app_learn(x, 0); }\n")
    proc = subprocess.run(["arm-none-eabi-g++", *NRF52840, "-std=gnu++11", "-Wall", "-Wextra", "-Werror",
                           f"-I{package / 'src'}", f"-I{sketch}", "-c", str(cxx), "-o", str(tmp_path / "cxx.o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_package_keeps_files_it_did_not_write(tmp_path: Path, compiled: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "Makefile").write_text("mine\n")
    r = CliRunner().invoke(main, ["package", str(compiled), "-o", str(foreign)])
    assert r.exit_code == 2 and "tte did not create it" in r.output
    assert sorted(p.name for p in foreign.iterdir()) == ["Makefile"] and (foreign / "Makefile").read_text() == "mine\n"

    out = tmp_path / "pkg"
    assert CliRunner().invoke(main, ["package", str(compiled), "-o", str(out)]).exit_code == 0
    (out / "src" / "my_sensor.c").write_text("int my_sensor;\n")
    r = CliRunner().invoke(main, ["package", str(compiled), "-o", str(out)])
    assert r.exit_code == 2 and "--force" in r.output
    # as if an earlier package lacked a kernel file that the user then wrote there himself:
    # refused, and nothing changes
    manifest = json.loads((out / ".tte-manifest.json").read_text())
    mine = "src/tte_kernels/update.c"
    manifest["files"].remove(mine)
    (out / ".tte-manifest.json").write_text(json.dumps(manifest))
    (out / mine).write_text("/* mine */\n")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    r = CliRunner().invoke(main, ["package", str(compiled), "-o", str(out), "--force"])
    assert r.exit_code == 2 and mine in r.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    (out / mine).unlink()
    assert CliRunner().invoke(main, ["package", str(compiled), "-o", str(out), "--force"]).exit_code == 0
    assert (out / "src" / "my_sensor.c").read_text() == "int my_sensor;\n" and "tte_" in (out / mine).read_text()
    # a subfolder replaced by a link to elsewhere: tte does not write through it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(out / "zephyr")
    (out / "zephyr").symlink_to(elsewhere, target_is_directory=True)
    r = CliRunner().invoke(main, ["package", str(compiled), "-o", str(out), "--force"])
    assert r.exit_code == 2 and "zephyr/module.yml" in r.output and not list(elsewhere.iterdir())
    r = CliRunner().invoke(main, ["package", str(compiled), "-o", str(tmp_path / "p2"), "--version", "v1"])
    assert r.exit_code == 2 and "semver" in r.output and not (tmp_path / "p2").exists()
    r = CliRunner().invoke(main, ["package", str(tmp_path), "-o", str(tmp_path / "p3")])
    assert r.exit_code == 2 and "report.json" in r.output and not (tmp_path / "p3").exists()


def test_compile_with_package_writes_both_and_targets_the_board(tmp_path: Path) -> None:
    g = tte.load(user_models.cnn().SerializeToString())
    model = str(tmp_path / "small.tflite")
    tte.export(tte.quantize(g, calibration=np.random.default_rng(0).uniform(0, 1, (8, 1, 8, 8)).astype(np.float32)),
               model)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine\n")
    r = CliRunner().invoke(main, ["compile", model, "--board", "rp2040", "--scheme", "classifier-only",
                                  "-o", str(tmp_path / "m0"), "--package", str(foreign)])
    assert r.exit_code == 2 and not (tmp_path / "m0").exists()       # refused before anything is written
    r = CliRunner().invoke(main, ["compile", model, "--board", "rp2040", "--scheme", "classifier-only",
                                  "-o", str(tmp_path / "m"), "--package", str(tmp_path / "pkg")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "m" / "report.json").is_file() and (tmp_path / "pkg" / "library.properties").is_file()
    dry = subprocess.run(["make", "-n", "-C", str(tmp_path / "pkg"), "CROSS=arm-none-eabi-"], capture_output=True,
                         text=True, check=True).stdout
    assert "arm-none-eabi-gcc" in dry and "-mcpu=cortex-m0plus" in dry and "-mfloat-abi=soft" in dry
    assert "-ffp-contract=off" in dry and "-mfpu" not in dry
