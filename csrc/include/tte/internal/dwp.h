/* The pixel-pair layout's block and assembly pieces shared by the 3x3 depthwise kernels over it:
 * depthwise_s8.c's dw3_ring and dw3_wide (stride 1) and depthwise_s2_s8.c's dws2_ring (stride 2),
 * and the helpers of depthwise_s8.c the stride-2 file calls (a file of its own, linked only by an
 * image whose streamed block names it: tte_block_s8_params_t.dw3s2). Internal, not a public header. */
#ifndef TTE_INTERNAL_DWP_H
#define TTE_INTERNAL_DWP_H

#include "tte/internal/conv_s8.h"

/* The fewest output pixels a call for which dws2_ring beats dw3_groups: on VWW's rows of three
 * (128 channels) the copy of eight columns a row and the spare pixel of an odd row cost more than
 * they save (307,396 -> 310,486 estimated cycles) */
#define DWS2_MIN_K 4

/* Whether a 3x3 stride-2 depthwise (multiplier 1, dilation 1, a multiple of four channels) has
 * dws2_ring's geometry over k pixels, at least DWS2_MIN_K (it takes them given the output stage
 * of mode 2, the layout's pair words and scratch) */
static inline int32_t dws2_fits(const tte_conv2d_geom_t *g, int32_t k)
{
    return g->k_h == 3 && g->k_w == 3 && g->stride_h == 2 && g->stride_w == 2 && g->dil_h == 1 && g->dil_w == 1
           && g->out_c == g->in_c && g->in_c >= 4 && (g->in_c & 3) == 0 && k >= DWS2_MIN_K;
}

/* The pass's block (32-bit words), as depthwise_s8.c's layout comment describes */
enum { DWP_ZP2 = 24, DWP_OS = 25, DWP_END = 26, DWP_Q = 27, DWP_O = 30, DWP_W = 31, DWP_WORDS = 32 };

#if defined(__ARM_FEATURE_DSP)
/* TTE_DW4_RQ's steps up to the zero point of sums A and B (one channel, two pixels) with the
 * block's (r0) words at byte J */
#define TTE_DWP_RQ2(A, B, J)                                                            \
    "ldrd r7, r5, [r0, #" J "]\n\t"                                                    \
    "smmlar " A ", " A ", r7, " A "\n\t"                                                \
    "smmlar " B ", " B ", r7, " B "\n\t"                                                \
    "add " A ", " A ", " A ", asr #31\n\t"                                             \
    "add " B ", " B ", " B ", asr #31\n\t"                                             \
    "asr " A ", " A ", r5\n\t"                                                         \
    "asr " B ", " B ", r5\n\t"

/* The zero point (r7) and the byte of sum A at ADDR */
#define TTE_DWP_PUT(A, ADDR)                                                            \
    "qadd " A ", " A ", r7\n\t"                                                         \
    "ssat " A ", #8, " A ", asr #1\n\t"                                                \
    "strb " A ", " ADDR "\n\t"

/* The four bytes of a channel pair through PUT (TTE_DWP_PUT or TTE_DWPK_PUT), the outputs' step
 * in r8: pixel j + 1's at r12 + r8, pixel j's at r12, which each moves on by one (no address
 * formed per pair, and r12 past the pass's channels at the end) */
#define TTE_DWP_PUT4(PUT)                                                               \
    PUT("r3", "[r12, r8]")                                                              \
    PUT("r1", "[r12], #1")                                                              \
    PUT("r4", "[r12, r8]")                                                              \
    PUT("r2", "[r12], #1")

/* The output stage on doubled sums A and B (one channel, two pixels; dwp_k_words' words mult
 * and K at byte J of the block): SMMLAR adds the rounded high product to K - [sum < 0], which
 * leaves q - [q < 0] + (zp2 << ~shift) for the shift (dwp_k_words) */
#define TTE_DWPK_Q(A, B, J)                                                             \
    "ldrd r7, r8, [r0, #" J "]\n\t"                                                    \
    "add r5, r8, " A ", asr #31\n\t"                                                   \
    "add r6, r8, " B ", asr #31\n\t"                                                   \
    "smmlar " A ", " A ", r7, r5\n\t"                                                  \
    "smmlar " B ", " B ", r7, r6\n\t"

/* The halving, the clamp and the byte of A at ADDR */
#define TTE_DWPK_PUT(A, ADDR)                                                           \
    "ssat " A ", #8, " A ", asr #1\n\t"                                                \
    "strb " A ", " ADDR "\n\t"

/* The loop over the pairs of output pixels of a pass (block at r0; the body's first channel
 * pair moves the row registers on to the next pairs, its channel pairs' stores r12 on by G,
 * the pass's channels; TAIL: the outputs' step and the end into r8 and r7 where the body has not
 * left them there); the registers saved and restored in the assembly (as dw57_run) */
#define TTE_DWP_LOOP(BODY, G, TAIL)                                                     \
    "push {r1-r12, lr}\n\t"                                                            \
    "ldr lr, [r0, #124]\n\t"                                                           \
    "ldrd r9, r10, [r0, #108]\n\t"                                                     \
    "ldrd r11, r12, [r0, #116]\n\t"                                                    \
    "1:\n\t" BODY TAIL                                                                  \
    "add r12, r12, r8, lsl #1\n\t"                                                     \
    "sub r12, r12, #" G "\n\t"                                                         \
    "cmp r9, r7\n\t"                                                                    \
    "bne 1b\n\t"                                                                        \
    "pop {r1-r12, lr}"

/* TTE_DWP_RUN: a pass's loop (TTE_DWP_LOOP) of BODY on the block blk. TTE_DWP_ROW8, TTE_DWP_ROW4:
 * the body of an eight- or four-channel pass, its channel pairs' sub-blocks SUB (TTE_DWP_SUB, or
 * TTE_DWPK_SUB on doubled words), the second to fourth pairs' output-stage words at J1, J2, J3;
 * the first pair's second loads move the rows on by a pair of pixels (32 or 16 bytes), the
 * other pairs' addresses from there */
#define TTE_DWP_RUN(blk, BODY, G, TAIL)                                                 \
    do {                                                                                \
        register const uint32_t *b __asm__("r0") = (blk);                               \
        __asm__ volatile(TTE_DWP_LOOP(BODY, G, TAIL) : : "r"(b) : "cc", "memory");     \
    } while (0)
/* the outputs' step and the end (TTE_DWP_LOOP's TAIL after TTE_DWP_SUB) */
#define TTE_DWP_TAIL "ldrd r8, r7, [r0, #100]\n\t"

/* A pass's kernel over its pairs of output pixels, on its block */
typedef void (*dwp_run_fn)(const uint32_t *blk);

/* depthwise_s8.c's dwp_fill (columns [lo, hi) of a pass's row d of ncol columns from src, NULL: the
 * zero point's) and dwp_pad (the zero point in the pairs not wholly inside [lo, hi)) */
void tte_dwp_fill(uint32_t *d, const int8_t *src, int32_t lo, int32_t hi, int32_t ncol, int32_t C, int32_t G,
                  uint32_t zz);
void tte_dwp_pad(uint32_t *d, int32_t lo, int32_t hi, int32_t ncol, int32_t G, uint32_t zz);
/* The output stage of a 3x3 depthwise over channels [0, n) in r: whether it is mode 2's (dw3_fast's
 * test where rq_init finds mode 0) */
int32_t tte_dw3_mode2(const tte_conv2d_s8_params_t *p, int32_t fast, const int32_t *bias, int32_t n, rq_t *r);
/* A pass's output-stage words of channels [c, c + G) in blk: dwp_k_words' on doubled words (dbl),
 * else dw3_rq_words' */
void tte_dwp_stage_words(uint32_t *blk, const rq_t *r, int32_t c, int32_t G, int32_t dbl);
#endif

#endif
