/* int8 activations and elementwise ops (tflite-micro's arithmetic) and their float backward.
 *
 * The unary kernels compute one code at a time; for more than 256 elements they first
 * tabulate all 256 input codes on the stack (the same function, so the same bytes) and then
 * look up, which makes the Newton-Raphson of LOGISTIC/TANH/RSQRT cheap per element. */
#include "tte/internal/optimized.h"
#include "tte/activation.h"

#define TTE_INT16_MIN (-32768)
#define TTE_INT16_MAX 32767

typedef int8_t (*unary_fn)(const void *p, int32_t code);

static void apply_unary(unary_fn f, const void *p, const int8_t *x, int8_t *y, int32_t n)
{
    int32_t i;
    if (n > 256) {
        int8_t table[256];
        for (i = 0; i < 256; ++i) {
            table[i] = f(p, i - 128);
        }
        for (i = 0; i < n; ++i) {
            y[i] = table[(int32_t)x[i] + 128];
        }
        return;
    }
    for (i = 0; i < n; ++i) {
        y[i] = f(p, x[i]);
    }
}

static int32_t clamp8(int32_t v)
{
    return v < -128 ? -128 : (v > 127 ? 127 : v);
}

/* ---- gemmlowp fixed point ----------------------------------------------------------- */

/* SaturatingRoundingMultiplyByPOT with a positive exponent */
static int32_t shl_sat(int32_t x, int e)
{
    return tte_sat32((int64_t)x * ((int64_t)1 << e));
}

/* exp on [-1/4, 0) in Q0.31: Taylor expansion around -1/8 */
static int32_t exp_quarter_interval(int32_t a)
{
    const int32_t c = 1895147668; /* exp(-1/8) */
    const int32_t x = a + (1 << 28);
    const int32_t x2 = tte_srdhm(x, x);
    const int32_t x3 = tte_srdhm(x2, x);
    const int32_t x4_over_4 = tte_rdbp(tte_srdhm(x2, x2), 2);
    const int32_t poly = tte_rdbp(tte_srdhm(x4_over_4 + x3, 715827883) + x2, 1); /* 1/3 */
    return c + tte_srdhm(c, x + poly);
}

/* exp_on_negative_values: a with integer_bits integer bits, Q0.31 result */
static int32_t exp_on_negative_values(int32_t a, int integer_bits)
{
    static const int32_t mult[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int frac = 31 - integer_bits;
    const int32_t quarter = (int32_t)1 << (frac - 2);
    const int32_t a_mod = (a & (quarter - 1)) - quarter;
    const int32_t remainder = a_mod - a;
    int32_t result = exp_quarter_interval(shl_sat(a_mod, integer_bits));
    int k;
    if (a == 0) {
        return TTE_INT32_MAX;
    }
    for (k = 0; k < 7; ++k) {
        const int exponent = k - 2; /* multiplier k is exp(-2**exponent) */
        if (integer_bits > exponent && (remainder & ((int32_t)1 << (frac + exponent))) != 0) {
            result = tte_srdhm(result, mult[k]);
        }
    }
    return result;
}

/* RoundingHalfSum(a, One) in Q0.31 */
static int32_t half_sum_one(int32_t a)
{
    const int64_t s = (int64_t)a + TTE_INT32_MAX;
    return (int32_t)((s + (s >= 0 ? 1 : -1)) / 2);
}

/* Newton-Raphson for 1 / (1 + a) in Q2.29 (a in [0, 1) as Q0.31) */
static int32_t newton_reciprocal(int32_t half_den)
{
    int32_t x = 1515870810 + tte_srdhm(half_den, -1010580540); /* 48/17 - 32/17 d */
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = (1 << 29) - tte_srdhm(half_den, x);
        x = x + shl_sat(tte_srdhm(x, one_minus), 2);
    }
    return x;
}

static int32_t logistic_q4(int32_t a)
{
    int32_t on_pos;
    if (a == 0) {
        return 1 << 30;
    }
    on_pos = shl_sat(newton_reciprocal(half_sum_one(exp_on_negative_values(a > 0 ? -a : a, 4))), 1);
    return a > 0 ? on_pos : TTE_INT32_MAX - on_pos;
}

static int32_t tanh_q4(int32_t a)
{
    int32_t t;
    if (a == 0) {
        return 0;
    }
    /* exp(2 a) reads the same raw value with 5 integer bits */
    t = shl_sat(newton_reciprocal(half_sum_one(exp_on_negative_values(a < 0 ? a : -a, 5))) - (1 << 29), 2);
    return a < 0 ? -t : t;
}

/* ---- LOGISTIC, TANH ------------------------------------------------------------------- */

static int8_t logistic_one(const void *vp, int32_t code)
{
    const tte_q4_params_t *p = (const tte_q4_params_t *)vp;
    const int32_t v = code - p->in_zp;
    if (v <= -p->radius) {
        return -128;
    }
    if (v >= p->radius) {
        return 127;
    }
    return (int8_t)clamp8(tte_rdbp(logistic_q4(tte_mbqm(v, p->mult, p->shift)), 23) - 128);
}

static int8_t tanh_one(const void *vp, int32_t code)
{
    const tte_q4_params_t *p = (const tte_q4_params_t *)vp;
    const int32_t v = code - p->in_zp;
    if (v <= -p->radius) {
        return -128;
    }
    if (v >= p->radius) {
        return 127;
    }
    return (int8_t)clamp8(tte_rdbp(tanh_q4(tte_mbqm(v, p->mult, p->shift)), 24));
}

void tte_logistic_s8(const tte_q4_params_t *p, const int8_t *x, int8_t *y, int32_t n)
{
    apply_unary(logistic_one, p, x, y, n);
}

void tte_tanh_s8(const tte_q4_params_t *p, const int8_t *x, int8_t *y, int32_t n)
{
    apply_unary(tanh_one, p, x, y, n);
}

/* ---- HARD_SWISH ----------------------------------------------------------------------- */

static int32_t sat16(int64_t v)
{
    return v < TTE_INT16_MIN ? TTE_INT16_MIN : (v > TTE_INT16_MAX ? TTE_INT16_MAX : (int32_t)v);
}

static int32_t srdhm16(int32_t a, int32_t b)
{
    const int32_t ab = a * b;
    if (a == TTE_INT16_MIN && b == TTE_INT16_MIN) {
        return TTE_INT16_MAX;
    }
    return (ab + (ab >= 0 ? (1 << 14) : 1 - (1 << 14))) / (1 << 15);
}

static int32_t sdhm16(int32_t a, int32_t b)
{
    if (a == TTE_INT16_MIN && b == TTE_INT16_MIN) {
        return TTE_INT16_MAX;
    }
    return (a * b) / (1 << 15);
}

static int8_t hard_swish_one(const void *vp, int32_t code)
{
    const tte_hard_swish_s8_params_t *p = (const tte_hard_swish_s8_params_t *)vp;
    const int32_t hires = (code - p->in_zp) * 128;          /* |.| <= 255 * 128: an int16 */
    const int32_t pre_out = srdhm16(hires, p->out_mult);
    int32_t r = hires;
    int32_t v;
    if (p->relu_exp > 0) {
        r = sat16((int64_t)r * ((int64_t)1 << (p->relu_exp - 1)));
    }
    r = srdhm16(r, p->relu_mult);
    if (p->relu_exp > 0) {
        r = sat16((int64_t)r * 2);
    }
    if (p->relu_exp < 0) {
        r = tte_rdbp(r, -p->relu_exp);
    }
    r = (r + (1 << 15)) >> 1;                               /* [-1, 1] -> [0, 1] */
    v = tte_rdbp(sdhm16(r, pre_out), -p->out_exp);
    v = ((v + p->out_zp + 32768) & 0xFFFF) - 32768;          /* TFLite adds in int16 */
    return (int8_t)clamp8(v);
}

void tte_hard_swish_s8(const tte_hard_swish_s8_params_t *p, const int8_t *x, int8_t *y, int32_t n)
{
    apply_unary(hard_swish_one, p, x, y, n);
}

/* ---- LEAKY_RELU ----------------------------------------------------------------------- */

static int8_t leaky_relu_one(const void *vp, int32_t code)
{
    const tte_leaky_relu_s8_params_t *p = (const tte_leaky_relu_s8_params_t *)vp;
    const int32_t v = code - p->in_zp;
    const int32_t r = v >= 0 ? tte_mbqm(v, p->id_mult, p->id_shift) : tte_mbqm(v, p->alpha_mult, p->alpha_shift);
    return (int8_t)clamp8(r + p->out_zp);
}

void tte_leaky_relu_s8(const tte_leaky_relu_s8_params_t *p, const int8_t *x, int8_t *y, int32_t n)
{
    apply_unary(leaky_relu_one, p, x, y, n);
}

/* ---- RSQRT, L2_NORMALIZATION ---------------------------------------------------------- */

/* GetInvSqrtQuantizedMultiplierExp with reverse_shift -1: 1/sqrt(x) as (mult, shift). */
static void inv_sqrt_multiplier_exp(int32_t x, int32_t *mult, int32_t *shift)
{
    const int32_t half_three = (1 << 28) + (1 << 27); /* 1.5 in Q3.28 */
    int32_t e = 11, v = 1 << 28, half_in, clz = 0, pairs, i;
    uint32_t u;
    if (x <= 1) {
        *mult = TTE_INT32_MAX;
        *shift = 0;
        return;
    }
    while (x >= (1 << 29)) {
        x /= 4;
        ++e;
    }
    for (u = (uint32_t)x; !(u & 0x80000000u); u <<= 1) {
        ++clz;
    }
    pairs = (clz - 1) / 2 - 1;
    e -= pairs;
    x <<= 2 * pairs;
    half_in = tte_rdbp(x >> 1, 1);
    for (i = 0; i < 5; ++i) {
        const int32_t x3 = shl_sat(tte_srdhm(tte_srdhm(v, v), v), 6);
        v = shl_sat(tte_srdhm(half_three, v) - tte_srdhm(half_in, x3), 3);
    }
    v = tte_srdhm(v, 1518500250); /* sqrt(2) / 2 */
    if (e < 0) {
        v = (int32_t)((uint32_t)v << -e);
        e = 0;
    }
    *mult = v;
    *shift = -e;
}

static int8_t rsqrt_one(const void *vp, int32_t code)
{
    const tte_rsqrt_s8_params_t *p = (const tte_rsqrt_s8_params_t *)vp;
    const int32_t v = code - p->in_zp;
    int32_t m, e, data;
    if (v <= 0) {
        return 127;
    }
    inv_sqrt_multiplier_exp(v, &m, &e);
    data = tte_mbqm(1, m, e + 20);
    return (int8_t)clamp8(tte_mbqm(data, p->mult, p->shift - 20) + p->out_zp);
}

void tte_rsqrt_s8(const tte_rsqrt_s8_params_t *p, const int8_t *x, int8_t *y, int32_t n)
{
    apply_unary(rsqrt_one, p, x, y, n);
}

void tte_l2_normalize_s8(int32_t in_zp, const int8_t *x, int8_t *y, int32_t outer, int32_t depth)
{
    int32_t r, c;
    for (r = 0; r < outer; ++r) {
        const int8_t *xr = x + r * depth;
        int8_t *yr = y + r * depth;
        int32_t acc = 0, m, e;
        for (c = 0; c < depth; ++c) {
            const int32_t v = (int32_t)xr[c] - in_zp;
            acc += v * v;
        }
        inv_sqrt_multiplier_exp(acc, &m, &e);
        for (c = 0; c < depth; ++c) {
            yr[c] = (int8_t)clamp8(tte_mbqm((int32_t)xr[c] - in_zp, m, e + 7));
        }
    }
}

/* ---- GELU (table), SUB, MAXIMUM / MINIMUM --------------------------------------------- */

void tte_lut_s8(const int8_t *table, const int8_t *x, int8_t *y, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        y[i] = table[(int32_t)x[i] + 128];
    }
}

/* Calls f(k, offset in a, offset in b) for every output element k. */
typedef void (*pair_fn)(const void *ctx, int32_t k, int32_t ia, int32_t ib);

static void for_each_pair(const tte_bcast4_t *bc, int32_t n, pair_fn f, const void *ctx)
{
    int32_t i0, i1, i2, i3, k = 0;
    if (bc == NULL) {
        for (k = 0; k < n; ++k) {
            f(ctx, k, k, k);
        }
        return;
    }
    for (i0 = 0; i0 < bc->dims[0]; ++i0) {
        for (i1 = 0; i1 < bc->dims[1]; ++i1) {
            for (i2 = 0; i2 < bc->dims[2]; ++i2) {
                const int32_t ba = i0 * bc->a_stride[0] + i1 * bc->a_stride[1] + i2 * bc->a_stride[2];
                const int32_t bb = i0 * bc->b_stride[0] + i1 * bc->b_stride[1] + i2 * bc->b_stride[2];
                for (i3 = 0; i3 < bc->dims[3]; ++i3) {
                    f(ctx, k++, ba + i3 * bc->a_stride[3], bb + i3 * bc->b_stride[3]);
                }
            }
        }
    }
}

typedef struct {
    const void *p;
    const int8_t *a, *b;
    int8_t *y;
    const float *dy;
    float *dx;
} pair_ctx_t;

static void sub_one(const void *vc, int32_t k, int32_t ia, int32_t ib)
{
    const pair_ctx_t *c = (const pair_ctx_t *)vc;
    const tte_add_s8_params_t *p = (const tte_add_s8_params_t *)c->p;
    const int32_t scale = (int32_t)1 << p->left_shift;
    const int32_t s1 = tte_rdbp(tte_srdhm(((int32_t)c->a[ia] - p->in1_zp) * scale, p->in1_mult), -p->in1_shift);
    const int32_t s2 = tte_rdbp(tte_srdhm(((int32_t)c->b[ib] - p->in2_zp) * scale, p->in2_mult), -p->in2_shift);
    const int32_t v = tte_rdbp(tte_srdhm(s1 - s2, p->out_mult), -p->out_shift) + p->out_zp;
    c->y[k] = (int8_t)tte_clamp_i32(v, p->act_min, p->act_max);
}

/* With left_shift <= 20 every value stays below 2**30 in magnitude, so the rescalings take
 * tte_rq_fast_raw's form exactly (the conditions of ADD's fast path, elementwise_s8.c). */
static int32_t sub_fast_ok(const tte_add_s8_params_t *p)
{
    return p->left_shift >= 0 && p->left_shift <= 20 && p->in1_shift <= 0 && p->in1_shift >= -31
           && p->in2_shift <= 0 && p->in2_shift >= -31 && p->out_shift <= -1 && p->out_shift >= -31
           && p->out_zp >= -128 && p->out_zp <= 127 && p->act_min >= -128 && p->act_max <= 127;
}

void tte_sub_s8(const tte_add_s8_params_t *p, const tte_bcast4_t *bc, const int8_t *a, const int8_t *b,
                int8_t *y, int32_t n)
{
    pair_ctx_t c = {NULL, NULL, NULL, NULL, NULL, NULL};
    int32_t i;
    if (bc == NULL && sub_fast_ok(p)) {
        /* locals: the int8 stores could alias *p */
        const int32_t scale = (int32_t)1 << p->left_shift, zp2 = 2 * p->out_zp + 1;
        const int32_t z1 = p->in1_zp, z2 = p->in2_zp, m1 = p->in1_mult, e1 = p->in1_shift;
        const int32_t m2 = p->in2_mult, e2 = p->in2_shift, mo = p->out_mult, eo = p->out_shift;
        const int32_t lo = p->act_min, hi = p->act_max;
        for (i = 0; i < n; ++i) {
            const int32_t x1 = ((int32_t)a[i] - z1) * scale, x2 = ((int32_t)b[i] - z2) * scale;
            const int32_t s1 = e1 != 0 ? tte_rq_fast_raw(x1, m1, e1, 1) : tte_srdhm(x1, m1);
            const int32_t s2 = e2 != 0 ? tte_rq_fast_raw(x2, m2, e2, 1) : tte_srdhm(x2, m2);
            y[i] = (int8_t)tte_rq_fast(s1 - s2, mo, eo, zp2, lo, hi);
        }
        return;
    }
    c.p = p;
    c.a = a;
    c.b = b;
    c.y = y;
    for_each_pair(bc, n, sub_one, &c);
}

static int32_t requant_one(const tte_requant_t *p, int32_t q)
{
    return tte_clamp_i32(tte_mbqm(q - p->in_zp, p->mult, p->shift) + p->out_zp, p->act_min, p->act_max);
}

static void minmax_pair(const pair_ctx_t *c, int32_t k, int32_t ia, int32_t ib, int32_t is_max)
{
    const tte_minmax_s8_params_t *p = (const tte_minmax_s8_params_t *)c->p;
    const int32_t va = p->requant_a ? requant_one(&p->a, c->a[ia]) : c->a[ia];
    const int32_t vb = p->requant_b ? requant_one(&p->b, c->b[ib]) : c->b[ib];
    c->y[k] = (int8_t)(is_max ? (va > vb ? va : vb) : (va < vb ? va : vb));
}

static void max_one(const void *vc, int32_t k, int32_t ia, int32_t ib)
{
    minmax_pair((const pair_ctx_t *)vc, k, ia, ib, 1);
}

static void min_one(const void *vc, int32_t k, int32_t ia, int32_t ib)
{
    minmax_pair((const pair_ctx_t *)vc, k, ia, ib, 0);
}

/* Equal shapes: each input's requantization tabulated over its 256 codes (the same
 * function, so the same bytes) once there are more elements than codes. */
static void minmax_flat(const tte_minmax_s8_params_t *p, int32_t is_max, const int8_t *a, const int8_t *b,
                        int8_t *y, int32_t n)
{
    int8_t ta[256], tb[256];
    int32_t i;
    for (i = 0; i < 256; ++i) {
        ta[i] = (int8_t)(p->requant_a ? requant_one(&p->a, i - 128) : i - 128);
        tb[i] = (int8_t)(p->requant_b ? requant_one(&p->b, i - 128) : i - 128);
    }
    for (i = 0; i < n; ++i) {
        const int8_t va = ta[(int32_t)a[i] + 128], vb = tb[(int32_t)b[i] + 128];
        y[i] = is_max ? (va > vb ? va : vb) : (va < vb ? va : vb);
    }
}

static void minmax(const tte_minmax_s8_params_t *p, const tte_bcast4_t *bc, int32_t is_max, const int8_t *a,
                   const int8_t *b, int8_t *y, int32_t n)
{
    pair_ctx_t c = {NULL, NULL, NULL, NULL, NULL, NULL};
    if (bc == NULL && n > 256) {
        minmax_flat(p, is_max, a, b, y, n);
        return;
    }
    c.p = p;
    c.a = a;
    c.b = b;
    c.y = y;
    for_each_pair(bc, n, is_max ? max_one : min_one, &c);
}

void tte_maximum_s8(const tte_minmax_s8_params_t *p, const tte_bcast4_t *bc, const int8_t *a, const int8_t *b,
                    int8_t *y, int32_t n)
{
    minmax(p, bc, 1, a, b, y, n);
}

void tte_minimum_s8(const tte_minmax_s8_params_t *p, const tte_bcast4_t *bc, const int8_t *a, const int8_t *b,
                    int8_t *y, int32_t n)
{
    minmax(p, bc, 0, a, b, y, n);
}

/* ---- backward ------------------------------------------------------------------------- */

void tte_lut_grad_s8_f32(const float *table, const int8_t *t, const float *dy, float *dx, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        dx[i] = dy[i] * table[(int32_t)t[i] + 128];
    }
}

static void minmax_grad_one(const void *vc, int32_t k, int32_t ia, int32_t ib)
{
    const pair_ctx_t *c = (const pair_ctx_t *)vc;
    const tte_minmax_grad_params_t *p = (const tte_minmax_grad_params_t *)c->p;
    const float ra = (float)((int32_t)c->a[ia] - p->a_zp) * p->a_scale;
    const float rb = (float)((int32_t)c->b[ib] - p->b_zp) * p->b_scale;
    const float mine = p->which == 0 ? ra : rb, other = p->which == 0 ? rb : ra;
    const int32_t won = p->is_max ? mine > other : mine < other;
    const float share = mine == other ? 0.5f : (won ? 1.0f : 0.0f);
    c->dx[k] = c->dy[k] * share;
}

void tte_minmax_grad_s8_f32(const tte_minmax_grad_params_t *p, const tte_bcast4_t *bc, const int8_t *a,
                            const int8_t *b, const float *dy, float *dx, int32_t n)
{
    pair_ctx_t c = {NULL, NULL, NULL, NULL, NULL, NULL};
    int32_t i;
    if (bc == NULL) {
        /* locals: the float stores could alias *p */
        const int32_t za = p->a_zp, zb = p->b_zp, mine_a = p->which == 0, is_max = p->is_max;
        const float sa = p->a_scale, sb = p->b_scale;
        for (i = 0; i < n; ++i) {
            const float ra = (float)((int32_t)a[i] - za) * sa, rb = (float)((int32_t)b[i] - zb) * sb;
            const float mine = mine_a ? ra : rb, other = mine_a ? rb : ra;
            const int32_t won = is_max ? mine > other : mine < other;
            dx[i] = dy[i] * (mine == other ? 0.5f : (won ? 1.0f : 0.0f));
        }
        return;
    }
    c.p = p;
    c.a = a;
    c.b = b;
    c.dy = dy;
    c.dx = dx;
    for_each_pair(bc, n, minmax_grad_one, &c);
}

void tte_neg_f32(const float *x, float *y, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        y[i] = -x[i];
    }
}
