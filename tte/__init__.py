"""tte: the Tiny Training Engine, on-device int8 training for microcontrollers.

    import tte
    g = tte.load("model.onnx")             # ONNX or int8 .tflite -> tte.ir.Graph
    q = tte.quantize(g, calibration=xs)    # int8 Graph (post-training quantization)
    ys = tte.run(q, xs)                    # reference inference in the model's layout
    tte.export(q, "model_int8.tflite")
"""

# The submodules tte.quantize and tte.export share their names with API functions.
# Importing them first means Python has already bound them as attributes of the package,
# so the function bindings below win and later imports do not overwrite them.
import tte.compile
import tte.export
import tte.quantize  # noqa: F401
from tte.api import compile, export, load, quantize, run
from tte.errors import TteError
from tte.ir import Graph

__version__ = "0.1.0"
__all__ = ["Graph", "TteError", "compile", "export", "load", "quantize", "run"]
