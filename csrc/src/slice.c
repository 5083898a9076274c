/* Strided slicing of tensors of rank <= 4, any element size. */
#include "tte/internal/optimized.h"
#include <string.h>
#include "tte/structural.h"

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
