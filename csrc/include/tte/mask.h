/* Bit-packed activation masks: 1 bit per element, LSB first within a byte; a tensor of n
 * elements takes (n + 7) / 8 bytes. */
#ifndef TTE_MASK_H
#define TTE_MASK_H
#include "tte/common.h"

/* bit i = lo < y[i] < hi (where the int8 clamp of the activation did not bind) */
void tte_act_mask_s8(const int8_t *y, uint8_t *mask, int32_t n, int32_t lo, int32_t hi);
/* dx[i] = bit i ? dy[i] : 0; dx may equal dy (in place) */
void tte_mask_grad_f32(const float *dy, const uint8_t *mask, float *dx, int32_t n);

#endif
