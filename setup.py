"""Build hook (the rest of the configuration is in pyproject.toml): the wheel carries the
checkout's C runtime, boards, firmware templates and example models as tte/_data/, where
tte.targets.paths.resource_dir finds them. The repository keeps its top-level layout; an
editable install reads the checkout's folders directly, so nothing is copied for it."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# Shipped whole, minus build outputs; of examples/, only the models and their README.
SHIPPED = {"csrc": ["**/*"], "boards": ["*.toml", "README.md"], "firmware": ["**/*"],
           "examples": ["README.md", "fmnist_cnn.onnx", "fmnist_cnn_int8.tflite"]}
NOT_SHIPPED = ("__pycache__", ".o", ".so", ".pyc", ".elf", ".bin", ".hex")


def shipped_files(folder: str) -> list[Path]:
    root = HERE / folder
    files = {p for pattern in SHIPPED[folder] for p in root.glob(pattern) if p.is_file()}
    return sorted(p for p in files if not any(part.startswith(".") or part.endswith(NOT_SHIPPED)
                                              for part in p.relative_to(root).parts))


class build_py_with_data(build_py):  # noqa: N801 (setuptools command naming)
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for folder in SHIPPED:
            for src in shipped_files(folder):
                dst = Path(self.build_lib, "tte", "_data", folder, src.relative_to(HERE / folder))
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)

setup(cmdclass={"build_py": build_py_with_data})
