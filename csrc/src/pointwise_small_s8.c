/* int8 1x1 conv over 8, 16 or 24 input channels with its weights in the doubled pair layout
 * (tte_conv2d_s8_pointwise_small_prepd_px; tte.compiler.emit.block.pwd_layout below 32 inputs):
 * a streamed block's P in an inference-only image, where pe_layout's per-channel form took four
 * pixels by one channel a step (pwe_groups, pointwise_s8.c), loading each pixel's x once per
 * channel.
 *
 * The layout, per pair of output channels (8 + n words): the doubled biases with the input zero
 * point's share folded in, 2 (bias - zp sum(w)) of both channels, per four inputs the doubled
 * weights' int16 lanes (2 w0, 2 w2) of both channels, then (2 w1, 2 w3) of both, then per
 * channel its multiplier, e (~shift; 0 for a multiplier 0) and K = (2 out_zp + 1) << e: pe_layout's
 * words, rearranged by pairs. Against each pixel's inputs widened once as (x0, x2) and (x1, x3),
 * two SMLAD give the doubled sum, the output stage pe_layout's (tte_rq_fast_s8 on it: exact on
 * pe_layout's conditions, which the compiler checks).
 *
 * Cortex-M4/M7 (__ARM_FEATURE_DSP): four pixels by two channels a step, eight sums in registers;
 * per four inputs one LDRD of weights and two of x per eight SMLAD (pwe_groups: one LDRD of x per
 * two SMLAD). The widened pixels and the loop's state live in a frame the assembly takes below sp,
 * read at immediate offsets from sp, so that no register holds their address: with the eight sums,
 * two weight and two x registers, the layout's pointer and the outputs' pointer, the output stage
 * has four registers (multiplier, e, K and a temporary), and each pixel's two outputs of a pair go
 * out as one halfword (BFI + STRH), the four pixels' addresses from m and 3 m in the frame. About
 * 11.4 instructions an output over 8 inputs (pwe_groups: 12), 16.9 over 16 (pw3_channels: 17.7),
 * plus the widening (four instructions a word of a pixel); one less where out_zp is -128
 * (TTE_PSD_RQS_RELU): measured in VWW's blocks (ReLU outputs), 11.0 over 8 inputs and 16 outputs,
 * 16.4 over 16 and 32, all included (pe_layout's kernels: 12.8, 18.5). */
#include "tte/internal/optimized.h"

#include <string.h>

#include "tte/internal/conv_s8.h"

/* words of the layout per pair of output channels over n inputs */
#define TTE_PSD_PAIR_WORDS(n) (8 + (n))
/* bytes of layout a pass of channels reads while more than four pixels follow (as pwe_run's: the
 * later pixels find it in the 4 KB D-cache) */
#define TTE_PSD_PASS_BYTES 3584

#if defined(__ARM_FEATURE_DSP)
/* The frame below sp: per four inputs g the widened words of the four pixels at byte 32 g,
 * (x0, x2) of pixels 0..3, then (x1, x3) of pixels 0..3; past them (byte S = 8 n) the state:
 * S: the next group's pixels (n bytes apart), S + 4: the end of the pixels, S + 8: from a
 * group's last output pointer to the next group's first, S + 12: the end of the pass's pairs,
 * S + 16 and S + 20: where pixels 1 and 3's outputs are from pixel 0's, m and 3 m (psd_tail's
 * group of copies: its lanes' own pixels'), S + 24: the pass's first pair, S + 28: nonzero where
 * the pass has an odd number of pairs. 40 bytes of state keep the frame a multiple of 8. */
#define TTE_PSD_STATE_BYTES 40

/* x pair at frame byte OFF into sums A, B (w0: channel 0's word, w1: channel 1's) and C, D */
#define TTE_PSD_MAC(OFF, A, B, C, D)                                                    \
    "ldrd %[xa], %[xb], [sp, #(" OFF ")]\n\t"                                           \
    "smlad %[" A "], %[xa], %[w0], %[" A "]\n\t"                                        \
    "smlad %[" B "], %[xa], %[w1], %[" B "]\n\t"                                        \
    "smlad %[" C "], %[xb], %[w0], %[" C "]\n\t"                                        \
    "smlad %[" D "], %[xb], %[w1], %[" D "]\n\t"
#define TTE_PSD_PX01(OFF) TTE_PSD_MAC(OFF, "a00", "a01", "a10", "a11")
#define TTE_PSD_PX23(OFF) TTE_PSD_MAC(OFF, "a20", "a21", "a30", "a31")
/* both channels' next weight words */
#define TTE_PSD_W "ldrd %[w0], %[w1], [%[wp]], #8\n\t"
/* four inputs G (G >= 1): their (x0, x2) words, then their (x1, x3) words */
#define TTE_PSD_GROUP(G)                                                                \
    TTE_PSD_W TTE_PSD_PX01("32*" #G) TTE_PSD_PX23("32*" #G "+8")                        \
    TTE_PSD_W TTE_PSD_PX01("32*" #G "+16") TTE_PSD_PX23("32*" #G "+24")
/* the pair's biases start every pixel's sums (pixels 2, 3 and 1 read them before pixel 0's
 * change them), then inputs 0..3 */
#define TTE_PSD_FIRST                                                                   \
    "ldrd %[a00], %[a01], [%[wp]], #8\n\t" TTE_PSD_W                                    \
    "ldrd %[xa], %[xb], [sp, #8]\n\t"                                                   \
    "smlad %[a20], %[xa], %[w0], %[a00]\n\t"                                            \
    "smlad %[a21], %[xa], %[w1], %[a01]\n\t"                                            \
    "smlad %[a30], %[xb], %[w0], %[a00]\n\t"                                            \
    "smlad %[a31], %[xb], %[w1], %[a01]\n\t"                                            \
    "ldrd %[xa], %[xb], [sp]\n\t"                                                       \
    "smlad %[a10], %[xb], %[w0], %[a00]\n\t"                                            \
    "smlad %[a11], %[xb], %[w1], %[a01]\n\t"                                            \
    "smlad %[a00], %[xa], %[w0], %[a00]\n\t"                                            \
    "smlad %[a01], %[xa], %[w1], %[a01]\n\t"                                            \
    TTE_PSD_W TTE_PSD_PX01("16") TTE_PSD_PX23("24")
#define TTE_PSD_DOT8 TTE_PSD_FIRST TTE_PSD_GROUP(1)
#define TTE_PSD_DOT16 TTE_PSD_DOT8 TTE_PSD_GROUP(2) TTE_PSD_GROUP(3)
#define TTE_PSD_DOT24 TTE_PSD_DOT16 TTE_PSD_GROUP(4) TTE_PSD_GROUP(5)
/* tte_rq_fast_s8 on the doubled sum in A (pointwise_s8.c's TTE_PWS_RQ): multiplier w0, e w1, K xa,
 * xb free; the byte left sign-extended in A */
#define TTE_PSD_RQ(A)                                                                   \
    "add %[xb], %[xa], %[" A "], asr #31\n\t"                                           \
    "smmlar %[" A "], %[" A "], %[w0], %[xb]\n\t"                                       \
    "asr %[" A "], %[" A "], %[w1]\n\t"                                                 \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"
/* the same where out_zp is -128 (a ReLU's outputs), without the sign term: a sum d < 0 has q =
 * SMMULR(d, mult) <= 0, so (q + K) >> e is at most K >> e = zp2 = -255 with the term or without,
 * and the halving SSAT gives -128 either way (a multiplier 0: K >> 0 = -255 too); d >= 0 has no
 * term. One instruction less an output; the multiplier in register MULT */
#define TTE_PSD_RQ_RELU(A, MULT)                                                        \
    "smmlar %[" A "], %[" A "], %[" MULT "], %[xa]\n\t"                                 \
    "asr %[" A "], %[" A "], %[w1]\n\t"                                                 \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"
/* a channel's multiplier, e and K */
#define TTE_PSD_PARAMS                                                                  \
    "ldrd %[w0], %[w1], [%[wp]], #8\n\t"                                                \
    "ldr %[xa], [%[wp]], #4\n\t"
/* both channels' output stages */
#define TTE_PSD_RQS                                                                     \
    TTE_PSD_PARAMS TTE_PSD_RQ("a00") TTE_PSD_RQ("a10") TTE_PSD_RQ("a20") TTE_PSD_RQ("a30") \
    TTE_PSD_PARAMS TTE_PSD_RQ("a01") TTE_PSD_RQ("a11") TTE_PSD_RQ("a21") TTE_PSD_RQ("a31")
/* the same without the sign term, which frees xb: the six words in three LDRD, (mult0, e0),
 * (K0, mult1), (e1, K1) */
#define TTE_PSD_RQS_RELU                                                                \
    "ldrd %[w0], %[w1], [%[wp]], #8\n\t"                                                \
    "ldrd %[xa], %[xb], [%[wp]], #8\n\t"                                                \
    TTE_PSD_RQ_RELU("a00", "w0") TTE_PSD_RQ_RELU("a10", "w0") TTE_PSD_RQ_RELU("a20", "w0") \
    TTE_PSD_RQ_RELU("a30", "w0")                                                        \
    "ldrd %[w1], %[xa], [%[wp]], #8\n\t"                                                \
    TTE_PSD_RQ_RELU("a01", "xb") TTE_PSD_RQ_RELU("a11", "xb") TTE_PSD_RQ_RELU("a21", "xb") \
    TTE_PSD_RQ_RELU("a31", "xb")
/* both channels' output stages (RQS: TTE_PSD_RQS or TTE_PSD_RQS_RELU), each pixel's two bytes as
 * one halfword (pixel q at yp + q m; m and 3 m from the frame's state at byte M), yp on to the
 * next pair's */
#define TTE_PSD_OUT(M, RQS)                                                             \
    RQS                                                                                 \
    "bfi %[a00], %[a01], #8, #8\n\t"                                                    \
    "bfi %[a10], %[a11], #8, #8\n\t"                                                    \
    "bfi %[a20], %[a21], #8, #8\n\t"                                                    \
    "bfi %[a30], %[a31], #8, #8\n\t"                                                    \
    "ldrd %[w0], %[w1], [sp, #(" M ")]\n\t"                                             \
    "strh %[a10], [%[yp], %[w0]]\n\t"                                                   \
    "strh %[a20], [%[yp], %[w0], lsl #1]\n\t"                                           \
    "strh %[a30], [%[yp], %[w1]]\n\t"                                                   \
    "strh %[a00], [%[yp]], #2\n\t"
/* word J of pixels Q0 and Q1 (N bytes apart from xa on) widened into the frame at byte 32 J +
 * OFF (x0, x2) and 32 J + 16 + OFF (x1, x3) */
#define TTE_PSD_WIDEN2(Q0, Q1, J, N, OFF)                                               \
    "ldr %[w0], [%[xa], #(" N "*" #Q0 "+4*" #J ")]\n\t"                                \
    "ldr %[w1], [%[xa], #(" N "*" #Q1 "+4*" #J ")]\n\t"                                \
    "sxtb16 %[a00], %[w0]\n\t"                                                         \
    "sxtb16 %[a01], %[w1]\n\t"                                                         \
    "sxtb16 %[w0], %[w0], ror #8\n\t"                                                  \
    "sxtb16 %[w1], %[w1], ror #8\n\t"                                                  \
    "strd %[a00], %[a01], [sp, #(32*" #J "+" OFF ")]\n\t"                              \
    "strd %[w0], %[w1], [sp, #(32*" #J "+16+" OFF ")]\n\t"
/* word J of the four pixels */
#define TTE_PSD_WIDEN(J, N) TTE_PSD_WIDEN2(0, 1, J, N, "0") TTE_PSD_WIDEN2(2, 3, J, N, "8")
#define TTE_PSD_WIDEN8 TTE_PSD_WIDEN(0, "8") TTE_PSD_WIDEN(1, "8")
#define TTE_PSD_WIDEN16 TTE_PSD_WIDEN(0, "16") TTE_PSD_WIDEN(1, "16") TTE_PSD_WIDEN(2, "16") TTE_PSD_WIDEN(3, "16")
#define TTE_PSD_WIDEN24                                                                  \
    TTE_PSD_WIDEN(0, "24") TTE_PSD_WIDEN(1, "24") TTE_PSD_WIDEN(2, "24") TTE_PSD_WIDEN(3, "24") \
    TTE_PSD_WIDEN(4, "24") TTE_PSD_WIDEN(5, "24")

/* Every group of four pixels (each widened into the frame, then every pair of the pass over it,
 * two a loop pass: an odd count enters at the second), the state as TTE_PSD_STATE_BYTES tells, S
 * its byte in the frame and F the frame's bytes (strings) */
#define TTE_PSD_GROUPS(WIDEN, DOT, RQS, N4, S, F)                                        \
    __asm__ volatile("sub sp, sp, #" F "\n\t"                                           \
                     "strd %[a00], %[a01], [sp, #(" S ")]\n\t"                          \
                     "strd %[a10], %[a11], [sp, #(" S "+8)]\n\t"                        \
                     "strd %[a20], %[a21], [sp, #(" S "+16)]\n\t"                       \
                     "strd %[a30], %[a31], [sp, #(" S "+24)]\n"                         \
                     "1:\n\t"                                                           \
                     "ldr %[xa], [sp, #(" S ")]\n\t"                                    \
                     "add %[xb], %[xa], #" N4 "\n\t"                                    \
                     "str %[xb], [sp, #(" S ")]\n\t" WIDEN                              \
                     "ldrd %[wp], %[w0], [sp, #(" S "+24)]\n\t"                         \
                     "cmp %[w0], #0\n\t"                                                \
                     "bne 3f\n"                                                         \
                     "2:\n\t" DOT TTE_PSD_OUT(S "+16", RQS)                              \
                     "3:\n\t" DOT TTE_PSD_OUT(S "+16", RQS)                              \
                     "ldr %[w0], [sp, #(" S "+12)]\n\t"                                 \
                     "cmp %[wp], %[w0]\n\t"                                             \
                     "bne 2b\n\t"                                                       \
                     "ldr %[w0], [sp, #(" S "+8)]\n\t"                                  \
                     "add %[yp], %[yp], %[w0]\n\t"                                      \
                     "ldrd %[xa], %[w0], [sp, #(" S ")]\n\t"                            \
                     "cmp %[xa], %[w0]\n\t"                                             \
                     "bne 1b\n\t"                                                       \
                     "add sp, sp, #" F                                                  \
                     : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), \
                       [a20] "+r"(a20), [a21] "+r"(a21), [a30] "+r"(a30), [a31] "+r"(a31), \
                       [w0] "+r"(w0), [w1] "+r"(w1), [xa] "+r"(xa), [xb] "+r"(xb), [wp] "+r"(wp), \
                       [yp] "+r"(yp)                                                    \
                     :                                                                  \
                     : "cc", "memory")

/* groups of four pixels from x on (n bytes each) up to xend, over the nc pairs from wp0 on of the
 * layout (pw words each): the first group's outputs of pixel 0 at y, pixels 1, 2 and 3's at y + m,
 * y + 2 m and y + m3 (m3 = 3 m but in psd_tail's one group), a group's 4 m after the last's */
static TTE_NOINLINE void psd_groups(const int8_t *x, const int8_t *xend, int8_t *y, int32_t m, int32_t m3,
                                    const uint32_t *wp0, int32_t nc, int32_t pw, int32_t nw, int32_t relu)
{
    uint32_t a00 = (uint32_t)(uintptr_t)x, a01 = (uint32_t)(uintptr_t)xend, a10 = (uint32_t)(4 * m - 2 * nc);
    uint32_t a11 = (uint32_t)(uintptr_t)(wp0 + (size_t)nc * pw), a20 = (uint32_t)m, a21 = (uint32_t)m3;
    uint32_t a30 = (uint32_t)(uintptr_t)wp0, a31 = (uint32_t)(nc & 1);
    uint32_t w0 = 0, w1 = 0, xa = 0, xb = 0, wp = 0, yp = (uint32_t)(uintptr_t)y;
    switch (2 * nw + relu) {
    case 4:
        TTE_PSD_GROUPS(TTE_PSD_WIDEN8, TTE_PSD_DOT8, TTE_PSD_RQS, "32", "64", "104");
        break;
    case 5:
        TTE_PSD_GROUPS(TTE_PSD_WIDEN8, TTE_PSD_DOT8, TTE_PSD_RQS_RELU, "32", "64", "104");
        break;
    case 8:
        TTE_PSD_GROUPS(TTE_PSD_WIDEN16, TTE_PSD_DOT16, TTE_PSD_RQS, "64", "128", "168");
        break;
    case 9:
        TTE_PSD_GROUPS(TTE_PSD_WIDEN16, TTE_PSD_DOT16, TTE_PSD_RQS_RELU, "64", "128", "168");
        break;
    case 12:
        TTE_PSD_GROUPS(TTE_PSD_WIDEN24, TTE_PSD_DOT24, TTE_PSD_RQS, "96", "192", "232");
        break;
    default:
        TTE_PSD_GROUPS(TTE_PSD_WIDEN24, TTE_PSD_DOT24, TTE_PSD_RQS_RELU, "96", "192", "232");
        break;
    }
}

/* the last r = 1..3 pixels of a run (x, outputs at y) as one group of four, some of them twice:
 * (0, 0, 0, 0), (0, 0, 0, 1) or (0, 1, 2, 2), copied together, each lane's outputs where its
 * pixel's go (the same bytes written again) */
static TTE_NOINLINE void psd_tail(const int8_t *x, int32_t r, int32_t n, int8_t *y, int32_t m, const uint32_t *wp0,
                                  int32_t nc, int32_t pw, int32_t relu)
{
    int8_t four[4 * 24];
    const int32_t last = r - 1;
    memcpy(four, x, (size_t)n);
    memcpy(four + n, x + (size_t)(r == 3) * n, (size_t)n);
    memcpy(four + 2 * n, x + (size_t)(r == 3 ? 2 : 0) * n, (size_t)n);
    memcpy(four + 3 * n, x + (size_t)last * n, (size_t)n);
    psd_groups(four, four + 4 * n, y, r == 3 ? m : 0, last * m, wp0, nc, pw, n / 4, relu);
}
#endif

void tte_conv2d_s8_pointwise_small_prepd_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                            const uint32_t *prep, int8_t *y, int16_t *buf)
{
    const int32_t n = p->g.in_c, m = p->g.out_c, pw = TTE_PSD_PAIR_WORDS(n);
    (void)buf;
#if defined(__ARM_FEATURE_DSP)
    {
        const int32_t pairs = m / 2, groups = npx / 4, relu = p->out_zp == -128;
        /* passes of channel pairs whose layout stays in the D-cache while more pixels follow */
        const int32_t fit = TTE_PSD_PASS_BYTES / (4 * pw);
        const int32_t per = npx > 4 && pairs > fit ? (fit > 0 ? fit : 1) : pairs;
        int32_t c0;
        for (c0 = 0; c0 < pairs; c0 += per) {
            const int32_t nc = pairs - c0 < per ? pairs - c0 : per;
            const uint32_t *const wp0 = prep + (size_t)c0 * pw;
            if (groups > 0) {
                psd_groups(x, x + (size_t)groups * 4 * n, y + 2 * c0, m, 3 * m, wp0, nc, pw, n / 4, relu);
            }
            if (npx > 4 * groups) {
                psd_tail(x + (size_t)groups * 4 * n, npx - 4 * groups, n, y + (size_t)groups * 4 * m + 2 * c0, m,
                         wp0, nc, pw, relu);
            }
        }
    }
#else
    {
        int32_t i, oc, j;
        for (i = 0; i < npx; ++i) {
            const int8_t *xp = x + (size_t)i * n;
            for (oc = 0; oc < m; ++oc) {
                const uint32_t *c = prep + (size_t)(oc / 2) * pw;
                const int32_t h = oc & 1;
                /* the doubled sum from the pair's doubled bias and int16 lanes: per four inputs
                 * (2 w0, 2 w2) then (2 w1, 2 w3), each of channel 0 then channel 1 */
                int32_t d = (int32_t)c[h];
                for (j = 0; j < n; ++j) {
                    const uint32_t word = c[2 + 4 * (j / 4) + 2 * (j & 1) + h];
                    d += (int32_t)xp[j] * (int16_t)(uint16_t)((j & 2) ? word >> 16 : word & 0xFFFFu);
                }
                /* the channel's multiplier and ~e (shift -1 for a multiplier 0: out_zp for any) */
                y[(size_t)i * m + oc] = (int8_t)tte_rq_exact(d / 2, (int32_t)c[2 + n + 3 * h],
                                                             ~(int32_t)c[3 + n + 3 * h], p->out_zp, -128, 127);
            }
        }
    }
#endif
}
