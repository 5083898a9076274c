/* Concatenation: byte movement, int8 with per-input requantization. */
#include "tte/internal/optimized.h"
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
