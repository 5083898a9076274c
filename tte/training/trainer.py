"""`tte.Trainer`: on-device training steps, executed by an engine (the numpy reference now).

    tr = tte.Trainer(q, scheme="last-k:2", precision="int8", lr=0.05)
    loss = tr.step(x, y)          # one SGD step on a batch (the board uses batch 1)
    acc = tr.evaluate(xs, ys)     # accuracy (classification) or MSE (regression)
    tr.graph                      # the trained forward Graph, exportable with tte.export
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tte.errors import TteError
from tte.ir import Graph
from tte.layout import feeds_to_ir, source_shape
from tte.reference import execute
from tte.reference.boundary import quantize_array
from tte.training.autodiff import TrainingGraph, derive_training_graph
from tte.training.sparse import UpdateScheme, plan_bytes, resolve_scheme
from tte.training.user_data import ModelInput, check_targets

PRECISIONS = ("int8", "fp32")
ENGINES = ("ref", "c", "qemu")


class Trainer:
    def __init__(self, graph: Graph, *, scheme: str | UpdateScheme = "last-k:2", precision: str = "int8",
                 lr: float = 0.05, engine: str = "ref", loss: str = "softmax_ce", qas: bool = True,
                 rounding: str = "stochastic", seed: int = 0, momentum: float = 0.0,
                 qemu_board: str = "qemu-mps2-an500") -> None:
        if precision not in PRECISIONS:
            raise TteError(f"unknown precision '{precision}' (known: {', '.join(PRECISIONS)})")
        if engine not in ENGINES:
            raise TteError(f"engine '{engine}' is not available yet (available: {', '.join(ENGINES)})")
        if not lr > 0:
            raise TteError(f"learning rate must be positive, got {lr}")
        self.precision, self.engine, self.loss_kind = precision, engine, loss
        self.forward = _graph_for(graph, precision)
        out = self.forward.tensors[self.forward.outputs[0]]
        self.data_spec = ModelInput((), "flat", int(out.shape[-1]) if loss == "softmax_ce" else None,
                                    source_shape(out)[1:])
        self.scheme = resolve_scheme(scheme)
        self.plan = self.scheme.to_plan(self.forward)
        self.training: TrainingGraph = derive_training_graph(self.forward, self.plan, loss=loss, lr=lr,
                                                             qas=qas, rounding=rounding, seed=seed,
                                                             momentum=momentum)
        if momentum and engine != "ref":
            raise TteError(f"momentum is supported by engine 'ref' only (not '{engine}'): its velocity "
                           "buffer costs 4 bytes per trained element, so the C kernels train without it")
        self.steps = 0
        self.sim = None
        if engine == "c":  # the generated C step, built and run on the host (tte.targets.sim)
            if precision != "int8":
                raise TteError("engine 'c' runs int8 training; use --precision int8")
            from tte.compiler.analysis import analyze
            from tte.compiler.codegen import generate
            from tte.targets.sim import Simulator

            a = analyze(self.forward, scheme=self.scheme, budget_bytes=1 << 40, lr=lr, loss=loss,
                        rounding=rounding, qas=qas, seed=seed)
            self.sim = Simulator(a, generate(a, "trainer"), "trainer")
        elif engine == "qemu":  # the same C as firmware on an emulated board (tte.targets.qemu): M7 or M33
            if precision != "int8":
                raise TteError("engine 'qemu' runs int8 training; use --precision int8")
            from tte.compiler.analysis import analyze
            from tte.compiler.compile import layouts_within_flash
            from tte.targets.boards import get_board
            from tte.targets.qemu import QemuEngine

            kw = {"budget_bytes": 1 << 40, "lr": lr, "loss": loss, "rounding": rounding, "qas": qas, "seed": seed}
            a = analyze(self.forward, scheme=self.scheme, **kw)  # engine 'c''s C, but the layouts the flash takes
            a, sources, _ = layouts_within_flash(self.forward, a, get_board(qemu_board), "trainer", **kw)
            self.sim = QemuEngine(a, sources, "trainer", board=qemu_board)

    def attach(self, engine: object, name: str) -> None:
        """Run the steps on `engine` from now on (train_step, weights, crc32, as QemuEngine: e.g. a
        board behind a serial line, tte.targets.serial), which must hold this trainer's weights."""
        self.sim, self.engine = engine, name  # type: ignore[assignment]

    @property
    def trainable_bytes(self) -> int:
        return plan_bytes(self.forward, self.plan)

    @property
    def saved_bytes(self) -> int:
        """Activations the backward pass keeps from the forward pass (masks at one bit each)."""
        total = 0
        for name in self.training.saved:
            t = self.training.graph.tensors[name]
            total += (t.size + 7) // 8 if t.dtype == "bool" else t.nbytes
        return total

    def _feeds(self, x: np.ndarray | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feeds = feeds_to_ir(self.forward, x)
        for name, arr in feeds.items():
            t = self.forward.tensors[name]
            if t.dtype == "int8" and arr.dtype != np.int8:
                assert t.quant is not None
                feeds[name] = quantize_array(arr.astype(np.float32), t.quant)
            elif t.dtype == "float32":
                feeds[name] = arr.astype(np.float32)
        return feeds

    def _checked(self, x: np.ndarray | Mapping[str, np.ndarray],
                 y: np.ndarray | int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """IR feeds and the batch's labels or targets, checked like a data file: NaN/Inf in x or y,
        labels that are not integers or outside the model's classes (-1 included) raise TteError."""
        for name, arr in (x.items() if isinstance(x, Mapping) else [("x", x)]):
            a = np.asarray(arr)
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                raise TteError(f"input '{name}' holds NaN or Inf")
        feeds = self._feeds(x)
        n = len(next(iter(feeds.values())))
        target = np.asarray(y)
        if self.loss_kind == "softmax_ce" and target.size == n:
            target = target.reshape(n)
        return feeds, check_targets(target, n, self.data_spec, None)

    def step(self, x: np.ndarray, y: np.ndarray | int) -> float:
        """One SGD step on a batch (or a single sample); returns the loss before the update."""
        feeds, target = self._checked(x, y)
        n = len(target)
        tg = self.training
        if self.loss_kind == "softmax_ce":
            target = target.astype(np.int32)
        else:
            target = target.reshape((n,) + tg.graph.tensors[tg.label].shape[1:]).astype(np.float32)
        feeds[tg.label] = target
        if self.sim is not None:
            if n != 1:
                raise TteError(f"engine '{self.engine}' trains one sample per step (the board's batch size); "
                               "use batch size 1")
            loss = self.sim.train_step(feeds[self.forward.inputs[0]], target)
            for param, w in self.sim.weights().items():
                tg.graph.tensors[param].data = w
            self.steps += 1
            return loss
        if "step" in tg.graph.inputs:
            feeds["step"] = np.array([self.steps], np.int32)
        out = execute(tg.graph, feeds)
        for param, updated in {**tg.updates, **tg.state}.items():
            tg.graph.tensors[param].data = out[updated]
        self.steps += 1
        return float(out[tg.loss])

    def weights_crc32(self) -> int:
        """CRC-32/ISO-HDLC of the trained parameters' bytes in plan order (what the generated
        C's ``tte_trainable_crc32`` returns; engine 'c' asks the C code)."""
        if self.sim is not None:
            return self.sim.crc32()
        import zlib

        data = b"".join(np.ascontiguousarray(self.training.graph.tensors[p].data).tobytes()
                        for p in self.training.updates)
        return zlib.crc32(data) & 0xFFFFFFFF

    @property
    def graph(self) -> Graph:
        """The forward graph with the trained parameters."""
        g = self.forward.copy()
        for param in self.training.updates:
            g.tensors[param].data = self.training.graph.tensors[param].data.copy()
        return g

    def predict(self, xs: np.ndarray) -> np.ndarray:
        from tte.api import run

        out = run(self.graph, xs)
        assert isinstance(out, np.ndarray)
        return out

    def evaluate(self, xs: np.ndarray, ys: np.ndarray) -> float:
        """Accuracy for classification, mean squared error for regression."""
        self._checked(xs, ys)
        pred = self.predict(xs)
        if self.loss_kind == "softmax_ce":
            return float(np.mean(np.argmax(pred.reshape(len(xs), -1), axis=1) == np.asarray(ys).reshape(-1)))
        return float(np.mean((pred.reshape(len(xs), -1) - np.asarray(ys, np.float32).reshape(len(xs), -1)) ** 2))


def _graph_for(graph: Graph, precision: str) -> Graph:
    if precision == "int8":
        if not graph.is_quantized:
            raise TteError(f"precision int8 needs an int8 graph; '{graph.name}' is float: quantize it first "
                           "(tte.numerics.quantize, or `tte train --calibration`)")
        for node in graph.nodes:
            if node.op in ("conv2d", "fully_connected"):
                for name in node.inputs[:3]:
                    t = graph.tensors[name] if name else None
                    if t is not None and t.quant is None:
                        raise TteError(f"int8 graph lacks quantization parameters for tensor '{name}'",
                                       node=node.name)
        return graph.copy()
    if graph.is_quantized:
        from tte.numerics.quantize import dequantize_graph
        return dequantize_graph(graph)
    return graph.copy()
