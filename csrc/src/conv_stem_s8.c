/* int8 conv2d, regular (groups 1) with a small window: the stem (3x3x3 on the RGB image), and
 * in DSP builds the window path's convs over few input channels (DS-CNN's 10x4 first layer).
 *
 * Cortex-M4/M7 (ARMv7E-M DSP extension, under __ARM_FEATURE_DSP): the fast paths use its SIMD
 * (SXTB16, SMLAD) beside the portable C; every product and sum is an integer of the
 * portable loop, so the bytes are the same (tte_conv2d_s8_generic; tests/test_qemu_kernels.py). */
#include "tte/internal/optimized.h"
#include <string.h>

#include "tte/internal/conv_s8.h"

/* Regular conv (groups 1) over few input channels, the window's K = k_h k_w in_c values at
 * most TTE_GEMM_K: the RGB stem (3x3x3), DS-CNN's 10x4 first layer over one channel. An
 * im2col GEMM: the windows of up to eight output pixels (in raster order), x - zp in weight
 * order (ky, kx, c), 0 in the padding and past K, widened once to int16 into the eight-pixel
 * buffer (conv_s8.h); then every output channel's weight word, unpacked once, meets all the
 * pixels (stem_pass8, gemm_pass*). Windows inside the image come straight from it by words
 * (gemm_inside), the others through their bytes (gemm_bytes). Past K the lanes are 0, so the
 * weight bytes read there (the next channel's; the last channels' from a copy padded with
 * zeros) add nothing. */
#if defined(__ARM_FEATURE_DSP)
/* one (unaligned) STR, which the compiler cannot fold with its loop into a library call */
static TTE_ALWAYS_INLINE void stem_store4(int8_t *dst, uint32_t u)
{
    __asm__ volatile("str %1, [%0]" : : "r"(dst), "r"(u) : "memory");
}

/* One word of four window values, x - zp, into the eight-pixel buffer at dst. */
static TTE_ALWAYS_INLINE void gemm_word(uint32_t *dst, uint32_t u, uint32_t nz)
{
    dst[0] = tte_sxtab16(nz, u);
    dst[1] = tte_sxtab16_ror8(nz, u);
}

/* The window of output pixel (oy, ox) of image xb as bytes in weight order into win (K + 8
 * bytes): x inside the image, the zero point in the padding and from K to K + 8. */
static void gemm_bytes(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox, int8_t *win)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, RW = g->k_w * C, n = g->k_h * RW;
    const int32_t iy0 = oy * g->stride_h - g->pad_top, ix0 = ox * g->stride_w - g->pad_left;
    const int8_t zp = (int8_t)p->in_zp;
    const uint32_t zz = 0x01010101u * (uint8_t)zp;
    /* the taps of a row inside the image: kx0 <= kx < kx1 (contiguous with dil_w 1) */
    int32_t kx0 = 0, kx1 = g->k_w;
    int32_t ky, kx, k, i = 0;
    while (kx0 < kx1 && ix0 + kx0 * g->dil_w < 0) {
        ++kx0;
    }
    while (kx1 > kx0 && ix0 + (kx1 - 1) * g->dil_w >= g->in_w) {
        --kx1;
    }
    for (ky = 0; ky < g->k_h; ++ky, i += RW) {
        const int32_t iy = iy0 + ky * g->dil_h;
        int8_t *const dst = win + i;
        if (iy < 0 || iy >= g->in_h) {
            for (k = 0; k < RW; ++k) {
                dst[k] = zp;
            }
            continue;
        }
        if (g->dil_w == 1) {
            /* tap kx0's bytes (inside the image) */
            const int8_t *const src = xb + ((size_t)iy * g->in_w + ix0 + kx0) * C;
            for (k = 0; k < kx0 * C; ++k) {
                dst[k] = zp;
            }
            for (; k < kx1 * C; ++k) {
                dst[k] = src[k - kx0 * C];
            }
            for (; k < RW; ++k) {
                dst[k] = zp;
            }
            continue;
        }
        for (kx = 0; kx < g->k_w; ++kx) {
            if (kx >= kx0 && kx < kx1) {
                const int8_t *const src = xb + ((size_t)iy * g->in_w + ix0 + kx * g->dil_w) * C;
                for (k = 0; k < C; ++k) {
                    dst[kx * C + k] = src[k];
                }
            } else {
                for (k = 0; k < C; ++k) {
                    dst[kx * C + k] = zp;
                }
            }
        }
    }
    stem_store4(win + n, zz);
    stem_store4(win + n + 4, zz);
}

/* The window whose first tap is at src (inside the image with contiguous taps), x - zp, into
 * the eight-pixel buffer at dst (nw words, zero past K), straight from the image: kind 1, a
 * row of taps is one word (DS-CNN's 10x4 over one channel); kind 2, 3x3 over three channels
 * (the RGB stem: its rows of nine bytes split into words by byte moves that read nothing
 * outside the window's rows). */
static TTE_ALWAYS_INLINE void gemm_inside(int32_t kind, const int8_t *src, int32_t rstride, int32_t k_h, int32_t nw,
                                          uint32_t *dst, uint32_t nz, uint32_t zp24)
{
    int32_t j;
    if (kind == 1) {
        uint32_t *const end = dst + 16 * k_h;
        do {
            gemm_word(dst, load4(src), nz);
            src += rstride;
            dst += 16;
        } while (dst != end);
        j = k_h;
    } else {
        const int8_t *const r1 = src + rstride, *const r2 = r1 + rstride;
        gemm_word(dst, load4(src), nz);
        gemm_word(dst + 16, load4(src + 4), nz);
        gemm_word(dst + 32, (load4(r1 - 1) & ~0xFFu) | (uint8_t)src[8], nz);
        gemm_word(dst + 48, load4(r1 + 3), nz);
        gemm_word(dst + 64, (load4(r1 + 7) & 0xFFFFu) | (load4(r2) << 16), nz);
        gemm_word(dst + 80, load4(r2 + 2), nz);
        gemm_word(dst + 96, (load4(r2 + 5) >> 8) | zp24, nz);
        dst += 112;
        j = 7;
    }
    for (; j < nw; ++j, dst += 16) {
        dst[0] = 0;
        dst[1] = 0;
    }
}

/* P windows inside the image one after the other in a row of outputs, the first's first tap at
 * src and each step bytes after the one before, into slots 0 to P - 1 (gemm_inside). */
TTE_NOINLINE static void gemm_inside_run(int32_t kind, const int8_t *src, int32_t step, int32_t P, int32_t rstride,
                                         int32_t k_h, int32_t nw, uint32_t *dst, uint32_t nz, uint32_t zp24)
{
    uint32_t *const end = dst + 2 * P;
    do {
        gemm_inside(kind, src, rstride, k_h, nw, dst, nz, zp24);
        src += step;
        dst += 2;
    } while (dst != end);
}

/* Two halves of a widened word, x - zp, stored at byte OFF (a constant) of dst with one STRD. */
#define TTE_STEM_STORE(OFF, U)                                                          \
    do {                                                                                \
        const uint32_t u_ = (U);                                                        \
        __asm__ volatile("strd %1, %2, [%0, %3]"                                        \
                         :                                                              \
                         : "r"(dst), "r"(tte_sxtab16(nz, u_)), "r"(tte_sxtab16_ror8(nz, u_)), \
                           "i"(OFF)                                                     \
                         : "memory");                                                   \
    } while (0)

/* gemm_inside_run of kind 2 (the RGB stem, 3x3 over three channels) for cnt windows one after
 * the other in a buffer of widened words (a window's two words' halves 8 bytes after the one
 * before, word j of a window ws bytes after word 0: 64 in an eight-pixel pass, 24 in stem3's
 * three-pixel one), their seven words only (what stem_pass8, stem_pass8_rq and stem3_pairs
 * read): each word one STRD, the bytes that cross the rows merged by BFI and PKHBT
 * (gemm_stem_run, stem_pass8_rq for its runs of passes, stem3_widen). */
static TTE_ALWAYS_INLINE void stem_widen_any(const int8_t *src, int32_t step, int32_t rstride, uint32_t *dst,
                                              uint32_t nz, uint32_t zp24, int32_t cnt, const int32_t ws,
                                              const int32_t cut, const int32_t right)
{
    uint32_t *const end = dst + 2 * cnt;
    /* cut: the window's third row below the image; right: its third column right of it (every
     * byte read then inside the image); their bytes the zero point's (zp24's byte) */
    const uint32_t zz = zp24 | zp24 >> 8 | zp24 >> 16 | zp24 >> 24;
    do {
        const int8_t *const r1 = src + rstride, *const r2 = cut ? r1 : r1 + rstride;
        uint32_t u = load4(r1 - 1), v;
        __asm__("bfi %0, %1, #0, #8" : "+r"(u) : "r"(right ? zz : (uint32_t)(uint8_t)src[8]));
        __asm__("pkhbt %0, %1, %2, lsl #16"
                : "=r"(v)
                : "r"(right ? zz : load4(r1 + 7)), "r"(cut ? zz : load4(r2)));
        TTE_STEM_STORE(0, load4(src));
        TTE_STEM_STORE(ws, right ? (load4(src + 2) >> 16) | (zz & 0xFFFF0000u) : load4(src + 4));
        TTE_STEM_STORE(2 * ws, u);
        TTE_STEM_STORE(3 * ws, right ? (load4(r1 + 2) >> 8) | zp24 : load4(r1 + 3));
        TTE_STEM_STORE(4 * ws, v);
        TTE_STEM_STORE(5 * ws, cut ? zz : load4(r2 + 2));
        TTE_STEM_STORE(6 * ws, cut || right ? zz : (load4(r2 + 5) >> 8) | zp24);
        src += step;
        dst += 2;
    } while (dst != end);
}

static TTE_ALWAYS_INLINE void stem_widen(const int8_t *src, int32_t step, int32_t rstride, uint32_t *dst, uint32_t nz,
                                          uint32_t zp24, int32_t cnt, const int32_t ws)
{
    stem_widen_any(src, step, rstride, dst, nz, zp24, cnt, ws, 0, 0);
}

/* stem_widen out of line: the runs of windows inside the image in a pass that reaches its edge */
TTE_NOINLINE static void gemm_stem_run(const int8_t *src, int32_t step, int32_t rstride, uint32_t *dst, uint32_t nz,
                                       uint32_t zp24, int32_t cnt)
{
    stem_widen(src, step, rstride, dst, nz, zp24, cnt, 64);
}

/* An RGB stem window (kind 2) whose first tap is at (iy0, ix0), some of its taps in the padding:
 * its bytes in weight order into bytes (36, word-aligned; the zero point in the padding and past
 * K) tap by tap, then widened into the buffer at dst (word j ws words after word 0; an eighth
 * word 0 where eighth). */
static TTE_ALWAYS_INLINE void stem_edge(const int8_t *xb, int32_t iy0, int32_t ix0, int32_t in_h, int32_t in_w,
                                        int32_t dil_h, uint32_t *dst, uint32_t nz, uint32_t zz, int8_t *bytes,
                                        const int32_t ws, const int32_t eighth)
{
    uint32_t *const wb = (uint32_t *)__builtin_assume_aligned(bytes, 4);
    int32_t ky, kx, j;
    for (j = 0; j < 9; ++j) {
        wb[j] = zz;
    }
    for (ky = 0; ky < 3; ++ky) {
        const int32_t iy = iy0 + ky * dil_h;
        if ((uint32_t)iy < (uint32_t)in_h) {
            const int8_t *const row = xb + (size_t)iy * in_w * 3;
            if (ix0 >= 0 && ix0 + 3 <= in_w) {
                /* the row's three taps inside the image (a window cut by the bottom or top only) */
                memcpy(bytes + 9 * ky, row + 3 * ix0, 9);
                continue;
            }
            for (kx = 0; kx < 3; ++kx) {
                const int32_t ix = ix0 + kx;
                if ((uint32_t)ix < (uint32_t)in_w) {
                    int8_t *const b = bytes + 9 * ky + 3 * kx;
                    b[0] = row[3 * ix];
                    b[1] = row[3 * ix + 1];
                    b[2] = row[3 * ix + 2];
                }
            }
        }
    }
    for (j = 0; j < 7; ++j, dst += ws) {
        gemm_word(dst, wb[j], nz);
    }
    if (eighth) {
        dst[0] = 0;
        dst[1] = 0;
    }
}

/* stem_edge into an eight-pixel pass (gemm_run) */
TTE_NOINLINE static void gemm_stem_edge(const int8_t *xb, int32_t iy0, int32_t ix0, int32_t in_h, int32_t in_w,
                                        int32_t dil_h, uint32_t *dst, uint32_t nz, uint32_t zz, int8_t *bytes)
{
    stem_edge(xb, iy0, ix0, in_h, in_w, dil_h, dst, nz, zz, bytes, 16, 1);
}

/* A window of rows of one word (kind 1) whose first tap is at (iy0, ix0), some of its taps in
 * the padding, into the buffer at dst: zeros for a row outside the image, else the row's word
 * with the zero point in the bytes of taps left or right of the image (loaded as a word where it
 * stays inside the image, else byte by byte). 0 when the image is narrower than the window. */
TTE_NOINLINE static int32_t gemm_cut4(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t iy0, int32_t ix0,
                                      int32_t nw, uint32_t *dst, uint32_t nz)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, row = g->in_w * C;
    const int32_t cut_l = ix0 < 0 ? -ix0 * C : 0, cut_r = ix0 + g->k_w > g->in_w ? (ix0 + g->k_w - g->in_w) * C : 0;
    const int32_t image = g->in_h * row;
    uint32_t keep, fill;
    int32_t ky, k;
    if (cut_l + cut_r >= 4) {
        return 0;
    }
    keep = (0xFFFFFFFFu << (8 * cut_l)) & (0xFFFFFFFFu >> (8 * cut_r));
    fill = (0x01010101u * (uint8_t)p->in_zp) & ~keep;
    for (ky = 0; ky < g->k_h; ++ky, dst += 16) {
        const int32_t iy = iy0 + ky * g->dil_h;
        /* the row's first tap, maybe left of the image */
        const int32_t off = iy * row + ix0 * C;
        uint32_t u;
        if (iy < 0 || iy >= g->in_h) {
            dst[0] = 0;
            dst[1] = 0;
            continue;
        }
        if (off >= 0 && off + 4 <= image) {
            u = (load4(xb + off) & keep) | fill;
        } else {
            for (u = fill, k = cut_l; k < 4 - cut_r; ++k) {
                u |= (uint32_t)(uint8_t)xb[off + k] << (8 * k);
            }
        }
        gemm_word(dst, u, nz);
    }
    for (; ky < nw; ++ky, dst += 16) {
        dst[0] = 0;
        dst[1] = 0;
    }
    return 1;
}

/* Output pixel (oy, ox)'s window through the bytes of gemm_bytes into the buffer at dst. */
TTE_NOINLINE static void gemm_edge(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox,
                                   int32_t nw, uint32_t *dst, uint32_t nz, int8_t *bytes)
{
    int32_t j;
    gemm_bytes(p, xb, oy, ox, bytes);
    for (j = 0; j < nw; ++j, dst += 16) {
        gemm_word(dst, load4(bytes + 4 * j), nz);
    }
}

/* a pass whose sums start from the channels' biases */
#define TTE_GEMM_PASS(BODY) TTE_WIN8_PASS_X(TTE_WIN8_BIAS, BODY, TTE_WIN8_STEP)

/* acc[8 c .. 8 c + 7] = bias[c] + the eight pixels' windows (nw >= 4 words of buf) against
 * channel c's weight words, from w0 + c * n (c < nch); the whole loop over the channels in
 * registers. */
TTE_NOINLINE static void stem_pass8(const int16_t *buf, int32_t nw, const int8_t *w0, int32_t n, int32_t *acc,
                                    int32_t nch, const int32_t *bias)
{
    win8_pass_t prm = {buf, buf + 32 * nw, n - 4 * nw, acc + 8 * nch, acc, bias};
    const int8_t *wp = w0;
    const int16_t *xp;
    int32_t a0, a1, a2, a3, a4, a5, a6, a7;
    uint32_t e, o, w, we;
    switch (nw & 3) {
    case 0:
        TTE_GEMM_PASS(TTE_WIN8_LOOP);
        break;
    case 1:
        TTE_GEMM_PASS(TTE_WIN8_WORD TTE_WIN8_LOOP);
        break;
    case 2:
        TTE_GEMM_PASS(TTE_WIN8_WORD TTE_WIN8_WORD TTE_WIN8_LOOP);
        break;
    default:
        TTE_GEMM_PASS(TTE_WIN8_WORD TTE_WIN8_WORD TTE_WIN8_WORD TTE_WIN8_LOOP);
        break;
    }
}

/* The fused output stage (stem_pass8_rq): channel c's eight sums requantized in their
 * registers as they leave the pass, tte_rq_fast_s8 in place (TTE_RQW8 of pointwise_s8.c, its
 * SMMLAR with mult << 1 exact where no multiplier is 0: mode 2 with rq_no_zero_mult). */
#define TTE_STEM_RQ(A, ADDR)                                                            \
    "smmlar %[" A "], %[" A "], %[e], %[" A "]\n\t"                                     \
    "add %[" A "], %[" A "], %[" A "], asr #31\n\t"                                    \
    "asr %[" A "], %[" A "], %[o]\n\t"                                                 \
    "qadd %[" A "], %[" A "], %[w]\n\t"                                                \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"                                          \
    "strb %[" A "], " ADDR "\n\t"

/* The first weight word of a channel: pixels 1 to 7 start from a0, which holds the bias
 * until pixel 0 (last) adds to it, so no sum is copied from the bias. */
#define TTE_STEM_PX1(off, a)                                                            \
    "ldrd %[e], %[o], [%[xp], #" #off "]\n\t"                                          \
    "smlad %[" #a "], %[e], %[we], %[a0]\n\t"                                          \
    "smlad %[" #a "], %[o], %[w], %[" #a "]\n\t"
#define TTE_STEM_FIRST                                                                  \
    "ldr %[w], [%[wp], #4]!\n\t"                                                       \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t" TTE_STEM_PX1(8, a1) TTE_STEM_PX1(16, a2)            \
        TTE_STEM_PX1(24, a3) TTE_STEM_PX1(32, a4) TTE_STEM_PX1(40, a5)                   \
        TTE_STEM_PX1(48, a6) TTE_STEM_PX1(56, a7)                                       \
    "ldrd %[e], %[o], [%[xp]], #64\n\t"                                                \
    "smlad %[a0], %[e], %[we], %[a0]\n\t"                                              \
    "smlad %[a0], %[o], %[w], %[a0]\n\t"

/* Where the fused pass finds the chunk, the next channel's bias, its pair of mult << 1 and ~shift
 * (stem_rq_table) and its output of pixel 0, the end of the outputs of pixel 0, the bytes from one
 * pixel's outputs to the next, zp2. */
typedef struct {
    const int16_t *buf;
    const int32_t *bias;
    const uint32_t *tab;
    int8_t *y;
    const int8_t *yend;
    int32_t m, zp2;
} stem_rq_pass_t;

/* Channels [c0, c1)'s output stage constants as stem_pass8_rq takes them, a pair of words each:
 * mult << 1 (SMMLAR's factor) and ~shift (the shift before the halving), one LDRD a channel. */
static void stem_rq_table(uint32_t *tab, const int32_t *mult, const int32_t *shift, int32_t c0, int32_t c1)
{
    int32_t c;
    for (c = c0; c < c1; ++c, tab += 2) {
        tab[0] = (uint32_t)mult[c] << 1;
        tab[1] = ~(uint32_t)shift[c];
    }
}

/* The output stage of a channel's eight sums into y, y + m, ..., y + 7 m (y at ym, m at msm), y
 * stepped to the next channel's in xp: the addresses formed from m in registers. */
#define TTE_STEM_OUT_ANY                                                                                \
    "ldr %[we], %[msm]\n\t"                                                                             \
    "ldr %[xp], %[ym]\n\t" TTE_STEM_RQ("a0", "[%[xp]]")                                                 \
    "add %[a0], %[xp], %[we], lsl #1\n\t" TTE_STEM_RQ("a1", "[%[xp], %[we]]")                           \
    TTE_STEM_RQ("a2", "[%[a0]]") TTE_STEM_RQ("a3", "[%[a0], %[we]]")                                    \
    "add %[a0], %[a0], %[we], lsl #1\n\t" TTE_STEM_RQ("a4", "[%[a0]]")                                  \
    TTE_STEM_RQ("a5", "[%[a0], %[we]]")                                                                 \
    "add %[a0], %[a0], %[we], lsl #1\n\t" TTE_STEM_RQ("a6", "[%[a0]]")                                  \
    TTE_STEM_RQ("a7", "[%[a0], %[we]]")                                                                 \
    "add %[xp], %[xp], #1\n\t"
/* the same where m is known (M1 to M7: m to 7 m, strings): immediate offsets, pixel 0's store
 * post-indexed to the next channel */
#define TTE_STEM_OUT_AT(M1, M2, M3, M4, M5, M6, M7)                                                     \
    "ldr %[xp], %[ym]\n\t" TTE_STEM_RQ("a1", "[%[xp], #" M1 "]")                                        \
    TTE_STEM_RQ("a2", "[%[xp], #" M2 "]") TTE_STEM_RQ("a3", "[%[xp], #" M3 "]")                         \
    TTE_STEM_RQ("a4", "[%[xp], #" M4 "]") TTE_STEM_RQ("a5", "[%[xp], #" M5 "]")                         \
    TTE_STEM_RQ("a6", "[%[xp], #" M6 "]") TTE_STEM_RQ("a7", "[%[xp], #" M7 "]")                         \
    TTE_STEM_RQ("a0", "[%[xp]], #1")

/* One channel a loop pass: its bias, BODY (the dot product of its weight words with the eight
 * pixels), OUT (the output stage of its eight sums). */
#define TTE_STEM_PASS(BODY, OUT)                                                                        \
    __asm__ volatile("2:\n\t"                                                                           \
                     "ldr %[e], %[bsm]\n\t"                                                             \
                     "ldr %[a0], [%[e]], #4\n\t"                                                        \
                     "str %[e], %[bsm]\n\t"                                                             \
                     "ldr %[xp], %[bufm]\n\t" TTE_STEM_FIRST BODY                                       \
                     "ldr %[xp], %[tm]\n\t"                                                             \
                     "ldrd %[e], %[o], [%[xp]], #8\n\t"                                                 \
                     "str %[xp], %[tm]\n\t"                                                             \
                     "ldr %[w], %[zm]\n\t" OUT                                                          \
                     "str %[xp], %[ym]\n\t"                                                             \
                     "ldr %[w], %[yem]\n\t"                                                             \
                     "cmp %[xp], %[w]\n\t"                                                              \
                     "bne 2b"                                                                           \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [a4] "=&r"(a4),  \
                       [a5] "=&r"(a5), [a6] "=&r"(a6), [a7] "=&r"(a7), [xp] "=&r"(xp), [wp] "+r"(wp),   \
                       [e] "=&r"(e), [o] "=&r"(o), [w] "=&r"(w), [we] "=&r"(we), [bsm] "+m"(prm.bias),  \
                       [tm] "+m"(prm.tab), [ym] "+m"(prm.y)                                             \
                     : [bufm] "m"(prm.buf), [yem] "m"(prm.yend), [msm] "m"(prm.m),                      \
                       [zm] "m"(prm.zp2)                                                                \
                     : "cc", "memory")

/* One weight word of a channel (its bytes from LOAD, unpacked by UNPACK) by the eight pixels */
#define TTE_STEM_WORD_L(LOAD, UNPACK)                                                   \
    LOAD UNPACK TTE_WIN8_PX(8, a1) TTE_WIN8_PX(16, a2) TTE_WIN8_PX(24, a3)              \
        TTE_WIN8_PX(32, a4) TTE_WIN8_PX(40, a5) TTE_WIN8_PX(48, a6) TTE_WIN8_PX(56, a7)  \
    "ldrd %[e], %[o], [%[xp]], #64\n\t"                                                \
    "smlad %[a0], %[e], %[we], %[a0]\n\t"                                              \
    "smlad %[a0], %[o], %[w], %[a0]\n\t"
#define TTE_STEM_WORD                                                                   \
    TTE_STEM_WORD_L("ldr %[w], [%[wp], #4]!\n\t",                                      \
                    "sxtb16 %[we], %[w]\n\t"                                           \
                    "sxtb16 %[w], %[w], ror #8\n\t")
/* The last word, values 24 to 26, loaded from the channel's byte 23 so that no byte past it is
 * read: rotated by 8, the lanes of 24 and 26; by 16, those of 25 and 23, the latter meeting the
 * window's lane 27, which is 0. wp ends on byte 23, 4 before the next channel's. */
#define TTE_STEM_WORD_LAST                                                              \
    TTE_STEM_WORD_L("ldr %[w], [%[wp], #3]!\n\t",                                      \
                    "sxtb16 %[we], %[w], ror #8\n\t"                                   \
                    "sxtb16 %[w], %[w], ror #16\n\t")

/* straight through, no loop, every load pre-indexed (wp 4 bytes before a channel's weights) */
#define TTE_STEM_BODY TTE_STEM_WORD TTE_STEM_WORD TTE_STEM_WORD TTE_STEM_WORD TTE_STEM_WORD TTE_STEM_WORD_LAST

/* stem_pass8_rq's arguments that stay the same for a call of the kernel (named as there) */
typedef struct {
    const int16_t *buf;
    const int8_t *w0;
    int32_t m;
    const int32_t *bias;
    const uint32_t *tab;
    int32_t zp2;
} stem_rq_args_t;

/* stem_pass8 for the RGB stem (27 values, seven words of buf) with the output stage fused, P = 8
 * pixels whose outputs are m bytes apart from y: channels [c0, c1) from w0 (each 27 bytes on, no
 * byte past the last channel's read); the sums start from bias and leave through tte_rq_fast_s8
 * (rq_t mode 2, no multiplier 0) with the constants of tab (channel c0's first). */
static TTE_ALWAYS_INLINE void stem_rq_channels(const stem_rq_args_t *a, int32_t c0, int32_t c1, int8_t *y)
{
    const int32_t m = a->m;
    stem_rq_pass_t prm = {a->buf, a->bias + c0, a->tab, y + c0, y + c1, m, a->zp2};
    /* the loads are pre-indexed: 4 bytes before channel c0's weights (an address only) */
    const int8_t *wp = (const int8_t *)((uintptr_t)(a->w0 + 27 * c0) - 4);
    const int16_t *xp;
    int32_t a0, a1, a2, a3, a4, a5, a6, a7;
    uint32_t e, o, w, we;
    /* the outputs of a pixel 16 or 8 bytes apart (the paper models' stem, VWW's) at immediate
     * offsets */
    if (m == 16) {
        TTE_STEM_PASS(TTE_STEM_BODY, TTE_STEM_OUT_AT("16", "32", "48", "64", "80", "96", "112"));
    } else if (m == 8) {
        TTE_STEM_PASS(TTE_STEM_BODY, TTE_STEM_OUT_AT("8", "16", "24", "32", "40", "48", "56"));
    } else {
        TTE_STEM_PASS(TTE_STEM_BODY, TTE_STEM_OUT_ANY);
    }
}

/* A run of n passes of eight RGB windows inside the image one after the other in a row of
 * outputs: the first window's first tap at src, each window's step bytes after the one before,
 * rstride bytes from a row of taps to the next; nz and zp24 as gemm_stem_run takes them. */
typedef struct {
    const int8_t *src;
    int32_t step, rstride;
    uint32_t nz, zp24;
    int32_t n;
} stem_run_t;

/* Channels [c0, c1) of eight pixels through stem_rq_channels, their outputs from y on: the
 * windows already in the buffer (run NULL), or each of run's passes' windows widened into it
 * first as gemm_stem_run does (the outputs of a pass 8 m bytes after the one before). */
TTE_NOINLINE static void stem_pass8_rq(const stem_rq_args_t *a, const stem_run_t *run, int32_t c0, int32_t c1,
                                       int8_t *y)
{
    const int8_t *src = run != NULL ? run->src : NULL;
    int32_t n = run != NULL ? run->n : 1;
    do {
        if (src != NULL) {
            stem_widen(src, run->step, run->rstride, (uint32_t *)(void *)a->buf, run->nz, run->zp24, 8, 64);
            src += 8 * run->step;
        }
        stem_rq_channels(a, c0, c1, y);
        y += 8 * a->m;
    } while (--n > 0);
}

/* no channel's multiplier is 0 (stem_pass8_rq takes mult << 1), where tte_rq_fast_ok holds:
 * every other one has bit 30 set, so their AND has it */
static int32_t rq_no_zero_mult(const int32_t *mult, int32_t m)
{
    uint32_t all = ~0u;
    int32_t oc;
    for (oc = 0; oc < m; ++oc) {
        all &= (uint32_t)mult[oc];
    }
    return (int32_t)((all >> 30) & 1u);
}

/* One weight word of one channel by the first P pixels of the eight-pixel buffer (PXS: pixels
 * 1 to P - 1; pixel 0 last, its load post-indexed past the group). */
#define TTE_GEMM_WORD(PXS)                                                              \
    "ldr %[w], [%[wp]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t" PXS                                                \
    "ldrd %[e], %[o], [%[xp]], #64\n\t"                                                \
    "smlad %[a0], %[e], %[we], %[a0]\n\t"                                              \
    "smlad %[a0], %[o], %[w], %[a0]\n\t"
/* two words a loop pass up to the end of the buffer */
#define TTE_GEMM_LOOP2(PXS)                                                             \
    "1:\n\t" TTE_GEMM_WORD(PXS) TTE_GEMM_WORD(PXS) "ldr %[e], %[endm]\n\t"             \
    "cmp %[xp], %[e]\n\t"                                                              \
    "bne 1b\n\t"
#define TTE_GEMM_PX4 TTE_WIN8_PX(8, a1) TTE_WIN8_PX(16, a2) TTE_WIN8_PX(24, a3)
#define TTE_GEMM_PX5 TTE_GEMM_PX4 TTE_WIN8_PX(32, a4)
#define TTE_GEMM_PX6 TTE_GEMM_PX5 TTE_WIN8_PX(40, a5)
#define TTE_GEMM_PX7 TTE_GEMM_PX6 TTE_WIN8_PX(48, a6)
#define TTE_GEMM_PX8 TTE_GEMM_PX7 TTE_WIN8_PX(56, a7)

/* acc[8 c + q] (q < P) = bias[c] + pixel q's window (np8, a multiple of 8, values of buf)
 * against channel c's weights, from w0 + c * n (c < nch). */
#define TTE_GEMM_PASS_FN(name, PXS)                                                                          \
    TTE_NOINLINE static void name(const int16_t *buf, int32_t np8, const int8_t *w0, int32_t n, int32_t *acc,  \
                                  int32_t nch, const int32_t *bias)                                          \
    {                                                                                                        \
        win8_pass_t prm = {buf, buf + 8 * np8, n - np8, acc + 8 * nch, acc, bias};                            \
        const int8_t *wp = w0;                                                                               \
        const int16_t *xp;                                                                                   \
        int32_t a0, a1, a2, a3, a4, a5, a6, a7;                                                              \
        uint32_t e, o, w, we;                                                                                \
        TTE_GEMM_PASS(TTE_GEMM_LOOP2(PXS));                                                                  \
    }
TTE_GEMM_PASS_FN(gemm_pass4, TTE_GEMM_PX4)
TTE_GEMM_PASS_FN(gemm_pass5, TTE_GEMM_PX5)
TTE_GEMM_PASS_FN(gemm_pass6, TTE_GEMM_PX6)
TTE_GEMM_PASS_FN(gemm_pass7, TTE_GEMM_PX7)
TTE_GEMM_PASS_FN(gemm_pass8, TTE_GEMM_PX8)

/* acc[8 c + q] = bias[c] + channel c's window sums for the first P (4 to 8) pixels of buf */
static TTE_ALWAYS_INLINE void gemm_pass(int32_t P, const int16_t *buf, int32_t n, const int8_t *w0, int32_t *acc, int32_t nch,
                      const int32_t *bias)
{
    const int32_t np4 = (n + 3) & ~3, np8 = (n + 7) & ~7;
    switch (P) {
    case 8:
        if (np4 >= 16) {
            stem_pass8(buf, np4 / 4, w0, n, acc, nch, bias);
        } else {
            gemm_pass8(buf, np8, w0, n, acc, nch, bias);
        }
        break;
    case 7:
        gemm_pass7(buf, np8, w0, n, acc, nch, bias);
        break;
    case 6:
        gemm_pass6(buf, np8, w0, n, acc, nch, bias);
        break;
    case 5:
        gemm_pass5(buf, np8, w0, n, acc, nch, bias);
        break;
    default:
        gemm_pass4(buf, np8, w0, n, acc, nch, bias);
        break;
    }
}

/* The output stage of one pixel's sums (channels [c0, c1), channel c's at acc[8 (c - c0)]) */
static void gemm_rq_out1(const rq_t *r, const int32_t *acc, int32_t c0, int32_t c1, int8_t *yq)
{
    int32_t oc;
    if (r->mode == 2) {
        const int32_t *const mult = r->mult, *const shift = r->shift;
        const int32_t zp2 = r->zp2;
        for (oc = c0; oc < c1; ++oc, acc += 8) {
            yq[oc] = (int8_t)tte_rq_fast_s8(acc[0], mult[oc], shift[oc], zp2);
        }
    } else {
        for (oc = c0; oc < c1; ++oc, acc += 8) {
            yq[oc] = rq(r, acc[0], oc);
        }
    }
}

/* stem: the small-window path's instance (the RGB stem's gemm_stem_run and stem_pass8_rq; the
 * other instance stays free of them) */
static TTE_ALWAYS_INLINE void gemm_run(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                                       const int32_t *bias, int8_t *y, void *scratch, int32_t kmax, int32_t ocb,
                                       const int32_t stem)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t n = g->k_h * g->k_w * g->in_c, M = g->out_c;
    const int32_t np8 = (n + 7) & ~7, npx = g->out_h * g->out_w;
    const uint32_t nz = pack16(-p->in_zp, -p->in_zp);
    const rq_t r = rq_init(p, fast);
    /* channels t0 and on, whose reads of np8 weight bytes would run past w, from wtail: a copy
     * followed by zeros */
    const int32_t t0 = M - ((np8 - 1) / n < M ? (np8 - 1) / n : M);
    /* the scratch (TTE_GEMM_BYTES(kmax, ocb), conv_s8.h): the sums of ocb channels, widened
     * windows, wtail */
    int32_t *const acc = (int32_t *)__builtin_assume_aligned(scratch, 8);
    int16_t *const buf = (int16_t *)(void *)(acc + 8 * ocb);
    /* one window's bytes for gemm_edge in the sums' place: they are used up before a pass; in
     * the fused pass, past the seven words it reads (the sums' place holds stem_rq_table's) */
    int8_t *const bytes = (int8_t *)(void *)acc, *const bytes8 = (int8_t *)(void *)(buf + 32 * 7);
    int8_t *const wtail = (int8_t *)(void *)(buf + 8 * kmax);
    /* the geometry in locals (the buffer's stores could alias p) */
    const int32_t C = g->in_c, k_h = g->k_h, in_w = g->in_w, out_w = g->out_w, sw = g->stride_w, sh = g->stride_h;
    const int32_t rstride = g->dil_h * in_w * C, nw = np8 / 4;
    const int32_t iy_max = g->in_h - 1 - (k_h - 1) * g->dil_h, ix_max = in_w - g->k_w;
    const int32_t kind = g->dil_w != 1 || iy_max < 0 || ix_max < 0 ? 0 : (g->k_w * C == 4 ? 1 : (g->k_w * C == 9 && k_h == 3 ? 2 : 0));
    const uint32_t zp24 = (uint32_t)(uint8_t)p->in_zp << 24;
    static const int32_t zeros[TTE_GEMM_OCB] = {0};
    /* the output stage fused into stem_pass8_rq for eight pixels */
    const int32_t fused = stem && n == 27 && kind == 2 && npx >= 8 && r.mode == 2 && bias != NULL
                          && rq_no_zero_mult(r.mult, M);
    /* stem_rq_table's channels in the sums' place; whether it holds all M channels' */
    const int32_t tabn = 4 * ocb;
    int32_t tab_all = 0;
    const stem_rq_args_t sa = {buf, w, M, bias, (const uint32_t *)(void *)acc, r.zp2};
    int32_t b, i, q, cb;
    if (t0 < M) {
        memcpy(wtail, w + (size_t)t0 * n, (size_t)(M - t0) * n);
        memset(wtail + (M - t0) * n, 0, 8);
    }
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        int8_t *yb = y + (size_t)b * npx * M;
        int32_t py = 0, px = 0;
        /* the first tap of pixel (py, px) at (iy, ix); src there when the window is inside */
        int32_t iy = -g->pad_top, ix = -g->pad_left;
        for (i = 0; i < npx;) {
            /* P pixels a pass; under four, the last one repeats up to four */
            const int32_t P = npx - i < 8 ? npx - i : 8, slots = P < 4 ? 4 : P;
            /* the output stage fused into stem_pass8_rq: no output pointers */
            const int32_t fused8 = fused && P == 8;
            int8_t *y8[8];
            int32_t ly = py, lx = px, liy = iy, lix = ix;
            q = 0;
            if (kind != 0 && P == slots && px + P <= out_w && (uint32_t)iy <= (uint32_t)iy_max && ix >= 0
                && ix + (P - 1) * sw <= ix_max) {
                /* the common case: P windows inside the image in one row of outputs */
                if (fused8 && M <= tabn) {
                    /* and the passes after it in this row inside too, all in one call */
                    int32_t n = 1;
                    while (i + 8 * (n + 1) <= npx && px + 8 * (n + 1) <= out_w && ix + (8 * (n + 1) - 1) * sw <= ix_max) {
                        ++n;
                    }
                    if (!tab_all) {
                        stem_rq_table((uint32_t *)(void *)acc, r.mult, r.shift, 0, M);
                        tab_all = 1;
                    }
                    const stem_run_t run = {xb + ((size_t)iy * in_w + ix) * C, sw * C, rstride, nz, zp24, n};
                    stem_pass8_rq(&sa, &run, 0, M, yb + (size_t)i * M);
                    i += 8 * n;
                    px += 8 * n;
                    ix += 8 * n * sw;
                    if (px == out_w) {
                        px = 0;
                        ++py;
                        ix = -g->pad_left;
                        iy += sh;
                    }
                    continue;
                }
                if (stem && kind == 2 && P == 8) {
                    gemm_stem_run(xb + ((size_t)iy * in_w + ix) * C, sw * C, rstride, (uint32_t *)(void *)buf, nz,
                                  zp24, 8);
                } else {
                    gemm_inside_run(kind, xb + ((size_t)iy * in_w + ix) * C, sw * C, P, rstride, k_h, nw,
                                    (uint32_t *)(void *)buf, nz, zp24);
                }
                for (q = 0; q < P && !fused8; ++q) {
                    y8[q] = yb + (size_t)(i + q) * M;
                }
                px += P;
                ix += P * sw;
                if (px == out_w) {
                    px = 0;
                    ++py;
                    ix = -g->pad_left;
                    iy += sh;
                }
                q = slots;
            }
            for (; q < slots; ++q) {
                uint32_t *const dst = (uint32_t *)(void *)buf + 2 * q;
                if (stem && kind == 2 && P == 8 && (uint32_t)iy <= (uint32_t)iy_max && (uint32_t)ix <= (uint32_t)ix_max) {
                    /* a run of RGB windows inside the image in this row of outputs */
                    int32_t run = 1;
                    while (q + run < 8 && px + run < out_w && ix + run * sw <= ix_max) {
                        ++run;
                    }
                    gemm_stem_run(xb + ((size_t)iy * in_w + ix) * C, sw * C, rstride, dst, nz, zp24, run);
                    for (; run > 0; --run, ++q) {
                        if (!fused8) {
                            y8[q] = yb + ((size_t)py * out_w + px) * M;
                        }
                        ix += sw;
                        if (++px == out_w) {
                            px = 0;
                            ++py;
                            ix = -g->pad_left;
                            iy += sh;
                        }
                    }
                    --q;
                    continue;
                }
                if (q < P) {
                    ly = py;
                    lx = px;
                    liy = iy;
                    lix = ix;
                    ix += sw;
                    if (++px == out_w) {
                        px = 0;
                        ++py;
                        ix = -g->pad_left;
                        iy += sh;
                    }
                }
                if (!fused8) {
                    y8[q] = yb + ((size_t)ly * out_w + lx) * M;
                }
                if (kind != 0 && (uint32_t)liy <= (uint32_t)iy_max && (uint32_t)lix <= (uint32_t)ix_max) {
                    gemm_inside(kind, xb + ((size_t)liy * in_w + lix) * C, rstride, k_h, nw, dst, nz, zp24);
                } else if (stem && kind == 2) {
                    gemm_stem_edge(xb, liy, lix, g->in_h, in_w, g->dil_h, dst, nz, 0x01010101u * (zp24 >> 24),
                                   fused8 ? bytes8 : bytes);
                } else if (kind != 1 || !gemm_cut4(p, xb, liy, lix, nw, dst, nz)) {
                    gemm_edge(p, xb, ly, lx, nw, dst, nz, bytes);
                }
            }
            if (fused8) {
                /* the sums requantized in registers: every channel in one call, the table made once
                 * an image; or tabn channels a call, each chunk's table made first */
                if (M <= tabn) {
                    if (!tab_all) {
                        stem_rq_table((uint32_t *)(void *)acc, r.mult, r.shift, 0, M);
                        tab_all = 1;
                    }
                    stem_pass8_rq(&sa, NULL, 0, M, yb + (size_t)i * M);
                } else {
                    for (cb = 0; cb < M; cb += tabn) {
                        const int32_t ce = M - cb < tabn ? M : cb + tabn;
                        stem_rq_table((uint32_t *)(void *)acc, r.mult, r.shift, cb, ce);
                        stem_pass8_rq(&sa, NULL, cb, ce, yb + (size_t)i * M);
                    }
                }
                i += P;
                continue;
            }
            /* the sums' place taken */
            tab_all = 0;
            for (cb = 0; cb < M; cb += ocb) {
                const int32_t ce = M - cb < ocb ? M : cb + ocb;
                /* channels [cb, cb + nd) straight from w, the rest from wtail */
                const int32_t nd = ce < t0 ? ce - cb : (t0 > cb ? t0 - cb : 0);
                const int32_t *const bc = bias != NULL ? bias + cb : zeros;
                if (nd > 0) {
                    gemm_pass(slots, buf, n, w + (size_t)cb * n, acc, nd, bc);
                }
                if (nd < ce - cb) {
                    gemm_pass(slots, buf, n, wtail + (size_t)(cb + nd - t0) * n, acc + 8 * nd, ce - cb - nd,
                              bias != NULL ? bc + nd : zeros);
                }
                rq_out4(&r, acc, 8, cb, ce, y8);
                if (P == 8) {
                    rq_out4(&r, acc + 4, 8, cb, ce, y8 + 4);
                } else {
                    for (q = 4; q < P; ++q) {
                        gemm_rq_out1(&r, acc + q, cb, ce, y8[q]);
                    }
                }
            }
            i += P;
        }
    }
}

/* ---- the RGB stem, three pixels by two output channels a step (stem3) ----
 *
 * stem_pass8_rq takes per weight word of a channel an LDR and two SXTB16 of the weights and eight
 * LDRD of the pixels for sixteen SMLAD; here each call first lays its channels' weights out as
 * doubled int16 lanes (2 w0, 2 w2), (2 w1, 2 w3) (stem3_layout, on the stack: four or
 * eight channels, VWW's stem), so that per weight word pair of two channels two LDRD of the layout
 * and three of the pixels feed twelve SMLAD: 17 instructions where stem_pass8_rq takes 20.25 for
 * as many products. The sums are doubled, d = 2 (bias + sum((x - zp) w)), so that the output
 * stage needs no doubling (TTE_PWS_RQ's five instructions in pointwise_s8.c; exact while every
 * |bias| + 27 255 128 stays below 2**29, stem3_fits). Per channel (TTE_STEM3_CW words) 2 bias, the
 * seven words' lane pairs, the multiplier, e = ~shift (0 for a multiplier 0) and K = zp2 << e.
 * The three pixels' windows are widened once into xs (word j of pixel q at byte
 * 24 j + 8 q, stem_widen's order), then the outputs' pointer, m and the layout's end at
 * bytes TTE_STEM3_Y, +4, +8. */
#define TTE_STEM3_CW 18
#define TTE_STEM3_OC 8
#define TTE_STEM3_Y 168
#define TTE_STEM3_YS "168"
#define TTE_STEM3_ES "176"
#define TTE_STEM3_X(Q, J) "[%[xs], #(24*" #J "+8*" #Q ")]"
/* the x pair in (xe, xo) into pixel sums A (channel A's lanes in wa, wo) and B (vb, vo), from AI
 * and BI */
#define TTE_STEM3_MAC(A, B, AI, BI)                                                     \
    "smlad %[" A "], %[xe], %[wa], %[" AI "]\n\t"                                       \
    "smlad %[" A "], %[xo], %[wo], %[" A "]\n\t"                                        \
    "smlad %[" B "], %[xe], %[vb], %[" BI "]\n\t"                                       \
    "smlad %[" B "], %[xo], %[vo], %[" B "]\n\t"
/* weight word J of the channel pair at byte P of wp (channel B 72 bytes on) */
#define TTE_STEM3_WLD(P, J)                                                             \
    "ldrd %[wa], %[wo], [%[wp], #(" #P "+4+8*" #J ")]\n\t"                              \
    "ldrd %[vb], %[vo], [%[wp], #(" #P "+76+8*" #J ")]\n\t"
/* the first word: the biases in a0 and b0 start pixels 1 and 2's sums, pixel 0's last */
#define TTE_STEM3_FIRST(P)                                                              \
    "ldr %[a0], [%[wp], #" #P "]\n\t"                                                   \
    "ldr %[b0], [%[wp], #(" #P "+72)]\n\t" TTE_STEM3_WLD(P, 0)                          \
    "ldrd %[xe], %[xo], " TTE_STEM3_X(1, 0) "\n\t" TTE_STEM3_MAC("a1", "b1", "a0", "b0") \
    "ldrd %[xe], %[xo], " TTE_STEM3_X(2, 0) "\n\t" TTE_STEM3_MAC("a2", "b2", "a0", "b0") \
    "ldrd %[xe], %[xo], " TTE_STEM3_X(0, 0) "\n\t" TTE_STEM3_MAC("a0", "b0", "a0", "b0")
#define TTE_STEM3_WORD(P, J)                                                            \
    TTE_STEM3_WLD(P, J)                                                                 \
    "ldrd %[xe], %[xo], " TTE_STEM3_X(0, J) "\n\t" TTE_STEM3_MAC("a0", "b0", "a0", "b0") \
    "ldrd %[xe], %[xo], " TTE_STEM3_X(1, J) "\n\t" TTE_STEM3_MAC("a1", "b1", "a1", "b1") \
    "ldrd %[xe], %[xo], " TTE_STEM3_X(2, J) "\n\t" TTE_STEM3_MAC("a2", "b2", "a2", "b2")
/* TTE_PWS_RQ on this block's registers: multiplier wa, e wo, K vb, vo free; y in xe, m in xo */
#define TTE_STEM3_RQ(A, ADDR)                                                           \
    "add %[vo], %[vb], %[" A "], asr #31\n\t"                                           \
    "smmlar %[" A "], %[" A "], %[wa], %[vo]\n\t"                                       \
    "asr %[" A "], %[" A "], %[wo]\n\t"                                                 \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"                                           \
    "strb %[" A "], " ADDR "\n\t"
/* channel C's (bytes, a string) output stage over the three pixels' sums S0..S2 */
#define TTE_STEM3_OUT1(C, S0, S1, S2)                                                   \
    "ldrd %[wa], %[wo], [%[wp], #(" C "+60)]\n\t"                                       \
    "ldr %[vb], [%[wp], #(" C "+68)]\n\t"                                               \
    TTE_STEM3_RQ(S1, "[%[xe], %[xo]]") TTE_STEM3_RQ(S2, "[%[xe], %[xo], lsl #1]")       \
    TTE_STEM3_RQ(S0, "[%[xe]], #1")
/* a channel pair at byte P of wp: its seven words, then both channels' output stage */
#define TTE_STEM3_PAIR(P)                                                               \
    TTE_STEM3_FIRST(P) TTE_STEM3_WORD(P, 1) TTE_STEM3_WORD(P, 2) TTE_STEM3_WORD(P, 3)   \
    TTE_STEM3_WORD(P, 4) TTE_STEM3_WORD(P, 5) TTE_STEM3_WORD(P, 6)                      \
    "ldrd %[xe], %[xo], [%[xs], #" TTE_STEM3_YS "]\n\t"                                 \
    TTE_STEM3_OUT1(#P, "a0", "a1", "a2") TTE_STEM3_OUT1("(" #P "+72)", "b0", "b1", "b2") \
    "str %[xe], [%[xs], #" TTE_STEM3_YS "]\n\t"

/* every channel from lay on (a multiple of four: two pairs a loop pass, to xs's
 * layout end) over the three pixels widened in xs */
static TTE_ALWAYS_INLINE void stem3_pairs(const uint32_t *xs, const uint32_t *lay)
{
    int32_t a0, a1, a2, b0, b1, b2;
    uint32_t wa, wo, vb, vo, xe, xo;
    const uint32_t *wp = lay;
    __asm__ volatile("1:\n\t" TTE_STEM3_PAIR(0) TTE_STEM3_PAIR(144)
                     "add %[wp], %[wp], #288\n\t"
                     "ldr %[wa], [%[xs], #" TTE_STEM3_ES "]\n\t"
                     "cmp %[wp], %[wa]\n\t"
                     "bne 1b"
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [b0] "=&r"(b0), [b1] "=&r"(b1),
                       [b2] "=&r"(b2), [wa] "=&r"(wa), [wo] "=&r"(wo), [vb] "=&r"(vb), [vo] "=&r"(vo),
                       [xe] "=&r"(xe), [xo] "=&r"(xo), [wp] "+r"(wp)
                     : [xs] "r"(xs)
                     : "cc", "memory");
}

/* Where a run of stem3's groups finds its windows: the first tap of the first group's first
 * window, the bytes from a window's to the next one's and from a row of taps to the next, nz and
 * zp24 as stem_widen takes them; the bytes from where a group's pass leaves the outputs' pointer
 * to the next group's first output (2 m). */
typedef struct {
    const int8_t *src;
    int32_t step, rstride;
    uint32_t nz, zp24;
    int32_t adv;
} stem3_src_t;

/* n groups of three pixels one after the other in a row of outputs, every window inside the
 * image (from s on; n 0: the three windows already in xs), their outputs from xs's pointer on;
 * cut: every window's third row below the image, the other two inside */
static TTE_ALWAYS_INLINE void stem3_groups_any(uint32_t *xs, const uint32_t *lay, const stem3_src_t *s, int32_t n,
                                               const int32_t cut)
{
    const int8_t *src = s->src;
    do {
        if (n > 0) {
            stem_widen_any(src, s->step, s->rstride, xs, s->nz, s->zp24, 3, 24, cut, 0);
            src += 3 * s->step;
        }
        stem3_pairs(xs, lay);
        xs[TTE_STEM3_Y / 4] += (uint32_t)s->adv;
    } while (--n > 0);
}

TTE_NOINLINE static void stem3_groups(uint32_t *xs, const uint32_t *lay, const stem3_src_t *s, int32_t n)
{
    stem3_groups_any(xs, lay, s, n, 0);
}

/* stem3_groups for a row whose windows' third row is below the image (the last output row of
 * TensorFlow's 'same' padding): no window byte by byte */
TTE_NOINLINE static void stem3_groups_cut(uint32_t *xs, const uint32_t *lay, const stem3_src_t *s, int32_t n)
{
    stem3_groups_any(xs, lay, s, n, 1);
}

/* Whether stem3 takes the conv of at most TTE_STEM3_OC output channels (over more, chunks of
 * eight, each widening the windows again, cost more than stem3 saves: stem_pass8_rq, as the
 * caller decides first): the RGB stem's window (3x3 over three channels, rows of taps
 * contiguous, the image at least a window big), a multiple of four output channels, rows of
 * three outputs or more, a bias, tte_rq_fast_s8's output stage over all of int8 (fast, the
 * clamp range [-128, 127]), the input zero point inside int8 and every |bias| + 27 255 128
 * below 2**29 (the doubled sums inside int32, TTE_PWS_RQ). */
static int32_t stem3_fits(const tte_conv2d_s8_params_t *p, int32_t fast, const int32_t *bias)
{
    const tte_conv2d_geom_t *g = &p->g;
    const uint32_t lim = (1u << 29) - 27u * 255u * 128u;
    uint32_t bad = 0;
    int32_t c;
    if (g->out_c % 4 != 0 || g->k_h != 3 || g->k_w != 3 || g->in_c != 3 || g->dil_w != 1
        || g->in_h < 1 + 2 * g->dil_h || g->in_w < 3 || g->out_w < 3 || bias == NULL || !fast || p->act_min != -128
        || p->act_max != 127 || p->in_zp < -128 || p->in_zp > 127) {
        return 0;
    }
    for (c = 0; c < g->out_c; ++c) {
        bad |= (uint32_t)bias[c] + (lim - 1u) >= 2u * lim - 1u;
    }
    return bad == 0;
}

/* the doubled lanes of weight word u, (2 w0, 2 w2) and (2 w1, 2 w3), at byte OFF (a constant)
 * of l with one STRD */
#define TTE_STEM3_LANES(l, OFF, U)                                                      \
    do {                                                                                \
        const uint32_t u_ = (U);                                                        \
        uint32_t e_, o_;                                                                \
        __asm__("sxtb16 %[e], %[u]\n\t"                                                 \
                "sxtab16 %[e], %[e], %[u]\n\t"                                          \
                "sxtb16 %[o], %[u], ror #8\n\t"                                         \
                "sxtab16 %[o], %[o], %[u], ror #8"                                       \
                : [e] "=&r"(e_), [o] "=&r"(o_)                                          \
                : [u] "r"(u_));                                                         \
        __asm__ volatile("strd %1, %2, [%0, %3]" : : "r"(l), "r"(e_), "r"(o_), "i"(OFF) : "memory"); \
    } while (0)

/* The m channels of w (27 bytes each) laid out at lay as stem3_pairs reads them */
static void stem3_layout(const tte_conv2d_s8_params_t *p, const int8_t *w, const int32_t *bias, int32_t m,
                         uint32_t *lay)
{
    const uint32_t zp2 = (uint32_t)(2 * p->out_zp + 1);
    const int32_t *const mult = p->mult, *const shift = p->shift;
    int32_t c;
    for (c = 0; c < m; ++c, w += 27, lay += TTE_STEM3_CW) {
        const int32_t mu = mult[c], e = mu != 0 ? ~shift[c] : 0;
        lay[0] = 2u * (uint32_t)bias[c];
        TTE_STEM3_LANES(lay, 4, load4(w));
        TTE_STEM3_LANES(lay, 12, load4(w + 4));
        TTE_STEM3_LANES(lay, 20, load4(w + 8));
        TTE_STEM3_LANES(lay, 28, load4(w + 12));
        TTE_STEM3_LANES(lay, 36, load4(w + 16));
        TTE_STEM3_LANES(lay, 44, load4(w + 20));
        /* the last word's three bytes (from byte 23's word shifted: no byte past the channel read) */
        TTE_STEM3_LANES(lay, 52, load4(w + 23) >> 8);
        lay[15] = (uint32_t)mu;
        lay[16] = (uint32_t)e;
        lay[17] = zp2 << e;
    }
}

/* stem_widen into stem3's three-pixel buffer (cnt windows from slot 0 of dst on) */
TTE_NOINLINE static void stem3_widen(const int8_t *src, int32_t step, int32_t rstride, uint32_t *dst, uint32_t nz,
                                     uint32_t zp24, int32_t cnt)
{
    stem_widen(src, step, rstride, dst, nz, zp24, cnt, 24);
}

/* One window at src into stem3's buffer at dst whose third row is below the image (cut) or
 * whose third column is right of it (right), or both: the rest read by words, not byte by byte */
TTE_NOINLINE static void stem3_widen_cut(const int8_t *src, int32_t rstride, uint32_t *dst, uint32_t nz, uint32_t zp24,
                                         int32_t cut, int32_t right)
{
    if (!right) {
        stem_widen_any(src, 0, rstride, dst, nz, zp24, 1, 24, 1, 0);
    } else if (cut) {
        stem_widen_any(src, 0, rstride, dst, nz, zp24, 1, 24, 1, 1);
    } else {
        stem_widen_any(src, 0, rstride, dst, nz, zp24, 1, 24, 0, 1);
    }
}

/* stem_edge into stem3's three-pixel buffer */
TTE_NOINLINE static void stem3_edge(const int8_t *xb, int32_t iy0, int32_t ix0, int32_t in_h, int32_t in_w,
                                    int32_t dil_h, uint32_t *dst, uint32_t nz, uint32_t zz, int8_t *bytes)
{
    stem_edge(xb, iy0, ix0, in_h, in_w, dil_h, dst, nz, zz, bytes, 6, 0);
}

/* the first output of stem3's group k of a row (ng groups): 3 k, the last one's out_w - 3 */
static TTE_ALWAYS_INLINE int32_t stem3_ox(int32_t k, int32_t ng, int32_t out_w)
{
    return k + 1 < ng ? 3 * k : out_w - 3;
}

/* The conv where stem3_fits over its channels' layout lay (stem3_layout's): every row's pixels
 * three at a time (a row's last three where its width is not a multiple of three, computing one
 * or two pixels again): groups whose windows are all inside the image widened and computed in one
 * call a run (stem3_groups), the others with their windows widened one by one. */
static TTE_ALWAYS_INLINE void stem3_rows(const tte_conv2d_s8_params_t *p, const int8_t *x, const uint32_t *lay,
                                         int8_t *y, const int32_t edges)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t M = g->out_c, in_w = g->in_w, out_w = g->out_w, sw = g->stride_w, pl = g->pad_left;
    const int32_t iy_max = g->in_h - 1 - 2 * g->dil_h, ix_max = in_w - 3;
    const uint32_t zz = 0x01010101u * (uint8_t)p->in_zp;
    /* ng groups a row; [g0, g1) those whose windows are inside the image where their rows are;
     * groups before gc are 3 outputs apart (a run) */
    const int32_t ng = (out_w + 2) / 3, gc = out_w % 3 == 0 ? ng : ng - 1;
    int32_t g0 = 0, g1;
    uint32_t xs[TTE_STEM3_Y / 4 + 4] __attribute__((aligned(8)));
    uint32_t bytes[9];
    stem3_src_t s;
    int32_t b, oy, k, q;
    s.step = 3 * sw;
    s.rstride = g->dil_h * in_w * 3;
    s.nz = pack16(-p->in_zp, -p->in_zp);
    s.zp24 = (uint32_t)(uint8_t)p->in_zp << 24;
    while (g0 < ng && stem3_ox(g0, ng, out_w) * sw - pl < 0) {
        ++g0;
    }
    /* from the row's end: a group or two past the image's right edge at most where padded */
    g1 = ng;
    while (g1 > g0 && (stem3_ox(g1 - 1, ng, out_w) + 2) * sw - pl > ix_max) {
        --g1;
    }
    xs[TTE_STEM3_Y / 4 + 1] = (uint32_t)M;
    xs[TTE_STEM3_Y / 4 + 2] = (uint32_t)(uintptr_t)(lay + M * TTE_STEM3_CW);
    s.adv = 2 * M;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *const xb = x + (size_t)b * g->in_h * in_w * 3;
        for (oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy = oy * g->stride_h - g->pad_top;
            const int32_t inside = (uint32_t)iy <= (uint32_t)iy_max;
            /* the windows' third row below the image, the first two inside */
            const int32_t cut = edges && !inside && iy >= 0 && iy + g->dil_h < g->in_h;
            int8_t *const yr = y + ((size_t)b * g->out_h + oy) * out_w * M;
            for (k = 0; k < ng;) {
                const int32_t ox = stem3_ox(k, ng, out_w), ix = ox * sw - pl;
                xs[TTE_STEM3_Y / 4] = (uint32_t)(uintptr_t)(yr + (size_t)ox * M);
                if ((inside || cut) && k >= g0 && k < g1) {
                    const int32_t run = (g1 < gc ? g1 : gc) - k;
                    s.src = xb + ((size_t)iy * in_w + ix) * 3;
                    if (cut) {
                        stem3_groups_cut(xs, lay, &s, run > 1 ? run : 1);
                    } else {
                        stem3_groups(xs, lay, &s, run > 1 ? run : 1);
                    }
                    k += run > 1 ? run : 1;
                    continue;
                }
                for (q = 0; q < 3; ++q) {
                    const int32_t iq = ix + q * sw;
                    /* its third column just right of the image, the first two inside */
                    const int32_t right = iq == ix_max + 1 && iq >= 1;
                    if (inside && (uint32_t)iq <= (uint32_t)ix_max) {
                        stem3_widen(xb + ((size_t)iy * in_w + iq) * 3, s.step, s.rstride, xs + 2 * q, s.nz,
                                    s.zp24, 1);
                    } else if (edges && (inside || cut) && ((uint32_t)iq <= (uint32_t)ix_max || right)) {
                        stem3_widen_cut(xb + ((size_t)iy * in_w + iq) * 3, s.rstride, xs + 2 * q, s.nz, s.zp24, cut,
                                        right);
                    } else {
                        stem3_edge(xb, iy, iq, g->in_h, in_w, g->dil_h, xs + 2 * q, s.nz, zz,
                                   (int8_t *)(void *)bytes);
                    }
                }
                stem3_groups(xs, lay, &s, 0);
                ++k;
            }
        }
    }
}

/* The conv where stem3_fits: its channels' layout on the stack, then stem3_rows */
TTE_NOINLINE static void stem3_run(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                                   const int32_t *bias, int8_t *y)
{
    uint32_t lay[TTE_STEM3_OC * TTE_STEM3_CW] __attribute__((aligned(8)));
    stem3_layout(p, w, bias, p->g.out_c, lay);
    stem3_rows(p, x, lay, y, 0);
}

/* stem3_rows over a compile-time layout, the windows cut by the bottom or right padding by words
 * (stem3_groups_cut, stem3_widen_cut: only an image that names this function links them) */
TTE_NOINLINE void tte_conv2d_s8_stem3_prep(const tte_conv2d_s8_params_t *p, const int8_t *x, const uint32_t *lay,
                                           int8_t *y)
{
    stem3_rows(p, x, lay, y, 1);
}

/* At most TTE_CONV_WIN window values: the buffers on the stack (no more bytes than the stem's
 * kernel before kept there; the paper models' stem sits at their arena's peak), the sums of
 * four channels at a time. */
TTE_NOINLINE static void small_window_gemm(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                           const int8_t *w, const int32_t *bias, int8_t *y)
{
    uint64_t scratch[TTE_GEMM_BYTES(TTE_CONV_WIN, 4) / 8];
    gemm_run(p, fast, x, w, bias, y, scratch, TTE_CONV_WIN, 4, 1);
}

/* the RGB stem through stem3 where it fits, else the GEMM; each path's buffers in its own frame */
TTE_NOINLINE static void small_window_stem3(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                            const int8_t *w, const int32_t *bias, int8_t *y)
{
    if (stem3_fits(p, fast, bias)) {
        stem3_run(p, x, w, bias, y);
    } else {
        small_window_gemm(p, fast, x, w, bias, y);
    }
}

/* more output channels than stem3 takes (the paper models' stems) straight to the GEMM, before
 * stem3_fits' other tests */
TTE_HOT TTE_NOINLINE void tte_conv2d_s8_small_window_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                                const int8_t *w, const int32_t *bias, int8_t *y)
{
    if (p->g.out_c > TTE_STEM3_OC) {
        small_window_gemm(p, fast, x, w, bias, y);
    } else {
        small_window_stem3(p, fast, x, w, bias, y);
    }
}

TTE_HOT TTE_NOINLINE void tte_conv2d_s8_gemm_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, const int8_t *w,
                            const int32_t *bias, int8_t *y, void *scratch)
{
    gemm_run(p, fast, x, w, bias, y, scratch, TTE_GEMM_K, TTE_GEMM_OCB, 0);
}
#endif

#if !defined(__ARM_FEATURE_DSP)
static void gather_window(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox, int16_t *dst)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t iy0 = oy * g->stride_h - g->pad_top;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    const int32_t cin = g->in_c;
    int32_t ky, kx, c, i = 0;
    for (ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = iy0 + ky * g->dil_h;
        for (kx = 0; kx < g->k_w; ++kx) {
            const int32_t ix = ix0 + kx * g->dil_w;
            const int8_t *xp = NULL;
            if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w) {
                xp = xb + ((size_t)iy * g->in_w + ix) * cin;
            }
            for (c = 0; c < cin; ++c, ++i) {
                dst[i] = (int16_t)(xp != NULL ? (int32_t)xp[c] - p->in_zp : 0);
            }
        }
    }
}

TTE_NOINLINE void tte_conv2d_s8_small_window(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                            const int8_t *w, const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t n = g->k_h * g->k_w * g->in_c;
    const rq_t r = rq_init(p, fast);
    int16_t win[TTE_CONV_WIN];
    int32_t b, oy, ox, oc, c;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        for (oy = 0; oy < g->out_h; ++oy) {
            for (ox = 0; ox < g->out_w; ++ox) {
                int8_t *yo = y + (((size_t)b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                gather_window(p, xb, oy, ox, win);
                for (oc = 0; oc < g->out_c; ++oc) {
                    const int8_t *wp = w + (size_t)oc * n;
                    int32_t acc = bias ? bias[oc] : 0;
                    for (c = 0; c < n; ++c) {
                        acc += (int32_t)win[c] * (int32_t)wp[c];
                    }
                    yo[oc] = rq(&r, acc, oc);
                }
            }
        }
    }
}
#endif

#if !defined(__ARM_FEATURE_DSP)
/* The portable sums of tte_conv2d_s8_stem3_prep: per output channel (TTE_STEM3_CW words of lay)
 * the doubled bias, then the window's 27 taps (ky, kx, c) as the int16 lanes (2 w0, 2 w2), (2 w1,
 * 2 w3) of each four, on x - zp (0 in the padding); the output stage from the layout's multiplier
 * and e = ~shift (a multiplier 0 gives out_zp for any shift) */
void tte_conv2d_s8_stem3_prep(const tte_conv2d_s8_params_t *p, const int8_t *x, const uint32_t *lay, int8_t *y)
{
    enum { CW = 18 };
    const tte_conv2d_geom_t *g = &p->g;
    int32_t b, oy, ox, oc, ky, kx, c;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *const xb = x + (size_t)b * g->in_h * g->in_w * 3;
        for (oy = 0; oy < g->out_h; ++oy) {
            for (ox = 0; ox < g->out_w; ++ox) {
                int8_t *const yo = y + (((size_t)b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                for (oc = 0; oc < g->out_c; ++oc) {
                    const uint32_t *const lc = lay + (size_t)oc * CW;
                    int32_t d = (int32_t)lc[0];
                    for (ky = 0; ky < 3; ++ky) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                        for (kx = 0; kx < 3; ++kx) {
                            const int32_t ix = ox * g->stride_w - g->pad_left + kx;
                            for (c = 0; c < 3; ++c) {
                                const int32_t t = 9 * ky + 3 * kx + c;
                                const uint32_t word = lc[1 + 2 * (t / 4) + (t & 1)];
                                const int32_t w2 = (int16_t)(uint16_t)((t & 2) ? word >> 16 : word & 0xFFFFu);
                                if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w) {
                                    d += ((int32_t)xb[((size_t)iy * g->in_w + ix) * 3 + c] - p->in_zp) * w2;
                                }
                            }
                        }
                    }
                    yo[oc] = (int8_t)tte_rq_exact(d / 2, (int32_t)lc[15], ~(int32_t)lc[16], p->out_zp, -128, 127);
                }
            }
        }
    }
}
#endif
