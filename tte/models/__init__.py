"""Model builders: the paper's three architectures as float ONNX graphs."""
