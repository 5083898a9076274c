/* int8 fully connected, per-tensor or per-output-channel requantization.
 *
 * Cortex-M4/M7 (ARMv7E-M DSP extension, under __ARM_FEATURE_DSP): four outputs at a time,
 * x - zp widened to int16 into a stack buffer once per TTE_FC_WIDE_MAX inputs and each of
 * its words used for the four weight rows by SMLAD. Longer rows run in passes of
 * TTE_FC_WIDE_MAX inputs over blocks of TTE_FC_BLOCK outputs, whose sums carry over
 * between the passes on the stack. Every product and sum is an integer of the portable
 * loop and the output stage is tte_rq_fast only where it equals the exact one, so the
 * bytes are the same (tests/test_qemu_kernels.py).
 *
 * tte_fully_connected_s8_prep (below) reads a frozen layer's weights as the compiler laid
 * them out (one SXTB16 per weight word instead of two); the plain kernel serves the
 * trained layers, whose weights change in place. */
#include "tte/internal/optimized.h"
#include "tte/internal/conv_s8.h"

/* inputs widened per pass (two bytes each) and outputs per block of a long row (four bytes
 * each): kept small so that the paper models' stack peak stays where their backward pass
 * sets it */
#define TTE_FC_WIDE_MAX 128
#define TTE_FC_BLOCK 32

static inline int8_t fc_out(const rq_t *r, int32_t per_channel, int32_t acc, int32_t n)
{
    return rq(r, acc, per_channel ? n : 0);
}

#if defined(__ARM_FEATURE_DSP)
/* One weight word of rows wa (a0), wa + K (a1), wb (a2), wb + K (a3) against the unpacked
 * x - zp in xe (even lanes) and xo (odd lanes); wa and wb advance by four. */
#define TTE_FC_ROWS4                                                                    \
    "ldr %[w], [%[wa], %[k]]\n\t"                                                      \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "smlad %[a1], %[xe], %[we], %[a1]\n\t"                                             \
    "smlad %[a1], %[xo], %[w], %[a1]\n\t"                                              \
    "ldr %[w], [%[wa]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "smlad %[a0], %[xe], %[we], %[a0]\n\t"                                             \
    "smlad %[a0], %[xo], %[w], %[a0]\n\t"                                              \
    "ldr %[w], [%[wb], %[k]]\n\t"                                                      \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "smlad %[a3], %[xe], %[we], %[a3]\n\t"                                             \
    "smlad %[a3], %[xo], %[w], %[a3]\n\t"                                              \
    "ldr %[w], [%[wb]], #4\n\t"                                                        \
    "sxtb16 %[we], %[w]\n\t"                                                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                    \
    "smlad %[a2], %[xe], %[we], %[a2]\n\t"                                             \
    "smlad %[a2], %[xo], %[w], %[a2]\n\t"

/* a word of x already widened (xe: even lanes, xo: odd lanes) */
#define TTE_FC_XWIDE "ldrd %[xe], %[xo], [%[xp]], #8\n\t"

#define TTE_FC_OPERANDS                                                                                       \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xq), [wa] "+r"(wa), [wb] "+r"(wb), \
      [xe] "=&r"(xe), [xo] "=&r"(xo), [w] "=&r"(w), [we] "=&r"(we)                                           \
    : [k] "r"(k), [end] "m"(end)                                                                             \
    : "cc", "memory"

/* acc[0..3] += rows w0, w0 + k, w0 + 2k, w0 + 3k against the kc (a positive multiple of 8)
 * widened values at xw: sixteen inputs per loop pass, eight more when kc is not a multiple
 * of 16. */
static TTE_ALWAYS_INLINE void fc_dot4(const uint32_t *xw, const int8_t *w0, int32_t k, int32_t kc, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *wa = w0, *wb = w0 + 2 * (size_t)k;
    const uint32_t *xq = xw;
    const uint32_t *end = xw + (kc & ~15) / 2;
    uint32_t xe, xo, w, we;
    if (kc & 8) {
        __asm__ volatile(TTE_FC_XWIDE TTE_FC_ROWS4 TTE_FC_XWIDE TTE_FC_ROWS4 TTE_FC_OPERANDS);
        end += 4;
    }
    if (xq != end) {
        __asm__ volatile("1:\n\t" TTE_FC_XWIDE TTE_FC_ROWS4 TTE_FC_XWIDE TTE_FC_ROWS4 TTE_FC_XWIDE TTE_FC_ROWS4
                         TTE_FC_XWIDE TTE_FC_ROWS4
                         "ldr %[w], %[end]\n\t"
                         "cmp %[xp], %[w]\n\t"
                         "bne 1b" TTE_FC_OPERANDS);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Where fc_pass's loop over quads of rows finds the widened x and its end, the step from
 * the end of a quad's rows in the pass to the next quad's, and the end of the sums. */
typedef struct {
    const uint32_t *xw, *end;
    int32_t wstep;
    const int32_t *acc_end;
} fc_pass_t;

/* One asm loop over the four-row quads of a pass: acc[4 q .. 4 q + 3] += rows w0 + (4 q + j) k
 * (j < 4) against the kc widened values at xw, for q < nq; kc is 16 i (i >= 1) or 16 i + 8
 * (i >= 1, pre8: eight values first). */
#define TTE_FC_WORD4 TTE_FC_XWIDE TTE_FC_ROWS4 TTE_FC_XWIDE TTE_FC_ROWS4 TTE_FC_XWIDE TTE_FC_ROWS4 TTE_FC_XWIDE TTE_FC_ROWS4
/* sixteen inputs a loop pass up to the end of the pass's inputs */
#define TTE_FC_LOOP                                                                     \
    "1:\n\t" TTE_FC_WORD4 "ldr %[w], [%[pp], #4]\n\t"                                  \
    "cmp %[xp], %[w]\n\t"                                                              \
    "bne 1b\n\t"
#define TTE_FC_PASS(BODY)                                                                                   \
    __asm__ volatile("2:\n\t"                                                                               \
                     "ldrd %[a0], %[a1], [%[ao]]\n\t"                                                       \
                     "ldrd %[a2], %[a3], [%[ao], #8]\n\t"                                                   \
                     "ldr %[xp], [%[pp]]\n\t" BODY                                                          \
                     "strd %[a0], %[a1], [%[ao]], #16\n\t"                                                  \
                     "strd %[a2], %[a3], [%[ao], #-8]\n\t"                                                  \
                     "ldr %[w], [%[pp], #8]\n\t"                                                            \
                     "add %[wa], %[wa], %[w]\n\t"                                                           \
                     "add %[wb], %[wb], %[w]\n\t"                                                           \
                     "ldr %[w], [%[pp], #12]\n\t"                                                           \
                     "cmp %[ao], %[w]\n\t"                                                                  \
                     "bne 2b"                                                                               \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [xp] "=&r"(xq),        \
                       [wa] "+r"(wa), [wb] "+r"(wb), [ao] "+r"(ao), [xe] "=&r"(xe), [xo] "=&r"(xo), [w] "=&r"(w), \
                       [we] "=&r"(we)                                                                       \
                     : [k] "r"(k), [pp] "r"(pp)                                                             \
                     : "cc", "memory")

TTE_NOINLINE static void fc_pass(const uint32_t *xw, int32_t kc, const int8_t *w0, int32_t k, int32_t *acc,
                                 int32_t nq)
{
    const fc_pass_t prm = {xw, xw + kc / 2, 4 * k - kc, acc + 4 * nq};
    const fc_pass_t *pp = &prm;
    const int8_t *wa = w0, *wb = w0 + 2 * (size_t)k;
    int32_t *ao = acc;
    const uint32_t *xq;
    int32_t a0, a1, a2, a3;
    uint32_t xe, xo, w, we;
    if (kc == TTE_FC_WIDE_MAX) {
        /* a whole pass of 128 inputs: straight code, no loop */
        TTE_FC_PASS(TTE_FC_WORD4 TTE_FC_WORD4 TTE_FC_WORD4 TTE_FC_WORD4 TTE_FC_WORD4 TTE_FC_WORD4 TTE_FC_WORD4
                        TTE_FC_WORD4);
    } else if (kc & 8) {
        TTE_FC_PASS(TTE_FC_XWIDE TTE_FC_ROWS4 TTE_FC_XWIDE TTE_FC_ROWS4 TTE_FC_LOOP);
    } else {
        TTE_FC_PASS(TTE_FC_LOOP);
    }
}

/* Rows of 128 inputs without a bias, with per-channel weights or a narrower clamp (the rest
 * take fc_rows_k128_rq below): the four rows' offsets fit LDRD's immediate, so each row reads
 * eight weights with one LDRD against the four words of x at xe0, xo0, xe1, xo1 (38
 * instructions per 32 products instead of 42). */
#define TTE_FC_ROW8(A, ADDR)                                                            \
    "ldrd %[w0], %[w1], " ADDR "\n\t"                                                  \
    "sxtb16 %[we], %[w0]\n\t"                                                         \
    "sxtb16 %[w0], %[w0], ror #8\n\t"                                                 \
    "smlad %[" A "], %[xe0], %[we], %[" A "]\n\t"                                     \
    "smlad %[" A "], %[xo0], %[w0], %[" A "]\n\t"                                     \
    "sxtb16 %[we], %[w1]\n\t"                                                         \
    "sxtb16 %[w1], %[w1], ror #8\n\t"                                                 \
    "smlad %[" A "], %[xe1], %[we], %[" A "]\n\t"                                     \
    "smlad %[" A "], %[xo1], %[w1], %[" A "]\n\t"
#define TTE_FC_K128_STEP                                                                \
    "ldrd %[xe0], %[xo0], [%[xp]], #16\n\t"                                           \
    "ldrd %[xe1], %[xo1], [%[xp], #-8]\n\t" TTE_FC_ROW8("a0", "[%[wp]], #8")          \
        TTE_FC_ROW8("a1", "[%[wp], #120]") TTE_FC_ROW8("a2", "[%[wp], #248]")          \
            TTE_FC_ROW8("a3", "[%[wp], #376]")

/* acc[4 q + j] += row 4 q + j (j < 4) of w (rows of 128 inputs) against the 128 widened
 * values at xw, for q < nq (nq >= 1); after a quad's rows, x goes back 256 bytes and the
 * weights on by the quad's other three rows */
TTE_NOINLINE static void fc_pass_k128(const uint32_t *xw, const int8_t *w, int32_t *acc, int32_t nq)
{
    const uint32_t *const end = xw + TTE_FC_WIDE_MAX / 2;
    const int32_t *const acc_end = acc + 4 * nq;
    const uint32_t *xp = xw;
    const int8_t *wp = w;
    int32_t *ao = acc;
    int32_t a0, a1, a2, a3;
    uint32_t xe0, xo0, xe1, xo1, w0, w1, we;
    __asm__ volatile("2:\n\t"
                     "ldrd %[a0], %[a1], [%[ao]]\n\t"
                     "ldrd %[a2], %[a3], [%[ao], #8]\n\t"
                     "1:\n\t" TTE_FC_K128_STEP TTE_FC_K128_STEP TTE_FC_K128_STEP TTE_FC_K128_STEP
                     "ldr %[w0], %[end]\n\t"
                     "cmp %[xp], %[w0]\n\t"
                     "bne 1b\n\t"
                     "strd %[a0], %[a1], [%[ao]], #16\n\t"
                     "strd %[a2], %[a3], [%[ao], #-8]\n\t"
                     "sub %[xp], %[xp], #256\n\t"
                     "add %[wp], %[wp], #384\n\t"
                     "ldr %[w0], %[acc_end]\n\t"
                     "cmp %[ao], %[w0]\n\t"
                     "bne 2b"
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [xp] "+r"(xp), [wp] "+r"(wp),
                       [ao] "+r"(ao), [xe0] "=&r"(xe0), [xo0] "=&r"(xo0), [xe1] "=&r"(xe1), [xo1] "=&r"(xo1),
                       [w0] "=&r"(w0), [w1] "=&r"(w1), [we] "=&r"(we)
                     : [end] "m"(end), [acc_end] "m"(acc_end)
                     : "cc", "memory");
}

/* Rows of 128 inputs, the whole row in straight code with fixed offsets (x at xp, the quad's
 * four rows at wp), and its output stage (tte_rq_fast_s8, one multiplier and shift) on the sums
 * in registers: the biases read where the sums start, no sums on the stack. */
#define TTE_FC_K128_AT(X0, X1, R0, R1, R2, R3)                                          \
    "ldrd %[xe0], %[xo0], [%[xp], #" X0 "]\n\t"                                      \
    "ldrd %[xe1], %[xo1], [%[xp], #" X1 "]\n\t" TTE_FC_ROW8("a0", "[%[wp], #" R0 "]") \
        TTE_FC_ROW8("a1", "[%[wp], #" R1 "]") TTE_FC_ROW8("a2", "[%[wp], #" R2 "]")    \
            TTE_FC_ROW8("a3", "[%[wp], #" R3 "]")
#define TTE_FC_K128_ROW                                                                 \
    TTE_FC_K128_AT("0", "8", "0", "128", "256", "384") \
    TTE_FC_K128_AT("16", "24", "8", "136", "264", "392") \
    TTE_FC_K128_AT("32", "40", "16", "144", "272", "400") \
    TTE_FC_K128_AT("48", "56", "24", "152", "280", "408") \
    TTE_FC_K128_AT("64", "72", "32", "160", "288", "416") \
    TTE_FC_K128_AT("80", "88", "40", "168", "296", "424") \
    TTE_FC_K128_AT("96", "104", "48", "176", "304", "432") \
    TTE_FC_K128_AT("112", "120", "56", "184", "312", "440") \
    TTE_FC_K128_AT("128", "136", "64", "192", "320", "448") \
    TTE_FC_K128_AT("144", "152", "72", "200", "328", "456") \
    TTE_FC_K128_AT("160", "168", "80", "208", "336", "464") \
    TTE_FC_K128_AT("176", "184", "88", "216", "344", "472") \
    TTE_FC_K128_AT("192", "200", "96", "224", "352", "480") \
    TTE_FC_K128_AT("208", "216", "104", "232", "360", "488") \
    TTE_FC_K128_AT("224", "232", "112", "240", "368", "496") \
    TTE_FC_K128_AT("240", "248", "120", "248", "376", "504")
/* tte_rq_fast_s8 of sum A (we: the multiplier, w1: ~shift, w0: zp2), its byte stored */
#define TTE_FC_K128_OUT(A)                                                              \
    "qadd %[" A "], %[" A "], %[" A "]\n\t"                                           \
    "smmulr %[" A "], %[" A "], %[we]\n\t"                                            \
    "add %[" A "], %[" A "], %[" A "], asr #31\n\t"                                   \
    "asr %[" A "], %[" A "], %[w1]\n\t"                                               \
    "add %[" A "], %[" A "], %[w0]\n\t"                                               \
    "ssat %[" A "], #8, %[" A "], asr #1\n\t"                                         \
    "strb %[" A "], [%[yp]], #1\n\t"

/* y[4 q + j] = the output stage of bias[4 q + j] + row 4 q + j of w (rows of 128 inputs) against
 * the 128 widened values at xw, for q < nq (nq >= 1); the quad's biases are found from where its
 * bytes go (bias - 4 y, mod 2**32, fourteen registers being all there are) */
TTE_NOINLINE static void fc_rows_k128_rq(const uint32_t *xw, const int8_t *w, const int32_t *bias, const rq_t *r,
                                         int8_t *y, int32_t nq)
{
    const uint32_t delta = (uint32_t)(uintptr_t)bias - 4u * (uint32_t)(uintptr_t)y;
    const int32_t mult = r->mult[0], rsh = ~r->shift[0], zp2 = r->zp2;
    const int8_t *const yend = y + 4 * nq;
    const uint32_t *const xp = xw;
    const int8_t *wp = w;
    int8_t *yp = y;
    int32_t a0, a1, a2, a3;
    uint32_t xe0, xo0, xe1, xo1, w0, w1, we;
    __asm__ volatile("2:\n\t"
                     "ldr %[w0], %[delta]\n\t"
                     "add %[w0], %[w0], %[yp], lsl #2\n\t"
                     "ldrd %[a0], %[a1], [%[w0]]\n\t"
                     "ldrd %[a2], %[a3], [%[w0], #8]\n\t" TTE_FC_K128_ROW
                     "add %[wp], %[wp], #512\n\t"
                     "ldr %[we], %[mult]\n\t"
                     "ldr %[w1], %[rsh]\n\t"
                     "ldr %[w0], %[zp2]\n\t" TTE_FC_K128_OUT("a0") TTE_FC_K128_OUT("a1") TTE_FC_K128_OUT("a2")
                         TTE_FC_K128_OUT("a3")
                     "ldr %[w0], %[yend]\n\t"
                     "cmp %[yp], %[w0]\n\t"
                     "bne 2b"
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [wp] "+r"(wp), [yp] "+r"(yp),
                       [xe0] "=&r"(xe0), [xo0] "=&r"(xo0), [xe1] "=&r"(xe1), [xo1] "=&r"(xo1), [w0] "=&r"(w0),
                       [w1] "=&r"(w1), [we] "=&r"(we)
                     : [xp] "r"(xp), [delta] "m"(delta), [mult] "m"(mult), [rsh] "m"(rsh), [zp2] "m"(zp2),
                       [yend] "m"(yend)
                     : "cc", "memory");
}

/* x[k0, k0 + kc) - zp widened into xw (kc a multiple of 4) */
static void fc_widen(const int8_t *x, int32_t kc, uint32_t zz, uint32_t *xw)
{
    int32_t k;
    for (k = 0; k < kc; k += 4) {
        const uint32_t u = load4(x + k);
        xw[k / 2] = tte_ssub16(tte_sxtb16(u), zz);
        xw[k / 2 + 1] = tte_ssub16(tte_sxtb16_ror8(u), zz);
    }
}

/* Inputs [k8, K) of one output (the tail past the last multiple of eight). */
static inline int32_t fc_tail(const int8_t *xr, const int8_t *wn, int32_t k8, int32_t K, int32_t zp, int32_t acc)
{
    int32_t k;
    for (k = k8; k < K; ++k) {
        acc += ((int32_t)xr[k] - zp) * (int32_t)wn[k];
    }
    return acc;
}

/* out[0..3] = the output stage of acc[0..3] (outputs n..n + 3), the per-tensor multiplier
 * and shift loaded once */
static TTE_ALWAYS_INLINE void fc_out4(const rq_t *r, int32_t per_channel, const int32_t acc[4], int32_t n,
                                      int8_t *out)
{
    int32_t j;
    if (per_channel) {
        rq4(r, acc[0], acc[1], acc[2], acc[3], n, out);
    } else if (r->mode == 2) {
        const int32_t mu = r->mult[0], sh = r->shift[0], zp2 = r->zp2;
        for (j = 0; j < 4; ++j) {
            out[j] = (int8_t)tte_rq_fast_s8(acc[j], mu, sh, zp2);
        }
    } else if (r->mode == 1) {
        const int32_t mu = r->mult[0], sh = r->shift[0], zp2 = r->zp2, lo = r->lo, hi = r->hi;
        for (j = 0; j < 4; ++j) {
            out[j] = (int8_t)tte_rq_fast(acc[j], mu, sh, zp2, lo, hi);
        }
    } else {
        for (j = 0; j < 4; ++j) {
            out[j] = rq(r, acc[j], 0);
        }
    }
}

/* y[n0, n1) = tte_rq_fast_s8 of acc[0, n1 - n0), one multiplier and shift (mode 2) */
static void fc_out_fast_s8(const rq_t *r, const int32_t *acc, int32_t n0, int32_t n1, int8_t *y)
{
    const int32_t mu = r->mult[0], sh = r->shift[0], zp2 = r->zp2;
    int32_t n;
    for (n = n0; n < n1; ++n) {
        y[n] = (int8_t)tte_rq_fast_s8(*acc++, mu, sh, zp2);
    }
}

/* Outputs [0, N & ~3) of row xr (K inputs, k8 = K & ~7 > 0) in blocks of TTE_FC_BLOCK;
 * x widened once when k8 <= TTE_FC_WIDE_MAX, else once per block and pass. */
TTE_HOT static void fc_row_dsp(const tte_fc_s8_params_t *p, const rq_t *r, const int8_t *xr, const int8_t *w,
                               const int32_t *bias, int8_t *yr)
{
    const int32_t K = p->in_features, N4 = p->out_features & ~3, k8 = K & ~7, zp = p->in_zp;
    const int32_t single = k8 <= TTE_FC_WIDE_MAX;
    const uint32_t zz = pack16(zp, zp);
    uint32_t xw[TTE_FC_WIDE_MAX / 2] __attribute__((aligned(8)));
    int32_t acc[TTE_FC_BLOCK];
    int32_t n, nb, k0;
    if (single) {
        fc_widen(xr, k8, zz, xw);
    }
    if (K == TTE_FC_WIDE_MAX && bias && !p->per_channel && r->mode == 2) {
        fc_rows_k128_rq(xw, w, bias, r, yr, N4 / 4);
        return;
    }
    for (nb = 0; nb < N4; nb += TTE_FC_BLOCK) {
        const int32_t ne = N4 - nb < TTE_FC_BLOCK ? N4 : nb + TTE_FC_BLOCK;
        for (n = nb; n < ne; ++n) {
            acc[n - nb] = bias ? bias[n] : 0;
        }
        for (k0 = 0; k0 < k8; k0 += TTE_FC_WIDE_MAX) {
            const int32_t kc = k8 - k0 < TTE_FC_WIDE_MAX ? k8 - k0 : TTE_FC_WIDE_MAX;
            if (!single) {
                fc_widen(xr + k0, kc, zz, xw);
            }
            if (K == TTE_FC_WIDE_MAX) {
                fc_pass_k128(xw, w + (size_t)nb * K, acc, (ne - nb) / 4);
            } else if (kc >= 16) {
                /* 16 i or 16 i + 8 values, i >= 1: the quads in one asm loop */
                fc_pass(xw, kc, w + (size_t)nb * K + k0, K, acc, (ne - nb) / 4);
            } else {
                for (n = nb; n < ne; n += 4) {
                    fc_dot4(xw, w + (size_t)n * K + k0, K, kc, acc + (n - nb));
                }
            }
        }
        if (k8 < K) {
            for (n = nb; n < ne; ++n) {
                acc[n - nb] = fc_tail(xr, w + (size_t)n * K, k8, K, zp, acc[n - nb]);
            }
        }
        if (!p->per_channel && r->mode == 2) {
            fc_out_fast_s8(r, acc, nb, ne, yr);
        } else {
            for (n = nb; n < ne; n += 4) {
                fc_out4(r, p->per_channel, acc + (n - nb), n, yr + n);
            }
        }
    }
}
#endif

void tte_fully_connected_s8(const tte_fc_s8_params_t *p, const int8_t *x, const int8_t *w,
                            const int32_t *bias, int8_t *y)
{
    const int32_t K = p->in_features, N = p->out_features;
    const int32_t fast = tte_rq_fast_ok(p->mult, p->shift, p->per_channel ? N : 1, p->out_zp, p->act_min,
                                        p->act_max);
    const rq_t r = rq_make(p->mult, p->shift, fast, p->out_zp, p->act_min, p->act_max);
    int32_t row, n, k;
    for (row = 0; row < p->rows; ++row) {
        const int8_t *xr = x + (size_t)row * K;
        int8_t *yr = y + (size_t)row * N;
        n = 0;
#if defined(__ARM_FEATURE_DSP)
        if (K >= 8) {
            fc_row_dsp(p, &r, xr, w, bias, yr);
            n = N & ~3;
        }
#endif
        for (; n < N; ++n) {
            const int8_t *wn = w + (size_t)n * K;
            int32_t acc = bias ? bias[n] : 0;
            for (k = 0; k < K; ++k) {
                acc += ((int32_t)xr[k] - p->in_zp) * (int32_t)wn[k];
            }
            yr[n] = fc_out(&r, p->per_channel, acc, n);
        }
    }
}

/* ---- weights laid out at compile time (tte.compiler.emit.conv.fc_layout) ----
 *
 * Each weight word holds four weights b0..b3 of one row as two int16 lanes b0 + 256 b1 and
 * b2 + 256 b3 (fc_layout keeps no row where one would leave int16), so that the word itself is
 * one SMLAD operand and SXTB16 of it (its bytes 0 and 2: b0, b2) the other: against the
 * widened inputs X = (x1 - 127, x3 - 127) and Y = (256 x0 - x1 + 127, 256 x2 - x3 + 127) (raw
 * int8 x, both in int16 for any x), SMLAD(X, W) + SMLAD(Y, SXTB16(W)) is 256 (x0 b0 + x1 b1 +
 * x2 b2 + x3 b3 - 127 (b1 + b3)): four products for LDR + SXTB16 + 2 SMLAD. The sums are 256
 * times the exact int32 sum, which tte.compiler.emit.conv.fc_layout lays out only where it
 * stays within 24 bits for any input; the prepared biases hold 256 times the bias, the input
 * zero point's share and the odd weights' 127 (b1 + b3). So the sum before the output stage is
 * the portable loop's, times 256.
 *
 * Layout (uint32): the out_features rounded up to four prepared biases (mod 2**32), then per block of
 * TTE_FCP_BLOCK rows (zero rows up to a multiple of four), per pass of TTE_FC_WIDE_MAX inputs
 * (zero inputs up to a multiple of eight), per group of rows (fcp_groups8 groups of eight, then
 * a four), per four inputs: the group's rows' words. The kernel reads the weights once, in order. */

/* outputs per block (four bytes each on the stack): FC-AE's 640-input layer's 128 in one, so
 * that each pass of inputs is widened once */
#define TTE_FCP_BLOCK 128

static inline int32_t fcp_k8(int32_t k)
{
    return (k + 7) & ~7;
}

/* the groups of eight rows leading a block of n rows (a multiple of four), the rest (none or
 * four) a group of four (tte.compiler.emit.conv.fc_groups_of_eight): eight rows share each load
 * of the widened inputs */
static inline int32_t fcp_groups8(int32_t n)
{
    return n / 8;
}

#if defined(__ARM_FEATURE_DSP)
/* eight inputs from xp widened to xw (both move on), Y's even bytes by one AND of u << 8 */
#define TTE_FCP_WIDEN8(U0, U1, O0, O1)                                                  \
    "ldr %[" U0 "], [%[xp]], #4\n\t"                                                   \
    "ldr %[" U1 "], [%[xp]], #4\n\t"                                                   \
    "sxtb16 %[" O0 "], %[" U0 "], ror #8\n\t"                                          \
    "ssub16 %[" O0 "], %[" O0 "], %[c127]\n\t"                                         \
    "and %[" U0 "], %[mask], %[" U0 "], lsl #8\n\t"                                    \
    "ssub16 %[" U0 "], %[" U0 "], %[" O0 "]\n\t"                                       \
    "sxtb16 %[" O1 "], %[" U1 "], ror #8\n\t"                                          \
    "ssub16 %[" O1 "], %[" O1 "], %[c127]\n\t"                                         \
    "and %[" U1 "], %[mask], %[" U1 "], lsl #8\n\t"                                    \
    "ssub16 %[" U1 "], %[" U1 "], %[" O1 "]\n\t"                                       \
    "strd %[" O0 "], %[" U0 "], [%[xw]], #16\n\t"                                      \
    "strd %[" O1 "], %[" U1 "], [%[xw], #-8]\n\t"
#endif

/* x[k0, k0 + kc) widened into xw, X and Y words per four inputs (inputs past K are 0) */
static void fcp_widen(const int8_t *x, int32_t K, int32_t k0, int32_t kc, uint32_t *xw)
{
    int32_t k = k0, j;
#if defined(__ARM_FEATURE_DSP)
    const uint32_t c127 = pack16(127, 127);
    const int32_t kend = k0 + kc < (K & ~3) ? k0 + kc : (K & ~3);
    if (kend - k >= 8) {
        /* sixteen inputs a loop pass (eight first where their count is not a multiple of
         * sixteen) */
        const int8_t *xp = x + k;
        const int8_t *const xend = xp + ((kend - k) & ~7);
        const uint32_t mask = 0xFF00FF00u;
        uint32_t u0, u1, o0, o1, u2, u3, o2, o3;
        if (((kend - k) & 8) != 0) {
            __asm__ volatile(TTE_FCP_WIDEN8("u0", "u1", "o0", "o1")
                             : [u0] "=&r"(u0), [u1] "=&r"(u1), [o0] "=&r"(o0), [o1] "=&r"(o1), [xp] "+r"(xp),
                               [xw] "+r"(xw)
                             : [mask] "r"(mask), [c127] "r"(c127)
                             : "cc", "memory");
        }
        if (xp != xend) {
            __asm__ volatile("1:\n\t" TTE_FCP_WIDEN8("u0", "u1", "o0", "o1") TTE_FCP_WIDEN8("u2", "u3", "o2", "o3")
                             "cmp %[xp], %[xend]\n\t"
                             "bne 1b"
                             : [u0] "=&r"(u0), [u1] "=&r"(u1), [o0] "=&r"(o0), [o1] "=&r"(o1), [u2] "=&r"(u2),
                               [u3] "=&r"(u3), [o2] "=&r"(o2), [o3] "=&r"(o3), [xp] "+r"(xp), [xw] "+r"(xw)
                             : [xend] "r"(xend), [mask] "r"(mask), [c127] "r"(c127)
                             : "cc", "memory");
        }
        k = (int32_t)(xend - x);
    }
    for (; k < kend; k += 4) {
        const uint32_t u = load4(x + k);
        const uint32_t xo = tte_ssub16(tte_sxtb16_ror8(u), c127);
        xw[0] = xo;
        xw[1] = tte_ssub16((u << 8) & 0xFF00FF00u, xo);
        xw += 2;
    }
#endif
    for (; k < k0 + kc; k += 4) {
        int32_t v[4];
        for (j = 0; j < 4; ++j) {
            v[j] = k + j < K ? x[k + j] : 0;
        }
        *xw++ = ((uint32_t)(v[1] - 127) & 0xFFFFu) | (uint32_t)(v[3] - 127) << 16;
        *xw++ = ((uint32_t)(256 * v[0] - v[1] + 127) & 0xFFFFu) | (uint32_t)(256 * v[2] - v[3] + 127) << 16;
    }
}

#if defined(__ARM_FEATURE_DSP)
/* one word of each of four rows against the widened X, Y */
#define TTE_FCP_STEP                                                                    \
    "ldrd %[x], %[y], [%[xp]], #8\n\t"                                                 \
    "ldrd %[w0], %[w1], [%[wp]], #8\n\t"                                               \
    "sxtb16 %[e], %[w0]\n\t"                                                           \
    "smlad %[a0], %[x], %[w0], %[a0]\n\t"                                              \
    "smlad %[a0], %[y], %[e], %[a0]\n\t"                                               \
    "sxtb16 %[e], %[w1]\n\t"                                                           \
    "smlad %[a1], %[x], %[w1], %[a1]\n\t"                                              \
    "smlad %[a1], %[y], %[e], %[a1]\n\t"                                               \
    "ldrd %[w0], %[w1], [%[wp]], #8\n\t"                                               \
    "sxtb16 %[e], %[w0]\n\t"                                                           \
    "smlad %[a2], %[x], %[w0], %[a2]\n\t"                                              \
    "smlad %[a2], %[y], %[e], %[a2]\n\t"                                               \
    "sxtb16 %[e], %[w1]\n\t"                                                           \
    "smlad %[a3], %[x], %[w1], %[a3]\n\t"                                              \
    "smlad %[a3], %[y], %[e], %[a3]\n\t"
#define TTE_FCP_STEP4 TTE_FCP_STEP TTE_FCP_STEP TTE_FCP_STEP TTE_FCP_STEP
/* eight inputs a loop pass up to the end of the widened inputs */
#define TTE_FCP_LOOP                                                                    \
    "1:\n\t" TTE_FCP_STEP TTE_FCP_STEP "ldr %[w0], [%[pp], #4]\n\t"                                \
    "cmp %[xp], %[w0]\n\t"                                                             \
    "bne 1b\n\t"
/* a loop over the quads of a pass: their sums from src (the prepared biases in the first pass),
 * BODY's products, then TAIL (their store, or their output stage), the weights read on from wp */
#define TTE_FCP_QUADS(BODY, TAIL)                                                                            \
    __asm__ volatile("2:\n\t"                                                                                \
                     "ldrd %[a0], %[a1], [%[si]], #16\n\t"                                                   \
                     "ldrd %[a2], %[a3], [%[si], #-8]\n\t"                                                   \
                     "ldr %[xp], [%[pp]]\n\t" BODY TAIL                                                      \
                     "ldr %[w0], [%[pp], #8]\n\t"                                                            \
                     "cmp %[ao], %[w0]\n\t"                                                                  \
                     "bne 2b"                                                                                \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [xp] "=&r"(xq),         \
                       [wp] "+r"(wp), [ao] "+r"(ao), [si] "+r"(si), [x] "=&r"(xv), [y] "=&r"(yv), [w0] "=&r"(w0), \
                       [w1] "=&r"(w1), [e] "=&r"(e)                                                           \
                     : [pp] "r"(pp)                                                                          \
                     : "cc", "memory")
/* the quads' sums to acc */
#define TTE_FCP_PASS(BODY)                                                                                   \
    TTE_FCP_QUADS(BODY, "strd %[a0], %[a1], [%[ao]], #16\n\t"                                                \
                        "strd %[a2], %[a3], [%[ao], #-8]\n\t")

/* tte_rq_fast_s8 of the sum A / 256 (fcp_rq_t: x the multiplier, y zp2 << (e - 1), w0 e),
 * through T; its byte stored at P, which moves on. tte_rq_fast's q - [q < 0] takes the sign
 * of the sum instead of q's: they differ only where q is 0 and the sum -1 (a multiplier of
 * 2**30) or negative (a multiplier of 0), where ((q - 1) >> (e - 1) + zp2) >> 1 is still out_zp;
 * zp2 joins before the shift, (q - [sum < 0] + zp2 2**(e-1)) >> e (|q| < 2**23, e <= 21) */
#define TTE_FCP_RQ(A, T, P)                                                             \
    "asr %[" A "], %[" A "], #7\n\t"                                                  \
    "smmlar %[" T "], %[" A "], %[x], %[y]\n\t"                                       \
    "add %[" T "], %[" T "], %[" A "], asr #31\n\t"                                   \
    "asr %[" T "], %[" T "], %[w0]\n\t"                                               \
    "ssat %[" T "], #8, %[" T "]\n\t"                                                 \
    "strb %[" T "], [%[" P "]], #1\n\t"
/* one word of each of two rows (sums A, B) against the widened X, Y, each word widened in place
 * after its first SMLAD (no register for the widened copy: eight sums fit) */
#define TTE_FCP8_ROWS2(A, B)                                                            \
    "ldrd %[w0], %[w1], [%[wp]], #8\n\t"                                               \
    "smlad %[" A "], %[x], %[w0], %[" A "]\n\t"                                        \
    "sxtb16 %[w0], %[w0]\n\t"                                                          \
    "smlad %[" A "], %[y], %[w0], %[" A "]\n\t"                                        \
    "smlad %[" B "], %[x], %[w1], %[" B "]\n\t"                                        \
    "sxtb16 %[w1], %[w1]\n\t"                                                          \
    "smlad %[" B "], %[y], %[w1], %[" B "]\n\t"
/* one word of each of eight rows: 29 instructions for 32 products */
#define TTE_FCP8_STEP                                                                   \
    "ldrd %[x], %[y], [%[xp]], #8\n\t" TTE_FCP8_ROWS2("a0", "a1") TTE_FCP8_ROWS2("a2", "a3") \
        TTE_FCP8_ROWS2("a4", "a5") TTE_FCP8_ROWS2("a6", "a7")
#define TTE_FCP8_STEP4 TTE_FCP8_STEP TTE_FCP8_STEP TTE_FCP8_STEP TTE_FCP8_STEP
/* eight inputs a loop pass up to the end of the widened inputs */
#define TTE_FCP8_LOOP                                                                   \
    "1:\n\t" TTE_FCP8_STEP TTE_FCP8_STEP "ldr %[w0], %[xend]\n\t"                                   \
    "cmp %[xp], %[w0]\n\t"                                                             \
    "bne 1b\n\t"
/* the groups of eight of a pass: eight sums from *si (the prepared biases in the first pass),
 * the weights read on from wp, then TAIL; fourteen registers, so the pointers si and ao live
 * on the stack */
#define TTE_FCP8_PASS(BODY, TAIL)                                                                            \
    __asm__ volatile("2:\n\t"                                                                                \
                     "ldr %[w0], %[si]\n\t"                                                                  \
                     "ldrd %[a0], %[a1], [%[w0]]\n\t"                                                        \
                     "ldrd %[a2], %[a3], [%[w0], #8]\n\t"                                                    \
                     "ldrd %[a4], %[a5], [%[w0], #16]\n\t"                                                   \
                     "ldrd %[a6], %[a7], [%[w0], #24]\n\t"                                                   \
                     "add %[w0], %[w0], #32\n\t"                                                             \
                     "str %[w0], %[si]\n\t"                                                                  \
                     "ldr %[xp], %[xw]\n\t" BODY TAIL                                                        \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [a4] "=&r"(a4),          \
                       [a5] "=&r"(a5), [a6] "=&r"(a6), [a7] "=&r"(a7), [xp] "=&r"(xq), [wp] "+r"(wp),           \
                       [x] "=&r"(xv), [y] "=&r"(yv), [w0] "=&r"(w0), [w1] "=&r"(w1), [si] "+m"(si), [ao] "+m"(ao) \
                     : [xw] "m"(xw), [xend] "m"(xend), [aend] "m"(aend), [q1] "m"(q1), [q2] "m"(q2)            \
                     : "cc", "memory")
/* the eight sums stored at ao */
#define TTE_FCP8_SUMS                                                                   \
    "ldr %[x], %[ao]\n\t"                                                              \
    "strd %[a0], %[a1], [%[x]], #32\n\t"                                               \
    "strd %[a2], %[a3], [%[x], #-24]\n\t"                                              \
    "strd %[a4], %[a5], [%[x], #-16]\n\t"                                              \
    "strd %[a6], %[a7], [%[x], #-8]\n\t"                                               \
    "str %[x], %[ao]\n\t"                                                              \
    "ldr %[w1], %[aend]\n\t"                                                           \
    "cmp %[x], %[w1]\n\t"                                                              \
    "bne 2b"
/* the eight sums' output stage, their bytes at ao (xp) */
#define TTE_FCP8_RQ                                                                     \
    "ldrd %[x], %[y], %[q1]\n\t"                                                       \
    "ldr %[w0], %[q2]\n\t"                                                             \
    "ldr %[xp], %[ao]\n\t" TTE_FCP_RQ("a0", "w1", "xp") TTE_FCP_RQ("a1", "w1", "xp")              \
        TTE_FCP_RQ("a2", "w1", "xp") TTE_FCP_RQ("a3", "w1", "xp") TTE_FCP_RQ("a4", "w1", "xp")      \
            TTE_FCP_RQ("a5", "w1", "xp") TTE_FCP_RQ("a6", "w1", "xp") TTE_FCP_RQ("a7", "w1", "xp") \
    "str %[xp], %[ao]\n\t"                                                             \
    "ldr %[w1], %[aend]\n\t"                                                           \
    "cmp %[xp], %[w1]\n\t"                                                             \
    "bne 2b"

/* the output stage of a block's last pass on the sums in registers (TTE_FCP_RQ): tte_rq_fast_s8's
 * multiplier, zp2 << (e - 1) and the right shift e */
typedef struct {
    int32_t mu, kz, e;
} fcp_rq_t;

/* Over the n8 groups of eight rows of a pass (kc inputs, a positive multiple of 8): the sums
 * src[8 g + r] + row 8 g + r's kc inputs to acc (rq NULL; src is acc or the prepared biases),
 * or, in the block's last pass, their output stage's bytes to y (rq); returns the weights
 * after them. */
TTE_NOINLINE static const uint32_t *fcp_pass8(const uint32_t *xw, int32_t kc, const uint32_t *w,
                                              const uint32_t *src, uint32_t *acc, const fcp_rq_t *rq, int8_t *y,
                                              int32_t n8)
{
    const uint32_t *const xend = xw + kc / 2;
    const void *const aend = rq ? (const void *)(y + 8 * n8) : (const void *)(acc + 8 * n8);
    const int32_t q1[2] = {rq ? rq->mu : 0, rq ? rq->kz : 0}, q2 = rq ? rq->e : 0;
    const uint32_t *wp = w, *xq, *si = src;
    void *ao = rq ? (void *)y : (void *)acc;
    uint32_t a0, a1, a2, a3, a4, a5, a6, a7, xv, yv, w0, w1;
    if (rq != NULL) {
        if (kc == TTE_FC_WIDE_MAX) {
            TTE_FCP8_PASS(TTE_FCP8_STEP4 TTE_FCP8_STEP4 TTE_FCP8_STEP4 TTE_FCP8_STEP4 TTE_FCP8_STEP4 TTE_FCP8_STEP4
                              TTE_FCP8_STEP4 TTE_FCP8_STEP4,
                          TTE_FCP8_RQ);
        } else {
            TTE_FCP8_PASS(TTE_FCP8_LOOP, TTE_FCP8_RQ);
        }
    } else if (kc == TTE_FC_WIDE_MAX) {
        TTE_FCP8_PASS(TTE_FCP8_STEP4 TTE_FCP8_STEP4 TTE_FCP8_STEP4 TTE_FCP8_STEP4 TTE_FCP8_STEP4 TTE_FCP8_STEP4
                          TTE_FCP8_STEP4 TTE_FCP8_STEP4,
                      TTE_FCP8_SUMS);
    } else {
        TTE_FCP8_PASS(TTE_FCP8_LOOP, TTE_FCP8_SUMS);
    }
    return wp;
}

typedef struct {
    const uint32_t *xw, *end;
    const uint32_t *acc_end;
} fcp_pass_t;

/* acc[4 q + r] = src[4 q + r] + row 4 q + r's kc inputs (kc a positive multiple of 8) for
 * q < nq (src is acc or the prepared biases); returns the weights after them */
TTE_NOINLINE static const uint32_t *fcp_pass4(const uint32_t *xw, int32_t kc, const uint32_t *w,
                                              const uint32_t *src, uint32_t *acc, int32_t nq)
{
    const fcp_pass_t prm = {xw, xw + kc / 2, acc + 4 * nq};
    const fcp_pass_t *pp = &prm;
    const uint32_t *wp = w, *xq, *si = src;
    uint32_t *ao = acc;
    uint32_t a0, a1, a2, a3, xv, yv, w0, w1, e;
    TTE_FCP_PASS(TTE_FCP_LOOP);
    return wp;
}

/* fcp_pass_t with the output stage's constants after it (TTE_FCP_RQ) */
typedef struct {
    fcp_pass_t p;
    fcp_rq_t q;
} fcp_pass_rq_t;

/* y[4 q + r] = the output stage of src[4 q + r] + row 4 q + r's kc inputs (kc a positive
 * multiple of 8) for q < nq; returns the weights after them */
TTE_NOINLINE static const uint32_t *fcp_pass4_rq(const uint32_t *xw, int32_t kc, const uint32_t *w,
                                                 const uint32_t *src, const fcp_rq_t *rq, int8_t *y, int32_t nq)
{
    const fcp_pass_rq_t prm = {{xw, xw + kc / 2, (const uint32_t *)(y + 4 * nq)}, *rq};
    const fcp_pass_rq_t *pp = &prm;
    const uint32_t *wp = w, *xq, *si = src;
    int8_t *ao = y;
    uint32_t a0, a1, a2, a3, xv, yv, w0, w1, e;
#define TTE_FCP_PASS_RQ(BODY)                                                                                \
    TTE_FCP_QUADS(BODY, "ldrd %[x], %[y], [%[pp], #12]\n\t"                                                  \
                        "ldr %[w0], [%[pp], #20]\n\t" TTE_FCP_RQ("a0", "e", "ao") TTE_FCP_RQ("a1", "e", "ao")  \
                        TTE_FCP_RQ("a2", "e", "ao") TTE_FCP_RQ("a3", "e", "ao"))
    TTE_FCP_PASS_RQ(TTE_FCP_LOOP);
#undef TTE_FCP_PASS_RQ
    return wp;
}

/* the last pass over a block of rows with its output stage (fcp_pass's groups) */
static const uint32_t *fcp_pass_rq(const uint32_t *xw, int32_t kc, const uint32_t *w, const uint32_t *src,
                                   const fcp_rq_t *rq, int8_t *y, int32_t n)
{
    const int32_t n8 = fcp_groups8(n);
    if (n8 > 0) {
        w = fcp_pass8(xw, kc, w, src, NULL, rq, y, n8);
        src += 8 * n8;
        y += 8 * n8;
    }
    return 8 * n8 < n ? fcp_pass4_rq(xw, kc, w, src, rq, y, (n - 8 * n8) / 4) : w;
}

/* a pass over a block of rows: its fcp_groups8 groups of eight, then its four */
static const uint32_t *fcp_pass(const uint32_t *xw, int32_t kc, const uint32_t *w, const uint32_t *src,
                                uint32_t *acc, int32_t n)
{
    const int32_t n8 = fcp_groups8(n);
    if (n8 > 0) {
        w = fcp_pass8(xw, kc, w, src, acc, NULL, NULL, n8);
        src += 8 * n8;
        acc += 8 * n8;
    }
    return 8 * n8 < n ? fcp_pass4(xw, kc, w, src, acc, (n - 8 * n8) / 4) : w;
}
#else
/* SXTB16: bytes 0 and 2 of w sign-extended to int16 lanes */
static inline uint32_t fcp_sxtb16(uint32_t w)
{
    return ((uint32_t)(int32_t)(int8_t)(w & 0xFFu) & 0xFFFFu) | (uint32_t)(int32_t)(int8_t)((w >> 16) & 0xFFu) << 16;
}

/* SMLAD on int16 lanes, mod 2**32 */
static inline uint32_t fcp_smlad(uint32_t a, uint32_t b, uint32_t acc)
{
    const int32_t p = (int32_t)(int16_t)(a & 0xFFFFu) * (int16_t)(b & 0xFFFFu);
    const int32_t q = (int32_t)(int16_t)(a >> 16) * (int16_t)(b >> 16);
    return acc + (uint32_t)p + (uint32_t)q;
}

/* acc[r] = src[r] + row r's kc inputs for r < n (a multiple of four), the rows in groups of eight
 * and then four (fcp_groups8); returns the weights after them */
static const uint32_t *fcp_pass(const uint32_t *xw, int32_t kc, const uint32_t *w, const uint32_t *src,
                                uint32_t *acc, int32_t n)
{
    const int32_t eight = 8 * fcp_groups8(n);
    int32_t r0, j, r, g;
    for (r = 0; r < n; ++r) {
        acc[r] = src[r];
    }
    for (r0 = 0; r0 < n; r0 += g) {
        g = r0 < eight ? 8 : 4;
        for (j = 0; j < kc / 4; ++j) {
            for (r = r0; r < r0 + g; ++r) {
                const uint32_t wd = *w++;
                acc[r] = fcp_smlad(xw[2 * j + 1], fcp_sxtb16(wd), fcp_smlad(xw[2 * j], wd, acc[r]));
            }
        }
    }
    return w;
}
#endif

/* y[n0, n1) = the output stage of the sums acc[0, n1 - n0), 256 times the layer's (so that
 * |sum| < 2**23: the QADD doubling tte_rq_fast starts with is an arithmetic shift by 7) */
static void fcp_out(const rq_t *r, int32_t per_channel, const uint32_t *acc, int32_t n0, int32_t n1, int8_t *y)
{
    int32_t n;
#if defined(__ARM_FEATURE_DSP)
    if (!per_channel && r->mode == 2) {
        const int32_t mu = r->mult[0], sh = ~r->shift[0], zp2 = r->zp2;
        for (n = n0; n < n1; ++n) {
            int32_t q = tte_smmulr((int32_t)*acc++ >> 7, mu);
            q += q >> 31;
            q = (q >> sh) + zp2;
            __asm__("ssat %0, #8, %1, asr #1" : "=r"(q) : "r"(q));
            y[n] = (int8_t)q;
        }
        return;
    }
#endif
    for (n = n0; n < n1; ++n) {
        y[n] = fc_out(r, per_channel, (int32_t)*acc++ >> 8, n);
    }
}

void tte_fully_connected_s8_prep(const tte_fc_s8_params_t *p, const int8_t *x, const uint32_t *prep, int8_t *y)
{
    const int32_t K = p->in_features, N = p->out_features, K8 = fcp_k8(K), N4 = (N + 3) & ~3;
    const int32_t single = K8 <= TTE_FC_WIDE_MAX;
    const int32_t fast = tte_rq_fast_ok(p->mult, p->shift, p->per_channel ? N : 1, p->out_zp, p->act_min,
                                        p->act_max);
    const rq_t r = rq_make(p->mult, p->shift, fast, p->out_zp, p->act_min, p->act_max);
    uint32_t xw[TTE_FC_WIDE_MAX / 2] __attribute__((aligned(8)));
    uint32_t acc[TTE_FCP_BLOCK] __attribute__((aligned(8)));
    int32_t row, nb, k0;
    for (row = 0; row < p->rows; ++row) {
        const int8_t *xr = x + (size_t)row * K;
        const uint32_t *wp = prep + N4;
        if (single) {
            fcp_widen(xr, K, 0, K8, xw);
        }
        for (nb = 0; nb < N4; nb += TTE_FCP_BLOCK) {
            const int32_t ne = N4 - nb < TTE_FCP_BLOCK ? N4 : nb + TTE_FCP_BLOCK;
            for (k0 = 0; k0 < K8; k0 += TTE_FC_WIDE_MAX) {
                const int32_t kc = K8 - k0 < TTE_FC_WIDE_MAX ? K8 - k0 : TTE_FC_WIDE_MAX;
                if (!single) {
                    fcp_widen(xr, K, k0, kc, xw);
                }
#if defined(__ARM_FEATURE_DSP)
                if (k0 + kc == K8 && ne <= N && !p->per_channel && r.mode == 2) {
                    /* the last pass with the output stage on its sums in registers */
                    const int32_t e = -r.shift[0];
                    const fcp_rq_t q = {r.mult[0], (int32_t)((uint32_t)r.zp2 << (e - 1)), e};
                    wp = fcp_pass_rq(xw, kc, wp, k0 == 0 ? prep + nb : acc, &q, y + (size_t)row * N + nb, ne - nb);
                    break;
                }
#endif
                wp = fcp_pass(xw, kc, wp, k0 == 0 ? prep + nb : acc, acc, ne - nb);
            }
            if (k0 < K8) {
                continue;   /* the output stage ran in the last pass */
            }
            fcp_out(&r, p->per_channel, acc, nb, ne < N ? ne : N, y + (size_t)row * N);
        }
    }
}
