/* int8 fully connected, per-tensor or per-output-channel requantization.
 *
 * Cortex-M4/M7 (ARMv7E-M DSP extension, under __ARM_FEATURE_DSP): four outputs at a time,
 * each word of x unpacked once for the four weight rows and multiplied by SMLAD; x - zp is
 * widened once per row into a stack buffer when in_features is at most TTE_FC_WIDE_MAX.
 * Every product and sum is an integer of the portable loop and the output stage is
 * tte_rq_fast only where it equals the exact one, so the bytes are the same
 * (tests/test_qemu_kernels.py). */
#include "tte/internal/conv_s8.h"

/* in_features up to which x - zp is widened on the stack (two bytes each; kept small so
 * that the paper models' stack peak stays where their backward pass sets it) */
#define TTE_FC_WIDE_MAX 128

static int8_t fc_out(const tte_fc_s8_params_t *p, int32_t fast, int32_t acc, int32_t n)
{
    const int32_t ch = p->per_channel ? n : 0;
    if (fast) {
        return (int8_t)tte_rq_fast(acc, p->mult[ch], p->shift[ch], 2 * p->out_zp + 1, p->act_min, p->act_max);
    }
    return (int8_t)tte_rq_exact(acc, p->mult[ch], p->shift[ch], p->out_zp, p->act_min, p->act_max);
}

#if defined(__ARM_FEATURE_DSP)
/* One weight word of rows wa (a0), wa + K (a1), wb (a2), wb + K (a3) against the unpacked
 * x - zp in xe (even lanes) and xo (odd lanes); wa and wb advance by four. */
#define TTE_FC_ROWS4                                                                    \
    "ldr %[w], [%[wa], %[k]]\n\t"                                                      \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "smlad %[a1], %[xe], %[we], %[a1]\n\t"                                             \
    "smlad %[a1], %[xo], %[w], %[a1]\n\t"                                              \
    "ldr %[w], [%[wa]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "smlad %[a0], %[xe], %[we], %[a0]\n\t"                                             \
    "smlad %[a0], %[xo], %[w], %[a0]\n\t"                                              \
    "ldr %[w], [%[wb], %[k]]\n\t"                                                      \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "smlad %[a3], %[xe], %[we], %[a3]\n\t"                                             \
    "smlad %[a3], %[xo], %[w], %[a3]\n\t"                                              \
    "ldr %[w], [%[wb]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "smlad %[a2], %[xe], %[we], %[a2]\n\t"                                             \
    "smlad %[a2], %[xo], %[w], %[a2]\n\t"

/* a word of x from xp, unpacked and less the zero point (zz, both halves) */
#define TTE_FC_XWORD                                                                    \
    "ldr %[xo], [%[xp]], #4\n\t"                                                       \
    "sxtb16 %[xe], %[xo]\n\t"                                                          \
    "sxtb16 %[xo], %[xo], ror #8\n\t"                                                  \
    "ssub16 %[xe], %[xe], %[zz]\n\t"                                                   \
    "ssub16 %[xo], %[xo], %[zz]\n\t"

/* the same word already widened (xw: even lanes, odd lanes) */
#define TTE_FC_XWIDE "ldrd %[xe], %[xo], [%[xp]], #8\n\t"

/* Outputs [n, n + 4) of one row over inputs [0, k8), k8 a positive multiple of 8: x at xp
 * (widened when wide), weight rows from w0 (k apart). */
TTE_HOT static void fc_dot4(const void *xp, int32_t wide, uint32_t zz, const int8_t *w0, int32_t k, int32_t k8,
                            int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *wa = w0, *wb = w0 + 2 * (size_t)k;
    const uint8_t *xq = xp;
    const uint8_t *const end = xq + (wide ? 2 * k8 : k8);
    uint32_t xe, xo, w, we;
    if (wide) {
        __asm__ volatile("1:\n\t" TTE_FC_XWIDE TTE_FC_ROWS4 TTE_FC_XWIDE TTE_FC_ROWS4
                         "ldr %[w], %[end]\n\t"
                         "cmp %[xp], %[w]\n\t"
                         "bne 1b"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xq), [wa] "+r"(wa),
                           [wb] "+r"(wb), [xe] "=&r"(xe), [xo] "=&r"(xo), [w] "=&r"(w), [we] "=&r"(we)
                         : [k] "r"(k), [end] "m"(end)
                         : "cc", "memory");
    } else {
        __asm__ volatile("1:\n\t" TTE_FC_XWORD TTE_FC_ROWS4 TTE_FC_XWORD TTE_FC_ROWS4
                         "ldr %[w], %[end]\n\t"
                         "cmp %[xp], %[w]\n\t"
                         "bne 1b"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xq), [wa] "+r"(wa),
                           [wb] "+r"(wb), [xe] "=&r"(xe), [xo] "=&r"(xo), [w] "=&r"(w), [we] "=&r"(we)
                         : [k] "r"(k), [zz] "r"(zz), [end] "m"(end)
                         : "cc", "memory");
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif

void tte_fully_connected_s8(const tte_fc_s8_params_t *p, const int8_t *x, const int8_t *w,
                            const int32_t *bias, int8_t *y)
{
    const int32_t K = p->in_features, N = p->out_features;
    const int32_t fast = tte_rq_fast_ok(p->mult, p->shift, p->per_channel ? N : 1, p->out_zp, p->act_min,
                                        p->act_max);
    int32_t r, n, k;
#if defined(__ARM_FEATURE_DSP)
    const int32_t k8 = K & ~7;
    const int32_t wide = K <= TTE_FC_WIDE_MAX;
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    uint32_t xw[TTE_FC_WIDE_MAX / 2] __attribute__((aligned(8)));
#endif
    for (r = 0; r < p->rows; ++r) {
        const int8_t *xr = x + (size_t)r * K;
        int8_t *yr = y + (size_t)r * N;
        n = 0;
#if defined(__ARM_FEATURE_DSP)
        if (k8 > 0) {
            if (wide) {
                for (k = 0; k < k8; k += 4) {
                    const uint32_t u = load4(xr + k);
                    xw[k / 2] = tte_ssub16(tte_sxtb16(u), zz);
                    xw[k / 2 + 1] = tte_ssub16(tte_sxtb16_ror8(u), zz);
                }
            }
            for (; n + 3 < N; n += 4) {
                const int8_t *wn = w + (size_t)n * K;
                int32_t acc[4], j;
                for (j = 0; j < 4; ++j) {
                    acc[j] = bias ? bias[n + j] : 0;
                }
                fc_dot4(wide ? (const void *)xw : (const void *)xr, wide, zz, wn, K, k8, acc);
                for (j = 0; j < 4; ++j) {
                    const int8_t *wj = wn + (size_t)j * K;
                    for (k = k8; k < K; ++k) {
                        acc[j] += ((int32_t)xr[k] - p->in_zp) * (int32_t)wj[k];
                    }
                    yr[n + j] = fc_out(p, fast, acc[j], n + j);
                }
            }
        }
#endif
        for (; n < N; ++n) {
            const int8_t *wn = w + (size_t)n * K;
            int32_t acc = bias ? bias[n] : 0;
            for (k = 0; k < K; ++k) {
                acc += ((int32_t)xr[k] - p->in_zp) * (int32_t)wn[k];
            }
            yr[n] = fc_out(p, fast, acc, n);
        }
    }
}
