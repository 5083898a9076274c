/* Softmax cross-entropy and MSE: loss and gradient in one pass over the logits. */
#include "tte/internal/optimized.h"
#include "tte/loss.h"
#include "tte/mathf.h"

void tte_softmax_ce_f32(const float *logits, const int32_t *label, int32_t batch, int32_t classes,
                        float *loss, float *grad)
{
    float total = 0.0f;
    int32_t b, c;
    for (b = 0; b < batch; ++b) {
        const float *z = logits + (size_t)b * classes;
        int32_t lab = label[b];
        float zmax = z[0], sum = 0.0f;
        lab = lab < 0 ? 0 : (lab >= classes ? classes - 1 : lab);
        for (c = 1; c < classes; ++c) {
            zmax = z[c] > zmax ? z[c] : zmax;
        }
        for (c = 0; c < classes; ++c) {
            sum += tte_expf(z[c] - zmax);
        }
        total += (tte_logf(sum) + zmax) - z[lab];
        if (grad) {
            float *gr = grad + (size_t)b * classes;
            for (c = 0; c < classes; ++c) {
                float pc = tte_expf(z[c] - zmax) / sum;
                if (c == lab) {
                    pc -= 1.0f;
                }
                gr[c] = pc / (float)batch;
            }
        }
    }
    if (loss) {
        *loss = total / (float)batch;
    }
}

void tte_mse_f32(const float *y, const float *target, int32_t n, float *loss, float *grad)
{
    float total = 0.0f;
    int32_t i;
    for (i = 0; i < n; ++i) {
        const float d = y[i] - target[i];
        total += d * d;
        if (grad) {
            grad[i] = (2.0f * d) / (float)n;
        }
    }
    if (loss) {
        *loss = total / (float)n;
    }
}
