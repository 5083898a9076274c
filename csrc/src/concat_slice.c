/* Concatenation and slicing: byte movement, int8 concat with requantization. */
#include <string.h>
#include "tte/structural.h"

void tte_concat(int32_t n, const void *const *xs, const int32_t *chunk, int32_t outer, int32_t elem_size,
                void *y)
{
    uint8_t *dst = (uint8_t *)y;
    int32_t o, i;
    for (o = 0; o < outer; ++o) {
        for (i = 0; i < n; ++i) {
            const size_t bytes = (size_t)chunk[i] * (size_t)elem_size;
            memcpy(dst, (const uint8_t *)xs[i] + (size_t)o * bytes, bytes);
            dst += bytes;
        }
    }
}

void tte_concat_s8(int32_t n, const int8_t *const *xs, const int32_t *chunk, const tte_requant_t *const *rq,
                   int32_t outer, int8_t *y)
{
    int32_t o, i, k;
    for (o = 0; o < outer; ++o) {
        for (i = 0; i < n; ++i) {
            const int8_t *src = xs[i] + (size_t)o * (size_t)chunk[i];
            const tte_requant_t *r = rq[i];
            if (r == NULL) {
                memcpy(y, src, (size_t)chunk[i]);
            } else {
                for (k = 0; k < chunk[i]; ++k) {
                    const int32_t v = tte_mbqm((int32_t)src[k] - r->in_zp, r->mult, r->shift) + r->out_zp;
                    y[k] = (int8_t)tte_clamp_i32(v, r->act_min, r->act_max);
                }
            }
            y += chunk[i];
        }
    }
}

void tte_slice(const tte_slice_params_t *p, const void *x, void *y, int32_t elem_size)
{
    const uint8_t *src = (const uint8_t *)x;
    uint8_t *dst = (uint8_t *)y;
    const size_t es = (size_t)elem_size;
    int32_t i0, i1, i2, i3;
    for (i0 = 0; i0 < p->out_shape[0]; ++i0) {
        const size_t j0 = (size_t)(p->begin[0] + i0 * p->stride[0]);
        for (i1 = 0; i1 < p->out_shape[1]; ++i1) {
            const size_t j1 = j0 * (size_t)p->in_shape[1] + (size_t)(p->begin[1] + i1 * p->stride[1]);
            for (i2 = 0; i2 < p->out_shape[2]; ++i2) {
                const size_t j2 = j1 * (size_t)p->in_shape[2] + (size_t)(p->begin[2] + i2 * p->stride[2]);
                const uint8_t *row = src + (j2 * (size_t)p->in_shape[3] + (size_t)p->begin[3]) * es;
                if (p->stride[3] == 1) {
                    memcpy(dst, row, (size_t)p->out_shape[3] * es);
                    dst += (size_t)p->out_shape[3] * es;
                    continue;
                }
                for (i3 = 0; i3 < p->out_shape[3]; ++i3) {
                    memcpy(dst, row + (size_t)i3 * (size_t)p->stride[3] * es, es);
                    dst += es;
                }
            }
        }
    }
}
