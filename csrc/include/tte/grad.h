/* Float32 backward kernels: input gradients of conv2d and fully connected. Weights are
 * either int8 (w_q, dequantized on the fly as q * scale[out channel] in float32, exactly
 * like tte/reference's dequantize) or float (w_f); pass NULL for the other. */
#ifndef TTE_GRAD_H
#define TTE_GRAD_H
#include "tte/conv.h"

void tte_conv2d_grad_input_f32(const tte_conv2d_geom_t *g, const float *dy, const int8_t *w_q,
                               const float *w_f, const float *w_scale, float *dx);
/* Depthwise (groups == in_c == out_c) input gradient with dx the same size as dy, in
 * place: dyx holds dy on entry and dx on return. Channel by channel, dy's channel is copied
 * to tmp (out_h * out_w floats) and the channel of dx is accumulated in exactly the order
 * of tte_conv2d_grad_input_f32, so the bits are the same. */
void tte_depthwise_grad_input_inplace_f32(const tte_conv2d_geom_t *g, float *dyx, const int8_t *w_q,
                                          const float *w_f, const float *w_scale, float *tmp);
/* 1x1 conv (stride 1, no padding, groups 1) input gradient in place: dyx holds dy
 * (batch * in_h * in_w pixels of out_c floats) on entry and dx (in_c floats a pixel) on
 * return, so the buffer holds max(in_c, out_c) floats a pixel. Pixel by pixel through tmp
 * (out_c floats), each sum in the order of tte_conv2d_grad_input_f32: the same bits. */
void tte_pointwise_grad_input_inplace_f32(const tte_conv2d_geom_t *g, float *dyx, const int8_t *w_q,
                                          const float *w_f, const float *w_scale, float *tmp);

/* dx[r, k] = sum_n dy[r, n] * w[n, k]; w_scale has out_features entries if per_channel, else 1 */
void tte_fc_grad_input_f32(int32_t rows, int32_t in_features, int32_t out_features, const float *dy,
                           const int8_t *w_q, const float *w_f, const float *w_scale,
                           int32_t per_channel, float *dx);

#endif
