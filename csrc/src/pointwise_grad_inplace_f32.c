/* In-place input gradient of a 1x1 conv (stride 1, no padding, groups 1) with a one-pixel
 * temporary buffer: dX[p, :] = W^T dY[p, :] overwrites dY pixel by pixel. */
#include "tte/internal/optimized.h"
#include "tte/grad.h"

static void pixel(const tte_conv2d_geom_t *g, float *dyx, size_t p, const int8_t *w_q, const float *w_f,
                  const float *w_scale, float *tmp)
{
    const int32_t cin = g->in_c, cout = g->out_c;
    float *dx = dyx + p * (size_t)cin;
    int32_t oc, c;
    for (oc = 0; oc < cout; ++oc) {
        tmp[oc] = dyx[p * (size_t)cout + oc];
    }
    for (c = 0; c < cin; ++c) {
        dx[c] = 0.0f;
    }
    /* the loop nest of tte_conv2d_grad_input_f32 for one pixel and a 1x1 kernel */
    for (oc = 0; oc < cout; ++oc) {
        const float d = tmp[oc];
        const size_t wi = (size_t)oc * cin;
        if (d == 0.0f) {
            continue;
        }
        if (w_q != NULL) {
            const int8_t *wp = w_q + wi;
            const float s = w_scale[oc];
            for (c = 0; c < cin; ++c) {
                dx[c] += d * ((float)wp[c] * s);
            }
        } else {
            const float *wp = w_f + wi;
            for (c = 0; c < cin; ++c) {
                dx[c] += d * wp[c];
            }
        }
    }
}

void tte_pointwise_grad_input_inplace_f32(const tte_conv2d_geom_t *g, float *dyx, const int8_t *w_q,
                                          const float *w_f, const float *w_scale, float *tmp)
{
    const size_t n = (size_t)g->batch * g->in_h * g->in_w;
    size_t p;
    if (g->in_c <= g->out_c) {
        /* dX[p] ends at or before dY[p + 1] starts: forward, every overwritten dY is read */
        for (p = 0; p < n; ++p) {
            pixel(g, dyx, p, w_q, w_f, w_scale, tmp);
        }
    } else {
        /* dX[p] starts at or after dY[p]: backwards, it only covers pixels already read */
        for (p = n; p-- > 0;) {
            pixel(g, dyx, p, w_q, w_f, w_scale, tmp);
        }
    }
}
