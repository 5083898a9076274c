"""The prepared FC kernel's output stage in its last pass (fully_connected_s8.c's fcp_pass_rq):
c_cases.fcp_rq_cases against the reference on the host, and the same bytes on the emulated
Cortex-M7, where the fused path runs (the whole case list runs in test_c_kernels.py and
test_qemu_kernels.py; this file checks these cases alone, in seconds). And QUANTIZE over NaNs
(c_cases.quantize_nan_cases, which no reference takes): the M7's bracketed path
gives the host's portable bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from c_cases import Harness, fcp_rq_cases, quantize_nan_cases
from fwtools import needs_arm_gcc, needs_qemu
from test_qemu_kernels import _check_on_the_m7, _chunks

from tte.reference import execute

CASES = fcp_rq_cases()


def test_cases_match_the_reference_on_the_host(tmp_path: Path) -> None:
    h = Harness(CASES, tmp_path)
    for i, case in enumerate(CASES):
        np.testing.assert_array_equal(h.run(i)["y"], execute(case.graph, case.feeds)["y"], err_msg=case.name)


@needs_arm_gcc
@needs_qemu
def test_cases_give_the_host_bytes_on_the_m7(tmp_path: Path) -> None:
    for k, run in enumerate(_chunks(CASES)):
        part = tmp_path / f"part{k}"
        part.mkdir()
        _check_on_the_m7([CASES[i] for i in run], run.start, part)


def test_outputs_are_not_all_clamped() -> None:
    """the output scales leave most bytes inside int8 (the output stage is what is checked)"""
    for case in CASES:
        y = np.asarray(execute(case.graph, case.feeds)["y"])
        assert np.mean(np.abs(y.astype(int)) < 127) > 0.5, case.name


@needs_arm_gcc
@needs_qemu
def test_quantize_over_nans_gives_the_host_bytes_on_the_m7(tmp_path: Path) -> None:
    _check_on_the_m7(quantize_nan_cases(), 0, tmp_path)
