"""Shared helpers for the firmware and QEMU tests: the test model (firmware/test/)."""

from __future__ import annotations

import shutil

import pytest

from tte.targets.firmware import FIRMWARE_DIR, ModelSources

needs_arm_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                   reason="arm-none-eabi-gcc not installed (make setup)")
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None,
                                reason="qemu-system-arm not installed (make setup)")

TEST_MODEL_DIR = FIRMWARE_DIR / "test"


def model_sources(*defines: str) -> ModelSources:
    return ModelSources((TEST_MODEL_DIR / "tte_testmodel.c",), "tte_testmodel.h", (TEST_MODEL_DIR,),
                        defines=defines)

