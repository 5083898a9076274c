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

/* A sum of at least TTE_ADD_TABLE_MIN elements may go through a 256-entry table of one
 * input's terms (TTE_ADD_TABLE_BYTES, in the caller's scratch: tte_add_s8_ws); tte_add_s8,
 * without scratch, takes the plain loop there (the same bytes). */
#define TTE_ADD_TABLE_MIN 512
#define TTE_ADD_TABLE_BYTES 1024
void tte_add_s8(const tte_add_s8_params_t *p, const int8_t *a, const int8_t *b, int8_t *y, int32_t n);
/* Bytes of scratch tte_add_s8_ws takes for n elements: TTE_ADD_TABLE_BYTES from
 * TTE_ADD_TABLE_MIN on, else 0. */
int32_t tte_add_s8_scratch_bytes(int32_t n);
/* tte_add_s8 with scratch (tte_add_s8_scratch_bytes(n) bytes, 4-byte aligned, content on entry
 * irrelevant; NULL: as tte_add_s8). */
void tte_add_s8_ws(const tte_add_s8_params_t *p, const int8_t *a, const int8_t *b, int8_t *y, int32_t n,
                   int32_t *table);
/* A caller that adds many short runs with the same parameters (a streamed block's residual add,
 * chunk by chunk) builds the table once: tte_add_s8_table_init fills table
 * (TTE_ADD_TABLE_BYTES) and returns the side it took (0: none applies), then tte_add_s8_tab
 * adds n elements of any count on it (side 0: as tte_add_s8_ws with that scratch), the bytes of
 * tte_add_s8. */
int32_t tte_add_s8_table_init(const tte_add_s8_params_t *p, int32_t *table);
void tte_add_s8_tab(const tte_add_s8_params_t *p, int32_t side, const int8_t *a, const int8_t *b, int8_t *y,
                    int32_t n, int32_t *table);
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
