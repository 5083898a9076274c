"""Host simulation: build the generated C plus csrc/ with cffi and run it from Python.

    sim = Simulator.from_graph(q, scheme="last-k:2")
    logits = sim.infer(x)                # int8 (or float, as the model's input is), IR layout (NHWC)
    loss = sim.train_step(x, label)
    sim.weights()                        # {parameter name: array}, read from the C arrays

Generated files go to ``build/sim/<digest>/`` and are built with csrc/ by ``tte.targets.cbuild``
(cached by content). Generated code has static
state, so every Simulator loads its weights into the library before it runs a step when
another Simulator of the same build ran last.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from tte.compiler.analysis import Analysis, analyze
from tte.compiler.codegen import C_TYPES, generate, source_digest
from tte.errors import TteError
from tte.ir import Graph
from tte.targets.paths import cache_dir

_CDEF = """
void tte_init(void);
tte_input_t *tte_input_buffer(void);
void tte_set_input_reader(void (*read_row)(void *ctx, int32_t row, tte_input_t *dst), void *ctx);
void tte_infer(const tte_input_t *in, tte_output_t *out);
float tte_train_step(const tte_input_t *in, int32_t label);
float tte_train_step_regression(const tte_input_t *in, const float *target);
uint32_t tte_trainable_crc32(void);
void tte_get_weights(uint8_t *dst);
void tte_set_weights(const uint8_t *src);
void tte_get_weights_range(uint8_t *dst, uint32_t off, uint32_t n);
void tte_set_weights_range(const uint8_t *src, uint32_t off, uint32_t n);
"""
_OWNER: dict[str, int] = {}


def build(sources: dict[str, str], name: str, regression: bool, io_types: tuple[str, str] = ("int8_t", "int8_t")
          ) -> tuple[str, Any, Any]:
    """Write the generated files (by content digest) and build them with csrc/ through
    tte.targets.cbuild; return (cache key, ffi, lib)."""
    from tte.targets import cbuild

    digest = source_digest(sources)
    out = cache_dir("sim", digest)
    if not all((out / k).is_file() for k in sources):
        out.mkdir(parents=True, exist_ok=True)
        for k, v in sources.items():
            tmp = out / f".{k}.{os.getpid()}"
            tmp.write_text(v)
            os.replace(tmp, out / k)
    cdef = "\n".join([f"typedef {io_types[0]} tte_input_t;", f"typedef {io_types[1]} tte_output_t;"]
                     + [line for line in _CDEF.splitlines()
                        if ("regression" in line) == regression or "train_step" not in line])
    ffi, lib = cbuild.load([out / f"{name}.c"], extra_cdef=cdef, include_dirs=[out], name=f"sim_{name}")
    return digest, ffi, lib


@dataclass
class Simulator:
    analysis: Analysis
    sources: dict[str, str]
    name: str

    def __post_init__(self) -> None:
        tg = self.analysis.training
        self.regression = not self.analysis.inference_only and tg.graph.tensors[tg.label].dtype == "float32"
        fwd = self.analysis.forward
        self.in_dtype = np.dtype(fwd.tensors[fwd.inputs[0]].dtype)
        self.out_dtype = np.dtype(fwd.tensors[fwd.outputs[0]].dtype)
        self._in_c, self._out_c = C_TYPES[self.in_dtype.name], C_TYPES[self.out_dtype.name]
        self.key, self.ffi, self.lib = build(self.sources, self.name, self.regression, (self._in_c, self._out_c))
        self.params = list(self.analysis.training.updates)
        self._sizes = [fwd.tensors[p].nbytes for p in self.params]
        self.lib.tte_init()
        # the library's arrays may hold another Simulator's weights: start from the graph's
        self._weights = b"".join(np.ascontiguousarray(fwd.tensors[p].data).tobytes() for p in self.params)
        _OWNER.pop(self.key, None)
        self._claim()

    @classmethod
    def from_graph(cls, graph: Graph, *, scheme: str = "last-k:2", board: str = "stm32f746g-disco",
                   name: str = "model", **kw: Any) -> Simulator:
        a = analyze(graph, board=board, scheme=scheme, budget_bytes=1 << 40, **kw)
        return cls(a, generate(a, name), name)

    # ---- state ---------------------------------------------------------------------
    def _read(self) -> bytes:
        buf = self.ffi.new("uint8_t[]", max(sum(self._sizes), 1))
        self.lib.tte_get_weights(buf)
        return bytes(self.ffi.buffer(buf, sum(self._sizes)))

    def _claim(self) -> None:
        key = self.key
        if self.analysis.inference_only:
            return   # nothing trained: no weights in SRAM to swap between Simulators
        if _OWNER.get(key) != id(self):
            self.lib.tte_set_weights(self.ffi.from_buffer(self._weights))
            _OWNER[key] = id(self)

    def _release(self) -> None:
        self._weights = self._read()

    # ---- API -----------------------------------------------------------------------
    def _input(self, x: np.ndarray) -> Any:
        """The input as the model takes it (int8, or float for a float-input model), IR layout."""
        xi = np.ascontiguousarray(x, self.in_dtype).reshape(-1)
        return self.ffi.from_buffer(f"{self._in_c}[]", xi)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """Input in IR layout, batch 1 -> the model output (int8, or float for a float output)."""
        self._claim()
        fwd = self.analysis.forward
        out_t = fwd.tensors[fwd.outputs[0]]
        out = np.zeros(out_t.size, self.out_dtype)
        self.lib.tte_infer(self._input(x), self.ffi.from_buffer(f"{self._out_c}[]", out))
        return out.reshape(out_t.shape)

    def _trains(self) -> None:
        if self.analysis.inference_only:
            raise TteError(f"model '{self.name}' was compiled for inference only (scheme "
                           f"'{self.analysis.scheme.name}'): it has no training step or trained weights")

    def train_step(self, x: np.ndarray, y: int | np.ndarray) -> float:
        self._trains()
        self._claim()
        if self.regression:
            tgt = np.ascontiguousarray(y, np.float32).reshape(-1)
            loss = self.lib.tte_train_step_regression(self._input(x), self.ffi.from_buffer("float[]", tgt))
        else:
            loss = self.lib.tte_train_step(self._input(x), int(np.asarray(y).reshape(-1)[0]))
        self._release()
        return float(loss)

    def crc32(self) -> int:
        self._trains()
        self._claim()
        return int(self.lib.tte_trainable_crc32())

    def weights(self) -> dict[str, np.ndarray]:
        if self.analysis.inference_only:
            return {}   # nothing trained
        self._claim()
        raw, out, off = self._read(), {}, 0
        fwd = self.analysis.forward
        for p, n in zip(self.params, self._sizes):
            t = fwd.tensors[p]
            out[p] = np.frombuffer(raw[off:off + n], dtype=t.dtype).reshape(t.shape).copy()
            off += n
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        self._trains()
        self._claim()
        raw = b"".join(np.ascontiguousarray(weights[p], self.analysis.forward.tensors[p].dtype).tobytes()
                       for p in self.params)
        self.lib.tte_set_weights(self.ffi.from_buffer(raw))
        self._weights = raw
