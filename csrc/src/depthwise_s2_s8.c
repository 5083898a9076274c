/* The 3x3 stride-2 depthwise over the pixel-pair layout (tte_conv2d_s8_dw3s2_ws, and
 * tte_conv2d_s8_dw3s2_row_blk for row segments): a streamed block without E and the add names them
 * in its parameters (tte_block_s8_params_t.dw3s2, dw3_row_blk) where its depthwise's layout holds
 * the pair words (tte/compiler/emit/block.py dw_layout), so only such an image links this file.
 * Each input row widened once into dwp's layout (dwp_fill, tte/internal/dwp.h) in a ring of three
 * slots; then two output pixels of a channel pair a step: on VWW about 16.5 instructions an output
 * and 6.3 of fill where dw3_groups takes 28. The same bytes as tte_conv2d_s8_generic
 * (tests/test_qemu_kernels.py); off the DSP path it returns 0 and the caller's path runs. */
/* the build's own level, before optimized.h's pragma raises it (depthwise_s8.c's test): the
 * assembly's 14 registers only where depthwise_s8.c's pair kernels are built too */
#if !defined(__OPTIMIZE__) || defined(__OPTIMIZE_SIZE__)
#define TTE_DW_FEW_REGISTERS 1
#endif
#if defined(__ARM_FEATURE_DSP) && !defined(TTE_DW_FEW_REGISTERS)
#define TTE_DWS2_ASM 1
#endif
#include "tte/internal/optimized.h"
#include <stddef.h>

#include "tte/conv.h"
#include "tte/internal/dwp.h"

#if defined(TTE_DWS2_ASM)
/* The stride-2 3x3 depthwise on dwp's pixel-pair layout (dws2_*): output pixel j's window
 * columns 2j, 2j + 1 (its slot's pair j) and 2j + 2 (pair j + 1's first), so one SMLAD of pair
 * j by w0 w1 and one SMLABT of pair j + 1 by the high half of w1 w2 take a window row of a
 * channel; two output pixels read pairs j, j + 1, j + 2 and the next two start at pair j + 2.
 * The block and the words are dwp's (DWP_*; _dw3_pair_words), the loop TTE_DWP_LOOP's. */

/* One window row of a channel pair's two output pixels (sums r1, r2: pixel j, channels c,
 * c + 1; r3, r4: pixel j + 1) from row register R: pairs j, j + 1, j + 2 at addresses A0, A1,
 * A2 (the first channel pair's A2 moves R on by two pairs), the row's weight words at bytes WA
 * (w0 w1) and WB (w1 w2) of lr */
#define TTE_DWS2_ROW(R, A0, A1, A2, WA, WB)                                             \
    "ldrd r7, r8, [lr, #" WA "]\n\t"                                                   \
    "ldrd r5, r6, [" R ", " A0 "\n\t"                                                  \
    "smlad r1, r5, r7, r1\n\t"                                                          \
    "smlad r2, r6, r8, r2\n\t"                                                          \
    "ldrd r5, r6, [" R ", " A1 "\n\t"                                                  \
    "smlad r3, r5, r7, r3\n\t"                                                          \
    "smlad r4, r6, r8, r4\n\t"                                                          \
    "ldrd r7, r8, [lr, #" WB "]\n\t"                                                   \
    "smlabt r1, r5, r7, r1\n\t"                                                         \
    "smlabt r2, r6, r8, r2\n\t"                                                         \
    "ldrd r5, r6, [" R ", " A2 "\n\t"                                                  \
    "smlabt r3, r5, r7, r3\n\t"                                                         \
    "smlabt r4, r6, r8, r4\n\t"

/* The biases into both pixels' sums, then the three window rows (rows r9, r10, r11) */
#define TTE_DWS2_ROWS(A0, A1, A2, W)                                                    \
    "ldrd r1, r2, [lr, #" W "]\n\t"                                                    \
    "ldrd r3, r4, [lr, #" W "]\n\t"                                                    \
    TTE_DWS2_ROW("r9", A0, A1, A2, W "+8", W "+16")                                     \
    TTE_DWS2_ROW("r10", A0, A1, A2, W "+24", W "+32")                                   \
    TTE_DWS2_ROW("r11", A0, A1, A2, W "+40", W "+48")

/* Channels c, c + 1 (the pass's pair h) of pixels j and j + 1: their rows, then the output stage
 * of TTE_DWPK_SUB on doubled words (J its words) */
#define TTE_DWS2K_SUB(A0, A1, A2, W, J)                                                 \
    TTE_DWS2_ROWS(A0, A1, A2, W)                                                        \
    TTE_DWPK_Q("r1", "r3", J)                                                           \
    TTE_DWPK_Q("r2", "r4", J "+8")                                                      \
    "ldrd r7, r8, [r0, #" J "+16]\n\t"                                                 \
    "asr r1, r1, r7\n\t"                                                                \
    "asr r3, r3, r7\n\t"                                                                \
    "asr r2, r2, r8\n\t"                                                                \
    "asr r4, r4, r8\n\t"                                                                \
    "ldrd r8, r7, [r0, #100]\n\t"                                                      \
    TTE_DWP_PUT4(TTE_DWPK_PUT)

/* The bodies of an eight- and a four-channel pass (pairs of 32 and 16 bytes): channel pair h at
 * byte 8 h of each pair, the first's last loads moving the rows on by two pairs */
#define TTE_DWS2_ROW8(SUB, J1, J2, J3)                                                  \
    SUB("#0]", "#32]", "#64]!", "0", "0") SUB("#-56]", "#-24]", "#8]", "56", J1)         \
        SUB("#-48]", "#-16]", "#16]", "112", J2) SUB("#-40]", "#-8]", "#24]", "168", J3)
#define TTE_DWS2_ROW4(SUB, J1) SUB("#0]", "#16]", "#32]!", "0", "0") SUB("#-24]", "#-8]", "#8]", "56", J1)

static TTE_NOINLINE void dws2_row8k(const uint32_t *blk)
{
    TTE_DWP_RUN(blk, TTE_DWS2_ROW8(TTE_DWS2K_SUB, "24", "48", "72"), "8", "");
}

static TTE_NOINLINE void dws2_row4k(const uint32_t *blk)
{
    TTE_DWP_RUN(blk, TTE_DWS2_ROW4(TTE_DWS2K_SUB, "24"), "4", "");
}

/* The pairs of a slot for k output pixels: k + 1, one more for an odd k (its last pixel goes as
 * a pair's first, the second into a spare buffer) */
static TTE_ALWAYS_INLINE int32_t dws2_slot_pairs(int32_t k)
{
    return k + 1 + (k & 1);
}

/* dws2_ring's three slots for k output pixels, G channels a pass (eight from eight channels on) */
static size_t dws2_ring_bytes(int32_t k, int32_t C)
{
    return (size_t)3 * (C >= 8 ? 32 : 16) * (size_t)dws2_slot_pairs(k);
}

/* Output pixels [0, k) of a pass over slots s0..s2 (block blk as dwp_span's) into out, a step
 * ostride: pairs of pixels by run; an odd k's last as the first of a pair whose second goes to a
 * buffer of its own */
static void dws2_span(uint32_t *blk, const uint32_t *s0, const uint32_t *s1, const uint32_t *s2, int32_t G,
                      int32_t k, int8_t *out, size_t ostride, dwp_run_fn run)
{
    const int32_t np = k >> 1;
    int8_t spare[8]; /* the outputs of a pair's second pixel past the span */
    if (np > 0) {
        blk[DWP_Q] = (uint32_t)(uintptr_t)s0;
        blk[DWP_Q + 1] = (uint32_t)(uintptr_t)s1;
        blk[DWP_Q + 2] = (uint32_t)(uintptr_t)s2;
        blk[DWP_END] = (uint32_t)(uintptr_t)(s0 + (size_t)2 * G * np);
        blk[DWP_O] = (uint32_t)(uintptr_t)out;
        run(blk);
    }
    if ((k & 1) != 0) {
        const size_t at = (size_t)2 * G * np;
        blk[DWP_Q] = (uint32_t)(uintptr_t)(s0 + at);
        blk[DWP_Q + 1] = (uint32_t)(uintptr_t)(s1 + at);
        blk[DWP_Q + 2] = (uint32_t)(uintptr_t)(s2 + at);
        blk[DWP_END] = (uint32_t)(uintptr_t)(s0 + at + (size_t)2 * G);
        blk[DWP_O] = (uint32_t)(uintptr_t)(out + (size_t)2 * np * ostride);
        blk[DWP_OS] = (uint32_t)((uintptr_t)spare - (uintptr_t)(out + (size_t)2 * np * ostride));
        run(blk);
        blk[DWP_OS] = (uint32_t)ostride;
    }
}

/* Input row iy of a call (the image xb, or the window row ky of rows_arg) from column offset xo:
 * NULL outside the image */
static TTE_ALWAYS_INLINE const int8_t *dws2_src(const int8_t *const *rows_arg, const int8_t *xb, int32_t iy,
                                                int32_t ky, int32_t in_h, size_t row_bytes, size_t xo)
{
    if (xb == NULL) {
        return rows_arg[ky] == NULL ? NULL : rows_arg[ky] + xo;
    }
    return (uint32_t)iy < (uint32_t)in_h ? xb + xo + (size_t)iy * row_bytes : NULL;
}

/* A 3x3 stride-2 depthwise over channels [0, C) (a multiple of four) of output pixels [ox0, ox0 +
 * k) of nrows output rows (from image xb, rows oy0 on; or, xb NULL, one row of rows_arg) through a
 * copy in scratch (ring, dws2_ring_bytes): per pass of eight channels (wide) or four, each input
 * row the windows read once in dwp's layout, its pairs from the first window's column on, the
 * padding the zero point's, in a ring of three slots (each output row two new rows); mode 2, the
 * doubled pair words pairs (_dw3_pair_words's) and dwp_k_words' output stage */
static TTE_NOINLINE void dws2_ring(const tte_conv2d_s8_params_t *p, const rq_t *r, const int8_t *const *rows_arg,
                                   const int8_t *xb, int32_t nrows, int32_t oy0, int32_t ox0, int32_t k,
                                   const uint32_t *pairs, int8_t *out, size_t ostride, uint32_t *ring, int32_t wide)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, ncol = 2 * dws2_slot_pairs(k), ix0 = 2 * ox0 - g->pad_left, in_h = g->in_h;
    /* the slot columns [lo, hi) inside the image, read from input column ix0 + lo on */
    const int32_t lo = ix0 < 0 ? (-ix0 < ncol ? -ix0 : ncol) : 0;
    const int32_t hi0 = g->in_w - ix0 < ncol ? g->in_w - ix0 : ncol, hi = hi0 < lo ? lo : hi0;
    const size_t xo0 = (size_t)(ix0 + lo) * C, row_bytes = (size_t)g->in_w * C;
    const int32_t top0 = 2 * oy0 - g->pad_top; /* the input row of window row 0 of the first output row */
    const uint32_t zz = pack16(p->in_zp, p->in_zp);
    uint32_t blk[DWP_WORDS] __attribute__((aligned(8)));
    int32_t c = 0, G, oy, s;
    if (xb == NULL) {
        nrows = 1;
    }
    blk[DWP_ZP2] = (uint32_t)r->zp2;
    blk[DWP_OS] = (uint32_t)ostride;
    /* eight channels a pass, then four */
    for (G = wide ? 8 : 4; G >= 4; G -= 4) {
        const size_t slot = (size_t)(G >> 1) * ncol;
        const dwp_run_fn run = G == 8 ? dws2_row8k : dws2_row4k;
        if (c + G > C) {
            continue;
        }
        for (s = 0; s < 3; ++s) {
            dwp_pad(ring + (size_t)s * slot, lo, hi, ncol, G, zz);
        }
        for (; c + G <= C; c += G) {
            uint32_t *qa = ring, *qb = ring + slot, *qc = ring + 2 * slot;
            int8_t *o = out + c;
            const size_t xo = xo0 + (size_t)c;
            blk[DWP_W] = (uint32_t)(uintptr_t)(pairs + (size_t)7 * c);
            dwp_k_words(blk, r->mult + c, r->shift + c, r->zp2, G);
            dwp_fill(qa, dws2_src(rows_arg, xb, top0, 0, in_h, row_bytes, xo), lo, hi, ncol, C, G, zz);
            for (oy = 0; oy < nrows; ++oy) {
                const int32_t iy = top0 + 2 * oy;
                dwp_fill(qb, dws2_src(rows_arg, xb, iy + 1, 1, in_h, row_bytes, xo), lo, hi, ncol, C, G, zz);
                dwp_fill(qc, dws2_src(rows_arg, xb, iy + 2, 2, in_h, row_bytes, xo), lo, hi, ncol, C, G, zz);
                dws2_span(blk, qa, qb, qc, G, k, o, ostride, run);
                o += (size_t)k * ostride;
                {
                    /* the next output row's window: its first row is this one's last */
                    uint32_t *const t = qa;
                    qa = qc;
                    qc = t;
                }
            }
        }
    }
}
#endif

int32_t tte_conv2d_s8_dw3s2_ws(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                               const int8_t *xb, int32_t nrows, int32_t oy0, int32_t ox0, int32_t k,
                               const int32_t *bias, const uint32_t *prep, int8_t *out, size_t ostride, void *ws,
                               size_t ws_bytes)
{
#if defined(TTE_DWS2_ASM)
    const tte_conv2d_geom_t *g = &p->g;
    const uint32_t *pairs;
    rq_t r;
    if (ws == NULL || prep == NULL || ((uintptr_t)ws & 3) != 0 || !dws2_fits(g, k)
        || ws_bytes < dws2_ring_bytes(k, 4)) {
        return 0;
    }
    /* the pair words after dw_layout's groups; doubled only (_dw3_pair_words' flag after them):
     * the kernels on plain words are not built, their code would take VWW's flash for nothing */
    pairs = prep + (size_t)(g->in_c >> 2) * 22;
    if (pairs[(size_t)7 * g->in_c] == 0) {
        return 0;
    }
    r = rq_init(p, fast);
    if (r.mode == 0 && dw3_fast_exact(&r, bias, g->in_c, 9)) {
        r.mode = 2;
    }
    if (r.mode != 2) {
        return 0;
    }
    dws2_ring(p, &r, rows, xb, nrows, oy0, ox0, k, pairs, out, ostride,
              (uint32_t *)ws, ws_bytes >= dws2_ring_bytes(k, g->in_c));
    return 1;
#else
    (void)p, (void)fast, (void)rows, (void)xb, (void)nrows, (void)oy0, (void)ox0, (void)k, (void)bias;
    (void)prep, (void)out, (void)ostride, (void)ws, (void)ws_bytes;
    return 0;
#endif
}

void tte_conv2d_s8_dw3s2_row_blk(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                                 int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias, const uint32_t *prep,
                                 int8_t *out, size_t ostride, void *ws, size_t ws_bytes, const uint32_t *blocks)
{
    if (!tte_conv2d_s8_dw3s2_ws(p, fast, rows, NULL, 1, 0, ox0, k, bias, prep, out, ostride, ws, ws_bytes)) {
        tte_conv2d_s8_dw_row_blk_ws(p, fast, rows, ox0, k, w, bias, prep, out, ostride, ws, ws_bytes, blocks);
    }
}
