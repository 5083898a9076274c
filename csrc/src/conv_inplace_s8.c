/* Convs whose output may lie over their input: a depthwise conv a pass of `group` channels at a
 * time, each pass's input channels copied out first, so that its outputs overwrite only bytes
 * that no later pass reads; a 1x1 conv pixel by pixel, each pixel's outputs below its own and
 * every later pixel's inputs. */
#include <string.h>

#include "tte/internal/optimized.h"
#include "tte/internal/conv_s8.h"

/* the passes' parameters go at the start of the scratch, not on the stack: the depthwise kernels'
 * frames are the deepest of a training step */
typedef char tte_dw_inplace_params_fit[sizeof(tte_conv2d_s8_params_t) <= TTE_DW_INPLACE_PARAMS_BYTES ? 1 : -1];

size_t tte_conv2d_s8_depthwise_inplace_bytes(const tte_conv2d_geom_t *g, int32_t group)
{
    const size_t in_px = (size_t)g->batch * g->in_h * g->in_w, out_px = (size_t)g->batch * g->out_h * g->out_w;
    return TTE_DW_INPLACE_PARAMS_BYTES + (in_px + out_px) * (size_t)group;
}

/* n bytes of each of npx pixels, src and dst sstride and dstride apart: words, then bytes */
static void copy_channels(int8_t *dst, size_t dstride, const int8_t *src, size_t sstride, size_t npx, int32_t n)
{
    size_t i;
    int32_t c;
    for (i = 0; i < npx; ++i, dst += dstride, src += sstride) {
        for (c = 0; c + 4 <= n; c += 4) {
            uint32_t v;
            memcpy(&v, src + c, 4);
            memcpy(dst + c, &v, 4);
        }
        for (; c < n; ++c) {
            dst[c] = src[c];
        }
    }
}

void tte_conv2d_s8_depthwise_inplace(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                                     const int32_t *bias, int8_t *y, int8_t *scratch, int32_t group)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t c_n = g->in_c, taps = g->k_h * g->k_w;
    const size_t in_px = (size_t)g->batch * g->in_h * g->in_w, out_px = (size_t)g->batch * g->out_h * g->out_w;
    tte_conv2d_s8_params_t *const sub = (tte_conv2d_s8_params_t *)(void *)scratch;
    int8_t *const xs = scratch + TTE_DW_INPLACE_PARAMS_BYTES;
    int8_t *const ys = xs + in_px * (size_t)group;
    int32_t c0;
    *sub = *p;
    for (c0 = 0; c0 < c_n; c0 += group) {
        const int32_t n = c_n - c0 < group ? c_n - c0 : group;
        sub->g.in_c = sub->g.out_c = sub->g.groups = n;
        sub->mult = p->mult + c0;
        sub->shift = p->shift + c0;
        copy_channels(xs, (size_t)n, x + c0, (size_t)c_n, in_px, n);
        if (tte_conv_path(&sub->g) == TTE_PATH_DEPTHWISE) {
            /* tte_conv2d_s8's path, without its two frames on the stack */
            tte_conv2d_s8_depthwise(sub, tte_conv2d_s8_fast_rq(sub), xs, w + (size_t)c0 * taps,
                                    bias ? bias + c0 : NULL, ys);
        } else {
            tte_conv2d_s8(sub, xs, w + (size_t)c0 * taps, bias ? bias + c0 : NULL, ys);
        }
        copy_channels(y + c0, (size_t)c_n, ys, (size_t)n, out_px, n);
    }
}

/* How many pixels from pixel i on one call may run whatever its order (their outputs from yi on,
 * m bytes each, clear of the inputs not read yet, from xi to end): all where the outputs lie
 * above those inputs or below them, else those whose outputs end at or below xi. */
static size_t clear_pixels(const int8_t *xi, const int8_t *end, const int8_t *yi, size_t m, size_t left)
{
    const uintptr_t ux = (uintptr_t)xi, ue = (uintptr_t)end, uy = (uintptr_t)yi;
    if (uy >= ue || m == 0) {
        return left;
    }
    if (uy > ux) {
        return 0;
    }
    return (ux - uy) / m < left ? (ux - uy) / m : left;
}

void tte_conv2d_s8_pointwise_by_pixel(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                                      const int32_t *bias, int8_t *y)
{
    const int32_t fast = tte_conv2d_s8_fast_rq(p);
    const size_t n = (size_t)p->g.in_c, m = (size_t)p->g.out_c;
    const size_t npx = (size_t)p->g.batch * p->g.in_h * p->g.in_w;
    const int8_t *const end = x + npx * n;
    size_t i = 0;
    while (i < npx) {
        const size_t k = clear_pixels(x + i * n, end, y + i * m, m, npx - i);
        if (k > 0) {
            /* the fast paths of tte_conv2d_s8 over pixels whose outputs no input still to read lies under */
            tte_conv2d_s8_pointwise_px(p, fast, x + i * n, (int32_t)k, w, bias, y + i * m);
            i += k;
        } else if (m <= TTE_PW_BY_PIXEL_FIRST) {
            /* the outputs land on their own inputs: as many pixels as the buffer holds made aside,
             * stored once they are read */
            int8_t first[TTE_PW_BY_PIXEL_FIRST];
            const size_t t = TTE_PW_BY_PIXEL_FIRST / m < npx - i ? TTE_PW_BY_PIXEL_FIRST / m : npx - i;
            tte_conv2d_s8_pointwise_px(p, fast, x + i * n, (int32_t)t, w, bias, first);
            memcpy(y + i * m, first, t * m);
            i += t;
        } else {
            /* one pixel, whose outputs end at or below its inputs (the caller's distance) */
            tte_conv2d_s8_pointwise_px(p, fast, x + i * n, 1, w, bias, y + i * m);
            ++i;
        }
    }
}
