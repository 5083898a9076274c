/* Shared by the int8 conv kernels (conv_s8.c, conv_stem_s8.c, depthwise_s8.c, pointwise_s8.c):
 * the output stage of one kernel call, the DSP word loads, the paths the dispatcher
 * tte_conv2d_s8 picks. Internal; hidden from the cffi declarations. */
#ifndef TTE_INTERNAL_CONV_S8_H
#define TTE_INTERNAL_CONV_S8_H
#ifndef TTE_CDEF
#include <string.h>

#include "tte/conv.h"

/* The hot loops count instructions, not cycles: pre-allocation scheduling (on at -O2 for
 * ARM) raises register pressure and spills in them. */
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(__clang__)
#define TTE_HOT __attribute__((optimize("no-schedule-insns")))
#else
#define TTE_HOT
#endif

/* Output stage of one kernel call: exact, or tte_rq_fast when tte_conv2d_s8_fast_rq said so
 * (SSAT alone clamps when the activation range is all of int8). */
typedef struct {
    const int32_t *mult, *shift;
    int32_t mode; /* 0 exact, 1 fast, 2 fast with the clamp range [-128, 127] */
    int32_t zp2, out_zp, lo, hi;
} rq_t;

static inline rq_t rq_init(const tte_conv2d_s8_params_t *p, int32_t fast)
{
    rq_t r;
    r.mult = p->mult;
    r.shift = p->shift;
    r.mode = fast ? (p->act_min == -128 && p->act_max == 127 ? 2 : 1) : 0;
    r.zp2 = 2 * p->out_zp + 1;
    r.out_zp = p->out_zp;
    r.lo = p->act_min;
    r.hi = p->act_max;
    return r;
}

static TTE_ALWAYS_INLINE int8_t rq(const rq_t *r, int32_t acc, int32_t oc)
{
    if (r->mode == 2) {
        return (int8_t)tte_rq_fast_s8(acc, r->mult[oc], r->shift[oc], r->zp2);
    }
    if (r->mode == 1) {
        return (int8_t)tte_rq_fast(acc, r->mult[oc], r->shift[oc], r->zp2, r->lo, r->hi);
    }
    return (int8_t)tte_rq_exact(acc, r->mult[oc], r->shift[oc], r->out_zp, r->lo, r->hi);
}

#if defined(__ARM_FEATURE_DSP)
/* SXTB16 sign-extends bytes 0 and 2 of a word (with ROR #8: bytes 1 and 3) into the two
 * halves; SSUB16 subtracts halfwise (x - zp lies in [-255, 255], no wrap); SMLAD adds both
 * halfword products. Every product and sum is an integer of the portable loop (int32 sums
 * of int8 products never overflow over tte's layer sizes): bit-identical. */
static inline uint32_t load4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v); /* one (unaligned) LDR on ARMv7E-M */
    return v;
}
static inline uint32_t pack16(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

/* out[0..3] = the output stage of a0..a3 (channels c..c+3), one test of the mode. */
static TTE_ALWAYS_INLINE void rq4(const rq_t *r, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t c,
                                  int8_t *out)
{
    if (r->mode == 2) {
        const int32_t *m = r->mult + c, *s = r->shift + c;
        out[0] = (int8_t)tte_rq_fast_s8(a0, m[0], s[0], r->zp2);
        out[1] = (int8_t)tte_rq_fast_s8(a1, m[1], s[1], r->zp2);
        out[2] = (int8_t)tte_rq_fast_s8(a2, m[2], s[2], r->zp2);
        out[3] = (int8_t)tte_rq_fast_s8(a3, m[3], s[3], r->zp2);
    } else {
        out[0] = rq(r, a0, c);
        out[1] = rq(r, a1, c + 1);
        out[2] = rq(r, a2, c + 2);
        out[3] = rq(r, a3, c + 3);
    }
}
#endif

/* kernel heights the depthwise paths take (rows of tap pointers on the stack) */
#define TTE_CONV_MAX_KH 16

/* window values (k_h * k_w * in_c) of the regular convs that go the stem's way (conv_stem_s8.c) */
#define TTE_CONV_WIN 32

/* groups == in_c, one input channel per group (depthwise_s8.c) */
void tte_conv2d_s8_depthwise(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                             const int32_t *bias, int8_t *y);
/* groups 1, at most TTE_CONV_WIN window values (conv_stem_s8.c) */
#if defined(__ARM_FEATURE_DSP)
void tte_conv2d_s8_small_window_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                    const int8_t *w, const int32_t *bias, int8_t *y);
#else
void tte_conv2d_s8_small_window(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                                const int32_t *bias, int8_t *y);
#endif
/* groups 1, more than TTE_CONV_WIN window values, at most TTE_WIN_OC output channels
 * (conv_window_s8.c; their sums carry over between window chunks, 8 bytes of stack each) */
#define TTE_WIN_OC 64
#if defined(__ARM_FEATURE_DSP)
void tte_conv2d_s8_window_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                              const int32_t *bias, int8_t *y);
#endif
#endif /* TTE_CDEF */
#endif
