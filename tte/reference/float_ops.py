"""Float32 reference kernels (NHWC)."""
