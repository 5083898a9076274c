/* Activation masks saved in the forward pass, applied in the backward pass. */
#include "tte/mask.h"

void tte_act_mask_s8(const int8_t *y, uint8_t *mask, int32_t n, int32_t lo, int32_t hi)
{
    int32_t i;
    uint32_t byte = 0;
    for (i = 0; i < n; ++i) {
        if (y[i] > lo && y[i] < hi) {
            byte |= 1u << (i & 7);
        }
        if ((i & 7) == 7) {
            mask[i >> 3] = (uint8_t)byte;
            byte = 0;
        }
    }
    if (n & 7) {
        mask[n >> 3] = (uint8_t)byte;
    }
}

void tte_mask_grad_f32(const float *dy, const uint8_t *mask, float *dx, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        dx[i] = ((mask[i >> 3] >> (i & 7)) & 1u) ? dy[i] : 0.0f;
    }
}
