"""int8 reference kernels, bit-exact with TFLite's reference kernels."""
