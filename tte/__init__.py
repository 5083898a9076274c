"""tte: the Tiny Training Engine, on-device int8 training for microcontrollers.

    import tte
    g = tte.load("model.onnx")             # ONNX or int8 .tflite -> tte.ir.Graph
    q = tte.quantize(g, calibration=xs)    # int8 Graph (post-training quantization)
    d = tte.int8_io(q)                     # without the float QUANTIZE/DEQUANTIZE at its ends
    ys = tte.run(q, xs)                    # reference inference in the model's layout
    tr = tte.Trainer(q, scheme="last-k:2", engine="c")   # on-device style training
    tte.export(q, "model_int8.tflite")
"""

# The subpackage tte.export shares its name with an API function. Importing it first means
# Python has already bound it as an attribute of the package, so the function binding below
# wins and later imports do not overwrite it.
import tte.export  # noqa: F401
from tte.api import compile, export, load, quantize, run
from tte.errors import TteError
from tte.int8_io import int8_io
from tte.ir import Graph
from tte.training.trainer import Trainer

__version__ = "0.1.0"
__all__ = ["Graph", "Trainer", "TteError", "compile", "export", "int8_io", "load", "quantize", "run"]
