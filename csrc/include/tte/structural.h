/* Concatenation and slicing of tensors of rank <= 4 (any element size; int8 concat with
 * per-input requantization), and the input gradient of int8 max pooling. */
#ifndef TTE_STRUCTURAL_H
#define TTE_STRUCTURAL_H
#include "tte/common.h"
#include "tte/pool.h"

/* y = concat(xs[0..n), axis): x_i viewed as [outer, chunk[i]] elements, y as
 * [outer, sum chunk]; elem_size 1, 2 or 4 bytes. */
void tte_concat(int32_t n, const void *const *xs, const int32_t *chunk, int32_t outer, int32_t elem_size,
                void *y);
/* The same for int8, each input requantized to the output's parameters by rq[i]
 * (NULL: copied, its parameters equal the output's). */
void tte_concat_s8(int32_t n, const int8_t *const *xs, const int32_t *chunk, const tte_requant_t *const *rq,
                   int32_t outer, int8_t *y);

/* y[i] = x[begin + i * stride] per axis, shapes as rank 4 (leading 1s). */
typedef struct {
    int32_t in_shape[4];
    int32_t out_shape[4];
    int32_t begin[4];
    int32_t stride[4];
} tte_slice_params_t;

void tte_slice(const tte_slice_params_t *p, const void *x, void *y, int32_t elem_size);

/* dL/dx of int8 max pooling: each output's dy goes to the first largest valid input of its
 * window (row-major; a later tap wins only when strictly larger), accumulated in output
 * order, as tte/reference does (bit-exact). act_min / act_max are unused. */
void tte_maxpool2d_grad_s8_f32(const tte_pool_params_t *p, const int8_t *x, const float *dy, float *dx);

#endif
