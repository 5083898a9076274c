/* Split int8 weights (tte/split.h): element access, checkpoints, CRC, conv2d. */
#include "tte/internal/optimized.h"
#include "tte/split.h"

int8_t tte_split_s8_at(const tte_split_s8_t *s, int32_t row, int32_t c)
{
    const int32_t k = s->where[c];
    if (k >= 0) {
        return s->upd[(size_t)row * s->n_sel + k];
    }
    return s->frozen[(size_t)row * (s->in_c - s->n_sel) + (-1 - k)];
}

void tte_split_s8_get(const tte_split_s8_t *s, int8_t *dst)
{
    int32_t r, c;
    for (r = 0; r < s->rows; ++r) {
        for (c = 0; c < s->in_c; ++c) {
            dst[(size_t)r * s->in_c + c] = tte_split_s8_at(s, r, c);
        }
    }
}

void tte_split_s8_set(const tte_split_s8_t *s, const int8_t *src)
{
    int32_t r, j;
    for (r = 0; r < s->rows; ++r) {
        for (j = 0; j < s->n_sel; ++j) {
            s->upd[(size_t)r * s->n_sel + j] = src[(size_t)r * s->in_c + s->sel[j]];
        }
    }
}

uint32_t tte_split_s8_crc32(const tte_split_s8_t *s, uint32_t crc)
{
    int32_t r, c, k;
    for (r = 0; r < s->rows; ++r) {
        for (c = 0; c < s->in_c; ++c) {
            crc ^= (uint32_t)(uint8_t)tte_split_s8_at(s, r, c);
            for (k = 0; k < 8; ++k) {
                crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
            }
        }
    }
    return crc;
}

/* Sum of (x[idx[j]] - zp) * w[j] over j < n. */
static int32_t dot_gather(const int8_t *xp, const int32_t *idx, const int8_t *w, int32_t n, int32_t zp)
{
    int32_t acc = 0;
    int32_t j;
    for (j = 0; j < n; ++j) {
        acc += ((int32_t)xp[idx[j]] - zp) * (int32_t)w[j];
    }
    return acc;
}

void tte_conv2d_s8_split(const tte_conv2d_s8_params_t *p, const int8_t *x, const tte_split_s8_t *w,
                         const int32_t *bias, int8_t *y)
{
    const tte_conv2d_geom_t *g = &p->g;
    const int32_t n_sel = w->n_sel;
    const int32_t n_frz = w->in_c - w->n_sel;
    int32_t b, oy, ox, oc, ky, kx;
    if (g->groups == 1 && g->k_h == 1 && g->k_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_top == 0
        && g->pad_left == 0 && g->out_h == g->in_h && g->out_w == g->in_w
        && tte_conv2d_s8_pointwise_gather_px(p, x, g->batch * g->in_h * g->in_w, w->sel, n_sel, w->upd, w->frz, n_frz,
                                             w->frozen, bias, y)) {
        return;
    }
    for (b = 0; b < g->batch; ++b) {
        const int8_t *xb = x + (size_t)b * g->in_h * g->in_w * g->in_c;
        for (oy = 0; oy < g->out_h; ++oy) {
            for (ox = 0; ox < g->out_w; ++ox) {
                int8_t *yo = y + (((size_t)b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                for (oc = 0; oc < g->out_c; ++oc) {
                    int32_t acc = bias ? bias[oc] : 0;
                    int32_t v;
                    for (ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
                        if (iy < 0 || iy >= g->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
                            const size_t row = ((size_t)oc * g->k_h + ky) * g->k_w + kx;
                            const int8_t *xp;
                            if (ix < 0 || ix >= g->in_w) {
                                continue;
                            }
                            xp = xb + ((size_t)iy * g->in_w + ix) * g->in_c;
                            acc += dot_gather(xp, w->sel, w->upd + row * n_sel, n_sel, p->in_zp);
                            acc += dot_gather(xp, w->frz, w->frozen + row * n_frz, n_frz, p->in_zp);
                        }
                    }
                    v = tte_mbqm(acc, p->mult[oc], p->shift[oc]) + p->out_zp;
                    yo[oc] = (int8_t)tte_clamp_i32(v, p->act_min, p->act_max);
                }
            }
        }
    }
}
