/* Constant pad / crop and transpose. */
#include "tte/internal/optimized.h"
#include <string.h>
#include "tte/movement.h"

/* For output index (a, b, c, d) the input index is out - before; outside -> value. */
#define TTE_PAD_BODY(T)                                                                        \
    int32_t i0, i1, i2, i3;                                                                    \
    for (i0 = 0; i0 < p->out_shape[0]; ++i0) {                                                 \
        const int32_t j0 = i0 - p->before[0];                                                  \
        for (i1 = 0; i1 < p->out_shape[1]; ++i1) {                                             \
            const int32_t j1 = i1 - p->before[1];                                              \
            for (i2 = 0; i2 < p->out_shape[2]; ++i2) {                                         \
                const int32_t j2 = i2 - p->before[2];                                          \
                T *yo = y + (((size_t)i0 * p->out_shape[1] + i1) * p->out_shape[2] + i2)       \
                                * p->out_shape[3];                                             \
                const int row_ok = j0 >= 0 && j0 < p->in_shape[0] && j1 >= 0                   \
                                   && j1 < p->in_shape[1] && j2 >= 0 && j2 < p->in_shape[2];   \
                for (i3 = 0; i3 < p->out_shape[3]; ++i3) {                                     \
                    const int32_t j3 = i3 - p->before[3];                                      \
                    if (row_ok && j3 >= 0 && j3 < p->in_shape[3]) {                            \
                        yo[i3] = x[(((size_t)j0 * p->in_shape[1] + j1) * p->in_shape[2] + j2)  \
                                       * p->in_shape[3] + j3];                                 \
                    } else {                                                                   \
                        yo[i3] = value;                                                        \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }

void tte_pad_s8(const tte_pad_params_t *p, const int8_t *x, int8_t *y, int8_t value)
{
    TTE_PAD_BODY(int8_t)
}

void tte_pad_f32(const tte_pad_params_t *p, const float *x, float *y, float value)
{
    TTE_PAD_BODY(float)
}

void tte_transpose(const void *x, void *y, const int32_t in_shape[4], const int32_t perm[4],
                   int32_t elem_size)
{
    const uint8_t *src = (const uint8_t *)x;
    uint8_t *dst = (uint8_t *)y;
    int32_t in_stride[4], out_shape[4], ostride[4];
    int32_t idx[4];
    int32_t d;
    size_t o = 0;
    in_stride[3] = 1;
    for (d = 2; d >= 0; --d) {
        in_stride[d] = in_stride[d + 1] * in_shape[d + 1];
    }
    for (d = 0; d < 4; ++d) {
        out_shape[d] = in_shape[perm[d]];
        ostride[d] = in_stride[perm[d]]; /* input stride of each output axis */
    }
    for (idx[0] = 0; idx[0] < out_shape[0]; ++idx[0]) {
        for (idx[1] = 0; idx[1] < out_shape[1]; ++idx[1]) {
            for (idx[2] = 0; idx[2] < out_shape[2]; ++idx[2]) {
                for (idx[3] = 0; idx[3] < out_shape[3]; ++idx[3]) {
                    size_t s = (size_t)idx[0] * ostride[0] + (size_t)idx[1] * ostride[1]
                               + (size_t)idx[2] * ostride[2] + (size_t)idx[3] * ostride[3];
                    memcpy(dst + o * (size_t)elem_size, src + s * (size_t)elem_size, (size_t)elem_size);
                    ++o;
                }
            }
        }
    }
}

void tte_copy(void *dst, const void *src, uint32_t nbytes)
{
    if (dst != src) {
        memmove(dst, src, nbytes);
    }
}

void tte_channels_gather_s8(const int8_t *x, int8_t *y, int32_t pixels, int32_t in_c, const int32_t *sel, int32_t n)
{
    int32_t p, j;
    for (p = 0; p < pixels; ++p, x += in_c, y += n) {
        for (j = 0; j < n; ++j) {
            y[j] = x[sel[j]];
        }
    }
}

void tte_channels_scatter_s8(const int8_t *x, int8_t *y, int32_t pixels, int32_t in_c, const int32_t *sel, int32_t n,
                             int8_t fill)
{
    int32_t p, j;
    memset(y, (unsigned char)fill, (size_t)pixels * (size_t)in_c);
    for (p = 0; p < pixels; ++p, x += n, y += in_c) {
        for (j = 0; j < n; ++j) {
            y[sel[j]] = x[j];
        }
    }
}
