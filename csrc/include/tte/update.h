/* Fused gradient + SGD update kernels: the weight gradient of one element is accumulated
 * in float32 and applied at once, so no gradient buffer is ever materialized.
 *
 * Quantized parameters (int8 weights, int32 biases) use QAS (paper Eq. 4): the step in
 * integer units is delta = lr * (g / s) (qas) or lr * (g * s) (no qas). For int32 biases the
 * result is that of double arithmetic exactly as tte/reference/grad_ops.py::qas_update does
 * (decided in float32 where the float value is provably far from a rounding boundary); for int8
 * weights as k * g in float32 with k = lr / s (or lr * s) formed in double once per output
 * channel (within 3.1e-5 of the double value wherever it matters: see tte/internal/qas.h). It is rounded
 *   - nearest: half away from zero -- an update below half a step is lost;
 *   - stochastic: floor(delta + u), u = uniform_hash(seed, step, index) -- an update below
 *     one step is applied with probability |frac|, so it is kept in expectation;
 * and the updated value is clamped to [-127, 127] (int8) or the int32 range.
 * The hash index is the row-major index over the selected subset [out_sel, ..., in_sel].
 * Float parameters get plain SGD: w -= (float)lr * g.
 *
 * Activations x are int8 (x_q, read as (q - x_zp) * x_scale in float32, exactly the
 * reference's dequantize) or float32 (x_f); pass NULL for the other.
 */
#ifndef TTE_UPDATE_H
#define TTE_UPDATE_H
#include "tte/conv.h"
#include "tte/split.h"

typedef struct {
    double lr;
    int32_t qas;             /* quantized parameters: 1 = QAS step lr * g / s, 0 = lr * g * s */
    int32_t stochastic;      /* 0 = round to nearest, 1 = stochastic rounding */
    uint32_t seed;
    int32_t n_out;           /* selected output channels (axis 0) */
    const int32_t *out_idx;  /* NULL: all, in order */
    int32_t n_in;            /* selected input channels (last axis; per group for conv) */
    const int32_t *in_idx;   /* NULL: all, in order */
    int32_t n_scale;         /* 1: per-tensor scale; else one per *selected* output channel */
    const float *scale;      /* parameter scales (float32, as stored); NULL for float params */
    const double *lr_live;   /* non-NULL: the learning rate is *lr_live (a generated model's
                                tte_set_lr), lr is ignored; NULL: lr */
    const float *k;          /* NULL, or an int8 weight's step factors for the learning rate
                                lr, one per scale (n_scale), made at compile time:
                                (float)(lr / (double)s) (QAS) or (float)(lr * (double)s); read
                                while the learning rate is lr (bit for bit), else formed anew */
} tte_update_params_t;

#ifndef TTE_CDEF
/* The learning rate an update uses now: lr, or what lr_live points at. */
static inline double tte_update_lr(const tte_update_params_t *u)
{
    return u->lr_live != NULL ? *u->lr_live : u->lr;
}
#endif

/* The uniform number in [0, 1) of tte.reference.grad_ops.uniform_hash, as its 32-bit code. */
uint32_t tte_uniform_hash_u32(uint32_t seed, int32_t step, uint32_t index);

void tte_conv2d_weight_update_s8(const tte_conv2d_geom_t *g, const tte_update_params_t *u, int8_t *w,
                                 const int8_t *x_q, const float *x_f, float x_scale, int32_t x_zp,
                                 const float *dy, int32_t step);
void tte_conv2d_weight_update_f32(const tte_conv2d_geom_t *g, const tte_update_params_t *u, float *w,
                                  const int8_t *x_q, const float *x_f, float x_scale, int32_t x_zp,
                                  const float *dy);

/* fully connected: w [out_features, in_features], x [rows, in_features], dy [rows, out_features] */
void tte_fc_weight_update_s8(int32_t rows, int32_t in_features, int32_t out_features,
                             const tte_update_params_t *u, int8_t *w, const int8_t *x_q, const float *x_f,
                             float x_scale, int32_t x_zp, const float *dy, int32_t step);
void tte_fc_weight_update_f32(int32_t rows, int32_t in_features, int32_t out_features,
                              const tte_update_params_t *u, float *w, const int8_t *x_q, const float *x_f,
                              float x_scale, int32_t x_zp, const float *dy);

/* bias: b [channels], dy [rows, channels] */
void tte_bias_update_s32(int32_t rows, int32_t channels, const tte_update_params_t *u, int32_t *b,
                         const float *dy, int32_t step);
void tte_bias_update_f32(int32_t rows, int32_t channels, const tte_update_params_t *u, float *b,
                         const float *dy);

/* One inverted-residual block's backward from the depthwise conv D on, channel by channel
 * (tte.compiler.fuse dwpw_backward): for each channel c of the 1x1 conv P that feeds D,
 *   G[:, c] = mask[:, c] ? dL/d(D's input)[:, c] : 0      (one channel: tmp, pixels floats)
 * then P's bias update for c, P's input gradient dx += G[:, c] * w[c, :] (old weights), and
 * P's weight update of row c. Every sum runs in the order of the unfused kernels
 * (tte_conv2d_grad_input_f32, tte_mask_grad_f32, tte_bias_update_s32,
 * tte_conv2d_weight_update_s8), so the results are bit-identical to them; the whole G
 * never exists; tmp holds dw.batch * dw.in_h * dw.in_w floats. P is 1x1, stride 1, unpadded, int8 with per-output-channel scales; D is
 * depthwise (multiplier 1). NULL update params / dx: that part is not computed. */
typedef struct {
    tte_conv2d_geom_t dw;              /* D's geometry (in = P's output) */
    const float *dw_scale;             /* D's weight scales, one per channel */
    int32_t in_c;                      /* P's input channels */
    const float *w_scale;              /* P's weight scales, one per output channel */
    float x_scale;                     /* P's int8 input (weight update) */
    int32_t x_zp;
    const tte_update_params_t *w_update;
    const tte_update_params_t *b_update;
} tte_dwpw_backward_params_t;

void tte_dwpw_backward_s8(const tte_dwpw_backward_params_t *p, const float *dz, const int8_t *w_dw,
                          const uint8_t *mask, int8_t *w, const int8_t *x, int32_t *b, float *dx,
                          int32_t step, float *tmp);

/* The same, with dz (D's masked output gradient) computed channel by channel too, so it
 * never exists whole: dz[:, c] = dmask[:, c] ? sum_oc gy[:, oc] * w[oc, c] * scale[oc] : 0
 * for the 1x1 conv Q that reads D's output (stride 1, unpadded, int8 weights [out_c, ch]),
 * in the order of tte_conv2d_grad_input_f32, then D's bias update (tte_bias_update_s32) on
 * it when b_update is set. tmp then holds batch * (max(in_h * in_w, ph * pw) + out_h * out_w)
 * + 256 (0 with the head's xtab) + max(Q's out_c, P's in_c, D's k_h * k_w) floats and
 * batch * in_h * in_w int32 after them (D's input gradient on a padded ph x pw plane that holds
 * every output pixel's whole window, ph = max((out_h - 1) * stride_h + (k_h - 1) * dil_h + 1,
 * pad_top + in_h), pw likewise; x's dequantization table; one converted weight row; the list of the pixels where
 * a channel's gradient is nonzero, so that the 1x1 conv's loops skip the rest). */
typedef struct {
    const float *gy;                   /* dL/d(Q's output), [pixels of D's output, out_c] */
    const int8_t *w;                   /* Q's weights */
    const float *scale;                /* Q's weight scales, one per output channel */
    int32_t out_c;                     /* Q's output channels */
    const uint8_t *mask;               /* D's activation mask, bit-packed like D's output */
    int32_t *b;                        /* D's bias (updated in place) or NULL */
    const tte_update_params_t *b_update;
    int32_t x_float_pixels;            /* tmp has room for this many pixels of x (from the first)
                                        * as floats after the list (x_float_pixels * P's in_c
                                        * floats more), which the M4F/M7 weight update reads
                                        * dequantized once per call; 0: none */
    int32_t q_cols;                    /* tmp has room for Q's weights at this many (a power of
                                        * two) of D's
                                        * channels (out_c rows of q_cols bytes, after x's floats):
                                        * each column of Q is read there, copied once per q_cols
                                        * channels, not with a stride of D's channels through
                                        * flash (where every column misses the D-cache); 0: none */
    const float *dyp;                  /* with gy NULL: Q's output gradient is a global average
                                        * pool's, 0 + dyp[oc] / count at every pixel
                                        * (tte_avgpool2d_grad_f32), masked by dy_mask (bit-packed
                                        * like gy) unless NULL (tte_mask_grad_f32); tmp then has
                                        * out_c floats more (after Q's columns) for the shares */
    float count;
    const uint8_t *dy_mask;
    const float *xtab;                 /* x's dequantization table, xtab[(uint8_t)v] =
                                        * (float)(v - x_zp) * x_scale (a constant the compiler
                                        * makes), read in place of the one tmp would hold (tmp
                                        * then has 256 floats fewer, the weight row right after
                                        * dz's channel); NULL: made in tmp */
    int32_t unpadded;                  /* 1: D's input gradient on an in_h x in_w plane (windows
                                        * clipped at the borders, slower), tmp's plane then
                                        * batch * max(in_h * in_w, out_h * out_w) floats in place
                                        * of the padded ph x pw ones; 0: padded */
} tte_dwpw_head_t;

void tte_dwpw_backward_head_s8(const tte_dwpw_backward_params_t *p, const tte_dwpw_head_t *q,
                               const int8_t *w_dw, const uint8_t *mask, int8_t *w, const int8_t *x, int32_t *b,
                               float *dx, int32_t step, float *tmp);

/* The two above with P's weights split (tte/split.h): the update's in_idx must be w->sel
 * (the trained channels); the same bits. */
void tte_dwpw_backward_split_s8(const tte_dwpw_backward_params_t *p, const float *dz, const int8_t *w_dw,
                                const uint8_t *mask, const tte_split_s8_t *w, const int8_t *x, int32_t *b,
                                float *dx, int32_t step, float *tmp);
void tte_dwpw_backward_head_split_s8(const tte_dwpw_backward_params_t *p, const tte_dwpw_head_t *q,
                                     const int8_t *w_dw, const uint8_t *mask, const tte_split_s8_t *w,
                                     const int8_t *x, int32_t *b, float *dx, int32_t step, float *tmp);

/* Unfused sgd_update: w viewed as [d0, mid, dlast]; grad is [n_out, mid, n_in]. */
void tte_sgd_update_s8(const tte_update_params_t *u, int8_t *w, int32_t d0, int32_t mid, int32_t dlast,
                       const float *grad, int32_t step);
void tte_sgd_update_s32(const tte_update_params_t *u, int32_t *w, int32_t d0, int32_t mid, int32_t dlast,
                        const float *grad, int32_t step);
void tte_sgd_update_f32(const tte_update_params_t *u, float *w, int32_t d0, int32_t mid, int32_t dlast,
                        const float *grad);

#endif
