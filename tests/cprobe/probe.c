/* A deterministic workload over the kernels whose result digest must be the same on the
 * host (gcc, x86-64) and on a Cortex-M7 under QEMU (SMLAD path, hard float, soft double).
 * It also checks in place that the DSP conv path equals the generic loop nest. */
#include "tte/kernels.h"

uint32_t tte_probe(void);

static uint32_t lcg_state;
static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 8;
}

static uint32_t digest;
static void mix(const void *p, uint32_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    uint32_t i;
    for (i = 0; i < n; ++i) {
        digest = (digest ^ b[i]) * 16777619u; /* FNV-1a */
    }
}

#define H 6
#define W 5
#define CIN 11
#define COUT 7
#define NSEL 4
static int8_t x[H * W * CIN];
static int8_t wpw[COUT * CIN];
static int8_t wdw[CIN * 2 * 9];
static int32_t bias[CIN * 2];
static int32_t mult[CIN * 2], shift[CIN * 2];
/* the largest output: the 1x1 conv's H * W * COUT (the depthwise's 3 * 3 * CIN * 2 is less) */
static int8_t y1[H * W * COUT], y2[H * W * COUT];
static float dy[H * W * CIN * 2], dx[H * W * CIN], fz[40], fg[40];

uint32_t tte_probe(void)
{
    tte_conv2d_s8_params_t p;
    tte_update_params_t u;
    float scales[CIN * 2];
    int32_t label = 3;
    int32_t i, ok = 1;
    lcg_state = 12345u;
    digest = 2166136261u;
    for (i = 0; i < H * W * CIN; ++i) x[i] = (int8_t)(lcg() & 0xFF);
    for (i = 0; i < COUT * CIN; ++i) wpw[i] = (int8_t)((lcg() % 255) - 127);
    for (i = 0; i < CIN * 2 * 9; ++i) wdw[i] = (int8_t)((lcg() % 255) - 127);
    for (i = 0; i < CIN * 2; ++i) {
        bias[i] = (int32_t)(lcg() % 4001) - 2000;
        mult[i] = (int32_t)(0x40000000u + (lcg() & 0x3FFFFFFF));
        shift[i] = -(int32_t)(6 + lcg() % 6);
        scales[i] = (float)(1 + lcg() % 1000) * 1e-4f;
    }
    for (i = 0; i < H * W * CIN * 2; ++i) dy[i] = (float)((int32_t)(lcg() % 2001) - 1000) * 1e-3f;
    for (i = 0; i < 40; ++i) fz[i] = (float)((int32_t)(lcg() % 2001) - 1000) * 1e-2f;

    /* pointwise: DSP path on the M7 vs the generic loop */
    p.g.batch = 1; p.g.in_h = H; p.g.in_w = W; p.g.in_c = CIN; p.g.out_h = H; p.g.out_w = W;
    p.g.out_c = COUT; p.g.k_h = 1; p.g.k_w = 1; p.g.stride_h = 1; p.g.stride_w = 1;
    p.g.dil_h = 1; p.g.dil_w = 1; p.g.pad_top = 0; p.g.pad_left = 0; p.g.groups = 1;
    p.in_zp = -7; p.out_zp = 5; p.act_min = -128; p.act_max = 127; p.mult = mult; p.shift = shift;
    tte_conv2d_s8(&p, x, wpw, bias, y1);
    tte_conv2d_s8_generic(&p, x, wpw, bias, y2);
    for (i = 0; i < H * W * COUT; ++i) ok &= y1[i] == y2[i];
    mix(y1, H * W * COUT);

    /* depthwise 3x3, multiplier 2, stride 2, padding 1 */
    p.g.out_c = CIN * 2; p.g.k_h = 3; p.g.k_w = 3; p.g.stride_h = 2; p.g.stride_w = 2;
    p.g.pad_top = 1; p.g.pad_left = 1; p.g.groups = CIN; p.g.out_h = 3; p.g.out_w = 3;
    tte_conv2d_s8(&p, x, wdw, bias, y1);
    mix(y1, 9 * CIN * 2);

    /* float backward, losses, math */
    tte_conv2d_grad_input_f32(&p.g, dy, wdw, 0, scales, dx);
    mix(dx, sizeof(dx));
    tte_softmax_ce_f32(fz, &label, 1, 40, &fg[0], 0);
    mix(fg, 4);
    tte_softmax_ce_f32(fz, &label, 1, 40, 0, fg);
    mix(fg, sizeof(fg));
    for (i = 0; i < 40; ++i) {
        float e = tte_expf(fz[i]), l = tte_logf(e + 1.0f);
        mix(&e, 4);
        mix(&l, 4);
    }

    /* fused QAS update, stochastic and nearest */
    u.lr = 0.05; u.qas = 1; u.stochastic = 1; u.seed = 99u; u.n_out = CIN * 2; u.out_idx = 0;
    u.n_in = 1; u.in_idx = 0; u.n_scale = CIN * 2; u.scale = scales; u.lr_live = 0; u.k = 0;
    tte_conv2d_weight_update_s8(&p.g, &u, wdw, x, 0, 0.02f, -7, dy, 41);
    mix(wdw, sizeof(wdw));
    u.stochastic = 0;
    tte_bias_update_s32(9, CIN * 2, &u, bias, dy, 0);
    mix(bias, sizeof(bias));

    /* split weights (tte/split.h): the pointwise conv and a dwpw_backward with P's weights
     * as trained channels SEL + frozen rest give the bits of the whole-weight kernels */
    {
        static const int32_t sel[NSEL] = {1, 4, 5, 9};
        static const int32_t frz[CIN - NSEL] = {0, 2, 3, 6, 7, 8, 10};
        static const int32_t where[CIN] = {-1, 0, -2, -3, 1, 2, -4, -5, -6, 3, -7};
        static int8_t upd[COUT * NSEL], fro[COUT * (CIN - NSEL)], wa[COUT * CIN], wb[COUT * CIN];
        static uint8_t mask[(H * W * COUT + 7) / 8];
        static float tmp[H * W], dx2[H * W * CIN];
        tte_split_s8_t sw;
        tte_dwpw_backward_params_t d;
        tte_update_params_t u2;
        int32_t r, j;
        for (r = 0; r < COUT; ++r) {
            for (j = 0; j < NSEL; ++j) upd[r * NSEL + j] = wpw[r * CIN + sel[j]];
            for (j = 0; j < CIN - NSEL; ++j) fro[r * (CIN - NSEL) + j] = wpw[r * CIN + frz[j]];
        }
        sw.rows = COUT; sw.in_c = CIN; sw.n_sel = NSEL; sw.sel = sel; sw.frz = frz; sw.where = where;
        sw.upd = upd; sw.frozen = fro;
        p.g.out_c = COUT; p.g.k_h = 1; p.g.k_w = 1; p.g.stride_h = 1; p.g.stride_w = 1;
        p.g.pad_top = 0; p.g.pad_left = 0; p.g.groups = 1; p.g.out_h = H; p.g.out_w = W;
        tte_conv2d_s8(&p, x, wpw, bias, y1);
        tte_conv2d_s8_split(&p, x, &sw, bias, y2);
        for (i = 0; i < H * W * COUT; ++i) ok &= y1[i] == y2[i];

        for (i = 0; i < (int32_t)sizeof(mask); ++i) mask[i] = (uint8_t)(lcg() & 0xFF);
        d.dw.batch = 1; d.dw.in_h = H; d.dw.in_w = W; d.dw.in_c = COUT; d.dw.out_h = H; d.dw.out_w = W;
        d.dw.out_c = COUT; d.dw.k_h = 3; d.dw.k_w = 3; d.dw.stride_h = 1; d.dw.stride_w = 1;
        d.dw.dil_h = 1; d.dw.dil_w = 1; d.dw.pad_top = 1; d.dw.pad_left = 1; d.dw.groups = COUT;
        d.dw_scale = scales; d.in_c = CIN; d.w_scale = scales; d.x_scale = 0.02f; d.x_zp = -7;
        u2.lr = 0.5; u2.qas = 1; u2.stochastic = 1; u2.seed = 7u; u2.n_out = COUT; u2.out_idx = 0;
        u2.n_in = NSEL; u2.in_idx = sel; u2.n_scale = COUT; u2.scale = scales; u2.lr_live = 0; u2.k = 0;
        d.w_update = &u2; d.b_update = 0;
        for (i = 0; i < COUT * CIN; ++i) wa[i] = wpw[i];
        tte_dwpw_backward_s8(&d, dy, wdw, mask, wa, x, 0, dx, 5, tmp);
        tte_dwpw_backward_split_s8(&d, dy, wdw, mask, &sw, x, 0, dx2, 5, tmp);
        tte_split_s8_get(&sw, wb);
        for (i = 0; i < COUT * CIN; ++i) ok &= wa[i] == wb[i];
        for (i = 0; i < H * W * CIN; ++i) ok &= dx[i] == dx2[i];
        mix(wb, sizeof(wb));
        mix(dx2, sizeof(dx2));
        r = (int32_t)tte_split_s8_crc32(&sw, 0xFFFFFFFFu);
        mix(&r, 4);
    }

    /* dwpw_backward with a head, shaped for every block size of its dot, input-gradient and
     * weight-update loops (the Cortex-M VFP assembly and the C tails): Q's 21 outputs, P's 27
     * inputs (a run of 16, of 8, then single channels), all or a selection of them */
    {
#define HC 10
#define PC 27
#define QC 21
        static const int32_t isel[20] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 22, 23, 26};
        static const int32_t osel[6] = {0, 2, 3, 5, 8, 9};
        static float qs[QC], ps[HC], ds[HC], ddx[H * W * PC];
        static float htmp[(H + 2) * (W + 2) + H * W + 256 + PC + H * W]; /* padded plane: 3x3, pad 1 */
        static int8_t wq[QC * HC], wd[HC * 9], wp[HC * PC], xp[H * W * PC];
        static uint8_t dmask[(H * W * HC + 7) / 8], pmask[(H * W * HC + 7) / 8];
        static int32_t pb[HC], db[HC];
        tte_dwpw_backward_params_t d;
        tte_dwpw_head_t hq;
        tte_update_params_t uw, ub, uq;
        int32_t pass;
        for (i = 0; i < QC; ++i) qs[i] = (float)(1 + lcg() % 1000) * 1e-4f;
        for (i = 0; i < HC; ++i) {
            ps[i] = (float)(1 + lcg() % 1000) * 1e-5f;
            ds[i] = (float)(1 + lcg() % 1000) * 1e-4f;
            pb[i] = (int32_t)(lcg() % 4001) - 2000;
            db[i] = (int32_t)(lcg() % 4001) - 2000;
        }
        for (i = 0; i < QC * HC; ++i) wq[i] = (int8_t)((lcg() % 255) - 127);
        for (i = 0; i < HC * 9; ++i) wd[i] = (int8_t)((lcg() % 255) - 127);
        for (i = 0; i < HC * PC; ++i) wp[i] = (int8_t)((lcg() % 255) - 127);
        for (i = 0; i < H * W * PC; ++i) xp[i] = (int8_t)(lcg() & 0xFF);
        for (i = 0; i < (int32_t)sizeof(dmask); ++i) {
            dmask[i] = (uint8_t)(lcg() & 0xFF);
            pmask[i] = (uint8_t)(lcg() | lcg()); /* most pixels pass */
        }
        d.dw.batch = 1; d.dw.in_h = H; d.dw.in_w = W; d.dw.in_c = HC; d.dw.out_h = H; d.dw.out_w = W;
        d.dw.out_c = HC; d.dw.k_h = 3; d.dw.k_w = 3; d.dw.stride_h = 1; d.dw.stride_w = 1;
        d.dw.dil_h = 1; d.dw.dil_w = 1; d.dw.pad_top = 1; d.dw.pad_left = 1; d.dw.groups = HC;
        d.dw_scale = ds; d.in_c = PC; d.w_scale = ps; d.x_scale = 0.03f; d.x_zp = 3;
        d.w_update = &uw; d.b_update = &ub;
        hq.gy = dy; /* H * W * QC of its floats */ hq.w = wq; hq.scale = qs; hq.out_c = QC; hq.mask = dmask; hq.b = db; hq.b_update = &uq;
        hq.x_float_pixels = 0; hq.q_cols = 0; hq.dyp = 0; hq.count = 0.0f; hq.dy_mask = 0;
        for (pass = 0; pass < 3; ++pass) { /* pass 2: steps beyond 1024 among the others */
            const int32_t sub = pass == 1;
            uw.lr = pass == 2 ? 3e5 : 0.5; uw.qas = 1; uw.stochastic = !sub; uw.seed = 11u;
            uw.n_out = sub ? 6 : HC; uw.out_idx = sub ? osel : 0; uw.n_in = sub ? 20 : PC; uw.in_idx = sub ? isel : 0;
            uw.n_scale = 1; uw.scale = ps; uw.lr_live = 0; uw.k = 0;
            ub = uw; ub.lr = 1e-3; ub.n_in = 1; ub.in_idx = 0;
            uq = ub; uq.scale = ds; uq.out_idx = 0; uq.n_out = HC;
            hq.xtab = 0;
            hq.unpadded = pass == 1; /* pass 1: D's input gradient on the unpadded plane */
            if (pass == 2) { /* the caller's table (the generated code's): htmp's last 256 floats, which it frees */
                float *xt = htmp + sizeof(htmp) / sizeof(htmp[0]) - 256;
                for (i = 0; i < 256; ++i) xt[i] = (float)((int32_t)(int8_t)(uint8_t)i - d.x_zp) * d.x_scale;
                hq.xtab = xt;
            }
            tte_dwpw_backward_head_s8(&d, &hq, wd, pmask, wp, xp, pb, ddx, 9 + pass, htmp);
            mix(ddx, sizeof(ddx));
            mix(wp, sizeof(wp));
            mix(pb, sizeof(pb));
            mix(db, sizeof(db));
        }
#undef HC
#undef PC
#undef QC
    }
    return ok ? digest : 0u;
}
