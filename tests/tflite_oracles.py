"""Run .tflite bytes under the two oracles: LiteRT's reference kernels and tflite-micro."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def run_litert(model: bytes, feeds: Mapping[str, np.ndarray] | Sequence[np.ndarray], *,
               all_tensors: bool = False) -> dict[str, np.ndarray]:
    """Outputs by tensor name (every readable tensor if ``all_tensors``), BUILTIN_REF kernels."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=model,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                         experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    for i, d in enumerate(interp.get_input_details()):
        arr = feeds[d["name"]] if isinstance(feeds, Mapping) else feeds[i]
        interp.set_tensor(d["index"], np.ascontiguousarray(arr))
    interp.invoke()
    details = interp.get_tensor_details() if all_tensors else interp.get_output_details()
    out: dict[str, np.ndarray] = {}
    for d in details:
        try:
            out[d["name"]] = np.array(interp.get_tensor(d["index"]))
        except ValueError:      # tensors without data (e.g. freed scratch) cannot be read
            continue
    return out


def litert_output_names(model: bytes) -> list[str]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    return [d["name"] for d in interp.get_output_details()]


def run_tflm(model: bytes, feeds: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Outputs in model order under tflite-micro's Python interpreter."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=max(64 * 1024, 20 * len(model)))
    for i, arr in enumerate(feeds):
        interp.set_input(np.ascontiguousarray(arr), i)
    interp.invoke()
    n = len(list(_output_indices(model)))
    return [np.array(interp.get_output(i)) for i in range(n)]


def run_tflm_all_tensors(model: bytes, feeds: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Every non-constant tensor by name under tflite-micro, kept alive after invoke."""
    import tflite
    from tflite_micro.python.tflite_micro import runtime

    sg = tflite.Model.GetRootAs(model, 0).Subgraphs(0)
    tensors = [sg.Tensors(i) for i in range(sg.TensorsLength())]
    activations = [i for i, t in enumerate(tensors) if not _is_const(model, t)]
    # kPreserveAllTensors gives every tensor its own arena slot: room for all of them at once.
    nbytes = sum(int(np.prod(_shape(tensors[i]))) * 4 for i in activations)
    interp = runtime.Interpreter.from_bytes(model, arena_size=2 * nbytes + 256 * 1024,
                                            intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    for i, arr in enumerate(feeds):
        interp.set_input(np.ascontiguousarray(arr), i)
    interp.invoke()
    out = {}
    for i in activations:
        t = tensors[i]
        out[t.Name().decode()] = np.asarray(interp.GetTensor(i, 0)["tensor_data"]).reshape(_shape(t))
    return out


def _shape(tensor: object) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()  # type: ignore[attr-defined]


def _is_const(model: bytes, tensor: object) -> bool:
    import tflite

    buf = tflite.Model.GetRootAs(model, 0).Buffers(tensor.Buffer())  # type: ignore[attr-defined]
    return buf is not None and buf.DataLength() > 0


def _output_indices(model: bytes) -> list[int]:
    import tflite

    m = tflite.Model.GetRootAs(model, 0)
    return list(m.Subgraphs(0).OutputsAsNumpy())
