/* int8 fully connected, per-tensor or per-output-channel requantization. */
#include "tte/conv.h"

void tte_fully_connected_s8(const tte_fc_s8_params_t *p, const int8_t *x, const int8_t *w,
                            const int32_t *bias, int8_t *y)
{
    int32_t r, n, k;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *xr = x + (size_t)r * p->in_features;
        int8_t *yr = y + (size_t)r * p->out_features;
        for (n = 0; n < p->out_features; ++n) {
            const int8_t *wn = w + (size_t)n * p->in_features;
            const int32_t ch = p->per_channel ? n : 0;
            int32_t acc = bias ? bias[n] : 0;
            int32_t v;
            for (k = 0; k < p->in_features; ++k) {
                acc += ((int32_t)xr[k] - p->in_zp) * (int32_t)wn[k];
            }
            v = tte_mbqm(acc, p->mult[ch], p->shift[ch]) + p->out_zp;
            yr[n] = (int8_t)tte_clamp_i32(v, p->act_min, p->act_max);
        }
    }
}
