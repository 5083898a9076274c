/* Activations and elementwise ops of TinyML models: int8 forward with tflite-micro's
 * arithmetic (LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, RSQRT, L2_NORMALIZATION, SUB,
 * MAXIMUM/MINIMUM; GELU through the table TFLite's Prepare builds), and their float backward.
 * Unary kernels allow x == y. */
#ifndef TTE_ACTIVATION_H
#define TTE_ACTIVATION_H
#include "tte/common.h"
#include "tte/elementwise.h"

/* LOGISTIC / TANH: x - in_zp to Q4.27 by (mult, shift); |x - in_zp| >= radius saturates.
 * Outputs in TFLite's fixed quantization: 1/256, -128 (logistic) and 1/128, 0 (tanh). */
typedef struct {
    int32_t in_zp, mult, shift, radius;
} tte_q4_params_t;
void tte_logistic_s8(const tte_q4_params_t *p, const int8_t *x, int8_t *y, int32_t n);
void tte_tanh_s8(const tte_q4_params_t *p, const int8_t *x, int8_t *y, int32_t n);

/* HARD_SWISH in reference_ops::HardSwish's 16-bit fixed point. */
typedef struct {
    int32_t in_zp, out_zp;
    int32_t out_mult, out_exp;     /* int16 multiplier, exponent <= 0 */
    int32_t relu_mult, relu_exp;   /* int16 multiplier of x on the scale where 3.0 is 32768 */
} tte_hard_swish_s8_params_t;
void tte_hard_swish_s8(const tte_hard_swish_s8_params_t *p, const int8_t *x, int8_t *y, int32_t n);

/* LEAKY_RELU: one multiplier for x >= in_zp, one (alpha folded in) below. */
typedef struct {
    int32_t in_zp, out_zp;
    int32_t id_mult, id_shift, alpha_mult, alpha_shift;
} tte_leaky_relu_s8_params_t;
void tte_leaky_relu_s8(const tte_leaky_relu_s8_params_t *p, const int8_t *x, int8_t *y, int32_t n);

/* RSQRT: (mult, shift) is 1 / (sqrt(s_in) s_out); x <= in_zp (refused by TFLite) gives 127. */
typedef struct {
    int32_t in_zp, out_zp, mult, shift;
} tte_rsqrt_s8_params_t;
void tte_rsqrt_s8(const tte_rsqrt_s8_params_t *p, const int8_t *x, int8_t *y, int32_t n);

/* L2_NORMALIZATION over the last axis (depth) of outer rows; output in 1/128, 0. */
void tte_l2_normalize_s8(int32_t in_zp, const int8_t *x, int8_t *y, int32_t outer, int32_t depth);

/* y = table[x + 128] (GELU). */
void tte_lut_s8(const int8_t *table, const int8_t *x, int8_t *y, int32_t n);

/* Broadcasting of two inputs: the output's shape right-aligned to 4 dims and each input's
 * element strides (0 along a broadcast dimension). A NULL tte_bcast4_t means equal shapes
 * (n elements each). */
typedef struct {
    int32_t dims[4];
    int32_t a_stride[4], b_stride[4];
} tte_bcast4_t;

/* SUB: ADD's parameters (tte_add_s8_params_t), the second input subtracted. */
void tte_sub_s8(const tte_add_s8_params_t *p, const tte_bcast4_t *bc, const int8_t *a, const int8_t *b,
                int8_t *y, int32_t n);

/* MAXIMUM / MINIMUM of the raw codes, an input first requantized to the output's
 * parameters when requant_a / requant_b is set. */
typedef struct {
    int32_t requant_a, requant_b;
    tte_requant_t a, b;
} tte_minmax_s8_params_t;
void tte_maximum_s8(const tte_minmax_s8_params_t *p, const tte_bcast4_t *bc, const int8_t *a, const int8_t *b,
                    int8_t *y, int32_t n);
void tte_minimum_s8(const tte_minmax_s8_params_t *p, const tte_bcast4_t *bc, const int8_t *a, const int8_t *b,
                    int8_t *y, int32_t n);

/* Backward. dx = dy * table[t + 128]: f' at the 256 codes of the saved int8 tensor t (the
 * op's output or input); dx == dy allowed. */
void tte_lut_grad_s8_f32(const float *table, const int8_t *t, const float *dy, float *dx, int32_t n);
/* dx = dy where input `which` of maximum (is_max) / minimum won, dy / 2 on a tie; a and b
 * compared as real values (q - zp) * scale in float32. */
typedef struct {
    int32_t is_max, which;
    int32_t a_zp, b_zp;
    float a_scale, b_scale;
} tte_minmax_grad_params_t;
void tte_minmax_grad_s8_f32(const tte_minmax_grad_params_t *p, const tte_bcast4_t *bc, const int8_t *a,
                            const int8_t *b, const float *dy, float *dx, int32_t n);
void tte_neg_f32(const float *x, float *y, int32_t n);
/* y = x summed back to a broadcast operand's shape: bc->dims is x's shape (4 dims), bc->b_stride
 * y's strides (0 along the summed dimensions); n_y elements of y; sums in x's element order. */
void tte_sum_to_shape_f32(const tte_bcast4_t *bc, const float *x, float *y, int32_t n_y);

#endif
