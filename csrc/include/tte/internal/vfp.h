/* Cortex-M4F / M7 (ARMv7E-M with a single-precision FPU, GCC): TTE_VFP_ASM selects the inline
 * assembly of the QAS row (tte/internal/qas.h) and of the fused depthwise/pointwise backward
 * (dwpw_backward.c), with VLDM / VSTM (several consecutive floats in one instruction) and
 * VMLA.F32. VMLA is not fused: it rounds the product, then the sum, exactly as the C's separate
 * multiply and add, so every float operation and its order stay those of the portable C beside
 * it: bit-identical (tests/test_qemu_kernels.py runs every kernel case on the M7). */
#ifndef TTE_INTERNAL_VFP_H
#define TTE_INTERNAL_VFP_H

#if defined(__GNUC__) && defined(__ARM_ARCH_7EM__) && defined(__ARM_FP) && (__ARM_FP & 4)
#define TTE_VFP_ASM 1
#endif

#endif
