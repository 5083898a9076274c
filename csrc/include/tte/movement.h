/* Data movement: constant pad / crop and transpose, on tensors of rank <= 4. */
#ifndef TTE_MOVEMENT_H
#define TTE_MOVEMENT_H
#include "tte/common.h"

/* Shapes are given as rank 4 (leading 1s for lower ranks). before[d] may be negative
 * (crop); out[d] = in[d] + before[d] + after[d]. */
typedef struct {
    int32_t in_shape[4];
    int32_t out_shape[4];
    int32_t before[4];
} tte_pad_params_t;

void tte_pad_s8(const tte_pad_params_t *p, const int8_t *x, int8_t *y, int8_t value);
void tte_pad_f32(const tte_pad_params_t *p, const float *x, float *y, float value);

/* y = transpose(x, perm) with in_shape and perm of rank 4; elem_size 1, 2 or 4 bytes. */
void tte_transpose(const void *x, void *y, const int32_t in_shape[4], const int32_t perm[4],
                   int32_t elem_size);

/* memmove: a reshape that the memory plan did not alias, or an out-of-place update. */
void tte_copy(void *dst, const void *src, uint32_t nbytes);

/* Channels sel[0..n) (ascending) of each of the pixels of x [pixels, in_c], packed:
 * y[p * n + j] = x[p * in_c + sel[j]]. y may start at x or below it (each byte is written
 * after every byte of x it could land on was read). */
void tte_channels_gather_s8(const int8_t *x, int8_t *y, int32_t pixels, int32_t in_c, const int32_t *sel, int32_t n);

/* The inverse into a separate y [pixels, in_c]: channel sel[j] of pixel p from x[p * n + j],
 * the other channels fill. */
void tte_channels_scatter_s8(const int8_t *x, int8_t *y, int32_t pixels, int32_t in_c, const int32_t *sel, int32_t n,
                             int8_t fill);

#endif
