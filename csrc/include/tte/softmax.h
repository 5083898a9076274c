/* int8 softmax (gemmlowp fixed point, reference_ops::Softmax); output scale 1/256, zp -128. */
#ifndef TTE_SOFTMAX_H
#define TTE_SOFTMAX_H
#include "tte/common.h"

typedef struct {
    int32_t rows, depth;     /* softmax along the last axis of [rows, depth] */
    int32_t input_mult;      /* PreprocessSoftmaxScaling(beta, input_scale, 5 integer bits) */
    int32_t input_shift;
    int32_t diff_min;        /* -CalculateInputRadius */
} tte_softmax_s8_params_t;

void tte_softmax_s8(const tte_softmax_s8_params_t *p, const int8_t *x, int8_t *y);

#endif
