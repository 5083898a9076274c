/* int8 regular conv2d (groups 1) whose window holds more than TTE_CONV_WIN values: ResNet's
 * 3x3 convs over 16-64 channels (DS-CNN's 10x4 first layer over one channel goes to
 * conv_stem_s8.c's GEMM, tte_conv_gemm). ARMv7E-M DSP only (under
 * __ARM_FEATURE_DSP); elsewhere tte_conv2d_s8 runs the generic loop nest, which gives the
 * same bytes (integer sums; tests/test_qemu_kernels.py).
 *
 * Four output pixels at a time, without an im2col of the image: the four windows' x - zp
 * (zero for a tap in the padding) are widened to int16 once, word by word interleaved
 * (pixel 0's even and odd lanes, then pixel 1's, ...), TTE_WIN_CHUNK values at a time;
 * every output channel then runs over the chunk with SMLAD, each weight word unpacked once
 * for the four pixels. */
#include "tte/internal/optimized.h"
#include <string.h>

#include "tte/internal/conv_s8.h"

#if defined(__ARM_FEATURE_DSP)

/* window values widened per pass (scratch: 8 bytes a value; 16 k + 8: half a 3x3 window of
 * 16 channels, a quarter of 32, an eighth of 64) */
#define TTE_WIN_CHUNK 72

/* value j of the chunk for pixel slot s (0-3): word 8 (j / 4) + 2 s + j % 2, halfword
 * (j / 2) % 2, the lanes SXTB16 and SXTB16 ROR #8 give a weight word */
static inline size_t win4_index(int32_t j, int32_t s)
{
    return (size_t)2 * (8 * (j >> 2) + 2 * s + (j & 1)) + ((j >> 1) & 1);
}

/* values [a, b) of the chunk for slot s: x - zp from src (value a), or 0 when src is NULL */
static void win4_fill(int16_t *buf, int32_t s, int32_t a, int32_t b, const int8_t *src, int32_t zp, uint32_t zz)
{
    for (; a < b && (a & 3); ++a) {
        buf[win4_index(a, s)] = (int16_t)(src ? *src++ - zp : 0);
    }
    if (a + 3 < b) {
        /* whole words: each group of four values sixteen halfwords on */
        uint32_t *dst = (uint32_t *)(void *)(buf + win4_index(a, s));
        const int32_t groups = (b - a) >> 2;
        int32_t q;
        if (src) {
            for (q = 0; q < groups; ++q) {
                const uint32_t u = load4(src + 4 * q);
                dst[8 * q] = tte_ssub16(tte_sxtb16(u), zz);
                dst[8 * q + 1] = tte_ssub16(tte_sxtb16_ror8(u), zz);
            }
            src += 4 * groups;
        } else {
            for (q = 0; q < groups; ++q) {
                dst[8 * q] = 0;
                dst[8 * q + 1] = 0;
            }
        }
        a += 4 * groups;
    }
    for (; a < b; ++a) {
        buf[win4_index(a, s)] = (int16_t)(src ? *src++ - zp : 0);
    }
}

#define TTE_WIN4_OPERANDS                                                                                   \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xp), [wp] "+r"(wp), [e] "=&r"(e), \
      [o] "=&r"(o), [w] "=&r"(w), [we] "=&r"(we)                                                             \
    : [end] "r"(end)                                                                                         \
    : "cc", "memory"

/* a0..a3 (pixels 0-3 of one channel) += the values of the widened buffer buf up to end
 * (a positive multiple of 8 values) against the weights at wp0: sixteen values per loop
 * pass, eight more first when their count is not a multiple of 16 (odd8). */
#define TTE_WIN_DOT41(buf, end, odd8, wp0)                                                                \
    do {                                                                                                  \
        const int16_t *xp = (buf);                                                                        \
        const int8_t *wp = (wp0);                                                                         \
        uint32_t e, o, w, we;                                                                             \
        if (odd8) {                                                                                       \
            __asm__ volatile(TTE_WIN4_WORD TTE_WIN4_WORD TTE_WIN4_OPERANDS);                              \
        }                                                                                                 \
        if (xp != (end)) {                                                                                \
            __asm__ volatile("1:\n\t" TTE_WIN4_WORD TTE_WIN4_WORD TTE_WIN4_WORD TTE_WIN4_WORD               \
                             "cmp %[xp], %[end]\n\t"                                                      \
                             "bne 1b" TTE_WIN4_OPERANDS);                                                 \
        }                                                                                                 \
    } while (0)

/* Window values [c0, c1) of output pixel (oy, ox) of image xb into slot s (relative to c0)
 * of a four-slot buffer (four), else of a two-slot one (win_fill's, conv_s8.h). */
#define WIN_FILL(...) (four ? win4_fill(__VA_ARGS__) : win_fill(__VA_ARGS__))
static void win_widen(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox, int32_t c0,
                      int32_t c1, int16_t *buf, int32_t s, uint32_t zz, int32_t four)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c, RW = g->k_w * C;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    int32_t ky;
    for (ky = c0 / RW; ky * RW < c1 && ky < g->k_h; ++ky) {
        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
        const int32_t rs = ky * RW, re = rs + RW;
        int32_t vs = re, ve = re; /* the taps of this row inside the image: [vs, ve) */
        const int8_t *row = NULL;
        if (iy >= 0 && iy < g->in_h) {
            int32_t kx0 = 0, kx1 = g->k_w;
            while (kx0 < kx1 && ix0 + kx0 * g->dil_w < 0) {
                ++kx0;
            }
            while (kx1 > kx0 && ix0 + (kx1 - 1) * g->dil_w >= g->in_w) {
                --kx1;
            }
            if (g->dil_w == 1 || kx1 - kx0 <= 1) {
                vs = rs + kx0 * C;
                ve = rs + kx1 * C;
                row = xb + ((size_t)iy * g->in_w + ix0 + kx0 * g->dil_w) * C;
            } else {
                /* dilated taps are not contiguous: one tap at a time */
                int32_t kx;
                for (kx = 0; kx < g->k_w; ++kx) {
                    const int32_t a = rs + kx * C, b = a + C;
                    const int32_t lo = a > c0 ? a : c0, hi = b < c1 ? b : c1;
                    const int32_t ix = ix0 + kx * g->dil_w;
                    const int32_t in = kx >= kx0 && kx < kx1;
                    if (lo < hi) {
                        WIN_FILL(buf, s, lo - c0, hi - c0,
                                 in ? xb + ((size_t)iy * g->in_w + ix) * C + (lo - a) : NULL, p->in_zp, zz);
                    }
                }
                continue;
            }
        }
        {
            /* [rs, vs) and [ve, re) are padding, [vs, ve) comes from row; all clipped to the chunk */
            int32_t lo = rs > c0 ? rs : c0, hi = vs < c1 ? vs : c1;
            if (lo < hi) {
                WIN_FILL(buf, s, lo - c0, hi - c0, NULL, p->in_zp, zz);
            }
            lo = vs > c0 ? vs : c0;
            hi = ve < c1 ? ve : c1;
            if (lo < hi) {
                WIN_FILL(buf, s, lo - c0, hi - c0, row + (lo - vs), p->in_zp, zz);
            }
            lo = ve > c0 ? ve : c0;
            hi = re < c1 ? re : c1;
            if (lo < hi) {
                WIN_FILL(buf, s, lo - c0, hi - c0, NULL, p->in_zp, zz);
            }
        }
    }
}

/* Where win4_pass's loop over channels finds the chunk, the step from the end of one
 * channel's weights in the chunk to the next channel's, and the end of the sums. */
typedef struct {
    const int16_t *buf;
    int32_t wstep;
    const int32_t *acc_end;
} win4_pass_t;

/* acc[4 c .. 4 c + 3] (pixels 0-3 of channel c < nch) += the n widened values of buf
 * against channel c's weights, w0 + c * L; the whole loop over the channels in registers.
 * n is a positive multiple of 16, or with pre8 eight more than one (eight values first). */
#define TTE_WIN4_PASS(PRE)                                                                              \
    __asm__ volatile("2:\n\t"                                                                           \
                     "ldrd %[a0], %[a1], [%[ao]]\n\t"                                                   \
                     "ldrd %[a2], %[a3], [%[ao], #8]\n\t"                                               \
                     "ldr %[xp], [%[pp]]\n\t" PRE "1:\n\t" TTE_WIN4_WORD TTE_WIN4_WORD TTE_WIN4_WORD       \
                         TTE_WIN4_WORD "cmp %[xp], %[end]\n\t"                                            \
                                       "bne 1b\n\t"                                                      \
                                       "strd %[a0], %[a1], [%[ao]], #16\n\t"                             \
                                       "strd %[a2], %[a3], [%[ao], #-8]\n\t"                             \
                                       "ldr %[w], [%[pp], #4]\n\t"                                       \
                                       "add %[wp], %[wp], %[w]\n\t"                                      \
                                       "ldr %[w], [%[pp], #8]\n\t"                                       \
                                       "cmp %[ao], %[w]\n\t"                                             \
                                       "bne 2b"                                                          \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [xp] "=&r"(xp),   \
                       [wp] "+r"(wp), [ao] "+r"(ao), [e] "=&r"(e), [o] "=&r"(o), [w] "=&r"(w), [we] "=&r"(we) \
                     : [end] "r"(end), [pp] "r"(pp)                                                      \
                     : "cc", "memory")

TTE_NOINLINE static void win4_pass(const int16_t *buf, int32_t n, int32_t pre8, const int8_t *w0, int32_t L,
                                   int32_t *acc, int32_t nch)
{
    const win4_pass_t prm = {buf, L - n, acc + 4 * nch};
    const win4_pass_t *pp = &prm;
    const int16_t *const end = buf + 4 * n;
    const int8_t *wp = w0;
    int32_t *ao = acc;
    const int16_t *xp;
    int32_t a0, a1, a2, a3;
    uint32_t e, o, w, we;
    if (pre8) {
        TTE_WIN4_PASS(TTE_WIN4_WORD TTE_WIN4_WORD);
    } else {
        TTE_WIN4_PASS("");
    }
}

/* Window values [c0, c1) (multiples of 4, as is a row of taps: rw values; c0 in row ky of
 * taps) of a pixel whose window lies inside the image with contiguous taps in a row, into
 * slot s of a buffer of gs words a group of four values (two per slot): row ky of the
 * window starts at x0 + ky * rstride. */
static TTE_ALWAYS_INLINE void win4_widen_inside(const int8_t *x0, int32_t rstride, int32_t rw, int32_t c0, int32_t c1,
                                                int32_t ky, int16_t *buf, int32_t s, uint32_t nz, int32_t gs)
{
    uint32_t *dst = (uint32_t *)(void *)buf + 2 * s;
    const int8_t *row = x0 + (size_t)ky * rstride;
    int32_t off = c0 - ky * rw, c = c0;
    while (c < c1) {
        const int32_t n = rw - off < c1 - c ? rw - off : c1 - c;
        const int8_t *src = row + off;
        const int8_t *const end = src + n;
        if (n & 4) {
            const uint32_t u = load4(src);
            dst[0] = tte_sxtab16(nz, u);
            dst[1] = tte_sxtab16_ror8(nz, u);
            src += 4;
            dst += gs;
        }
        for (; src != end; src += 8, dst += 2 * gs) {
            /* two words a pass */
            const uint32_t u = load4(src), v = load4(src + 4);
            dst[0] = tte_sxtab16(nz, u);
            dst[1] = tte_sxtab16_ror8(nz, u);
            dst[gs] = tte_sxtab16(nz, v);
            dst[gs + 1] = tte_sxtab16_ror8(nz, v);
        }
        c += n;
        off = 0;
        row += rstride;
    }
}

/* Window values [c0, c1) (multiples of 4) of output pixel (oy, ox) into slot s, when every
 * tap is whole words (in_c a multiple of 4): tap by tap, x - zp from the image or zeros
 * for a tap in the padding; gs as for win4_widen_inside. */
static void win4_widen_taps(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox, int32_t c0,
                            int32_t c1, int16_t *buf, int32_t s, uint32_t nz, int32_t gs)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c;
    const int32_t iy0 = oy * g->stride_h - g->pad_top, ix0 = ox * g->stride_w - g->pad_left;
    uint32_t *dst = (uint32_t *)(void *)buf + 2 * s;
    int32_t tap = 0, ky = 0, kx = 0, c = 0;
    while ((tap + 1) * C <= c0) {
        ++tap;
        if (++kx == g->k_w) {
            kx = 0;
            ++ky;
        }
    }
    for (c = c0; c < c1; ++tap) {
        const int32_t iy = iy0 + ky * g->dil_h, ix = ix0 + kx * g->dil_w;
        const int32_t end = (tap + 1) * C < c1 ? (tap + 1) * C : c1;
        const int32_t words = (end - c) >> 2;
        int32_t q;
        if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w) {
            const int8_t *src = xb + ((size_t)iy * g->in_w + ix) * C + (c - tap * C);
            for (q = 0; q < words; ++q, src += 4, dst += gs) {
                const uint32_t u = load4(src);
                dst[0] = tte_sxtab16(nz, u);
                dst[1] = tte_sxtab16_ror8(nz, u);
            }
        } else {
            for (q = 0; q < words; ++q, dst += gs) {
                dst[0] = 0;
                dst[1] = 0;
            }
        }
        c = end;
        if (++kx == g->k_w) {
            kx = 0;
            ++ky;
        }
    }
}

/* window values per eight-pixel pass (16 bytes of scratch a value; a multiple of 16 that
 * divides 9 x 16) and output channels whose sums win8_pass keeps (32 bytes each) */
#define TTE_WIN8_CHUNK 48
#define TTE_WIN8_OCB 16

TTE_NOINLINE static void win8_pass(const int16_t *buf, int32_t n, int32_t pre8, const int8_t *w0, int32_t L,
                                   int32_t *acc, int32_t nch)
{
    win8_pass_t prm = {buf, buf + 8 * n, L - n, acc + 8 * nch, acc, NULL};
    const int8_t *wp = w0;
    const int16_t *xp;
    int32_t a0, a1, a2, a3, a4, a5, a6, a7;
    uint32_t e, o, w, we;
    if (n == TTE_WIN8_CHUNK) {
        /* a whole chunk: its twelve words straight, no loop (so too 16 or 32 values: a 1x1) */
        TTE_WIN8_PASS(TTE_WIN8_WORD4 TTE_WIN8_WORD4 TTE_WIN8_WORD4);
    } else if (n == 16) {
        TTE_WIN8_PASS(TTE_WIN8_WORD4);
    } else if (n == 32) {
        TTE_WIN8_PASS(TTE_WIN8_WORD4 TTE_WIN8_WORD4);
    } else if (pre8) {
        TTE_WIN8_PASS(TTE_WIN8_WORD TTE_WIN8_WORD TTE_WIN8_LOOP);
    } else {
        TTE_WIN8_PASS(TTE_WIN8_LOOP);
    }
}

/* One word (four values) of a chunk for the eight-pixel buffer: x - zp from byte k4 of src
 * into the two words k64 bytes after dst. */
#define TTE_WIN8_WIDEN(k4, k64)                                                         \
    "ldr %[u], [%[s], #" k4 "]\n\t"                                                    \
    "sxtab16 %[a], %[nz], %[u]\n\t"                                                    \
    "sxtab16 %[b], %[nz], %[u], ror #8\n\t"                                            \
    "strd %[a], %[b], [%[d], #" k64 "]\n\t"

/* The TTE_WIN8_CHUNK (48) values at src, x - zp, into the slot at dst of the eight-pixel
 * buffer (two words every sixteen): straight code, no loop. */
static TTE_ALWAYS_INLINE void win8_widen_chunk(const int8_t *src, uint32_t *dst, uint32_t nz)
{
    uint32_t u, a, b;
    __asm__ volatile(TTE_WIN8_WIDEN("0", "0") TTE_WIN8_WIDEN("4", "64") TTE_WIN8_WIDEN("8", "128")
                         TTE_WIN8_WIDEN("12", "192") TTE_WIN8_WIDEN("16", "256") TTE_WIN8_WIDEN("20", "320")
                             TTE_WIN8_WIDEN("24", "384") TTE_WIN8_WIDEN("28", "448") TTE_WIN8_WIDEN("32", "512")
                                 TTE_WIN8_WIDEN("36", "576") TTE_WIN8_WIDEN("40", "640")
                                     TTE_WIN8_WIDEN("44", "704")
                     : [u] "=&r"(u), [a] "=&r"(a), [b] "=&r"(b)
                     : [s] "r"(src), [d] "r"(dst), [nz] "r"(nz)
                     : "memory");
}

/* n values (a multiple of 4) at src, x - zp, into the slot at dst of the eight-pixel buffer
 * (two words every sixteen): two words a loop pass, one first when n is not a multiple of 8. */
static TTE_ALWAYS_INLINE void win8_run(const int8_t *src, int32_t n, uint32_t *dst, uint32_t nz)
{
    const int8_t *const end = src + n;
    uint32_t u, a, c;
    if (n & 4) {
        __asm__ volatile("ldr %[u], [%[s]], #4\n\t"
                         "sxtab16 %[a], %[nz], %[u]\n\t"
                         "sxtab16 %[c], %[nz], %[u], ror #8\n\t"
                         "strd %[a], %[c], [%[d]], #64"
                         : [u] "=&r"(u), [a] "=&r"(a), [c] "=&r"(c), [s] "+r"(src), [d] "+r"(dst)
                         : [nz] "r"(nz)
                         : "memory");
    }
    if (src != end) {
        __asm__ volatile("1:\n\t"
                         "ldr %[u], [%[s], #4]\n\t"
                         "sxtab16 %[a], %[nz], %[u]\n\t"
                         "sxtab16 %[c], %[nz], %[u], ror #8\n\t"
                         "strd %[a], %[c], [%[d], #64]\n\t"
                         "ldr %[u], [%[s]], #8\n\t"
                         "sxtab16 %[a], %[nz], %[u]\n\t"
                         "sxtab16 %[c], %[nz], %[u], ror #8\n\t"
                         "strd %[a], %[c], [%[d]], #128\n\t"
                         "cmp %[s], %[e]\n\t"
                         "bne 1b"
                         : [u] "=&r"(u), [a] "=&r"(a), [c] "=&r"(c), [s] "+r"(src), [d] "+r"(dst)
                         : [nz] "r"(nz), [e] "r"(end)
                         : "cc", "memory");
    }
}

/* n zeros (a multiple of 4) into the slot at dst of the eight-pixel buffer. */
static TTE_ALWAYS_INLINE void win8_zero(int32_t n, uint32_t *dst)
{
    const uint32_t z = 0;
    if (n & 4) {
        __asm__ volatile("strd %[z], %[z], [%[d]], #64" : [d] "+r"(dst) : [z] "r"(z) : "memory");
        n -= 4;
    }
    if (n > 0) {
        __asm__ volatile("1:\n\t"
                         "strd %[z], %[z], [%[d], #64]\n\t"
                         "strd %[z], %[z], [%[d]], #128\n\t"
                         "subs %[n], %[n], #8\n\t"
                         "bne 1b"
                         : [d] "+r"(dst), [n] "+r"(n)
                         : [z] "r"(z)
                         : "cc", "memory");
    }
}

/* Values [c0, c0 + TTE_WIN8_CHUNK) of output pixel (oy, ox)'s window, all in row ky of taps
 * (dil_w 1, in_c a multiple of 4), into the slot at dst: the taps in the image, x - zp, are
 * contiguous; zeros for the padding before and after them. */
TTE_NOINLINE static void win8_widen_edge(const tte_conv2d_s8_params_t *p, const int8_t *xb, int32_t oy, int32_t ox, int32_t c0,
                            int32_t ky, uint32_t *dst, uint32_t nz)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t C = g->in_c;
    const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h, ix0 = ox * g->stride_w - g->pad_left;
    const int32_t off = c0 - ky * g->k_w * C, end = off + TTE_WIN8_CHUNK;
    /* the row's values in the image: [vs, ve), taps kx0 <= kx < kx1 */
    const int32_t kx0 = ix0 < 0 ? -ix0 : 0, kx1 = g->in_w - ix0 < g->k_w ? g->in_w - ix0 : g->k_w;
    int32_t vs = kx0 * C, ve = kx1 * C;
    if (iy < 0 || iy >= g->in_h || ve <= off || vs >= end || vs >= ve) {
        win8_zero(TTE_WIN8_CHUNK, dst);
        return;
    }
    vs = vs > off ? vs : off;
    ve = ve < end ? ve : end;
    win8_zero(vs - off, dst);
    win8_run(xb + (size_t)((iy * g->in_w + ix0) * C + vs), ve - vs, dst + 4 * (vs - off), nz);
    win8_zero(end - ve, dst + 4 * (ve - off));
}

/* output channels per pass of win4_pass (and of the C loop when a window takes several
 * chunks): their sums carry over between the chunks in scratch (16 bytes each) */
#define TTE_WIN4_OCB 32

/* The caller's scratch (TTE_CONV_WINDOW_SCRATCH bytes, 8-byte aligned; conv.h): the sums, then
 * the widened window values (8-byte aligned for LDRD). Kept off the stack so that the memory
 * plan accounts for them. */
#define TTE_WIN_ACC_WORDS (4 * TTE_WIN4_OCB)
#define TTE_WIN_BUF_VALUES (8 * TTE_WIN8_CHUNK > 4 * TTE_WIN_CHUNK ? 8 * TTE_WIN8_CHUNK : 4 * TTE_WIN_CHUNK)
typedef char tte_win_scratch_fits[4 * TTE_WIN_ACC_WORDS + 2 * TTE_WIN_BUF_VALUES <= TTE_CONV_WINDOW_SCRATCH
                                  && TTE_WIN_ACC_WORDS % 2 == 0 ? 1 : -1];

/* The sums of channels [c0, c1), `stride` (2, 4 or 8) of them a channel (one per pixel)
 * from acc on, set to the channel's bias (0 without). */
static TTE_ALWAYS_INLINE void win_acc_init(int32_t *acc, int32_t stride, const int32_t *bias, int32_t c0, int32_t c1)
{
    int32_t *const end = acc + (size_t)stride * (c1 - c0);
    if (bias == NULL) {
        memset(acc, 0, (size_t)stride * (c1 - c0) * sizeof *acc);
        return;
    }
    for (bias += c0; acc != end; acc += stride) {
        /* stride is a constant (2, 4 or 8) where this is inlined: the stores unrolled */
        const int32_t v = *bias++;
        acc[0] = acc[1] = v;
        if (stride > 2) {
            acc[2] = acc[3] = v;
        }
        if (stride > 4) {
            acc[4] = acc[5] = acc[6] = acc[7] = v;
        }
    }
}

/* Output pixels [i0, npx) of image xb (one or two: the tail of four-pixel passes) two at a
 * time, each pair of channels by win_dot22 (conv_s8.h) over chunks of 2 TTE_WIN_CHUNK
 * values; buf and acc are the caller's (4 TTE_WIN_CHUNK values, 2 M <= 4 TTE_WIN4_OCB
 * sums). Past the last pixel the last one repeats. */
static void win_pairs(const tte_conv2d_s8_params_t *p, const rq_t *r, const int8_t *xb, const int8_t *w,
                      const int32_t *bias, int8_t *yb, int32_t i0, int16_t *buf, int32_t *acc, uint32_t zz)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t L = g->k_h * g->k_w * g->in_c, M = g->out_c, chunk = 2 * TTE_WIN_CHUNK;
    const int32_t npx = g->out_h * g->out_w;
    int32_t i, oc, c0, j;
    for (i = i0; i < npx; i += 2) {
        const int32_t i1 = i + 1 < npx ? i + 1 : i;
        const int32_t oy0 = i / g->out_w, ox0 = i % g->out_w, oy1 = i1 / g->out_w, ox1 = i1 % g->out_w;
        win_acc_init(acc, 2, bias, 0, M);
        for (c0 = 0; c0 < L; c0 += chunk) {
            const int32_t n = L - c0 < chunk ? L - c0 : chunk;
            const int32_t n8 = n & ~7;
            win_widen(p, xb, oy0, ox0, c0, c0 + n, buf, 0, zz, 0);
            win_widen(p, xb, oy1, ox1, c0, c0 + n, buf, 1, zz, 0);
            const int8_t *wa = w + c0;
            for (oc = 0; oc < M; oc += 2, wa += 2 * L) {
                /* an odd last channel runs twice against itself (k = 0) */
                const int32_t two = oc + 1 < M;
                int32_t a[4] = {acc[2 * oc], acc[2 * oc + 1], two ? acc[2 * oc + 2] : 0, two ? acc[2 * oc + 3] : 0};
                if (n8 > 0) {
                    win_dot22(buf, wa, two ? L : 0, n8, a);
                }
                for (j = n8; j < n; ++j) {
                    const int32_t w0 = wa[j], w1 = two ? wa[L + j] : 0;
                    const int32_t x0 = buf[win_index(j, 0)], x1 = buf[win_index(j, 1)];
                    a[0] += x0 * w0;
                    a[1] += x1 * w0;
                    a[2] += x0 * w1;
                    a[3] += x1 * w1;
                }
                acc[2 * oc] = a[0];
                acc[2 * oc + 1] = a[1];
                if (two) {
                    acc[2 * oc + 2] = a[2];
                    acc[2 * oc + 3] = a[3];
                }
            }
        }
        {
            int8_t *y0 = yb + (size_t)i * M, *y1 = yb + (size_t)i1 * M;
            for (oc = 0; oc < M; ++oc) {
                y0[oc] = rq(r, acc[2 * oc], oc);
                y1[oc] = rq(r, acc[2 * oc + 1], oc);
            }
        }
    }
}

TTE_HOT void tte_conv2d_s8_window_dsp(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x,
                                      const int8_t *w, const int32_t *bias, int8_t *y, void *scratch)
{
    const tte_conv2d_geom_t *g = &p->g;
    const rq_t r = rq_init(p, fast);
    const int32_t L = g->k_h * g->k_w * g->in_c, M = g->out_c, RW = g->k_w * g->in_c;
    const int32_t npx = g->out_h * g->out_w;
    const int32_t ocb = L <= TTE_WIN_CHUNK ? M : TTE_WIN4_OCB;
    const int32_t rstride = g->dil_h * g->in_w * g->in_c;
    /* windows inside the image take the fast widening when each row of taps is whole words */
    const int32_t words = g->dil_w == 1 && RW % 4 == 0;
    /* chunks of 16 k values, or 16 k + 8 with k >= 1, for win4_pass */
    const int32_t last_n = L - (L - 1) / TTE_WIN_CHUNK * TTE_WIN_CHUNK;
    const int32_t pass4 = last_n % 16 == 0 || (last_n % 8 == 0 && last_n >= 24);
    /* the other windows tap by tap when every tap is whole words */
    const int32_t taps4 = g->in_c % 4 == 0;
    /* eight pixels a pass where every window is widened by words and every chunk is whole
     * loop passes */
    const int32_t last8 = L - (L - 1) / TTE_WIN8_CHUNK * TTE_WIN8_CHUNK;
    const int32_t pass8 = words && taps4 && (last8 % 16 == 0 || (last8 % 8 == 0 && last8 >= 24));
    /* every chunk of such a pass TTE_WIN8_CHUNK values inside one row of taps */
    const int32_t rows48 = pass8 && RW % TTE_WIN8_CHUNK == 0;
    const int32_t nblk8 = (M + TTE_WIN8_OCB - 1) / TTE_WIN8_OCB, nchunk8 = (L + TTE_WIN8_CHUNK - 1) / TTE_WIN8_CHUNK;
    const uint32_t zz = pack16(p->in_zp, p->in_zp), nz = pack16(-p->in_zp, -p->in_zp);
    /* 8-byte aligned (conv.h), as the stack arrays these were: the same code for the callees */
    int32_t *const acc = (int32_t *)__builtin_assume_aligned(scratch, 8);
    int16_t *const buf = (int16_t *)__builtin_assume_aligned(acc + TTE_WIN_ACC_WORDS, 8);
    int32_t b, i, q, oc, cb, c0, ky0, j;
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        int8_t *yb = y + (size_t)b * npx * M;
        int32_t py = 0, px = 0;
        for (i = 0; pass8 && npx - i >= 8; i += 8) {
            int8_t *y8[8];
            const int8_t *x8[8];
            int32_t oy8[8], ox8[8];
            for (q = 0; q < 8; ++q) {
                const int32_t iy = py * g->stride_h - g->pad_top, ix = px * g->stride_w - g->pad_left;
                oy8[q] = py;
                ox8[q] = px;
                y8[q] = yb + (size_t)(i + q) * M;
                x8[q] = iy >= 0 && iy + (g->k_h - 1) * g->dil_h < g->in_h && ix >= 0 && ix + g->k_w - 1 < g->in_w
                            ? xb + ((size_t)iy * g->in_w + ix) * g->in_c
                            : NULL;
                if (++px == g->out_w) {
                    px = 0;
                    ++py;
                }
            }
            /* every other group of eight runs the blocks of channels and their chunks
             * backwards: the weights read last are still in the cache */
            const int32_t back = (i >> 3) & 1;
            for (j = 0; j < nblk8; ++j) {
                int32_t ce, k;
                cb = (back ? nblk8 - 1 - j : j) * TTE_WIN8_OCB;
                ce = M - cb < TTE_WIN8_OCB ? M : cb + TTE_WIN8_OCB;
                win_acc_init(acc, 8, bias, cb, ce);
                for (k = 0; k < nchunk8; ++k) {
                    int32_t n;
                    c0 = (back ? nchunk8 - 1 - k : k) * TTE_WIN8_CHUNK;
                    n = L - c0 < TTE_WIN8_CHUNK ? L - c0 : TTE_WIN8_CHUNK;
                    for (ky0 = 0; (ky0 + 1) * RW <= c0; ++ky0) {
                    }
                    for (q = 0; q < 8; ++q) {
                        uint32_t *const slot = (uint32_t *)(void *)buf + 2 * q;
                        if (rows48 && x8[q] != NULL) {
                            win8_widen_chunk(x8[q] + (size_t)ky0 * rstride + (c0 - ky0 * RW), slot, nz);
                        } else if (rows48) {
                            win8_widen_edge(p, xb, oy8[q], ox8[q], c0, ky0, slot, nz);
                        } else if (x8[q] != NULL) {
                            win4_widen_inside(x8[q], rstride, RW, c0, c0 + n, ky0, buf, q, nz, 16);
                        } else {
                            win4_widen_taps(p, xb, oy8[q], ox8[q], c0, c0 + n, buf, q, nz, 16);
                        }
                    }
                    win8_pass(buf, n, n & 8, w + (size_t)cb * L + c0, L, acc, ce - cb);
                }
                rq_out4(&r, acc, 8, cb, ce, y8);
                rq_out4(&r, acc + 4, 8, cb, ce, y8 + 4);
            }
        }
        for (; npx - i >= 3; i += 4) {
            /* past the last pixel the last one repeats (the same bytes stored again) */
            int8_t *yq[4];
            const int8_t *x0[4];
            int32_t oy[4], ox[4], ly = py, lx = px;
            for (q = 0; q < 4; ++q) {
                const int32_t iq = i + q < npx ? i + q : npx - 1;
                int32_t iy, ix;
                if (i + q < npx) {
                    /* (py, px): the coordinates of pixel i + q; (ly, lx): of the last one */
                    ly = py;
                    lx = px;
                    if (++px == g->out_w) {
                        px = 0;
                        ++py;
                    }
                }
                oy[q] = ly;
                ox[q] = lx;
                yq[q] = yb + (size_t)iq * M;
                iy = oy[q] * g->stride_h - g->pad_top;
                ix = ox[q] * g->stride_w - g->pad_left;
                x0[q] = words && iy >= 0 && iy + (g->k_h - 1) * g->dil_h < g->in_h && ix >= 0
                                && ix + g->k_w - 1 < g->in_w
                            ? xb + ((size_t)iy * g->in_w + ix) * g->in_c
                            : NULL;
            }
            if (pass4) {
                /* every chunk whole loop passes (eight values first in a chunk of 16 k + 8):
                 * the channel loop in win4_pass, sums in acc */
                for (cb = 0; cb < M; cb += TTE_WIN4_OCB) {
                    const int32_t ce = M - cb < TTE_WIN4_OCB ? M : cb + TTE_WIN4_OCB;
                    win_acc_init(acc, 4, bias, cb, ce);
                    for (c0 = 0, ky0 = 0; c0 < L; c0 += TTE_WIN_CHUNK) {
                        const int32_t n = L - c0 < TTE_WIN_CHUNK ? L - c0 : TTE_WIN_CHUNK;
                        while ((ky0 + 1) * RW <= c0) {
                            ++ky0;
                        }
                        for (q = 0; q < 4; ++q) {
                            if (x0[q] != NULL) {
                                win4_widen_inside(x0[q], rstride, RW, c0, c0 + n, ky0, buf, q, nz, 8);
                            } else if (taps4) {
                                win4_widen_taps(p, xb, oy[q], ox[q], c0, c0 + n, buf, q, nz, 8);
                            } else {
                                win_widen(p, xb, oy[q], ox[q], c0, c0 + n, buf, q, zz, 1);
                            }
                        }
                        win4_pass(buf, n, n & 8, w + (size_t)cb * L + c0, L, acc, ce - cb);
                    }
                    rq_out4(&r, acc, 4, cb, ce, yq);
                }
                continue;
            }
            for (cb = 0; cb < M; cb += ocb) {
                const int32_t ce = M - cb < ocb ? M : cb + ocb;
                for (c0 = 0, ky0 = 0; c0 < L; c0 += TTE_WIN_CHUNK) {
                    const int32_t n = L - c0 < TTE_WIN_CHUNK ? L - c0 : TTE_WIN_CHUNK;
                    const int32_t n8 = n & ~7, odd8 = n8 & 8;
                    const int32_t first = c0 == 0, last = c0 + n == L;
                    const int16_t *const end = buf + 4 * n8;
                    while ((ky0 + 1) * RW <= c0) {
                        ++ky0;
                    }
                    for (q = 0; q < 4; ++q) {
                        if (x0[q] != NULL) {
                            win4_widen_inside(x0[q], rstride, RW, c0, c0 + n, ky0, buf, q, nz, 8);
                        } else {
                            win_widen(p, xb, oy[q], ox[q], c0, c0 + n, buf, q, zz, 1);
                        }
                    }
                    for (oc = cb; oc < ce; ++oc) {
                        const int8_t *wo = w + (size_t)oc * L + c0;
                        int32_t *ao = acc + 4 * (oc - cb);
                        int32_t a0, a1, a2, a3;
                        if (first) {
                            a0 = bias ? bias[oc] : 0;
                            a1 = a2 = a3 = a0;
                        } else {
                            a0 = ao[0];
                            a1 = ao[1];
                            a2 = ao[2];
                            a3 = ao[3];
                        }
                        if (n8 > 0) {
                            TTE_WIN_DOT41(buf, end, odd8, wo);
                        }
                        for (j = n8; j < n; ++j) {
                            const int32_t wj = wo[j];
                            a0 += buf[win4_index(j, 0)] * wj;
                            a1 += buf[win4_index(j, 1)] * wj;
                            a2 += buf[win4_index(j, 2)] * wj;
                            a3 += buf[win4_index(j, 3)] * wj;
                        }
                        if (!last) {
                            ao[0] = a0;
                            ao[1] = a1;
                            ao[2] = a2;
                            ao[3] = a3;
                        } else if (r.mode == 2) {
                            /* the common case: mult and shift loaded once for the four pixels */
                            const int32_t mu = r.mult[oc], sh = r.shift[oc];
                            yq[0][oc] = (int8_t)tte_rq_fast_s8(a0, mu, sh, r.zp2);
                            yq[1][oc] = (int8_t)tte_rq_fast_s8(a1, mu, sh, r.zp2);
                            yq[2][oc] = (int8_t)tte_rq_fast_s8(a2, mu, sh, r.zp2);
                            yq[3][oc] = (int8_t)tte_rq_fast_s8(a3, mu, sh, r.zp2);
                        } else {
                            yq[0][oc] = rq(&r, a0, oc);
                            yq[1][oc] = rq(&r, a1, oc);
                            yq[2][oc] = rq(&r, a2, oc);
                            yq[3][oc] = rq(&r, a3, oc);
                        }
                    }
                }
            }
        }
        if (i < npx) {
            /* one or two pixels left: a pass of four would compute them two or four times */
            win_pairs(p, &r, xb, w, bias, yb, i, buf, acc, zz);
        }
    }
}
#endif
