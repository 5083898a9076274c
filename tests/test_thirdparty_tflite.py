"""Real int8 keyword-spotting models from pymicro-wakeword (Apache-2.0), read in place.

They are streaming models: resource variables (VAR_HANDLE / READ_VARIABLE /
ASSIGN_VARIABLE initialised by a CALL_ONCE subgraph) hold the ring buffers, fed through
CONCATENATION + STRIDED_SLICE, and the head ends in LOGISTIC. tte imports every other op of
them and refuses the stateful ones, all named in one UnsupportedOpError; the expected list is
cross-checked here against an independent read of each file with the ``tflite`` parser.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import pytest
import tflite
from tflite_oracles import run_litert

from tte.errors import UnsupportedOpError
from tte.frontend.tflite import SUPPORTED_OPS, load_tflite

wakeword = pytest.importorskip("pymicro_wakeword")
MODELS_DIR = Path(wakeword.__file__).parent / "models"

STREAMING = ["ASSIGN_VARIABLE", "CALL_ONCE", "READ_VARIABLE", "VAR_HANDLE"]
EXPECTED_UNSUPPORTED = {"alexa": STREAMING, "hey_jarvis": STREAMING, "hey_mycroft": STREAMING,
                        "okay_nabu": STREAMING}


def test_licence_is_apache() -> None:
    meta = importlib.metadata.metadata("pymicro-wakeword")
    assert "Apache" in (meta.get("License") or "") + " ".join(meta.get_all("Classifier") or [])


def _ops_in_file(path: Path) -> set[str]:
    """Every builtin operator of every subgraph, read with the flatbuffer parser directly."""
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if isinstance(v, int)}
    m = tflite.Model.GetRootAs(path.read_bytes(), 0)
    found = set()
    for s in range(m.SubgraphsLength()):
        sg = m.Subgraphs(s)
        for i in range(sg.OperatorsLength()):
            code = m.OperatorCodes(sg.Operators(i).OpcodeIndex())
            found.add(names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())])
    return found


@pytest.mark.parametrize("model", sorted(EXPECTED_UNSUPPORTED))
def test_wakeword_model_is_refused_with_every_unsupported_op(model: str) -> None:
    path = MODELS_DIR / f"{model}.tflite"
    assert sorted(_ops_in_file(path) - set(SUPPORTED_OPS)) == EXPECTED_UNSUPPORTED[model]
    with pytest.raises(UnsupportedOpError) as e:
        load_tflite(path)
    assert e.value.ops == EXPECTED_UNSUPPORTED[model]
    assert str(path) in str(e.value) and "VAR_HANDLE" in str(e.value)


@pytest.mark.parametrize("model", sorted(EXPECTED_UNSUPPORTED))
def test_wakeword_model_runs_under_the_oracle(model: str) -> None:
    """The refusal is about tte, not a broken file: LiteRT's reference kernels run it."""
    data = (MODELS_DIR / f"{model}.tflite").read_bytes()
    x = np.random.default_rng(0).integers(-128, 128, (1, 3, 40)).astype(np.int8)
    out = run_litert(data, [x])
    assert [v.dtype for v in out.values()] == [np.uint8]
