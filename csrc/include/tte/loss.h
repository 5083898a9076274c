/* Losses and their gradients in float32, with tte's own exp/log. */
#ifndef TTE_LOSS_H
#define TTE_LOSS_H
#include "tte/common.h"

/* Mean softmax cross-entropy over the batch and/or its gradient
 * (softmax(z) - onehot(label)) / batch; loss or grad may be NULL. */
void tte_softmax_ce_f32(const float *logits, const int32_t *label, int32_t batch, int32_t classes,
                        float *loss, float *grad);
/* mean((y - t)^2) and/or 2 (y - t) / n; loss or grad may be NULL. */
void tte_mse_f32(const float *y, const float *target, int32_t n, float *loss, float *grad);

#endif
