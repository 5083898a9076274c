/* Updates from a global average pool's gradient through an activation mask, read lazily:
 * the gradient the updates (and a 1x1 conv's input gradient) see,
 * G[p, c] = mask[p, c] ? 0 + dyp[c] / count : 0
 * (tte_avgpool2d_grad_f32 then tte_mask_grad_f32; a NULL mask: the pool's gradient itself, no
 * mask), is computed per element where it is read
 * and never stored, so G costs no memory. Every sum runs in the order of tte_bias_update_s32,
 * tte_conv2d_weight_update_s8 and tte_conv2d_grad_input_f32 reading the stored G: the same bits. */
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

/* dx [pixels, g->in_c] = W^T G of a 1x1 conv (stride 1, unpadded, groups 1), G read lazily;
 * int8 weights w_q with w_scale [out_c], or float w_f (NULL the other) */
void tte_pooled_pointwise_grad_input_f32(const tte_conv2d_geom_t *g, const int8_t *w_q, const float *w_f,
                                         const float *w_scale, const float *dyp, float count, const uint8_t *mask,
                                         float *dx);
#endif
