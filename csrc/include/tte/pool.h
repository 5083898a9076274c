/* Pooling and reductions: int8 forward (TFLite semantics) and float backward. */
#ifndef TTE_POOL_H
#define TTE_POOL_H
#include "tte/common.h"

typedef struct {
    int32_t batch, in_h, in_w, c;
    int32_t out_h, out_w;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;
    int32_t count_include_pad; /* avg only: padding counts (at the zero point) */
    int32_t pad_value;         /* avg with count_include_pad: the input zero point */
    int32_t act_min, act_max;  /* clamp in the input domain */
} tte_pool_params_t;

/* Results stay in the input's quantization; a different output quantization is a
 * tte_requantize_s8 afterwards (what the TFLite exporter writes as QUANTIZE). */
void tte_avgpool2d_s8(const tte_pool_params_t *p, const int8_t *x, int8_t *y);
void tte_maxpool2d_s8(const tte_pool_params_t *p, const int8_t *x, int8_t *y);
/* dL/dx of avgpool2d; mirrors tte/reference's accumulation order (bit-exact). */
void tte_avgpool2d_grad_f32(const tte_pool_params_t *p, const float *dy, float *dx);

/* Mean over the middle axis of x viewed as [outer, reduce, inner] (reduced axes must be
 * contiguous). mult/shift already fold 1/reduce in (reference_ops::QuantizedMeanOrSum). */
typedef struct {
    int32_t outer, reduce, inner;
    int32_t in_zp, out_zp;
    int32_t mult, shift;
} tte_mean_s8_params_t;

void tte_mean_s8(const tte_mean_s8_params_t *p, const int8_t *x, int8_t *y);
/* dx[o, r, i] = dy[o, i] / reduce */
void tte_mean_grad_f32(int32_t outer, int32_t reduce, int32_t inner, const float *dy, float *dx);

#endif
