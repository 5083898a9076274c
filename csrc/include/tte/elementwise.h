/* Elementwise int8 ops (same shapes; TFLite semantics) and float helpers. */
#ifndef TTE_ELEMENTWISE_H
#define TTE_ELEMENTWISE_H
#include "tte/common.h"

typedef struct {
    int32_t in1_zp, in2_zp, out_zp;
    int32_t left_shift;          /* 20 for int8 */
    int32_t in1_mult, in1_shift; /* shifts <= 0 (smaller-than-one multipliers) */
    int32_t in2_mult, in2_shift;
    int32_t out_mult, out_shift;
    int32_t act_min, act_max;
} tte_add_s8_params_t;

typedef struct {
    int32_t in1_zp, in2_zp, out_zp;
    int32_t mult, shift;
    int32_t act_min, act_max;
} tte_mul_s8_params_t;

void tte_add_s8(const tte_add_s8_params_t *p, const int8_t *a, const int8_t *b, int8_t *y, int32_t n);
void tte_mul_s8(const tte_mul_s8_params_t *p, const int8_t *a, const int8_t *b, int8_t *y, int32_t n);
/* y = clamp(out_zp + M (x - in_zp), act_min, act_max): QUANTIZE int8->int8, RELU, CLIP
 * (QuantizedReluX). In place allowed. */
void tte_requantize_s8(const tte_requant_t *p, const int8_t *x, int8_t *y, int32_t n);
/* float -> int8: round half away from zero of x / scale (float32), + zp, clamp. */
void tte_quantize_f32_s8(const float *x, int8_t *y, int32_t n, float scale, int32_t zp);
/* int8 -> float: (q - zp) * scale in float32. */
void tte_dequantize_s8_f32(const int8_t *x, float *y, int32_t n, float scale, int32_t zp);
/* Float elementwise (gradient accumulation); in place allowed. */
void tte_add_f32(const float *a, const float *b, float *y, int32_t n);
void tte_mul_f32(const float *a, const float *b, float *y, int32_t n);

#endif
