/* int8 3x3 conv (groups 1, stride 1, no dilation) over 16 input channels: ResNet-8's first
 * stage. ARMv7E-M DSP only (under __ARM_FEATURE_DSP); elsewhere tte_conv2d_s8 runs its
 * other paths, which give the same bytes (integer sums; tests/test_qemu_kernels.py).
 *
 * Eight output pixels of a row at a time. The three input rows under them (ten pixels,
 * zeros for the padding) are widened once into a strip, x - zp as int16, each pixel's
 * sixteen values four groups of two words in SMLAD order (even lanes, odd lanes); every
 * output channel then runs its whole window (36 weight words) over the strip in registers,
 * each weight word unpacked once for the eight pixels, pixel s reading 32 s bytes on. No
 * window is gathered per pixel and no sum leaves the registers before the window's end. */
#include "tte/internal/optimized.h"

#include "tte/internal/conv_s8.h"

#if defined(__ARM_FEATURE_DSP)

/* pixels of a strip row (the eight outputs and the two more a 3-wide window reaches) and
 * its bytes (32 a pixel) */
#define TTE_STRIP_W 10
#define TTE_STRIP_ROW (TTE_STRIP_W * 32)

/* One weight word of one channel by the eight pixels (pixel 0 last, its load post-indexed
 * to the next group of four values). */
#define TTE_STRIP_PX(off, a)                                                            \
    "ldrd %[e], %[o], [%[xp], #" #off "]\n\t"                                          \
    "smlad %[" #a "], %[e], %[we], %[" #a "]\n\t"                                      \
    "smlad %[" #a "], %[o], %[w], %[" #a "]\n\t"
#define TTE_STRIP_WORD                                                                  \
    "ldr %[w], [%[wp]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t" TTE_STRIP_PX(32, a1) TTE_STRIP_PX(64, a2) TTE_STRIP_PX(96, a3) \
        TTE_STRIP_PX(128, a4) TTE_STRIP_PX(160, a5) TTE_STRIP_PX(192, a6) TTE_STRIP_PX(224, a7) \
    "ldrd %[e], %[o], [%[xp]], #8\n\t"                                                 \
    "smlad %[a0], %[e], %[we], %[a0]\n\t"                                              \
    "smlad %[a0], %[o], %[w], %[a0]\n\t"
/* a row of taps: twelve words (three pixels of sixteen values), then the next strip row */
#define TTE_STRIP_WORD4 TTE_STRIP_WORD TTE_STRIP_WORD TTE_STRIP_WORD TTE_STRIP_WORD
#define TTE_STRIP_TAPS TTE_STRIP_WORD4 TTE_STRIP_WORD4 TTE_STRIP_WORD4 "add %[xp], %[xp], #224\n\t"

/* output channels whose sums strip_pass keeps on the stack at a time (32 bytes each) */
#define TTE_STRIP_OCB 8

/* acc[8 c .. 8 c + 7] += the windows of the eight pixels of the strip against channel c's
 * 144 weights, from w0 + 144 c (c < nch): TTE_WIN8_PASS (conv_s8.h) with a whole window
 * for its body. */
TTE_NOINLINE static void strip_pass(const int16_t *strip, const int8_t *w0, int32_t *acc, int32_t nch)
{
    win8_pass_t prm = {strip, strip, 0, acc + 8 * nch, acc};
    const int8_t *wp = w0;
    const int16_t *xp;
    int32_t a0, a1, a2, a3, a4, a5, a6, a7;
    uint32_t e, o, w, we;
    TTE_WIN8_PASS(TTE_STRIP_TAPS TTE_STRIP_TAPS TTE_STRIP_TAPS);
}

/* The three input rows under output row oy, pixels ox0 - pad_left .. + 9, x - zp (zeros
 * outside the image) into the strip. */
static void strip_fill(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox0, int16_t *strip,
                       uint32_t nz)
{
    const tte_conv2d_geom_t *g = &p->g;
    int32_t ky, j, k;
    for (ky = 0; ky < 3; ++ky) {
        const int32_t iy = oy - g->pad_top + ky;
        uint32_t *dst = (uint32_t *)(void *)strip + ky * (TTE_STRIP_ROW / 4);
        for (j = 0; j < TTE_STRIP_W; ++j, dst += 8) {
            const int32_t ix = ox0 - g->pad_left + j;
            if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w) {
                const int8_t *src = xb + ((size_t)iy * g->in_w + ix) * 16;
                for (k = 0; k < 4; ++k) {
                    const uint32_t u = load4(src + 4 * k);
                    dst[2 * k] = sxtab16(nz, u);
                    dst[2 * k + 1] = sxtab16_ror8(nz, u);
                }
            } else {
                dst[0] = dst[1] = dst[2] = dst[3] = dst[4] = dst[5] = dst[6] = dst[7] = 0;
            }
        }
    }
}

TTE_HOT void tte_conv2d_s8_strip16_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                       const int8_t *w, const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t M = g->out_c;
    const rq_t r = rq_init(p, fast);
    const uint32_t nz = pack16(-p->in_zp, -p->in_zp);
    int16_t strip[3 * TTE_STRIP_ROW / 2] __attribute__((aligned(8)));
    int32_t acc[8 * TTE_STRIP_OCB];
    int32_t b, oy, ox, oc, cb, q;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * 16;
        for (oy = 0; oy < g->out_h; ++oy) {
            for (ox = 0; ox < g->out_w; ox += 8) {
                /* the last eight of a row overlap the ones before (the same bytes again) */
                const int32_t ox0 = ox + 8 <= g->out_w ? ox : g->out_w - 8;
                int8_t *y8[8];
                for (q = 0; q < 8; ++q) {
                    y8[q] = y + (((size_t)b * g->out_h + oy) * g->out_w + ox0 + q) * M;
                }
                strip_fill(p, xb, oy, ox0, strip, nz);
                for (cb = 0; cb < M; cb += TTE_STRIP_OCB) {
                    const int32_t ce = M - cb < TTE_STRIP_OCB ? M : cb + TTE_STRIP_OCB;
                    for (oc = cb; oc < ce; ++oc) {
                        int32_t *ao = acc + 8 * (oc - cb);
                        ao[0] = ao[1] = ao[2] = ao[3] = ao[4] = ao[5] = ao[6] = ao[7] = bias ? bias[oc] : 0;
                    }
                    strip_pass(strip, w + (size_t)cb * 144, acc, ce - cb);
                    rq_out4(&r, acc, 8, cb, ce, y8);
                    rq_out4(&r, acc + 4, 8, cb, ce, y8 + 4);
                }
            }
        }
    }
}
#endif
