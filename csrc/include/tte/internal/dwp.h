/* The pixel-pair layout's block, assembly pieces and helpers shared by the 3x3 depthwise kernels
 * over it: depthwise_s8.c's dw3_ring and dw3_wide (stride 1) and depthwise_s2_s8.c's dws2_ring
 * (stride 2; a file of its own, linked only by an image whose streamed block names it,
 * tte_block_s8_params_t.dw3s2). Each file compiles its own copy of the static ones. Internal, not
 * a public header. */
#ifndef TTE_INTERNAL_DWP_H
#define TTE_INTERNAL_DWP_H

#include "tte/internal/conv_s8.h"

/* the static functions below are each file's own copy; a file (or the header compiled alone) that
 * calls none of them is no error */
#if defined(__GNUC__)
#define TTE_DWP_UNUSED __attribute__((unused))
#else
#define TTE_DWP_UNUSED
#endif

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

/* The output stage's words of a channel pair on doubled words at q, from the channels'
 * multipliers mu and shifts sh and zp2 (_dw3_pairs_doubled's): mult and K of each channel, then
 * the ASR amounts ~shift. On a doubled sum d = 2 acc (|acc| < 2**30) SMMULR(d,
 * mult) is tte_rq_fast_s8's q without saturation, K = zp2 << ~shift turns its (q - [q < 0]) >>
 * ~shift + zp2 into one shift of q - [q < 0] + K, and [q < 0] may be taken as [d < 0]: they
 * differ only where q is 0, whose (K - 1) >> ~shift = zp2 - 1 halves to out_zp as zp2 does (as
 * TTE_PWP_RQ). Multiplier 0: K = zp2, ASR amount 0, out_zp for any sum. */
static TTE_ALWAYS_INLINE void dwp_k_pair(uint32_t *q, const int32_t *mu, const int32_t *sh, uint32_t zp2)
{
    const uint32_t e0 = mu[0] != 0 ? ~(uint32_t)sh[0] : 0u, e1 = mu[1] != 0 ? ~(uint32_t)sh[1] : 0u;
    q[0] = (uint32_t)mu[0];
    q[1] = zp2 << e0;
    q[2] = (uint32_t)mu[1];
    q[3] = zp2 << e1;
    q[4] = e0;
    q[5] = e1;
}
/* dwp_k_pair's words of a pass of G channels (4 or 8) at q */
static TTE_ALWAYS_INLINE void dwp_k_words(uint32_t *q, const int32_t *mu, const int32_t *sh, int32_t zp2, int32_t G)
{
    dwp_k_pair(q, mu, sh, (uint32_t)zp2);
    dwp_k_pair(q + 6, mu + 2, sh + 2, (uint32_t)zp2);
    if (G == 8) {
        dwp_k_pair(q + 12, mu + 4, sh + 4, (uint32_t)zp2);
        dwp_k_pair(q + 18, mu + 6, sh + 6, (uint32_t)zp2);
    }
}

/* Whether the output stage of mode 2 (tte_rq_fast_s8) is exact for a depthwise of at most
 * taps taps outside tte_rq_fast_ok's shifts: with every sum below 2**30 in magnitude (the
 * bias within 2**30 - 1 - taps 255 128 of 0) QADD never saturates, and tte_rq_fast_ok's
 * derivation holds for any shift in [-31, -1] (a model's layer whose multiplier is below
 * 2**-21) */
static TTE_DWP_UNUSED int32_t dw3_fast_exact(const rq_t *r, const int32_t *bias, int32_t n, int32_t taps)
{
    const int32_t room = (1 << 30) - 1 - taps * 255 * 128;
    int32_t i;
    if (r->out_zp < -128 || r->out_zp > 127 || r->lo != -128 || r->hi != 127) {
        return 0;
    }
    for (i = 0; i < n; ++i) {
        const int32_t b = bias ? bias[i] : 0;
        if (r->shift[i] < -31 || r->shift[i] > -1 || (r->mult[i] != 0 && r->mult[i] < (1 << 30)) || b > room
            || b < -room) {
            return 0;
        }
    }
    return 1;
}

/* The fill of a pass's rows in the layout (dwp_fill) and its padding (dwp_pad), where both
 * files build the pair kernels (TTE_DW_FEW_REGISTERS: each file's test of its own level) */
#if defined(__ARM_FEATURE_DSP) && !defined(TTE_DW_FEW_REGISTERS)
/* Two columns' four channels from registers a and b (bytes) as the pair's four words at d on:
 * PKHBT and PKHTB take channels 0, 1 and 2, 3 of both columns into one word each, SXTB16 and
 * SXTB16 ROR 8 split them */
#define TTE_DWP_PACK(A, B)                                                              \
    "pkhbt %[t], %[" A "], %[" B "], lsl #16\n\t"                                    \
    "pkhtb %[u], %[" B "], %[" A "], asr #16\n\t"                                    \
    "sxtb16 %[e], %[t]\n\t"                                                           \
    "sxtb16 %[f], %[t], ror #8\n\t"                                                   \
    "strd %[e], %[f], [%[d]], #8\n\t"                                                \
    "sxtb16 %[e], %[u]\n\t"                                                           \
    "sxtb16 %[f], %[u], ror #8\n\t"                                                   \
    "strd %[e], %[f], [%[d]], #8\n\t"

/* The end of dwp_pairs' eight-channel loops (their loads differ): the count down, the operands */
#define TTE_DWP_PAIRS8_END                                                                              \
    "subs %[n], %[n], #1\n\t"                                                                         \
    "bne 1b"                                                                                           \
    : [d] "+r"(d), [s] "+r"(src), [n] "+r"(np), [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0),          \
      [b1] "=&r"(b1), [t] "=&r"(t), [u] "=&r"(u), [e] "=&r"(e), [f] "=&r"(f)                             \
    : [c] "r"(C)                                                                                       \
    : "cc", "memory"

/* np pairs of columns (dwp_pair's words) from src on (C bytes a column) at d on, G channels;
 * returns src past them. Eight channels of columns at word addresses (src and C multiples of
 * four): each column's two words in one LDRD (which faults on an unaligned address, where LDR
 * does not) */
static TTE_ALWAYS_INLINE const int8_t *dwp_pairs(uint32_t *d, const int8_t *src, int32_t np, int32_t C, int32_t G)
{
    uint32_t a0, a1, b0, b1, t, u, e, f;
    if (G == 8 && (((uintptr_t)src | (uint32_t)C) & 3u) == 0) {
        __asm__ volatile("1:\n\t"
                         "ldrd %[a0], %[a1], [%[s]]\n\t"
                         "add %[s], %[s], %[c]\n\t"
                         "ldrd %[b0], %[b1], [%[s]]\n\t"
                         "add %[s], %[s], %[c]\n\t"
                         TTE_DWP_PACK("a0", "b0")
                         TTE_DWP_PACK("a1", "b1")
                         TTE_DWP_PAIRS8_END);
    } else if (G == 8) {
        __asm__ volatile("1:\n\t"
                         "ldr %[a0], [%[s]]\n\t"
                         "ldr %[a1], [%[s], #4]\n\t"
                         "add %[s], %[s], %[c]\n\t"
                         "ldr %[b0], [%[s]]\n\t"
                         "ldr %[b1], [%[s], #4]\n\t"
                         "add %[s], %[s], %[c]\n\t"
                         TTE_DWP_PACK("a0", "b0")
                         TTE_DWP_PACK("a1", "b1")
                         TTE_DWP_PAIRS8_END);
    } else {
        __asm__ volatile("1:\n\t"
                         "ldr %[a0], [%[s]]\n\t"
                         "ldr %[b0], [%[s], %[c]]\n\t"
                         "add %[s], %[s], %[c], lsl #1\n\t"
                         TTE_DWP_PACK("a0", "b0")
                         "subs %[n], %[n], #1\n\t"
                         "bne 1b"
                         : [d] "+r"(d), [s] "+r"(src), [n] "+r"(np), [a0] "=&r"(a0), [b0] "=&r"(b0), [t] "=&r"(t),
                           [u] "=&r"(u), [e] "=&r"(e), [f] "=&r"(f)
                         : [c] "r"(C)
                         : "cc", "memory");
    }
    return src;
}

/* The words of a pair of columns (G channels at a and b; NULL: the zero point's bytes, zb) at
 * d: as dwp_pairs (TTE_DWP_PACK) */
static TTE_ALWAYS_INLINE void dwp_pair(uint32_t *d, const int8_t *a, const int8_t *b, int32_t G, uint32_t zb)
{
    uint32_t a0 = zb, a1 = zb, b0 = zb, b1 = zb, t, u, e, f;
    if (a != NULL) {
        memcpy(&a0, a, 4);
        if (G == 8) {
            memcpy(&a1, a + 4, 4);
        }
    }
    if (b != NULL) {
        memcpy(&b0, b, 4);
        if (G == 8) {
            memcpy(&b1, b + 4, 4);
        }
    }
    __asm__ volatile(TTE_DWP_PACK("a0", "b0")
                     : [d] "+r"(d), [t] "=&r"(t), [u] "=&r"(u), [e] "=&r"(e), [f] "=&r"(f)
                     : [a0] "r"(a0), [b0] "r"(b0)
                     : "memory");
    if (G == 8) {
        __asm__ volatile(TTE_DWP_PACK("a1", "b1")
                         : [d] "+r"(d), [t] "=&r"(t), [u] "=&r"(u), [e] "=&r"(e), [f] "=&r"(f)
                         : [a1] "r"(a1), [b1] "r"(b1)
                         : "memory");
    }
}

/* An odd row's last column alone (channels at a; NULL: the zero point's) at d, in channel order */
static TTE_ALWAYS_INLINE void dwp_last(uint32_t *d, const int8_t *a, int32_t G, uint32_t zz)
{
    int32_t q;
    for (q = 0; q < G; q += 4) {
        uint32_t u, e = zz, f = zz;
        if (a != NULL) {
            memcpy(&u, a + q, 4);
            e = tte_sxtb16(u);
            f = tte_sxtb16_ror8(u);
        }
        d[q / 2] = (e & 0xFFFFu) | f << 16;
        d[q / 2 + 1] = (f & 0xFFFF0000u) | e >> 16;
    }
}

/* Columns [lo, hi) of a pass's row d of ncol columns from src on (the channels of column lo;
 * C bytes a column; NULL: a row of the padding, the zero point's, zz); a pair across lo or hi
 * takes the zero point in its other column (dwp_pad's columns) */
static TTE_ALWAYS_INLINE void dwp_fill_g(uint32_t *d, const int8_t *src, int32_t lo, int32_t hi, int32_t ncol,
                                         int32_t C, int32_t G, uint32_t zz)
{
    const int32_t cw = G >> 1;
    const uint32_t zb = (zz & 0xFFu) * 0x01010101u; /* the zero point's byte in each byte */
    int32_t col = lo;
    if (src == NULL) {
        /* the pairs [lo, hi) touches (an odd row's last column: half a pair) all the zero point's */
        const int32_t end = ((hi + 1) & ~1) < ncol ? (hi + 1) & ~1 : ncol;
        uint32_t *q = d + cw * (lo & ~1);
        uint32_t *const e = d + cw * end;
        /* four words a pass (an even count: two STRD), then two */
        for (; q + 4 <= e; q += 4) {
            q[0] = zz;
            q[1] = zz;
            q[2] = zz;
            q[3] = zz;
        }
        if (q < e) {
            q[0] = zz;
            q[1] = zz;
        }
        return;
    }
    if (col < hi && (col & 1) != 0) {
        dwp_pair(d + cw * (col - 1), NULL, src, G, zb);
        src += C;
        ++col;
    }
    if (col + 1 < hi) {
        const int32_t np = (hi - col) >> 1;
        src = dwp_pairs(d + cw * col, src, np, C, G);
        col += 2 * np;
    }
    if (col < hi) {
        if (col == ncol - 1) {
            dwp_last(d + cw * col, src, G, zz);
        } else {
            dwp_pair(d + cw * col, src, NULL, G, zb);
        }
    }
}

/* dwp_fill_g with G (8 or 4) a constant in each copy: no test of G per column pair and fewer
 * values on the stack */
static TTE_NOINLINE TTE_DWP_UNUSED void dwp_fill(uint32_t *d, const int8_t *src, int32_t lo, int32_t hi, int32_t ncol, int32_t C,
                                  int32_t G, uint32_t zz)
{
    if (G == 8) {
        dwp_fill_g(d, src, lo, hi, ncol, C, 8, zz);
    } else {
        dwp_fill_g(d, src, lo, hi, ncol, C, 4, zz);
    }
}

/* The zero point's words (zz) in the pairs of a pass's row d (ncol columns) not wholly inside
 * [lo, hi): once per layout, the fills leave them */
static TTE_DWP_UNUSED void dwp_pad(uint32_t *d, int32_t lo, int32_t hi, int32_t ncol, int32_t G, uint32_t zz)
{
    const int32_t cw = G >> 1;
    int32_t col, i;
    for (col = 0; col < ncol; col += 2) {
        if (col >= lo && col + 1 < hi) {
            col = (hi & ~1) - 2; /* on to the first pair that reaches hi */
            continue;
        }
        for (i = 0; i < (col + 1 < ncol ? G : cw); ++i) {
            d[cw * col + i] = zz;
        }
    }
}
#endif

#endif

#endif
