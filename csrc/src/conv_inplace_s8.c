/* Convs whose output may lie over their input: a depthwise conv a pass of `group` channels at a
 * time, each pass's input channels copied out first, so that its outputs overwrite only bytes
 * that no later pass reads; a 1x1 conv pixel by pixel, each pixel's outputs below its own and
 * every later pixel's inputs. */
#include <string.h>

#include "tte/internal/optimized.h"
#include "tte/conv.h"

size_t tte_conv2d_s8_depthwise_inplace_bytes(const tte_conv2d_geom_t *g, int32_t group)
{
    const size_t in_px = (size_t)g->batch * g->in_h * g->in_w, out_px = (size_t)g->batch * g->out_h * g->out_w;
    return (in_px + out_px) * (size_t)group;
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
    int8_t *const xs = scratch;
    int8_t *const ys = scratch + in_px * (size_t)group;
    tte_conv2d_s8_params_t sub = *p;
    int32_t c0;
    for (c0 = 0; c0 < c_n; c0 += group) {
        const int32_t n = c_n - c0 < group ? c_n - c0 : group;
        sub.g.in_c = sub.g.out_c = sub.g.groups = n;
        sub.mult = p->mult + c0;
        sub.shift = p->shift + c0;
        copy_channels(xs, (size_t)n, x + c0, (size_t)c_n, in_px, n);
        tte_conv2d_s8(&sub, xs, w + (size_t)c0 * taps, bias ? bias + c0 : NULL, ys);
        copy_channels(y + c0, (size_t)c_n, ys, (size_t)n, out_px, n);
    }
}

void tte_conv2d_s8_pointwise_by_pixel(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                                      const int32_t *bias, int8_t *y)
{
    const int32_t fast = tte_conv2d_s8_fast_rq(p);
    const int32_t n = p->g.in_c, m = p->g.out_c;
    const size_t npx = (size_t)p->g.batch * p->g.in_h * p->g.in_w;
    size_t i = 0;
    if (npx > 0 && 2 * m <= n && m <= TTE_PW_BY_PIXEL_FIRST) {
        /* pixel 0's outputs land on its own inputs: made aside, stored once it is read */
        int8_t first[TTE_PW_BY_PIXEL_FIRST];
        tte_conv2d_s8_pointwise_px(p, fast, x, 1, w, bias, first);
        memcpy(y, first, (size_t)m);
        i = 1;
    }
    for (; i < npx; ++i) {
        tte_conv2d_s8_pointwise_px(p, fast, x + i * (size_t)n, 1, w, bias, y + i * (size_t)m);
    }
}
