/* The gradient of a broadcast operand: summed back to its shape. */
#include "tte/internal/optimized.h"
#include "tte/activation.h"

void tte_sum_to_shape_f32(const tte_bcast4_t *bc, const float *x, float *y, int32_t n_y)
{
    int32_t i0, i1, i2, i3, k = 0;
    for (k = 0; k < n_y; ++k) {
        y[k] = 0.0f;
    }
    k = 0;
    for (i0 = 0; i0 < bc->dims[0]; ++i0) {
        for (i1 = 0; i1 < bc->dims[1]; ++i1) {
            for (i2 = 0; i2 < bc->dims[2]; ++i2) {
                const int32_t base = i0 * bc->b_stride[0] + i1 * bc->b_stride[1] + i2 * bc->b_stride[2];
                for (i3 = 0; i3 < bc->dims[3]; ++i3) {
                    y[base + i3 * bc->b_stride[3]] += x[k++];
                }
            }
        }
    }
}
