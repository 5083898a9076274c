/* int8 depthwise conv2d (groups == in_c, any channel multiplier): one output pixel
 * (tte_conv2d_s8_dw_pixel), a run of pixels of one output row (tte_conv2d_s8_dw_row, which
 * tte_block_s8 streams), the whole image (tte_conv2d_s8_depthwise, from tte_conv2d_s8). A 3x3
 * window has its own DSP path (dw3_groups): every pixel, border ones too, on a bias with the
 * zero point's share folded in.
 *
 * Cortex-M4/M7 (ARMv7E-M DSP extension, under __ARM_FEATURE_DSP): the fast paths use its SIMD
 * (SXTB16, SSUB16, SMLABB/SMLATB/SMLATT) beside the portable C; every product and sum is an integer of the
 * portable loop, so the bytes are the same (tte_conv2d_s8_generic; tests/test_qemu_kernels.py). */
/* the build's own level, before optimized.h's pragma raises it: at -O0 (the frame pointer
 * kept) and -Os, dw4_taps_sub's 13 registers of assembly are not there */
#if !defined(__OPTIMIZE__) || defined(__OPTIMIZE_SIZE__)
#define TTE_DW_FEW_REGISTERS 1
#endif
#include "tte/internal/optimized.h"
#include <stddef.h>
#include <string.h>

#include "tte/internal/conv_s8.h"

#if defined(__ARM_FEATURE_DSP)
/* acc + lo(a) * lo(b), acc + hi(a) * lo(b) */
static inline int32_t smlabb(uint32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
static inline int32_t smlatb(uint32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlatb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
static inline int32_t smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* rq4 with channel c's multipliers and complemented shifts (~shift, the ASR amount) loaded
 * once per channel group by the caller: no MVN per output. */
static TTE_ALWAYS_INLINE void rq4_pre(const rq_t *r, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                                      const int32_t *qm, const int32_t *qs, int32_t c, int8_t *out)
{
    if (r->mode == 2) {
        out[0] = (int8_t)tte_rq_fast_s8(a0, qm[0], ~qs[0], r->zp2);
        out[1] = (int8_t)tte_rq_fast_s8(a1, qm[1], ~qs[1], r->zp2);
        out[2] = (int8_t)tte_rq_fast_s8(a2, qm[2], ~qs[2], r->zp2);
        out[3] = (int8_t)tte_rq_fast_s8(a3, qm[3], ~qs[3], r->zp2);
    } else {
        rq4(r, a0, a1, a2, a3, c, out);
    }
}

/* Channels [0, C & ~3) of one depthwise pixel (multiplier 1, dilation 1), four at a time:
 * one word of x per tap (rows[ky] + xoff is the column of tap kx0, rows outside are NULL),
 * the four weights of a tap T bytes apart. */
TTE_HOT static void dw_px_groups(const tte_conv2d_geom_t *g, const rq_t *rp, const int8_t *const *rows, size_t xoff,
                         int32_t kx0, int32_t kx1, const int8_t *w, const int32_t *bias, int32_t zp, int8_t *out)
{
    const rq_t rl = *rp; /* a local copy: the int8 stores cannot alias it */
    const rq_t *const r = &rl;
    const int32_t C = g->in_c, KH = g->k_h, KW = g->k_w, T = KH * KW;
    const uint32_t zz = pack16(zp, zp);
    int32_t c, ky, kx;
    for (c = 0; c + 3 < C; c += 4) {
        int32_t a0 = bias ? bias[c] : 0, a1 = bias ? bias[c + 1] : 0;
        int32_t a2 = bias ? bias[c + 2] : 0, a3 = bias ? bias[c + 3] : 0;
        for (ky = 0; ky < KH; ++ky) {
            const int8_t *xp = rows[ky];
            const int8_t *wp = w + (size_t)c * T + ky * KW + kx0;
            if (xp == NULL) {
                continue;
            }
            xp += xoff + c;
            for (kx = kx0; kx < kx1; ++kx) {
                const uint32_t xv = load4(xp);
                const uint32_t xe = tte_ssub16(tte_sxtb16(xv), zz);
                const uint32_t xo = tte_ssub16(tte_sxtb16_ror8(xv), zz);
                a0 = smlabb(xe, wp[0], a0);
                a1 = smlabb(xo, wp[T], a1);
                a2 = smlatb(xe, wp[2 * T], a2);
                a3 = smlatb(xo, wp[3 * T], a3);
                xp += C;
                ++wp;
            }
        }
        rq4(r, a0, a1, a2, a3, c, out + c);
    }
}
#endif

/* Output channels [oc, out_c) of one depthwise pixel, taps kx in [kx0, kx1) of the rows
 * that are not NULL: the exact loop for any multiplier, dilation and border. */
static void dw_px_rest(const tte_conv2d_s8_params_t *p, const rq_t *rp, const int8_t *const *rows, size_t xoff,
                       int32_t kx0, int32_t kx1, const int8_t *w, const int32_t *bias, int8_t *out, int32_t oc)
{
    const rq_t rl = *rp; /* a local copy: the int8 stores cannot alias it */
    const rq_t *const r = &rl;
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t mult = g->out_c / g->in_c;
    const int32_t taps = g->k_h * g->k_w;
    const size_t xstep = (size_t)g->dil_w * g->in_c;
    const int32_t zp = p->in_zp;
    int32_t ky, kx;
    for (; oc < g->out_c; ++oc) {
        const int32_t ic = mult == 1 ? oc : oc / mult;
        const int8_t *wo = w + (size_t)oc * taps;
        int32_t acc = bias ? bias[oc] : 0;
        for (ky = 0; ky < g->k_h; ++ky) {
            const int8_t *xp;
            const int8_t *wp = wo + ky * g->k_w + kx0;
            if (rows[ky] == NULL) {
                continue;
            }
            xp = rows[ky] + xoff + ic;
            for (kx = kx0; kx < kx1; ++kx) {
                acc += ((int32_t)*xp - zp) * (int32_t)*wp++;
                xp += xstep;
            }
        }
        out[oc] = rq(r, acc, oc);
    }
}

/* One output pixel (all channels) of a depthwise conv: rows[ky] is the input row tap ky
 * reads (NULL outside the image). */
void tte_conv2d_s8_dw_pixel(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows, int32_t ox,
                            const int8_t *w, const int32_t *bias, int8_t *out)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    /* the taps kx in [kx0, kx1) read inside the row: found once per pixel, not per channel */
    const int32_t kx0 = ix0 < 0 ? (-ix0 + g->dil_w - 1) / g->dil_w : 0;
    const int32_t last = ix0 > g->in_w - 1 ? 0 : (g->in_w - 1 - ix0) / g->dil_w + 1;
    const int32_t kx1 = last < g->k_w ? last : g->k_w;
    const size_t xoff = (size_t)(ix0 + kx0 * g->dil_w) * g->in_c;
    const rq_t r = rq_init(p, fast);
    int32_t oc = 0;
#if defined(__ARM_FEATURE_DSP)
    if (g->out_c == g->in_c && g->dil_w == 1 && g->dil_h == 1) {
        dw_px_groups(g, &r, rows, xoff, kx0, kx1, w, bias, p->in_zp, out);
        oc = g->in_c & ~3;
    }
#endif
    dw_px_rest(p, &r, rows, xoff, kx0, kx1, w, bias, out, oc);
}

#if defined(__ARM_FEATURE_DSP)
/* One tap of the four accumulators a0..a3 of channels c..c+3: x word at xp, the tap's four
 * weights transposed and unpacked into two words wt[0] (channels c, c + 2) and wt[1]
 * (c + 1, c + 3); x - zp when sub (else the zero point is folded). */
#define TTE_DW4_TAP(xp, wt, sub)                                                        \
    do {                                                                                \
        const uint32_t xv_ = load4(xp);                                                 \
        uint64_t wp_;                                                                   \
        uint32_t we_, wo_;                                                              \
        memcpy(&wp_, (wt), 8); /* one LDRD */                                           \
        we_ = (uint32_t)wp_;                                                            \
        wo_ = (uint32_t)(wp_ >> 32);                                                    \
        uint32_t xe_ = tte_sxtb16(xv_), xo_ = tte_sxtb16_ror8(xv_);                     \
        if (sub) {                                                                      \
            xe_ = tte_ssub16(xe_, zz);                                                  \
            xo_ = tte_ssub16(xo_, zz);                                                  \
        }                                                                               \
        a0 = smlabb(xe_, (int32_t)we_, a0);                                             \
        a2 = smlatt(xe_, we_, a2);                                                      \
        a1 = smlabb(xo_, (int32_t)wo_, a1);                                             \
        a3 = smlatt(xo_, wo_, a3);                                                      \
    } while (0)

/* One tap of a window row in assembly: x word at ADDR, the tap's two unpacked weight words
 * at byte WOFF of operand BASE; a0..a3 as TTE_DW4_TAP's. */
#define TTE_DW4_ATAP(ADDR, BASE, WOFF)                                                  \
    "ldr %[x], " ADDR "\n\t"                                                           \
    "ldrd %[we], %[wo], [%[" BASE "], #" #WOFF "]\n\t"                                 \
    "sxtb16 %[xe], %[x]\n\t"                                                           \
    "sxtb16 %[x], %[x], ror #8\n\t"                                                    \
    "smlabb %[a0], %[xe], %[we], %[a0]\n\t"                                            \
    "smlatt %[a2], %[xe], %[we], %[a2]\n\t"                                            \
    "smlabb %[a1], %[x], %[wo], %[a1]\n\t"                                             \
    "smlatt %[a3], %[x], %[wo], %[a3]\n\t"
#define TTE_DW4_AOPS                                                                    \
    : [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2), [a3] "+r"(*a3), [p] "+r"(p), [x] "=&r"(x), \
      [xe] "=&r"(xe), [we] "=&r"(we), [wo] "=&r"(wo)                                   \
    : [wt] "r"(wt), [c] "r"(C)                                                         \
    : "memory"

/* A 5- or 7-wide window row (KW) inside the input, the zero point folded: x at p and on by
 * C, weights wt[0..2 KW) (every x address one instruction). */
static TTE_ALWAYS_INLINE void dw4_row57(const int8_t *p, const uint32_t *wt, int32_t KW, int32_t C, int32_t *a0,
                                        int32_t *a1, int32_t *a2, int32_t *a3)
{
    uint32_t x, xe, we, wo;
    if (KW == 5) {
        __asm__(TTE_DW4_ATAP("[%[p]]", "wt", 0) TTE_DW4_ATAP("[%[p], %[c]]", "wt", 8)
                TTE_DW4_ATAP("[%[p], %[c], lsl #1]", "wt", 16) TTE_DW4_ATAP("[%[p], %[c], lsl #2]", "wt", 32)
                "add %[p], %[p], %[c], lsl #1\n\t"
                TTE_DW4_ATAP("[%[p], %[c]]", "wt", 24) TTE_DW4_AOPS);
    } else {
        __asm__(TTE_DW4_ATAP("[%[p]]", "wt", 0) TTE_DW4_ATAP("[%[p], %[c]]", "wt", 8)
                TTE_DW4_ATAP("[%[p], %[c], lsl #1]", "wt", 16) TTE_DW4_ATAP("[%[p], %[c], lsl #2]", "wt", 32)
                "add %[p], %[p], %[c], lsl #1\n\t"
                TTE_DW4_ATAP("[%[p], %[c]]", "wt", 24) TTE_DW4_ATAP("[%[p], %[c], lsl #2]", "wt", 48)
                "add %[p], %[p], %[c]\n\t"
                TTE_DW4_ATAP("[%[p], %[c], lsl #1]", "wt", 40) TTE_DW4_AOPS);
    }
}

/* One tap with x - zp: x at ADDR, the tap's weight words from wt on */
#define TTE_DW4_STAP(ADDR)                                                              \
    "ldr %[x], " ADDR "\n\t"                                                           \
    "ldrd %[we], %[wo], [%[wt]], #8\n\t"                                               \
    "sxtb16 %[xe], %[x]\n\t"                                                           \
    "sxtb16 %[x], %[x], ror #8\n\t"                                                    \
    "ssub16 %[xe], %[xe], %[zz]\n\t"                                                   \
    "ssub16 %[x], %[x], %[zz]\n\t"                                                     \
    "smlabb %[a0], %[xe], %[we], %[a0]\n\t"                                            \
    "smlatt %[a2], %[xe], %[we], %[a2]\n\t"                                            \
    "smlabb %[a1], %[x], %[wo], %[a1]\n\t"                                             \
    "smlatt %[a3], %[x], %[wo], %[a3]\n\t"

/* n (>= 1) taps of a window row with x - zp (a border pixel's): x at p and on by C, weights
 * from wt on (TTE_DW4_TAP's loop in assembly, two taps a pass: gcc took 16 instructions a
 * tap, here 11.5; an odd first tap alone). */
static TTE_ALWAYS_INLINE void dw4_taps_sub(const int8_t *p, const uint32_t *wt, int32_t n, int32_t C, uint32_t zz,
                                           int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
#if defined(TTE_DW_FEW_REGISTERS)
    /* the same sums in C */
    int32_t b0 = *a0, b1 = *a1, b2 = *a2, b3 = *a3;
    for (; n > 0; --n, wt += 2, p += C) {
        int32_t a0 = b0, a1 = b1, a2 = b2, a3 = b3;
        TTE_DW4_TAP(p, wt, 1);
        b0 = a0;
        b1 = a1;
        b2 = a2;
        b3 = a3;
    }
    *a0 = b0;
    *a1 = b1;
    *a2 = b2;
    *a3 = b3;
#else
    uint32_t x, xe, we, wo;
    __asm__("tst %[n], #1\n\t"
            "beq 1f\n\t"
            TTE_DW4_STAP("[%[p]]")
            "add %[p], %[p], %[c]\n\t"
            "subs %[n], %[n], #1\n\t"
            "beq 2f\n\t"
            "1:\n\t"
            TTE_DW4_STAP("[%[p]]")
            TTE_DW4_STAP("[%[p], %[c]]")
            "add %[p], %[p], %[c], lsl #1\n\t"
            "subs %[n], %[n], #2\n\t"
            "bne 1b\n\t"
            "2:"
            : [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2), [a3] "+r"(*a3), [p] "+r"(p), [wt] "+r"(wt), [n] "+r"(n),
              [x] "=&r"(x), [xe] "=&r"(xe), [we] "=&r"(we), [wo] "=&r"(wo)
            : [c] "r"(C), [zz] "r"(zz)
            : "cc", "memory");
#endif
}

#define TTE_DW_MAX_TAPS 49

/* dw4_rq's block (32-bit words): each channel's multiplier and ASR amount (~shift), then zp2 */
enum { DW4_QM = 0, DW4_ZP2 = 8, DW4_RQ_WORDS = 9 };

/* tte_rq_fast_s8 of A in place with channel J's multiplier and ASR amount (from byte J of
 * the block at prm, into we and xe), zp2 in wo, the byte stored at ADDR */
#define TTE_DW4_RQ(A, J, ADDR)                                                          \
    "ldrd %[we], %[xe], [%[prm], #" #J "]\n\t"                                         \
    "qadd %[" A "], %[" A "], %[" A "]\n\t"                                            \
    "smmulr %[" A "], %[" A "], %[we]\n\t"                                             \
    "add %[" A "], %[" A "], %[" A "], asr #31\n\t"                                    \
    "asr %[" A "], %[" A "], %[xe]\n\t"                                                \
    "add %[" A "], %[" A "], %[wo]\n\t"                                                \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"                                          \
    "strb %[" A "], " ADDR "\n\t"

/* The output stage over all of int8 of one pixel's channels c..c+3 (sums a0..a3) at out,
 * the multipliers, ASR amounts and zp2 from the block at prm (gcc reloaded them from the
 * stack and packed the bytes). */
static TTE_ALWAYS_INLINE void dw4_rq(const uint32_t *prm, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int8_t *out)
{
    uint32_t we, xe, wo;
    __asm__ volatile("ldr %[wo], [%[prm], #32]\n\t"
                     TTE_DW4_RQ("a0", 0, "[%[out]]")
                     TTE_DW4_RQ("a1", 8, "[%[out], #1]")
                     TTE_DW4_RQ("a2", 16, "[%[out], #2]")
                     TTE_DW4_RQ("a3", 24, "[%[out], #3]")
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [we] "=&r"(we), [xe] "=&r"(xe),
                       [wo] "=&r"(wo)
                     : [prm] "r"(prm), [out] "r"(out)
                     : "memory");
}

/* The nine taps of a 3x3 window from rows x0, x1, x2 (its left column), columns C apart */
#define TTE_DW4_3X3(x0, x1, x2, wt)                                                     \
    do {                                                                                \
        TTE_DW4_TAP(x0, (wt) + 0, 0);                                                   \
        TTE_DW4_TAP((x0) + C, (wt) + 2, 0);                                             \
        TTE_DW4_TAP((x0) + 2 * C, (wt) + 4, 0);                                         \
        TTE_DW4_TAP(x1, (wt) + 6, 0);                                                   \
        TTE_DW4_TAP((x1) + C, (wt) + 8, 0);                                             \
        TTE_DW4_TAP((x1) + 2 * C, (wt) + 10, 0);                                        \
        TTE_DW4_TAP(x2, (wt) + 12, 0);                                                  \
        TTE_DW4_TAP((x2) + C, (wt) + 14, 0);                                            \
        TTE_DW4_TAP((x2) + 2 * C, (wt) + 16, 0);                                        \
    } while (0)

/* A 3-wide window row of taps reaching into the padding: row rr (NULL outside the image)
 * at offset o0, its columns inside where v0, v1, v2; the others read the zero point's bytes z */
#define TTE_DW4_EDGE_ROW(rr, wt)                                                        \
    do {                                                                                \
        const int8_t *r_ = (rr);                                                        \
        const int8_t *p0_ = z, *p1_ = z, *p2_ = z;                                      \
        if (r_ != NULL) {                                                               \
            p0_ = v0 ? r_ + o0 : z;                                                     \
            p1_ = v1 ? r_ + (o0 + C) : z;                                               \
            p2_ = v2 ? r_ + (o0 + 2 * C) : z;                                           \
        }                                                                               \
        TTE_DW4_TAP(p0_, (wt), 0);                                                      \
        TTE_DW4_TAP(p1_, (wt) + 2, 0);                                                  \
        TTE_DW4_TAP(p2_, (wt) + 4, 0);                                                  \
    } while (0)

/* What a channel group of dw3_groups sets up once per call: the folded biases of the whole
 * window (kb) and of the window with its left (kl) or right (kr) column in the padding, the
 * output stage's multipliers (qm) and ASR amounts (qs) */
typedef struct {
    int32_t kb[4], kl[4], kr[4], qm[4], qs[4];
} dw3_group_t;

/* One output pixel of a 3x3 window that reaches into the padding (columns [kx0, kx1) inside,
 * rows[ky] NULL outside): with the left or right column out and the rows in, six taps on kl
 * or kr; else all nine, those outside reading the zero point's bytes z, whose share the
 * folded bias kb holds. Either way the sum of the portable loop. */
static TTE_ALWAYS_INLINE void dw3_edge(const dw3_group_t *gc, const rq_t *r, const int8_t *const *rows, int32_t rows_in,
                                       int32_t C, int32_t ix0, int32_t kx0, int32_t kx1, int32_t c,
                                       const uint32_t *wqp, const int8_t *z, int8_t *o)
{
    const uint32_t zz = 0; /* TTE_DW4_TAP subtracts nothing here (sub 0) */
    int32_t a0, a1, a2, a3;
    (void)zz;
    if (rows_in && kx0 == 1 && kx1 == 3) {
        const size_t xo = (size_t)(ix0 + 1) * C + c;
        const int8_t *x0 = rows[0] + xo, *x1 = rows[1] + xo, *x2 = rows[2] + xo;
        a0 = gc->kl[0];
        a1 = gc->kl[1];
        a2 = gc->kl[2];
        a3 = gc->kl[3];
        TTE_DW4_TAP(x0, wqp + 2, 0);
        TTE_DW4_TAP(x0 + C, wqp + 4, 0);
        TTE_DW4_TAP(x1, wqp + 8, 0);
        TTE_DW4_TAP(x1 + C, wqp + 10, 0);
        TTE_DW4_TAP(x2, wqp + 14, 0);
        TTE_DW4_TAP(x2 + C, wqp + 16, 0);
    } else if (rows_in && kx0 == 0 && kx1 == 2) {
        const size_t xo = (size_t)ix0 * C + c;
        const int8_t *x0 = rows[0] + xo, *x1 = rows[1] + xo, *x2 = rows[2] + xo;
        a0 = gc->kr[0];
        a1 = gc->kr[1];
        a2 = gc->kr[2];
        a3 = gc->kr[3];
        TTE_DW4_TAP(x0, wqp + 0, 0);
        TTE_DW4_TAP(x0 + C, wqp + 2, 0);
        TTE_DW4_TAP(x1, wqp + 6, 0);
        TTE_DW4_TAP(x1 + C, wqp + 8, 0);
        TTE_DW4_TAP(x2, wqp + 12, 0);
        TTE_DW4_TAP(x2 + C, wqp + 14, 0);
    } else {
        const ptrdiff_t o0 = (ptrdiff_t)ix0 * C + c;
        const int v0 = kx0 <= 0 && kx1 > 0, v1 = kx0 <= 1 && kx1 > 1, v2 = kx0 <= 2 && kx1 > 2;
        a0 = gc->kb[0];
        a1 = gc->kb[1];
        a2 = gc->kb[2];
        a3 = gc->kb[3];
        TTE_DW4_EDGE_ROW(rows[0], wqp);
        TTE_DW4_EDGE_ROW(rows[1], wqp + 6);
        TTE_DW4_EDGE_ROW(rows[2], wqp + 12);
    }
    rq4_pre(r, a0, a1, a2, a3, gc->qm, gc->qs, c, o);
}

#define TTE_COPY2(dst, src, i)                                                          \
    do {                                                                                \
        const uint32_t lo_ = (src)[i], hi_ = (src)[(i) + 1];                            \
        (dst)[i] = lo_;                                                                 \
        (dst)[(i) + 1] = hi_;                                                           \
    } while (0)

/* The windows inside the input of n output pixels (rows q0, q1, q2 from their left
 * column on, step bytes on per pixel), channel group c: nine taps on kb, the output stage
 * (mode2: r->mode is 2, the caller's constant, so the branch leaves the loop) */
static TTE_ALWAYS_INLINE void dw3_inside(const dw3_group_t *gc, const rq_t *r, const uint32_t *wqp, int32_t C,
                                         const int8_t *q0, const int8_t *q1, const int8_t *q2, size_t step,
                                         int32_t n, int32_t c, int8_t *o, size_t ostride, int32_t mode2)
{
    const uint32_t zz = 0; /* TTE_DW4_TAP subtracts nothing here (sub 0) */
    (void)zz;
    for (; n > 0; --n) {
        int32_t a0 = gc->kb[0], a1 = gc->kb[1], a2 = gc->kb[2], a3 = gc->kb[3];
        /* the tap words stay in memory, read where used: not copied into spill slots */
        __asm__ volatile("" : : "r"(wqp) : "memory");
        TTE_DW4_3X3(q0, q1, q2, wqp);
        if (mode2) {
            o[0] = (int8_t)tte_rq_fast_s8(a0, gc->qm[0], ~gc->qs[0], r->zp2);
            o[1] = (int8_t)tte_rq_fast_s8(a1, gc->qm[1], ~gc->qs[1], r->zp2);
            o[2] = (int8_t)tte_rq_fast_s8(a2, gc->qm[2], ~gc->qs[2], r->zp2);
            o[3] = (int8_t)tte_rq_fast_s8(a3, gc->qm[3], ~gc->qs[3], r->zp2);
        } else {
            rq4(r, a0, a1, a2, a3, c, o);
        }
        q0 += step;
        q1 += step;
        q2 += step;
        o += ostride;
    }
}

/* dw_row_groups for a 3x3 window: every pixel on the folded bias (no zp subtracted per tap),
 * the pixels whose window lies inside the input unrolled, which pixels those are found once
 * per call; the group's tap words copied to the stack (read there for every pixel). */
static TTE_ALWAYS_INLINE void dw3_body(const tte_conv2d_s8_params_t *p, const rq_t *r, const int8_t *const *rows_arg,
                                       const int8_t *xb, int32_t nrows, int32_t oy0, int32_t ox0, int32_t k,
                                       const int8_t *w, const int32_t *bias, const uint32_t *prep, int8_t *out,
                                       size_t ostride, int32_t mode2)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, sw = g->stride_w, in_w = g->in_w;
    const int32_t zp = p->in_zp;
    const uint32_t zw = (uint32_t)(uint8_t)zp * 0x01010101u; /* four bytes of the zero point */
    const int8_t *const z = (const int8_t *)&zw;
    const uint32_t zz = 0; /* TTE_DW4_TAP subtracts nothing here (sub 0) */
    const size_t step = (size_t)sw * C;
    uint32_t wq[18] __attribute__((aligned(8)));
    const int8_t *rows[3];
    dw3_group_t gc;
    int32_t c, t, j, i, oy, in_lo, in_hi;
    (void)zz;
    /* the pixels [in_lo, in_hi) whose window lies inside the input columns */
    in_lo = (g->pad_left + sw - 1) / sw - ox0;
    in_lo = in_lo < 0 ? 0 : in_lo;
    in_hi = in_w + g->pad_left >= 3 ? (in_w - 3 + g->pad_left) / sw - ox0 + 1 : 0;
    in_hi = in_hi > k ? k : in_hi;
    in_lo = in_lo > k ? k : in_lo;
    in_hi = in_hi < in_lo ? in_lo : in_hi;
    for (j = 0; j < 4; ++j) {
        gc.kl[j] = gc.kr[j] = 0; /* set per group where a window has a column in the padding */
    }
    for (c = 0; c + 3 < C; c += 4) {
        const int32_t *mu = r->mult + c, *sh = r->shift + c;
        gc.qm[0] = mu[0];
        gc.qm[1] = mu[1];
        gc.qm[2] = mu[2];
        gc.qm[3] = mu[3];
        gc.qs[0] = ~sh[0];
        gc.qs[1] = ~sh[1];
        gc.qs[2] = ~sh[2];
        gc.qs[3] = ~sh[3];
        if (prep != NULL) {
            /* laid out at compile time: the four folded biases, then the tap words */
            const uint32_t *pg = prep + (size_t)(c >> 2) * 22;
            gc.kb[0] = (int32_t)pg[0];
            gc.kb[1] = (int32_t)pg[1];
            gc.kb[2] = (int32_t)pg[2];
            gc.kb[3] = (int32_t)pg[3];
            /* word by word, not a memcpy call (LDRD/STRD pairs) */
            TTE_COPY2(wq, pg + 4, 0);
            TTE_COPY2(wq, pg + 4, 2);
            TTE_COPY2(wq, pg + 4, 4);
            TTE_COPY2(wq, pg + 4, 6);
            TTE_COPY2(wq, pg + 4, 8);
            TTE_COPY2(wq, pg + 4, 10);
            TTE_COPY2(wq, pg + 4, 12);
            TTE_COPY2(wq, pg + 4, 14);
            TTE_COPY2(wq, pg + 4, 16);
        } else {
            const int8_t *wc = w + (size_t)c * 9;
            for (j = 0; j < 4; ++j) {
                int32_t s = 0;
                for (t = 0; t < 9; ++t) {
                    s += wc[j * 9 + t];
                }
                gc.kb[j] = (bias ? bias[c + j] : 0) - zp * s;
            }
            for (t = 0; t < 9; ++t) {
                const uint32_t wv = (uint32_t)(uint8_t)wc[t] | (uint32_t)(uint8_t)wc[9 + t] << 8
                                    | (uint32_t)(uint8_t)wc[18 + t] << 16 | (uint32_t)(uint8_t)wc[27 + t] << 24;
                wq[2 * t] = tte_sxtb16(wv);
                wq[2 * t + 1] = tte_sxtb16_ror8(wv);
            }
        }
        if (in_hi - in_lo < k) {
            /* kl and kr: the left or right column's taps on the zero point's bytes */
            int32_t a0 = gc.kb[0], a1 = gc.kb[1], a2 = gc.kb[2], a3 = gc.kb[3];
            TTE_DW4_TAP(z, wq + 0, 0);
            TTE_DW4_TAP(z, wq + 6, 0);
            TTE_DW4_TAP(z, wq + 12, 0);
            gc.kl[0] = a0;
            gc.kl[1] = a1;
            gc.kl[2] = a2;
            gc.kl[3] = a3;
            a0 = gc.kb[0];
            a1 = gc.kb[1];
            a2 = gc.kb[2];
            a3 = gc.kb[3];
            TTE_DW4_TAP(z, wq + 4, 0);
            TTE_DW4_TAP(z, wq + 10, 0);
            TTE_DW4_TAP(z, wq + 16, 0);
            gc.kr[0] = a0;
            gc.kr[1] = a1;
            gc.kr[2] = a2;
            gc.kr[3] = a3;
        }
        for (oy = 0; oy < nrows; ++oy) {
            int8_t *const orow = out + (size_t)oy * k * ostride + c;
            int32_t rows_in;
            if (xb != NULL) {
                const int32_t iy = (oy0 + oy) * g->stride_h - g->pad_top;
                const size_t row_bytes = (size_t)in_w * C;
                rows[0] = iy < 0 || iy >= g->in_h ? NULL : xb + (size_t)iy * row_bytes;
                rows[1] = iy + 1 < 0 || iy + 1 >= g->in_h ? NULL : xb + (size_t)(iy + 1) * row_bytes;
                rows[2] = iy + 2 < 0 || iy + 2 >= g->in_h ? NULL : xb + (size_t)(iy + 2) * row_bytes;
            } else {
                rows[0] = rows_arg[0];
                rows[1] = rows_arg[1];
                rows[2] = rows_arg[2];
            }
            rows_in = rows[0] != NULL && rows[1] != NULL && rows[2] != NULL;
            for (i = 0; i < k; ++i) {
                if (i == in_lo && rows_in && in_hi > in_lo) {
                    const size_t xo = (size_t)((ox0 + i) * sw - g->pad_left) * C + c;
                    dw3_inside(&gc, r, wq, C, rows[0] + xo, rows[1] + xo, rows[2] + xo, step, in_hi - in_lo, c,
                               orow + (size_t)i * ostride, ostride, mode2);
                    i = in_hi - 1;
                    continue;
                }
                {
                    const int32_t ix0 = (ox0 + i) * sw - g->pad_left;
                    const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
                    const int32_t kx1 = in_w - ix0 < 3 ? in_w - ix0 : 3;
                    dw3_edge(&gc, r, rows, rows_in, C, ix0, kx0, kx1, c, wq, z, orow + (size_t)i * ostride);
                }
            }
        }
    }
}

TTE_HOT static TTE_NOINLINE void dw3_groups(const tte_conv2d_s8_params_t *p, const rq_t *rp,
                                            const int8_t *const *rows_arg, const int8_t *xb, int32_t nrows,
                                            int32_t oy0, int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias,
                                            const uint32_t *prep, int8_t *out, size_t ostride)
{
    const rq_t rl = *rp; /* a local copy: the int8 stores cannot alias it */
    if (rl.mode == 2) {
        dw3_body(p, &rl, rows_arg, xb, nrows, oy0, ox0, k, w, bias, prep, out, ostride, 1);
    } else {
        dw3_body(p, &rl, rows_arg, xb, nrows, oy0, ox0, k, w, bias, prep, out, ostride, 0);
    }
}

/* Channels [0, C & ~3) of output pixels [ox0, ox0 + k) of one depthwise output row
 * (multiplier 1, dilation 1, at most 49 taps), four channels over all k pixels at a time:
 * their weights transposed once into one word per tap and unpacked (two words on the stack,
 * no SXTB16 per tap); for a window inside the input
 * the zero point's share is folded into the bias, border pixels subtract it. A 3x3 window
 * goes to dw3_groups. */
TTE_HOT static TTE_NOINLINE void dw_row_groups(const tte_conv2d_s8_params_t *p, const rq_t *rp,
                                               const int8_t *const *rows_arg, const int8_t *xb, int32_t nrows,
                                               int32_t oy0, int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias,
                                               const uint32_t *prep, int8_t *out, size_t ostride)
{
    const rq_t rl = *rp; /* a local copy: the int8 stores cannot alias it */
    const rq_t *const r = &rl;
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, KH = g->k_h, KW = g->k_w, T = KH * KW;
    const int32_t zp = p->in_zp;
    const uint32_t zz = pack16(zp, zp);
    uint32_t wq[2 * TTE_DW_MAX_TAPS] __attribute__((aligned(8))); /* per tap: SXTB16 of the transposed word, with ROR #8 */
    uint32_t rqb[DW4_RQ_WORDS] __attribute__((aligned(8)));       /* dw4_rq's block */
    const int8_t *xrows[TTE_CONV_MAX_KH];
    const int8_t *const *rows = xb != NULL ? xrows : rows_arg;
    int32_t c, t, j, i, ky, kx, oy, rows_in;
    if (KH == 3 && KW == 3) {
        dw3_groups(p, rp, rows_arg, xb, nrows, oy0, ox0, k, w, bias, prep, out, ostride);
        return;
    }
    for (c = 0; c + 3 < C; c += 4) {
        const int8_t *wc = w + (size_t)c * T;
        const uint32_t *wqp = wq;
        int32_t kb[4], bb[4], qm[4], qs[4];
        for (j = 0; j < 4; ++j) {
            qm[j] = r->mult[c + j];
            qs[j] = ~r->shift[c + j];
            bb[j] = bias ? bias[c + j] : 0;
        }
        if (prep != NULL) {
            /* laid out at compile time: the four folded biases, then the tap words */
            const uint32_t *pg = prep + (size_t)(c >> 2) * (4 + 2 * (size_t)T);
            for (j = 0; j < 4; ++j) {
                kb[j] = (int32_t)pg[j];
            }
            wqp = pg + 4;
        } else {
            for (j = 0; j < 4; ++j) {
                int32_t s = 0;
                for (t = 0; t < T; ++t) {
                    s += wc[j * T + t];
                }
                kb[j] = bb[j] - zp * s;
            }
            for (t = 0; t < T; ++t) {
                const uint32_t wv = (uint32_t)(uint8_t)wc[t] | (uint32_t)(uint8_t)wc[T + t] << 8
                                    | (uint32_t)(uint8_t)wc[2 * T + t] << 16 | (uint32_t)(uint8_t)wc[3 * T + t] << 24;
                wq[2 * t] = tte_sxtb16(wv);
                wq[2 * t + 1] = tte_sxtb16_ror8(wv);
            }
        }
        if (r->mode == 2) {
            for (j = 0; j < 4; ++j) {
                rqb[DW4_QM + 2 * j] = (uint32_t)qm[j];
                rqb[DW4_QM + 2 * j + 1] = (uint32_t)qs[j];
            }
            rqb[DW4_ZP2] = (uint32_t)r->zp2;
        }
        for (oy = 0; oy < nrows; ++oy) {
        int8_t *orow = out + (size_t)oy * k * ostride;
        if (xb != NULL) {
            for (ky = 0; ky < KH; ++ky) {
                const int32_t iy = (oy0 + oy) * g->stride_h - g->pad_top + ky;
                xrows[ky] = iy < 0 || iy >= g->in_h ? NULL : xb + (size_t)iy * g->in_w * C;
            }
        }
        rows_in = 1;
        for (ky = 0; ky < KH; ++ky) {
            rows_in &= rows[ky] != NULL;
        }
        for (i = 0; i < k; ++i) {
            {
            const int32_t ix0 = (ox0 + i) * g->stride_w - g->pad_left;
            const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
            const int32_t kx1 = g->in_w - ix0 < KW ? g->in_w - ix0 : KW;
            int32_t a0, a1, a2, a3;
            if (rows_in && kx0 == 0 && kx1 == KW) {
                const size_t xo = (size_t)ix0 * C + c;
                a0 = kb[0];
                a1 = kb[1];
                a2 = kb[2];
                a3 = kb[3];
                if (KW == 5 || KW == 7) {
                    for (ky = 0; ky < KH; ++ky) {
                        dw4_row57(rows[ky] + xo, wqp + 2 * ky * KW, KW, C, &a0, &a1, &a2, &a3);
                    }
                } else {
                    const uint32_t *wt = wqp;
                    for (ky = 0; ky < KH; ++ky) {
                        const int8_t *xp = rows[ky] + xo;
                        for (kx = 0; kx < KW; ++kx) {
                            TTE_DW4_TAP(xp, wt, 0);
                            wt += 2;
                            xp += C;
                        }
                    }
                }
            } else if (kx0 == 0 && kx1 == KW && (KW == 3 || KW == 5 || KW == 7)) {
                /* a whole window row for each row inside the input (top and bottom rows) */
                a0 = bb[0];
                a1 = bb[1];
                a2 = bb[2];
                a3 = bb[3];
                for (ky = 0; ky < KH; ++ky) {
                    const int8_t *xp = rows[ky];
                    const uint32_t *wt = wqp + 2 * ky * KW;
                    if (xp == NULL) {
                        continue;
                    }
                    xp += (size_t)ix0 * C + c;
                    dw4_taps_sub(xp, wt, KW, C, zz, &a0, &a1, &a2, &a3);
                }
            } else {
                a0 = bb[0];
                a1 = bb[1];
                a2 = bb[2];
                a3 = bb[3];
                for (ky = 0; ky < KH; ++ky) {
                    const int8_t *xp = rows[ky];
                    const uint32_t *wt = wqp + 2 * (ky * KW + kx0);
                    if (xp == NULL) {
                        continue;
                    }
                    if (kx1 > kx0) {
                        dw4_taps_sub(xp + (size_t)(ix0 + kx0) * C + c, wt, kx1 - kx0, C, zz, &a0, &a1, &a2, &a3);
                    }
                }
            }
            if (r->mode == 2) {
                dw4_rq(rqb, a0, a1, a2, a3, orow + (size_t)i * ostride + c);
            } else {
                rq4_pre(r, a0, a1, a2, a3, qm, qs, c, orow + (size_t)i * ostride + c);
            }
            }
        }
        }
    }
}
#endif

/* dw_row, with the weights of dw_row_groups laid out at compile time when prep is not NULL
 * (then any k pays: nothing is transposed per call). */
static void dw_row_any(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows, int32_t ox0,
                       int32_t k, const int8_t *w, const int32_t *bias, const uint32_t *prep, int8_t *out,
                       size_t ostride)
{
    int32_t i;
#if defined(__ARM_FEATURE_DSP)
    const tte_conv2d_geom_t *g = &p->g;
    /* transposing the weights pays from about six pixels on; fewer go pixel by pixel */
    if ((k >= 6 || prep != NULL) && g->out_c == g->in_c && g->dil_h == 1 && g->dil_w == 1
        && g->k_h * g->k_w <= TTE_DW_MAX_TAPS) {
        const rq_t r = rq_init(p, fast);
        const int32_t c4 = g->in_c & ~3;
        dw_row_groups(p, &r, rows, NULL, 1, 0, ox0, k, w, bias, prep, out, ostride);
        if (c4 < g->in_c) {
            /* the last in_c % 4 channels */
            for (i = 0; i < k; ++i) {
                const int32_t ix0 = (ox0 + i) * g->stride_w - g->pad_left;
                const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t kx1 = g->in_w - ix0 < g->k_w ? g->in_w - ix0 : g->k_w;
                dw_px_rest(p, &r, rows, (size_t)(ix0 + kx0) * g->in_c, kx0, kx1, w, bias, out + (size_t)i * ostride,
                           c4);
            }
        }
        return;
    }
#endif
    (void)prep;
    for (i = 0; i < k; ++i) {
        tte_conv2d_s8_dw_pixel(p, fast, rows, ox0 + i, w, bias, out + (size_t)i * ostride);
    }
}

void tte_conv2d_s8_dw_row(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows, int32_t ox0,
                          int32_t k, const int8_t *w, const int32_t *bias, int8_t *out, size_t ostride)
{
    dw_row_any(p, fast, rows, ox0, k, w, bias, NULL, out, ostride);
}

void tte_conv2d_s8_dw_row_prep(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                               int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias, const uint32_t *prep,
                               int8_t *out, size_t ostride)
{
    dw_row_any(p, fast, rows, ox0, k, w, bias, prep, out, ostride);
}

void tte_conv2d_s8_dw_rows_prep(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *xb, int32_t oy0,
                                int32_t nrows, const int8_t *w, const int32_t *bias, const uint32_t *prep, int8_t *out)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int8_t *rows[TTE_CONV_MAX_KH];
    int32_t oy, ky;
#if defined(__ARM_FEATURE_DSP)
    if (prep != NULL && g->out_c == g->in_c && (g->in_c & 3) == 0 && g->dil_h == 1 && g->dil_w == 1
        && g->k_h * g->k_w <= TTE_DW_MAX_TAPS) {
        /* every row in one call: each channel group set up once */
        const rq_t r = rq_init(p, fast);
        dw_row_groups(p, &r, NULL, xb, nrows, oy0, 0, g->out_w, w, bias, prep, out, (size_t)g->out_c);
        return;
    }
#endif
    for (oy = oy0; oy < oy0 + nrows; ++oy) {
        for (ky = 0; ky < g->k_h; ++ky) {
            const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
            rows[ky] = iy < 0 || iy >= g->in_h ? NULL : xb + (size_t)iy * g->in_w * g->in_c;
        }
        dw_row_any(p, fast, rows, 0, g->out_w, w, bias, prep, out + (size_t)(oy - oy0) * g->out_w * g->out_c,
                   (size_t)g->out_c);
    }
}

/* groups == in_c, one input channel per group. */
TTE_NOINLINE void tte_conv2d_s8_depthwise(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                          const int8_t *w, const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const size_t row_bytes = (size_t)g->in_w * g->in_c;
    const size_t y_image = (size_t)g->out_h * g->out_w * g->out_c;
    const rq_t r = rq_init(p, fast);
    const int8_t *rows[TTE_CONV_MAX_KH];
    int32_t b, oy, ox, ky, c4 = 0;
#if defined(__ARM_FEATURE_DSP)
    if (g->out_c == g->in_c && g->dil_h == 1 && g->dil_w == 1 && g->k_h * g->k_w <= TTE_DW_MAX_TAPS) {
        /* the whole image four channels at a time: weights transposed once per call */
        for (b = 0; b < g->batch; ++b) {
            dw_row_groups(p, &r, NULL, x + (size_t)b * g->in_h * row_bytes, g->out_h, 0, 0, g->out_w, w, bias,
                          NULL, y + (size_t)b * y_image, (size_t)g->out_c);
        }
        c4 = g->in_c & ~3;
        if (c4 == g->in_c) {
            return;
        }
    }
#endif
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * row_bytes;
        for (oy = 0; oy < g->out_h; ++oy) {
            int8_t *yo = y + (size_t)b * y_image + (size_t)oy * g->out_w * g->out_c;
            for (ky = 0; ky < g->k_h; ++ky) {
                const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                rows[ky] = iy < 0 || iy >= g->in_h ? NULL : xb + (size_t)iy * row_bytes;
            }
            for (ox = 0; ox < g->out_w; ++ox) {
                if (c4 == 0) {
                    tte_conv2d_s8_dw_pixel(p, fast, rows, ox, w, bias, yo + (size_t)ox * g->out_c);
                } else {
                    /* the last in_c % 4 channels after dw_row_groups (dilation 1) */
                    const int32_t ix0 = ox * g->stride_w - g->pad_left;
                    const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
                    const int32_t kx1 = g->in_w - ix0 < g->k_w ? g->in_w - ix0 : g->k_w;
                    dw_px_rest(p, &r, rows, (size_t)(ix0 + kx0) * g->in_c, kx0, kx1, w, bias,
                               yo + (size_t)ox * g->out_c, c4);
                }
            }
        }
    }
}
