"""Numerics: TFLite fixed-point arithmetic and post-training quantization (float -> int8)."""
