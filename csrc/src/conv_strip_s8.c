/* int8 3x3 conv (groups 1, stride 1, no dilation) over 16, 32 or 64 input channels, or 3
 * into at most 16 (an RGB stem): ResNet-8's stride-1 convs. ARMv7E-M DSP only (under __ARM_FEATURE_DSP); elsewhere
 * tte_conv2d_s8 runs its other paths, which give the same bytes (integer sums;
 * tests/test_qemu_kernels.py).
 *
 * Eight output pixels of a row at a time. The three input rows under them (ten pixels,
 * zeros for the padding) are widened once into a strip, x - zp as int16, each pixel's values
 * groups of two words in SMLAD order (even lanes, odd lanes); every output channel then runs
 * its window over the strip in registers, each weight word unpacked once for the eight
 * pixels. Over 16 channels the strip holds them all (pixel s reads 32 s bytes on) and a
 * channel's whole window runs at once; over 32 or 64 it holds eight channels at a time
 * (16 s bytes on), a pass skipping the other channels' weights of each tap, the sums
 * carried between passes. No window is gathered per pixel. */
#include "tte/internal/optimized.h"

#include "tte/internal/conv_s8.h"

#if defined(__ARM_FEATURE_DSP)

/* pixels of a strip row (the eight outputs and the two more a 3-wide window reaches) and
 * its bytes (32 a pixel) */
#define TTE_STRIP_W 10
#define TTE_STRIP_ROW (TTE_STRIP_W * 32)

#define TTE_STRIP_WORD TTE_WIN8_WORD_AT(32, 8)
/* a row of taps: twelve words (three pixels of sixteen values), then the next strip row */
#define TTE_STRIP_WORD4 TTE_STRIP_WORD TTE_STRIP_WORD TTE_STRIP_WORD TTE_STRIP_WORD
#define TTE_STRIP_TAPS TTE_STRIP_WORD4 TTE_STRIP_WORD4 TTE_STRIP_WORD4 "add %[xp], %[xp], #224\n\t"

/* output channels whose sums strip_pass (strip32_pass) keeps on the stack at a time (32 bytes
 * each) */
#define TTE_STRIP_OCB 8
#define TTE_STRIP32_OCB 16

/* A pass function over one strip layout: acc[8 c .. 8 c + 7] += the windows of the eight
 * pixels of the strip against channel c's weights (c < nch), taps being one whole window:
 * TTE_WIN8_PASS (conv_s8.h) with it for its body. */
#define TTE_STRIP_PASS_FN(name, taps)                                                   \
    TTE_NOINLINE static void name(const int16_t *strip, const int8_t *w0, const int32_t *bias, int32_t *acc, \
                                  int32_t nch)                                          \
    {                                                                                   \
        win8_pass_t prm = {strip, strip, 0, acc + 8 * nch, acc, bias};                  \
        const int8_t *wp = w0;                                                          \
        const int16_t *xp;                                                              \
        int32_t a0, a1, a2, a3, a4, a5, a6, a7;                                         \
        uint32_t e, o, w, we;                                                           \
        if (bias != NULL) {                                                             \
            TTE_WIN8_PASS_X(TTE_WIN8_BIAS, taps, "");                                   \
        } else {                                                                        \
            TTE_WIN8_PASS_X(TTE_WIN8_LOAD, taps, "");                                   \
        }                                                                               \
    }

/* 144 weights a channel, from w0 + 144 c */
TTE_STRIP_PASS_FN(strip_pass, TTE_STRIP_TAPS TTE_STRIP_TAPS TTE_STRIP_TAPS)

/* The same over a strip of one input row of 32 channels (64 bytes a pixel): a row of taps
 * is 24 words, a tap eight, the last one's weight load post-indexed past the tap's other
 * channels (skip: 4 + in_c - 32). */
#define TTE_STRIP32_WORD(post) TTE_WIN8_WORD_X(post, 64, 8)
#define TTE_STRIP32_TAP(skip)                                                           \
    TTE_STRIP32_WORD("4") TTE_STRIP32_WORD("4") TTE_STRIP32_WORD("4") TTE_STRIP32_WORD("4") \
        TTE_STRIP32_WORD("4") TTE_STRIP32_WORD("4") TTE_STRIP32_WORD("4") TTE_STRIP32_WORD(skip)
#define TTE_STRIP32_TAPS(skip) TTE_STRIP32_TAP(skip) TTE_STRIP32_TAP(skip) TTE_STRIP32_TAP(skip)

/* acc[8 c .. 8 c + 7] += the eight pixels' row of taps over the strip's 32 channels against
 * channel c's weights of them, from w0 + 9 in_c c (c < nch; in_c 32 or 64). */
TTE_NOINLINE static void strip32_pass(const int16_t *strip, const int8_t *w0, int32_t in_c, int32_t *acc,
                                      int32_t nch)
{
    win8_pass_t prm = {strip, strip, 6 * in_c, acc + 8 * nch, acc, NULL};
    const int8_t *wp = w0;
    const int16_t *xp;
    int32_t a0, a1, a2, a3, a4, a5, a6, a7;
    uint32_t e, o, w, we;
    if (in_c == 32) {
        TTE_WIN8_PASS(TTE_STRIP32_TAPS("4"));
    } else {
        TTE_WIN8_PASS(TTE_STRIP32_TAPS("36"));
    }
}

/* Words [a, b) of a strip row zeroed (two a store; no loop for the compiler to turn into a
 * library call). */
static TTE_ALWAYS_INLINE void strip_zero(uint32_t *a, uint32_t *b)
{
    const uint32_t z = 0;
    if (a != b) {
        __asm__ volatile("1:\n\t"
                         "strd %[z], %[z], [%[a]], #8\n\t"
                         "cmp %[a], %[b]\n\t"
                         "bne 1b"
                         : [a] "+r"(a)
                         : [z] "r"(z), [b] "r"(b)
                         : "cc", "memory");
    }
}

/* The padding of a strip row of per words a pixel: all of it when the input row is out of the
 * image (in 0), else the pixels before j0 and from j1 on. */
static TTE_ALWAYS_INLINE void strip_pad(uint32_t *row, int32_t per, int32_t in, int32_t j0, int32_t j1)
{
    if (!in) {
        strip_zero(row, row + per * TTE_STRIP_W);
        return;
    }
    strip_zero(row, row + per * j0);
    strip_zero(row + per * j1, row + per * TTE_STRIP_W);
}

/* The same over three input channels (the RGB stem), each pixel one word of four values
 * (the fourth, whatever it holds, meets a zero weight) 8 bytes on, a strip row 80 bytes; the weights a copy
 * padded to four values a tap. */
#define TTE_STRIP4_WORD TTE_WIN8_WORD_AT(8, 8)
#define TTE_STRIP4_TAPS TTE_STRIP4_WORD TTE_STRIP4_WORD TTE_STRIP4_WORD "add %[xp], %[xp], #56\n\t"

/* the three-channel strip against channel c's padded weights, from w0 + 36 c */
TTE_STRIP_PASS_FN(strip4_pass, TTE_STRIP4_TAPS TTE_STRIP4_TAPS TTE_STRIP4_TAPS)

/* The three input rows under output row oy (three channels), pixels ox0 - pad_left .. + 9,
 * x - zp (zeros outside the image) into the strip (8 bytes a pixel). A pixel is one word
 * load (its fourth byte the next pixel's, against a zero weight) but for the image's last,
 * read byte by byte. */
static void strip4_fill(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox0, int16_t *strip,
                        uint32_t nz)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t ix0 = ox0 - g->pad_left;
    const int32_t j0 = ix0 < 0 ? -ix0 : 0, j1 = g->in_w - ix0 < TTE_STRIP_W ? g->in_w - ix0 : TTE_STRIP_W;
    int32_t ky, j;
    for (ky = 0; ky < 3; ++ky) {
        const int32_t iy = oy - g->pad_top + ky;
        uint32_t *const row = (uint32_t *)(void *)strip + ky * 20;
        const int32_t in = iy >= 0 && iy < g->in_h;
        strip_pad(row, 2, in, j0, j1);
        if (in && j0 < j1) {
            const int8_t *src = xb + ((size_t)iy * g->in_w + ix0 + j0) * 3;
            /* the image's last pixel ends the buffer: no word load past it */
            const int32_t je = iy == g->in_h - 1 && ix0 + j1 == g->in_w ? j1 - 1 : j1;
            for (j = j0; j < je; ++j, src += 3) {
                const uint32_t u = load4(src);
                row[2 * j] = tte_sxtab16(nz, u);
                row[2 * j + 1] = tte_sxtab16_ror8(nz, u);
            }
            if (je < j1) {
                const uint8_t *const b = (const uint8_t *)src;
                const uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
                row[2 * je] = tte_sxtab16(nz, u);
                row[2 * je + 1] = tte_sxtab16_ror8(nz, u);
            }
        }
    }
}

/* Pixels of one input row, x - zp, into the strip from dst up to end: per values a pixel (16
 * or 32), the pixels step bytes apart from src. */
static TTE_ALWAYS_INLINE void strip_run(const int8_t *src, int32_t step, uint32_t *dst, uint32_t *end, uint32_t nz,
                                        int32_t per)
{
    uint32_t u, v, a, b;
#define TTE_STRIP_RUN8(k)                                                               \
    "ldr %[u], [%[s], #" k "]\n\t"                                                     \
    "ldr %[v], [%[s], #" k " + 4]\n\t"                                                 \
    "sxtab16 %[a], %[nz], %[u]\n\t"                                                    \
    "sxtab16 %[b], %[nz], %[u], ror #8\n\t"                                            \
    "strd %[a], %[b], [%[d]], #8\n\t"                                                  \
    "sxtab16 %[a], %[nz], %[v]\n\t"                                                    \
    "sxtab16 %[b], %[nz], %[v], ror #8\n\t"                                            \
    "strd %[a], %[b], [%[d]], #8\n\t"
#define TTE_STRIP_PX16 TTE_STRIP_RUN8("0") TTE_STRIP_RUN8("8") "add %[s], %[s], %[st]\n\t"
#define TTE_STRIP_PX32                                                                  \
    TTE_STRIP_RUN8("0") TTE_STRIP_RUN8("8") TTE_STRIP_RUN8("16") TTE_STRIP_RUN8("24") "add %[s], %[s], %[st]\n\t"
#define TTE_STRIP_RUN_OPERANDS                                                          \
    : [u] "=&r"(u), [v] "=&r"(v), [a] "=&r"(a), [b] "=&r"(b), [s] "+r"(src), [d] "+r"(dst) \
    : [nz] "r"(nz), [st] "r"(step), [e] "r"(end)                                        \
    : "cc", "memory"
    /* an odd pixel first, then two a loop pass */
    const int32_t odd = (int32_t)((end - dst) >> (per == 32 ? 4 : 3)) & 1;
    if (per == 32) {
        if (odd) {
            __asm__ volatile(TTE_STRIP_PX32 TTE_STRIP_RUN_OPERANDS);
        }
        if (dst != end) {
            __asm__ volatile("1:\n\t" TTE_STRIP_PX32 TTE_STRIP_PX32 "cmp %[d], %[e]\n\t"
                             "bne 1b" TTE_STRIP_RUN_OPERANDS);
        }
    } else {
        if (odd) {
            __asm__ volatile(TTE_STRIP_PX16 TTE_STRIP_RUN_OPERANDS);
        }
        if (dst != end) {
            __asm__ volatile("1:\n\t" TTE_STRIP_PX16 TTE_STRIP_PX16 "cmp %[d], %[e]\n\t"
                             "bne 1b" TTE_STRIP_RUN_OPERANDS);
        }
    }
#undef TTE_STRIP_RUN_OPERANDS
#undef TTE_STRIP_PX32
#undef TTE_STRIP_PX16
#undef TTE_STRIP_RUN8
}

/* Channels [c0, c0 + 32) of input row iy (ky of output row oy), pixels ox0 - pad_left .. + 9,
 * x - zp (zeros outside the image) into the strip (64 bytes a pixel). */
static void strip32_fill(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t iy, int32_t ox0, int32_t c0,
                         int16_t *strip, uint32_t nz)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, ix0 = ox0 - g->pad_left;
    const int32_t in = iy >= 0 && iy < g->in_h;
    const int32_t j0 = ix0 < 0 ? -ix0 : 0, j1 = g->in_w - ix0 < TTE_STRIP_W ? g->in_w - ix0 : TTE_STRIP_W;
    uint32_t *const row = (uint32_t *)(void *)strip;
    strip_pad(row, 16, in, j0, j1);
    if (in && j0 < j1) {
        strip_run(xb + ((size_t)iy * g->in_w + ix0 + j0) * C + c0, C, row + 16 * j0, row + 16 * j1, nz, 32);
    }
}

/* The three input rows under output row oy, pixels ox0 - pad_left .. + 9 (16 channels),
 * x - zp (zeros outside the image) into the strip (32 bytes a pixel). */
static void strip_fill(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox0, int16_t *strip,
                       uint32_t nz)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t ix0 = ox0 - g->pad_left;
    const int32_t j0 = ix0 < 0 ? -ix0 : 0, j1 = g->in_w - ix0 < TTE_STRIP_W ? g->in_w - ix0 : TTE_STRIP_W;
    int32_t ky;
    for (ky = 0; ky < 3; ++ky) {
        const int32_t iy = oy - g->pad_top + ky;
        uint32_t *const row = (uint32_t *)(void *)strip + ky * (TTE_STRIP_ROW / 4);
        const int32_t in = iy >= 0 && iy < g->in_h;
        strip_pad(row, 8, in, j0, j1);
        if (in && j0 < j1) {
            strip_run(xb + ((size_t)iy * g->in_w + ix0 + j0) * 16, 16, row + 8 * j0, row + 8 * j1, nz, 16);
        }
    }
}

/* The output stage of the eight pixels' sums of channels [c0, c1) (channel c's at
 * acc[8 (c - c0)]), pixel q's outputs at y0 + q M (y8[q], set but for mode 2): mult and
 * shift loaded once for the eight. */
static void strip_out8(const rq_t *r, const int32_t *acc, int32_t c0, int32_t c1, int8_t *y0, int32_t M,
                       int8_t *const y8[8])
{
    int32_t oc;
    if (r->mode != 2) {
        rq_out4(r, acc, 8, c0, c1, y8);
        rq_out4(r, acc + 4, 8, c0, c1, y8 + 4);
        return;
    }
    for (oc = c0; oc < c1; ++oc, acc += 8) {
        const int32_t mu = r->mult[oc], sh = r->shift[oc], zp2 = r->zp2;
        int8_t *const yo = y0 + oc;
        yo[0] = (int8_t)tte_rq_fast_s8(acc[0], mu, sh, zp2);
        yo[M] = (int8_t)tte_rq_fast_s8(acc[1], mu, sh, zp2);
        yo[2 * M] = (int8_t)tte_rq_fast_s8(acc[2], mu, sh, zp2);
        yo[3 * M] = (int8_t)tte_rq_fast_s8(acc[3], mu, sh, zp2);
        yo[4 * M] = (int8_t)tte_rq_fast_s8(acc[4], mu, sh, zp2);
        yo[5 * M] = (int8_t)tte_rq_fast_s8(acc[5], mu, sh, zp2);
        yo[6 * M] = (int8_t)tte_rq_fast_s8(acc[6], mu, sh, zp2);
        yo[7 * M] = (int8_t)tte_rq_fast_s8(acc[7], mu, sh, zp2);
    }
}

TTE_HOT void tte_conv2d_s8_strip_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                       const int8_t *w, const int32_t *bias, int8_t *y, void *scratch)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t M = g->out_c;
    const rq_t r = rq_init(p, fast);
    const uint32_t nz = pack16(-p->in_zp, -p->in_zp);
    const int32_t C = g->in_c, L = 9 * C;
    /* in the window path's scratch (8-byte aligned): the strip, then the sums: 960 + 256
     * bytes over 16 channels, 640 + 512 over 32 or 64, 240 + 256 and the padded weights (at
     * most 16 x 36) over 3 */
    int32_t *const mem = (int32_t *)scratch;
    int16_t *const strip = (int16_t *)scratch;
    int32_t *const acc = mem + (C == 16 ? 3 * TTE_STRIP_ROW / 4 : C == 3 ? 60 : 2 * TTE_STRIP_ROW / 4);
    int8_t *const wpad = (int8_t *)(void *)(mem + 60 + 8 * TTE_STRIP_OCB);
    /* over 16 (3) channels the strip is filled once for every output channel (its sums need
     * not carry over); over more, once per pass (their sums on the stack) */
    const int32_t ocb = C == 32 || C == 64 ? TTE_STRIP32_OCB : TTE_STRIP_OCB;
    int32_t b, oy, ox, oc, q, groups = 0;
    if (C == 3) {
        for (oc = 0; oc < M; ++oc) {
            for (q = 0; q < 9; ++q) {
                const int8_t *const t = w + (size_t)oc * 27 + 3 * q;
                int8_t *const d = wpad + 36 * oc + 4 * q;
                d[0] = t[0];
                d[1] = t[1];
                d[2] = t[2];
                d[3] = 0;
            }
        }
    }
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * C;
        for (oy = 0; oy < g->out_h; ++oy) {
            for (ox = 0; ox < g->out_w; ox += 8) {
                /* the last eight of a row overlap the ones before (the same bytes again) */
                const int32_t ox0 = ox + 8 <= g->out_w ? ox : g->out_w - 8;
                int8_t *const y0 = y + (((size_t)b * g->out_h + oy) * g->out_w + ox0) * M;
                int8_t *y8[8];
                for (q = 0; q < 8 && r.mode != 2; ++q) {
                    y8[q] = y0 + (size_t)q * M;
                }
                if (C == 16) {
                    strip_fill(p, xb, oy, ox0, strip, nz);
                } else if (C == 3) {
                    strip4_fill(p, xb, oy, ox0, strip, nz);
                }
                /* every other group runs the blocks of channels, and over 32 or 64 channels the
                 * passes, backwards: the weights read last are still in the cache */
                const int32_t back = ++groups & 1, nblk = (M + ocb - 1) >> (ocb == 16 ? 4 : 3), npass = 3 * C >> 5;
                int32_t k, i;
                for (k = 0; k < nblk; ++k) {
                    const int32_t cb = (back ? nblk - 1 - k : k) * ocb;
                    const int32_t ce = M - cb < ocb ? M : cb + ocb;
                    /* sums from the bias: in the pass over 16 or 3 channels, else here */
                    for (oc = cb; oc < ce && (bias == NULL || (C != 16 && C != 3)); ++oc) {
                        int32_t *ao = acc + 8 * (oc - cb);
                        ao[0] = ao[1] = ao[2] = ao[3] = ao[4] = ao[5] = ao[6] = ao[7] = bias ? bias[oc] : 0;
                    }
                    if (C == 16) {
                        strip_pass(strip, w + (size_t)cb * L, bias ? bias + cb : NULL, acc, ce - cb);
                    } else if (C == 3) {
                        strip4_pass(strip, wpad + 36 * cb, bias ? bias + cb : NULL, acc, ce - cb);
                    } else {
                        /* a row of taps and 32 channels a pass, the passes over one row
                         * together (their weights share cache lines) */
                        for (i = 0; i < npass; ++i) {
                            const int32_t j = back ? npass - 1 - i : i;
                            /* pass j: row of taps j (32 channels) or j / 2 (64, two halves) */
                            const int32_t ky = C == 64 ? j >> 1 : j, c0 = C == 64 ? (j & 1) * 32 : 0;
                            strip32_fill(p, xb, oy - g->pad_top + ky, ox0, c0, strip, nz);
                            strip32_pass(strip, w + (size_t)cb * L + ky * 3 * C + c0, C, acc, ce - cb);
                        }
                    }
                    strip_out8(&r, acc, cb, ce, y0, M, y8);
                }
            }
        }
    }
}
#endif
