/* Updates from a global average pool's gradient through an activation mask, read lazily:
 * the gradient the updates see, G[p, c] = mask[p, c] ? 0 + dyp[c] / count : 0
 * (tte_avgpool2d_grad_f32 then tte_mask_grad_f32), is computed per element where it is read
 * and never stored, so G costs no memory. Every sum runs in the order of tte_bias_update_s32
 * and tte_conv2d_weight_update_s8 reading the stored G: the same bits. */
#ifndef TTE_POOLED_UPDATE_H
#define TTE_POOLED_UPDATE_H
#include "tte/update.h"

/* b [channels]; G has rows x channels elements, mask one bit each */
void tte_pooled_bias_update_s32(int32_t rows, int32_t channels, const tte_update_params_t *u, int32_t *b,
                                const float *dyp, float count, const uint8_t *mask, int32_t step);

/* g: the conv whose output gradient is G (g->out_c channels per pixel) */
void tte_pooled_conv2d_weight_update_s8(const tte_conv2d_geom_t *g, const tte_update_params_t *u, int8_t *w,
                                        const int8_t *x_q, const float *x_f, float x_scale, int32_t x_zp,
                                        const float *dyp, float count, const uint8_t *mask, int32_t step);
#endif
