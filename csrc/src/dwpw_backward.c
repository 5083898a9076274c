/* The fused backward of an inverted-residual block from its depthwise conv on
 * (tte_dwpw_backward_s8 and its head / split variants, tte/update.h): channel by channel,
 * bit-identical to the unfused kernels. Its hot loops have a Cortex-M4F/M7 form in inline
 * assembly beside the portable C, under TTE_VFP_ASM (tte/internal/vfp.h: the same float
 * operations in the same order, the same bits). QAS steps: tte/internal/qas.h. */
#include "tte/internal/optimized.h"
#include "tte/update.h"

#include <string.h>

#include "tte/internal/qas.h"
#include "tte/internal/vfp.h"
#include "tte/internal/window.h"

/* Position of channel c in a selection (NULL: all), or -1. *cur: where the last one was
 * found, so an ascending selection walked in channel order costs O(1) per channel. */
static TTE_ALWAYS_INLINE int32_t sel_pos(const int32_t *idx, int32_t n, int32_t c, int32_t *cur)
{
    int32_t i;
    if (idx == NULL) {
        return c < n ? c : -1;
    }
    if (*cur < n && idx[*cur] == c) {
        return (*cur)++;
    }
    for (i = 0; i < n; ++i) {
        if (idx[i] == c) {
            *cur = i + 1;
            return i;
        }
    }
    return -1;
}

static int32_t bit_at(const uint8_t *m, size_t e)
{
    return (m[e >> 3] >> (e & 7u)) & 1u;
}

/* Floats of the per-channel weight rows that dwpw_run keeps on the stack without a head (the
 * taps of D, a row of P), converted once per channel instead of once per term; longer rows
 * are taken in pieces of this many (with a head they are in the scratch, whole). */
#define TTE_DWPW_ROW 64

#ifdef TTE_VFP_ASM

/* a += g[o] * w[o] for eight o in order, pixels A (g in s16-s23) and B (s24-s31), w in s8-s15 */
#define TTE_DOT_PAIR_MLA(a, b) \
    "vmla.f32 %[" a "], s16, s8\n\t" "vmla.f32 %[" b "], s24, s8\n\t" \
    "vmla.f32 %[" a "], s17, s9\n\t" "vmla.f32 %[" b "], s25, s9\n\t" \
    "vmla.f32 %[" a "], s18, s10\n\t" "vmla.f32 %[" b "], s26, s10\n\t" \
    "vmla.f32 %[" a "], s19, s11\n\t" "vmla.f32 %[" b "], s27, s11\n\t" \
    "vmla.f32 %[" a "], s20, s12\n\t" "vmla.f32 %[" b "], s28, s12\n\t" \
    "vmla.f32 %[" a "], s21, s13\n\t" "vmla.f32 %[" b "], s29, s13\n\t" \
    "vmla.f32 %[" a "], s22, s14\n\t" "vmla.f32 %[" b "], s30, s14\n\t" \
    "vmla.f32 %[" a "], s23, s15\n\t" "vmla.f32 %[" b "], s31, s15\n\t"
/* the same from g at pointers GA and GB, which move on by eight floats */
#define TTE_DOT_PAIR(ga, gb, a, b) \
    "vldmia %[" ga "]!, {s16-s23}\n\t" "vldmia %[" gb "]!, {s24-s31}\n\t" \
    TTE_DOT_PAIR_MLA(a, b)
/* the same at byte offset OFF from pointers that do not move (64-bit VLDR, one beat each where a
 * VLDM of eight singles adds four beats to its issue); w[OFF / 4 ...] in s8-s15 by TTE_DOT_W */
#define TTE_DOT_PAIR_AT(ga, gb, a, b, OFF) \
    "vldr d8, [%[" ga "], #" OFF "]\n\t" "vldr d9, [%[" ga "], #" OFF " + 8]\n\t" \
    "vldr d10, [%[" ga "], #" OFF " + 16]\n\t" "vldr d11, [%[" ga "], #" OFF " + 24]\n\t" \
    "vldr d12, [%[" gb "], #" OFF "]\n\t" "vldr d13, [%[" gb "], #" OFF " + 8]\n\t" \
    "vldr d14, [%[" gb "], #" OFF " + 16]\n\t" "vldr d15, [%[" gb "], #" OFF " + 24]\n\t" \
    TTE_DOT_PAIR_MLA(a, b)
#define TTE_DOT_W(OFF) \
    "vldr d4, [%[w], #" OFF "]\n\t" "vldr d5, [%[w], #" OFF " + 8]\n\t" \
    "vldr d6, [%[w], #" OFF " + 16]\n\t" "vldr d7, [%[w], #" OFF " + 24]\n\t"
/* a += g[o] * w[o] for eight o in order, one pixel (g in s16-s23), w in s8-s15 */
#define TTE_DOT_ONE_MLA(a) \
    "vmla.f32 %[" a "], s16, s8\n\t" \
    "vmla.f32 %[" a "], s17, s9\n\t" \
    "vmla.f32 %[" a "], s18, s10\n\t" \
    "vmla.f32 %[" a "], s19, s11\n\t" \
    "vmla.f32 %[" a "], s20, s12\n\t" \
    "vmla.f32 %[" a "], s21, s13\n\t" \
    "vmla.f32 %[" a "], s22, s14\n\t" \
    "vmla.f32 %[" a "], s23, s15\n\t"
#define TTE_DOT_ONE(ga, a) \
    "vldmia %[" ga "]!, {s16-s23}\n\t" \
    TTE_DOT_ONE_MLA(a)
/* TTE_DOT_ONE at byte offset OFF from a pointer that does not move (as TTE_DOT_PAIR_AT) */
#define TTE_DOT_ONE_AT(ga, a, OFF) \
    "vldr d8, [%[" ga "], #" OFF "]\n\t" "vldr d9, [%[" ga "], #" OFF " + 8]\n\t" \
    "vldr d10, [%[" ga "], #" OFF " + 16]\n\t" "vldr d11, [%[" ga "], #" OFF " + 24]\n\t" \
    TTE_DOT_ONE_MLA(a)
/* dwpw_dot8 / dwpw_dot4 in s8-s15 only, so that no call saves and restores the callee-saved
 * s16-s31 (16 registers each way): four o from byte offset OFF, w's four in s8-s11 (TTE_DOT4_W),
 * pixels A and B two o at a time in s12-s13 and s14-s15; a += g[o] * w[o] in order of o */
#define TTE_DOT4_W(OFF) \
    "vldr d4, [%[w], #" OFF "]\n\t" "vldr d5, [%[w], #" OFF " + 8]\n\t"
#define TTE_DOT4_PAIR(ga, gb, a, b, OFF) \
    "vldr d6, [%[" ga "], #" OFF "]\n\t" "vldr d7, [%[" gb "], #" OFF "]\n\t" \
    "vmla.f32 %[" a "], s12, s8\n\t" "vmla.f32 %[" b "], s14, s8\n\t" \
    "vmla.f32 %[" a "], s13, s9\n\t" "vmla.f32 %[" b "], s15, s9\n\t" \
    "vldr d6, [%[" ga "], #" OFF " + 8]\n\t" "vldr d7, [%[" gb "], #" OFF " + 8]\n\t" \
    "vmla.f32 %[" a "], s12, s10\n\t" "vmla.f32 %[" b "], s14, s10\n\t" \
    "vmla.f32 %[" a "], s13, s11\n\t" "vmla.f32 %[" b "], s15, s11\n\t"
/* the four o from OFF for dwpw_dot8's eight pixels, dwpw_dot4's four */
#define TTE_DOT4_EIGHT(OFF) \
    TTE_DOT4_W(OFF) \
    TTE_DOT4_PAIR("g0", "g1", "a0", "a1", OFF) TTE_DOT4_PAIR("g2", "g3", "a2", "a3", OFF) \
    TTE_DOT4_PAIR("g4", "g5", "a4", "a5", OFF) TTE_DOT4_PAIR("g6", "g7", "a6", "a7", OFF)
#define TTE_DOT4_FOUR(OFF) \
    TTE_DOT4_W(OFF) \
    TTE_DOT4_PAIR("g0", "g1", "a0", "a1", OFF) TTE_DOT4_PAIR("g2", "g3", "a2", "a3", OFF)
/* dwpw_dot8 / dwpw_dot4's loops: thirty-two o a pass (BLK, four o at each byte offset), then
 * sixteen and eight, then one at a time (ONE, w's in s8); G(N) moves the pixels' pointers on by
 * N bytes */
#define TTE_DOT4_LOOPS(BLK, G, ONE) \
    "cmp %[w], %[we32]\n\t" "beq 6f\n\t" \
    "1:\n\t" \
    BLK("0") BLK("16") BLK("32") BLK("48") BLK("64") BLK("80") BLK("96") BLK("112") \
    "adds %[w], %[w], #128\n\t" G("128") \
    "cmp %[w], %[we32]\n\t" "bne 1b\n\t" \
    "6:\n\t" \
    "sub %[z], %[wend], %[w]\n\t" "cmp %[z], #64\n\t" "blo 2f\n\t" \
    BLK("0") BLK("16") BLK("32") BLK("48") \
    "adds %[w], %[w], #64\n\t" G("64") \
    "2:\n\t" \
    "sub %[z], %[wend], %[w]\n\t" "cmp %[z], #32\n\t" "blo 4f\n\t" \
    BLK("0") BLK("16") \
    "adds %[w], %[w], #32\n\t" G("32") \
    "4:\n\t" \
    "cmp %[w], %[wend]\n\t" "beq 3f\n\t" \
    "5:\n\t" \
    "vldr s8, [%[w]]\n\t" "adds %[w], %[w], #4\n\t" \
    ONE G("4") \
    "cmp %[w], %[wend]\n\t" "bne 5b\n\t" \
    "3:\n\t"
/* the operands of TTE_DOT4_LOOPS after the accumulators and the pixels' pointers */
#define TTE_DOT4_OPERANDS \
    [w] "+r"(wcol), [z] "+r"(z) : [we32] "r"(we32), [wend] "r"(wend) : "d4", "d5", "d6", "d7", "cc", "memory"
#define TTE_DOT4_G4(N) \
    "adds %[g0], %[g0], #" N "\n\t" "adds %[g1], %[g1], #" N "\n\t" \
    "adds %[g2], %[g2], #" N "\n\t" "adds %[g3], %[g3], #" N "\n\t"
#define TTE_DOT4_G8(N) \
    TTE_DOT4_G4(N) \
    "adds %[g4], %[g4], #" N "\n\t" "adds %[g5], %[g5], #" N "\n\t" \
    "adds %[g6], %[g6], #" N "\n\t" "adds %[g7], %[g7], #" N "\n\t"
/* one o of pixels A and B (g at GA, GB) times w's in s8 */
#define TTE_DOT1_PAIR(ga, gb, a, b) \
    "vldr s12, [%[" ga "]]\n\t" "vldr s13, [%[" gb "]]\n\t" \
    "vmla.f32 %[" a "], s12, s8\n\t" "vmla.f32 %[" b "], s13, s8\n\t"
#define TTE_DOT1_FOUR TTE_DOT1_PAIR("g0", "g1", "a0", "a1") TTE_DOT1_PAIR("g2", "g3", "a2", "a3")
#define TTE_DOT1_EIGHT TTE_DOT1_FOUR TTE_DOT1_PAIR("g4", "g5", "a4", "a5") TTE_DOT1_PAIR("g6", "g7", "a6", "a7")
#define TTE_DOT_CLOBBERS \
    "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15", "cc", "memory"
/* the weight bytes I and I + 1 (as int32) into sI, sI+1 */
#define TTE_DX_LD2(I, J) \
    "ldrsb %[t0], [%[wq], #" #I "]\n\t" "ldrsb %[t1], [%[wq], #" #J "]\n\t" "vmov s" #I ", s" #J ", %[t0], %[t1]\n\t"
/* sR = (float)sR * S */
#define TTE_DX_SC(R, S) "vcvt.f32.s32 s" #R ", s" #R "\n\t" "vmul.f32 s" #R ", s" #R ", " S "\n\t"
#define TTE_DX_LD8 \
    TTE_DX_LD2(0, 1) TTE_DX_LD2(2, 3) TTE_DX_LD2(4, 5) TTE_DX_LD2(6, 7)
#define TTE_DX_LD16 \
    TTE_DX_LD8 \
    TTE_DX_LD2(8, 9) TTE_DX_LD2(10, 11) TTE_DX_LD2(12, 13) TTE_DX_LD2(14, 15)
#define TTE_DX_SC8(S) \
    TTE_DX_SC(0, S) TTE_DX_SC(1, S) TTE_DX_SC(2, S) TTE_DX_SC(3, S) \
    TTE_DX_SC(4, S) TTE_DX_SC(5, S) TTE_DX_SC(6, S) TTE_DX_SC(7, S)
#define TTE_DX_SC16(S) \
    TTE_DX_SC8(S) \
    TTE_DX_SC(8, S) TTE_DX_SC(9, S) TTE_DX_SC(10, S) TTE_DX_SC(11, S) \
    TTE_DX_SC(12, S) TTE_DX_SC(13, S) TTE_DX_SC(14, S) TTE_DX_SC(15, S)
/* dwpw_dx_list: sixteen (eight) weights (float)wq[k] * s into s0-s15 (s0-s7); then per
 * nonzero pixel dx[k] += t * w[k] (TTE_DX_PIX16, TTE_DX_PIX8) */
#define TTE_DX_CVT16 TTE_DX_LD16 TTE_DX_SC16("%[s]")
#define TTE_DX_CVT8 TTE_DX_LD8 TTE_DX_SC8("%[s]")
/* dwpw_dx_list's twenty-four channels (kn % 16 == 8 from 24 on: one pass where 16 and 8 took two):
 * the weights (float)wq[k] * s into s0-s23, s in s31 until then (TTE_DX_CVT24); per nonzero
 * pixel (its offset in register R, its value t in T) dx[k] += t * w[k] four at a time in
 * s28-s31 (TTE_DX_AT24) */
#define TTE_DX_CVT24 \
    TTE_DX_LD16 \
    TTE_DX_LD2(16, 17) TTE_DX_LD2(18, 19) TTE_DX_LD2(20, 21) TTE_DX_LD2(22, 23) \
    TTE_DX_SC16("s31") \
    TTE_DX_SC(16, "s31") TTE_DX_SC(17, "s31") TTE_DX_SC(18, "s31") TTE_DX_SC(19, "s31") \
    TTE_DX_SC(20, "s31") TTE_DX_SC(21, "s31") TTE_DX_SC(22, "s31") TTE_DX_SC(23, "s31")
/* one of TTE_DX_AT24's six: the four dx floats at p + O (bytes) += T * sA..sA+3 */
#define TTE_DX_Q4(T, O, O8, A, B, C, D) \
    "vldr d14, [%[p], #" #O "]\n\t" "vldr d15, [%[p], #" #O8 "]\n\t" \
    "vmla.f32 s28, " T ", s" #A "\n\t" "vmla.f32 s29, " T ", s" #B "\n\t" \
    "vmla.f32 s30, " T ", s" #C "\n\t" "vmla.f32 s31, " T ", s" #D "\n\t" \
    "vstr d14, [%[p], #" #O "]\n\t" "vstr d15, [%[p], #" #O8 "]\n\t"
#define TTE_DX_AT24(T, R) \
    "add %[p], %[base], %[" R "], lsl #2\n\t" \
    TTE_DX_Q4(T, 0, 8, 0, 1, 2, 3) TTE_DX_Q4(T, 16, 24, 4, 5, 6, 7) \
    TTE_DX_Q4(T, 32, 40, 8, 9, 10, 11) TTE_DX_Q4(T, 48, 56, 12, 13, 14, 15) \
    TTE_DX_Q4(T, 64, 72, 16, 17, 18, 19) TTE_DX_Q4(T, 80, 88, 20, 21, 22, 23)
/* eight floats at P + OFF (bytes) into / from four D registers (OP vldr or vstr; D0-D3 their
 * names) by four 64-bit transfers: the pixel's pointer is formed anew for each pixel, so no
 * writeback is needed, and a 64-bit transfer is one beat where a VLDM of eight singles adds four
 * beats to its issue */
#define TTE_XFER8(OP, D0, D1, D2, D3, P, OFF) \
    OP " " D0 ", [%[" P "], #" #OFF "]\n\t" OP " " D1 ", [%[" P "], #" #OFF " + 8]\n\t" \
    OP " " D2 ", [%[" P "], #" #OFF " + 16]\n\t" OP " " D3 ", [%[" P "], #" #OFF " + 24]\n\t"
/* d8-d11 (s16-s23), d10-d13 (s20-s27), d12-d15 (s24-s31) */
#define TTE_LD8_D8(P, OFF) TTE_XFER8("vldr", "d8", "d9", "d10", "d11", P, OFF)
#define TTE_ST8_D8(P, OFF) TTE_XFER8("vstr", "d8", "d9", "d10", "d11", P, OFF)
#define TTE_LD8_D10(P, OFF) TTE_XFER8("vldr", "d10", "d11", "d12", "d13", P, OFF)
#define TTE_ST8_D10(P, OFF) TTE_XFER8("vstr", "d10", "d11", "d12", "d13", P, OFF)
#define TTE_LD8_D12(P, OFF) TTE_XFER8("vldr", "d12", "d13", "d14", "d15", P, OFF)
/* the eight-channel dwpw_dx_list: one pixel (its offset read from op, its value t in T), its
 * eight dx values in s16-s23 */
#define TTE_DX_PIX8(T) \
    "ldr %[p], [%[op]], #4\n\t" \
    TTE_DX_AT8(T, "p")
/* TTE_DX_PIX8 with the pixel's offset already in register R (two of them read by one LDRD) */
#define TTE_DX_AT8(T, R) \
    "add %[p], %[base], %[" R "], lsl #2\n\t" \
    TTE_LD8_D8("p", 0) \
    "vmla.f32 s16, " T ", s0\n\t" \
    "vmla.f32 s17, " T ", s1\n\t" \
    "vmla.f32 s18, " T ", s2\n\t" \
    "vmla.f32 s19, " T ", s3\n\t" \
    "vmla.f32 s20, " T ", s4\n\t" \
    "vmla.f32 s21, " T ", s5\n\t" \
    "vmla.f32 s22, " T ", s6\n\t" \
    "vmla.f32 s23, " T ", s7\n\t" \
    TTE_ST8_D8("p", 0)
/* the sixteen-channel dwpw_dx_list: one pixel (its offset read from op, its value t in T), its
 * sixteen dx values eight at a time in s20-s27 */
#define TTE_DX_PIX16(T) \
    "ldr %[p], [%[op]], #4\n\t" \
    TTE_DX_AT16(T, "p")
/* TTE_DX_PIX16 with the pixel's offset already in register R (as TTE_DX_AT8) */
#define TTE_DX_AT16(T, R) \
    "add %[p], %[base], %[" R "], lsl #2\n\t" \
    TTE_LD8_D10("p", 0) \
    "vmla.f32 s20, " T ", s0\n\t" \
    "vmla.f32 s21, " T ", s1\n\t" \
    "vmla.f32 s22, " T ", s2\n\t" \
    "vmla.f32 s23, " T ", s3\n\t" \
    "vmla.f32 s24, " T ", s4\n\t" \
    "vmla.f32 s25, " T ", s5\n\t" \
    "vmla.f32 s26, " T ", s6\n\t" \
    "vmla.f32 s27, " T ", s7\n\t" \
    TTE_ST8_D10("p", 0) \
    TTE_LD8_D10("p", 32) \
    "vmla.f32 s20, " T ", s8\n\t" \
    "vmla.f32 s21, " T ", s9\n\t" \
    "vmla.f32 s22, " T ", s10\n\t" \
    "vmla.f32 s23, " T ", s11\n\t" \
    "vmla.f32 s24, " T ", s12\n\t" \
    "vmla.f32 s25, " T ", s13\n\t" \
    "vmla.f32 s26, " T ", s14\n\t" \
    "vmla.f32 s27, " T ", s15\n\t" \
    TTE_ST8_D10("p", 32)
/* dwpw_dx_list's loops: four pixels a pass (their values in V0-V3, loaded as VQ; their offsets
 * by two LDRD; AT one pixel's channels), then the last n % 4 one at a time (ONE) */
#define TTE_DX_LOOPS(AT, VQ, V0, V1, V2, V3, ONE) \
    "cmp %[op], %[oe4]\n\t" "beq 3f\n\t" \
    "1:\n\t" \
    "vldmia %[dp]!, {" VQ "}\n\t" \
    "ldrd %[t0], %[t1], [%[op]], #8\n\t" AT(V0, "t0") AT(V1, "t1") \
    "ldrd %[t0], %[t1], [%[op]], #8\n\t" AT(V2, "t0") AT(V3, "t1") \
    "cmp %[op], %[oe4]\n\t" "bne 1b\n\t" \
    "3:\n\t" \
    "cmp %[op], %[oe]\n\t" "beq 4f\n\t" \
    "2:\n\t" \
    "vldmia %[dp]!, {" V0 "}\n\t" ONE \
    "cmp %[op], %[oe]\n\t" "bne 2b\n\t" \
    "4:\n\t"
/* TTE_DX_LOOPS's last pixels for twenty-four channels */
#define TTE_DX_ONE24 "ldr %[t0], [%[op]], #4\n\t" TTE_DX_AT24("s24", "t0")
/* one step of four channels (bytes and accumulators I0-I3): the table's floats for the bytes at
 * p + I moved into X0-X3, then sI += T * X */
#define TTE_UPD_Q(T, X0, X1, X2, X3, I0, I1, I2, I3) \
    "ldrb %[r0], [%[p], #" #I0 "]\n\t" "ldrb %[r1], [%[p], #" #I1 "]\n\t" \
    "ldrb %[r2], [%[p], #" #I2 "]\n\t" "ldrb %[r3], [%[p], #" #I3 "]\n\t" \
    "ldr %[r0], [%[tab], %[r0], lsl #2]\n\t" "ldr %[r1], [%[tab], %[r1], lsl #2]\n\t" \
    "ldr %[r2], [%[tab], %[r2], lsl #2]\n\t" "ldr %[r3], [%[tab], %[r3], lsl #2]\n\t" \
    "vmov " X0 ", " X1 ", %[r0], %[r1]\n\t" "vmov " X2 ", " X3 ", %[r2], %[r3]\n\t" \
    "vmla.f32 s" #I0 ", " T ", " X0 "\n\t" "vmla.f32 s" #I1 ", " T ", " X1 "\n\t" \
    "vmla.f32 s" #I2 ", " T ", " X2 "\n\t" "vmla.f32 s" #I3 ", " T ", " X3 "\n\t"
/* dwpw_update_list: a[k] += t * xtab[xp[k]] for sixteen (eight) channels, a[k] in s0-s15,
 * t in T (s16 for eight), the table's floats moved in pairs from core registers into s18-s21
 * (s17-s20 for eight; ldr takes a register index, vldr does not) */
#define TTE_UPD_16(T) \
    TTE_UPD_Q(T, "s18", "s19", "s20", "s21", 0, 1, 2, 3) TTE_UPD_Q(T, "s18", "s19", "s20", "s21", 4, 5, 6, 7) \
    TTE_UPD_Q(T, "s18", "s19", "s20", "s21", 8, 9, 10, 11) TTE_UPD_Q(T, "s18", "s19", "s20", "s21", 12, 13, 14, 15)
#define TTE_UPD_8 \
    TTE_UPD_Q("s16", "s17", "s18", "s19", "s20", 0, 1, 2, 3) TTE_UPD_Q("s16", "s17", "s18", "s19", "s20", 4, 5, 6, 7)
/* dwpw_update_list over x's floats: eight accumulators += T * s24..s31 (T: s16 for TTE_UPDF_8) */
#define TTE_UPDF_8T(T, a0, a1, a2, a3, a4, a5, a6, a7) \
    "vmla.f32 " a0 ", " T ", s24\n\t" "vmla.f32 " a1 ", " T ", s25\n\t" "vmla.f32 " a2 ", " T ", s26\n\t" \
    "vmla.f32 " a3 ", " T ", s27\n\t" "vmla.f32 " a4 ", " T ", s28\n\t" "vmla.f32 " a5 ", " T ", s29\n\t" \
    "vmla.f32 " a6 ", " T ", s30\n\t" "vmla.f32 " a7 ", " T ", s31\n\t"
#define TTE_UPDF_8(a0, a1, a2, a3, a4, a5, a6, a7) TTE_UPDF_8T("s16", a0, a1, a2, a3, a4, a5, a6, a7)
/* the eight-channel update's second pixel of a pair: s0-s7 += T * s8..s15 */
#define TTE_UPDF_8B(T) \
    "vmla.f32 s0, " T ", s8\n\t" "vmla.f32 s1, " T ", s9\n\t" "vmla.f32 s2, " T ", s10\n\t" \
    "vmla.f32 s3, " T ", s11\n\t" "vmla.f32 s4, " T ", s12\n\t" "vmla.f32 s5, " T ", s13\n\t" \
    "vmla.f32 s6, " T ", s14\n\t" "vmla.f32 s7, " T ", s15\n\t"
/* dwpw_update_list's twenty-four channels over x's floats: s0-s23 += T * x[k], x four at a time
 * in s28-s31 from pointer P */
#define TTE_UPDF_24(P, T) \
    "vldr d14, [%[" P "], #0]\n\t" "vldr d15, [%[" P "], #8]\n\t" \
    "vmla.f32 s0, " T ", s28\n\t" "vmla.f32 s1, " T ", s29\n\t" "vmla.f32 s2, " T ", s30\n\t" "vmla.f32 s3, " T ", s31\n\t" \
    "vldr d14, [%[" P "], #16]\n\t" "vldr d15, [%[" P "], #24]\n\t" \
    "vmla.f32 s4, " T ", s28\n\t" "vmla.f32 s5, " T ", s29\n\t" "vmla.f32 s6, " T ", s30\n\t" "vmla.f32 s7, " T ", s31\n\t" \
    "vldr d14, [%[" P "], #32]\n\t" "vldr d15, [%[" P "], #40]\n\t" \
    "vmla.f32 s8, " T ", s28\n\t" "vmla.f32 s9, " T ", s29\n\t" "vmla.f32 s10, " T ", s30\n\t" "vmla.f32 s11, " T ", s31\n\t" \
    "vldr d14, [%[" P "], #48]\n\t" "vldr d15, [%[" P "], #56]\n\t" \
    "vmla.f32 s12, " T ", s28\n\t" "vmla.f32 s13, " T ", s29\n\t" "vmla.f32 s14, " T ", s30\n\t" "vmla.f32 s15, " T ", s31\n\t" \
    "vldr d14, [%[" P "], #64]\n\t" "vldr d15, [%[" P "], #72]\n\t" \
    "vmla.f32 s16, " T ", s28\n\t" "vmla.f32 s17, " T ", s29\n\t" "vmla.f32 s18, " T ", s30\n\t" "vmla.f32 s19, " T ", s31\n\t" \
    "vldr d14, [%[" P "], #80]\n\t" "vldr d15, [%[" P "], #88]\n\t" \
    "vmla.f32 s20, " T ", s28\n\t" "vmla.f32 s21, " T ", s29\n\t" "vmla.f32 s22, " T ", s30\n\t" "vmla.f32 s23, " T ", s31\n\t"
/* the end of the two-pixel loops (label 1, pairs up to oe2) and their tail (label 3): done where
 * op is at oe (on to 4), else the last pixel's factor in s16 and its row at p */
#define TTE_UPDF_LAST \
    "cmp %[op], %[oe2]\n\t" "bne 1b\n\t" \
    "3:\n\t" "cmp %[op], %[oe]\n\t" "beq 4f\n\t" \
    "ldr %[r0], [%[op]]\n\t" "vldr s16, [%[dp]]\n\t" "add %[p], %[xb], %[r0], lsl #2\n\t"
/* dwpw_update_list's sixteen channels over x's floats: s0-s15 += T * the pixel's floats at P,
 * eight at a time through s24-s31 */
#define TTE_UPDF_16(P, T) \
    TTE_LD8_D12(P, 0) TTE_UPDF_8T(T, "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7") \
    TTE_LD8_D12(P, 32) TTE_UPDF_8T(T, "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15")
/* the next two listed pixels' offsets by one LDRD, their float rows at p and q */
#define TTE_UPDF_PQ \
    "ldrd %[r0], %[r1], [%[op]], #8\n\t" \
    "add %[p], %[xb], %[r0], lsl #2\n\t" \
    "add %[q], %[xb], %[r1], lsl #2\n\t"
/* the eight-channel update over x's floats: s0-s7 += TA * the floats at p (through s24-s31),
 * then += TB * those at q (through s8-s15) */
#define TTE_UPDF_8PQ(TA, TB) \
    TTE_LD8_D12("p", 0) TTE_UPDF_8T(TA, "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7") \
    TTE_XFER8("vldr", "d4", "d5", "d6", "d7", "q", 0) TTE_UPDF_8B(TB)
/* TTE_UPDF_16 / TTE_UPDF_24 for the pair of pixels at p and q (factors TA, TB) */
#define TTE_UPDF_16PQ(TA, TB) TTE_UPDF_16("p", TA) TTE_UPDF_16("q", TB)
#define TTE_UPDF_24PQ(TA, TB) TTE_UPDF_24("p", TA) TTE_UPDF_24("q", TB)
/* the float update's loop of four pixels a pass (to oe4; their factors T0-T3 by one VLDM as VQ,
 * their offsets by two LDRD), PAIR(TA, TB) the update of the pixels at p and q */
#define TTE_UPDF_QUADS(PAIR, VQ, T0, T1, T2, T3) \
    "cmp %[op], %[oe4]\n\t" "beq 5f\n\t" \
    "6:\n\t" \
    "ldrd %[r0], %[r1], [%[op]], #8\n\t" "vldmia %[dp]!, {" VQ "}\n\t" \
    "add %[p], %[xb], %[r0], lsl #2\n\t" "add %[q], %[xb], %[r1], lsl #2\n\t" \
    PAIR(T0, T1) TTE_UPDF_PQ PAIR(T2, T3) \
    "cmp %[op], %[oe4]\n\t" "bne 6b\n\t" \
    "5:\n\t"
/* the start of the two-pixel loops of TTE_UPDF_LAST (label 1, to oe2): the pair's factors in
 * s16, s17 by one VLDM, their offsets by one LDRD, their rows at p and q */
#define TTE_UPDF_PAIRS \
    "cmp %[op], %[oe2]\n\t" "beq 3f\n\t" \
    "1:\n\t" \
    "ldrd %[r0], %[r1], [%[op]], #8\n\t" "vldmia %[dp]!, {s16-s17}\n\t" \
    "add %[p], %[xb], %[r0], lsl #2\n\t" "add %[q], %[xb], %[r1], lsl #2\n\t"
/* the operands of the sixteen- and eight-channel passes over x's floats (xb: x's floats at
 * the pass's first channel) */
#define TTE_UPDF_XF_OPERANDS \
    : [p] "=&r"(pp), [q] "=&r"(pq), [r0] "=&r"(r0), [r1] "=&r"(r1), [op] "+&r"(op), [dp] "+&r"(dp) \
    : [xb] "r"(xf + (xsel ? ci : o0)), [oe] "r"(oe), [oe2] "r"(oe2), [oe4] "r"(oe4), [g] "r"(grad + ci) \
    : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d12", "d13", "d14", "d15", "cc", "memory"
/* +0.0f into the accumulators s0-s3 (s0-s7, s0-s15, s0-s23) two at a time from r0, which holds 0 */
#define TTE_ZERO4 "vmov s0, s1, %[r0], %[r0]\n\t" "vmov s2, s3, %[r0], %[r0]\n\t"
#define TTE_ZERO8 TTE_ZERO4 "vmov s4, s5, %[r0], %[r0]\n\t" "vmov s6, s7, %[r0], %[r0]\n\t"
#define TTE_ZERO16 \
    TTE_ZERO8 "vmov s8, s9, %[r0], %[r0]\n\t" "vmov s10, s11, %[r0], %[r0]\n\t" \
    "vmov s12, s13, %[r0], %[r0]\n\t" "vmov s14, s15, %[r0], %[r0]\n\t"
#define TTE_ZERO24 \
    TTE_ZERO16 "vmov s16, s17, %[r0], %[r0]\n\t" "vmov s18, s19, %[r0], %[r0]\n\t" \
    "vmov s20, s21, %[r0], %[r0]\n\t" "vmov s22, s23, %[r0], %[r0]\n\t"
/* the accumulators of the dot blocks: s0-s7 for the VFP loops (the rest of s8-s31 theirs) */
#define TTE_ACC(a, r) register float a __asm__(r) = 0.0f
#else
#define TTE_ACC(a, r) float a = 0.0f
#endif

/* v[0..n) = +0.0f; under TTE_VFP_ASM sixteen floats a VSTM, the last n % 16 by n's bits 3-0
 * (one conditional VSTM/VSTR each, no loop). */
static void zero_f32(float *v, size_t n)
{
#ifdef TTE_VFP_ASM
    float *const ve = v + (n & ~(size_t)15);
    uint32_t r;
    __asm__ volatile("vmov s0, s1, %[z], %[z]\n\t" "vmov s2, s3, %[z], %[z]\n\t"
                     "vmov s4, s5, %[z], %[z]\n\t" "vmov s6, s7, %[z], %[z]\n\t"
                     "vmov s8, s9, %[z], %[z]\n\t" "vmov s10, s11, %[z], %[z]\n\t"
                     "vmov s12, s13, %[z], %[z]\n\t" "vmov s14, s15, %[z], %[z]\n\t"
                     "cmp %[v], %[ve]\n\t"
                     "beq 2f\n\t"
                     "1:\n\t"
                     "vstmia %[v]!, {s0-s15}\n\t"
                     "cmp %[v], %[ve]\n\t"
                     "bne 1b\n\t"
                     "2:\n\t"
                     /* C = bit 3, N = bit 2 */
                     "lsls %[r], %[n], #29\n\t"
                     "it cs\n\t"
                     "vstmiacs %[v]!, {s0-s7}\n\t"
                     "it mi\n\t"
                     "vstmiami %[v]!, {s0-s3}\n\t"
                     /* C = bit 1, N = bit 0 */
                     "lsls %[r], %[n], #31\n\t"
                     "it cs\n\t"
                     "vstmiacs %[v]!, {s0-s1}\n\t"
                     "it mi\n\t"
                     "vstrmi s0, [%[v]]\n\t"
                     : [v] "+&r"(v), [r] "=&r"(r)
                     : [ve] "r"(ve), [n] "r"((uint32_t)n), [z] "r"(0)
                     : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "cc", "memory");
#else
    size_t i;
    for (i = 0; i < n; ++i) {
        v[i] = 0.0f;
    }
#endif
}

/* dzc[pi[j]] = sum over oc in order of gy[pi[j], oc] * wcol[oc], for 8, 4, 2 or 1 pixels at
 * once (each converted weight loaded once for all of them; under TTE_VFP_ASM the 8 and 4 wholly
 * in assembly, the 2 and 1 eight oc per pass of the assembly loop and the last qc % 8 in C). */
static void dwpw_dot8(const float *gy, size_t qc, const int32_t *pi, const float *wcol, float *dzc)
{
    const float *g0 = gy + (size_t)pi[0] * qc, *g1 = gy + (size_t)pi[1] * qc, *g2 = gy + (size_t)pi[2] * qc, *g3 = gy + (size_t)pi[3] * qc;
    const float *g4 = gy + (size_t)pi[4] * qc, *g5 = gy + (size_t)pi[5] * qc, *g6 = gy + (size_t)pi[6] * qc, *g7 = gy + (size_t)pi[7] * qc;
    TTE_ACC(a0, "s0");
    TTE_ACC(a1, "s1");
    TTE_ACC(a2, "s2");
    TTE_ACC(a3, "s3");
    TTE_ACC(a4, "s4");
    TTE_ACC(a5, "s5");
    TTE_ACC(a6, "s6");
    TTE_ACC(a7, "s7");
#ifdef TTE_VFP_ASM
    {
        /* thirty-two oc a pass by 64-bit loads at immediate offsets (one pointer add each a
         * pass), then sixteen and eight where qc % 32 has them, then the last qc % 8 one at a
         * time; all in s0-s15 (TTE_DOT4_PAIR), so that no call saves the callee-saved s16-s31 */
        const float *we32 = wcol + (qc & ~(size_t)31), *const wend = wcol + qc;
        uint32_t z = 0;
        __asm__ volatile("vmov %[a0], %[a1], %[z], %[z]\n\t" "vmov %[a2], %[a3], %[z], %[z]\n\t"
                         "vmov %[a4], %[a5], %[z], %[z]\n\t" "vmov %[a6], %[a7], %[z], %[z]\n\t"
                         TTE_DOT4_LOOPS(TTE_DOT4_EIGHT, TTE_DOT4_G8, TTE_DOT1_EIGHT)
                         : [a0] "=t"(a0), [a1] "=t"(a1), [a2] "=t"(a2), [a3] "=t"(a3), [a4] "=t"(a4), [a5] "=t"(a5),
                           [a6] "=t"(a6), [a7] "=t"(a7), [g0] "+r"(g0), [g1] "+r"(g1), [g2] "+r"(g2), [g3] "+r"(g3),
                           [g4] "+r"(g4), [g5] "+r"(g5), [g6] "+r"(g6), [g7] "+r"(g7),
                           TTE_DOT4_OPERANDS);
        /* the stores read pi anew (its values were not kept across the loops) */
        __asm__("" : "+r"(pi));
    }
#else
    size_t o;
    for (o = 0; o < qc; ++o) {
        const float wv = wcol[o];
        a0 += g0[o] * wv;
        a1 += g1[o] * wv;
        a2 += g2[o] * wv;
        a3 += g3[o] * wv;
        a4 += g4[o] * wv;
        a5 += g5[o] * wv;
        a6 += g6[o] * wv;
        a7 += g7[o] * wv;
    }
#endif
    dzc[pi[0]] = a0;
    dzc[pi[1]] = a1;
    dzc[pi[2]] = a2;
    dzc[pi[3]] = a3;
    dzc[pi[4]] = a4;
    dzc[pi[5]] = a5;
    dzc[pi[6]] = a6;
    dzc[pi[7]] = a7;
}

static void dwpw_dot4(const float *gy, size_t qc, const int32_t *pi, const float *wcol, float *dzc)
{
    const float *g0 = gy + (size_t)pi[0] * qc, *g1 = gy + (size_t)pi[1] * qc, *g2 = gy + (size_t)pi[2] * qc, *g3 = gy + (size_t)pi[3] * qc;
    TTE_ACC(a0, "s0");
    TTE_ACC(a1, "s1");
    TTE_ACC(a2, "s2");
    TTE_ACC(a3, "s3");
#ifdef TTE_VFP_ASM
    {
        /* as dwpw_dot8, four pixels */
        const float *we32 = wcol + (qc & ~(size_t)31), *const wend = wcol + qc;
        uint32_t z = 0;
        __asm__ volatile("vmov %[a0], %[a1], %[z], %[z]\n\t" "vmov %[a2], %[a3], %[z], %[z]\n\t"
                         TTE_DOT4_LOOPS(TTE_DOT4_FOUR, TTE_DOT4_G4, TTE_DOT1_FOUR)
                         : [a0] "=t"(a0), [a1] "=t"(a1), [a2] "=t"(a2), [a3] "=t"(a3), [g0] "+r"(g0), [g1] "+r"(g1),
                           [g2] "+r"(g2), [g3] "+r"(g3),
                           TTE_DOT4_OPERANDS);
        /* the stores read pi anew (its values were not kept across the loops) */
        __asm__("" : "+r"(pi));
    }
#else
    size_t o;
    for (o = 0; o < qc; ++o) {
        const float wv = wcol[o];
        a0 += g0[o] * wv;
        a1 += g1[o] * wv;
        a2 += g2[o] * wv;
        a3 += g3[o] * wv;
    }
#endif
    dzc[pi[0]] = a0;
    dzc[pi[1]] = a1;
    dzc[pi[2]] = a2;
    dzc[pi[3]] = a3;
}

static TTE_ALWAYS_INLINE void dwpw_dot2(const float *gy, size_t qc, const int32_t *pi, const float *wcol, float *dzc)
{
    const float *g0 = gy + (size_t)pi[0] * qc, *g1 = gy + (size_t)pi[1] * qc;
    TTE_ACC(a0, "s0");
    TTE_ACC(a1, "s1");
    size_t o;
#ifdef TTE_VFP_ASM
    if (qc >= 8u) {
        /* as dwpw_dot8: sixteen oc a pass by 64-bit loads, then the last eight by VLDM */
        const float *we = wcol + (qc & ~(size_t)7), *we16 = wcol + (qc & ~(size_t)15);
        __asm__ volatile("vmov %[a0], %[a1], %[z], %[z]\n\t"
                         "cmp %[w], %[we16]\n\t"
                         "beq 2f\n\t"
                         "1:\n\t"
                         TTE_DOT_W("0")
                         TTE_DOT_PAIR_AT("g0", "g1", "a0", "a1", "0")
                         TTE_DOT_W("32")
                         TTE_DOT_PAIR_AT("g0", "g1", "a0", "a1", "32")
                         "adds %[w], %[w], #64\n\t"
                         "adds %[g0], %[g0], #64\n\t" "adds %[g1], %[g1], #64\n\t"
                         "cmp %[w], %[we16]\n\t"
                         "bne 1b\n\t"
                         "2:\n\t"
                         "cmp %[w], %[we]\n\t"
                         "beq 3f\n\t"
                         "vldmia %[w]!, {s8-s15}\n\t"
                         TTE_DOT_PAIR("g0", "g1", "a0", "a1")
                         "3:\n\t"
                         : [a0] "=t"(a0), [a1] "=t"(a1), [g0] "+r"(g0), [g1] "+r"(g1), [w] "+r"(wcol)
                         : [we] "r"(we), [we16] "r"(we16), [z] "r"(0)
                         : TTE_DOT_CLOBBERS);
        qc &= 7u;
    }
#endif
    for (o = 0; o < qc; ++o) {
        const float wv = wcol[o];
        a0 += g0[o] * wv;
        a1 += g1[o] * wv;
    }
    dzc[pi[0]] = a0;
    dzc[pi[1]] = a1;
}

static TTE_ALWAYS_INLINE void dwpw_dot1(const float *gy, size_t qc, const int32_t *pi, const float *wcol, float *dzc)
{
    const float *g0 = gy + (size_t)pi[0] * qc;
    TTE_ACC(a0, "s0");
    size_t o;
#ifdef TTE_VFP_ASM
    if (qc >= 8u) {
        /* as dwpw_dot8: sixteen oc a pass by 64-bit loads, then the last eight by VLDM */
        const float *we = wcol + (qc & ~(size_t)7), *we16 = wcol + (qc & ~(size_t)15);
        __asm__ volatile("vmov %[a0], %[z]\n\t"
                         "cmp %[w], %[we16]\n\t"
                         "beq 2f\n\t"
                         "1:\n\t"
                         TTE_DOT_W("0")
                         TTE_DOT_ONE_AT("g0", "a0", "0")
                         TTE_DOT_W("32")
                         TTE_DOT_ONE_AT("g0", "a0", "32")
                         "adds %[w], %[w], #64\n\t"
                         "adds %[g0], %[g0], #64\n\t"
                         "cmp %[w], %[we16]\n\t"
                         "bne 1b\n\t"
                         "2:\n\t"
                         "cmp %[w], %[we]\n\t"
                         "beq 3f\n\t"
                         "vldmia %[w]!, {s8-s15}\n\t"
                         TTE_DOT_ONE("g0", "a0")
                         "3:\n\t"
                         : [a0] "=t"(a0), [g0] "+r"(g0), [w] "+r"(wcol)
                         : [we] "r"(we), [we16] "r"(we16), [z] "r"(0)
                         : TTE_DOT_CLOBBERS);
        qc &= 7u;
    }
#endif
    for (o = 0; o < qc; ++o) {
        a0 += g0[o] * wcol[o];
    }
    dzc[pi[0]] = a0;
}

/* Whether dwpw_head_dz reads Q's weight columns two channels at a time (an even channel's
 * pass also keeps the next one's bytes): on the M4F/M7 where a column, its rows ch bytes
 * apart, would not stay in the Cortex-M7's L1 D-cache (the F746's: 4 KB, 4 ways of 32 sets of
 * 32-byte lines) from one channel to the next: rows ch bytes apart fall in only
 * 1024 / gcd(ch, 1024) sets (all 32 when that is more), and at 8 or more rows a set (twice the
 * ways) each channel's pass misses on at least half of its rows even read in alternate
 * directions. The pair costs three instructions a row, so it pays only there. Needs an even
 * ch, out_c a multiple of 8 and the stash (TTE_DWPW_ROW floats) for out_c bytes. */
static int32_t dwpw_column_pairs(const tte_dwpw_head_t *q, int32_t ch)
{
#ifdef TTE_VFP_ASM
    int32_t tz;
    if ((ch & 1) != 0 || ch <= 0 || (q->out_c & 7) != 0 || q->out_c <= 0 ||
        (size_t)q->out_c > sizeof(float) * TTE_DWPW_ROW) {
        return 0;
    }
    tz = __builtin_ctz((unsigned)ch); /* gcd(ch, 1024) = 2**min(tz, 10) */
    return q->out_c >= 8 * (tz < 5 ? 32 : 1024 >> (tz < 10 ? tz : 10));
#else
    (void)q, (void)ch;
    return 0;
#endif
}

/* Q's input gradient, channel c, pixels where D's mask is set (the others are 0), into dzc:
 * dzc[i] = sum over oc in order of gy[i, oc] * (w[oc, c] * scale[oc]), as
 * tte_conv2d_grad_input_f32 (it skips zero gy terms, which change no float sum that starts at
 * +0). The column of weights is converted once (wcol: out_c floats), then eight pixels at a
 * time share each converted weight; list: out_pixels int32 (the pixels with D's mask set). */
#ifdef TTE_VFP_ASM
/* eight int8 weights of a column, in s0-s7 as integers, to floats times their scales (s8-s15) */
#define TTE_COL8_CVT \
    "vcvt.f32.s32 s0, s0\n\t" "vcvt.f32.s32 s1, s1\n\t" "vcvt.f32.s32 s2, s2\n\t" \
    "vcvt.f32.s32 s3, s3\n\t" "vcvt.f32.s32 s4, s4\n\t" "vcvt.f32.s32 s5, s5\n\t" \
    "vcvt.f32.s32 s6, s6\n\t" "vcvt.f32.s32 s7, s7\n\t"
/* s0-s7 times one scale S */
#define TTE_COL8_MULS(S) \
    "vmul.f32 s0, s0, " S "\n\t" "vmul.f32 s1, s1, " S "\n\t" "vmul.f32 s2, s2, " S "\n\t" \
    "vmul.f32 s3, s3, " S "\n\t" "vmul.f32 s4, s4, " S "\n\t" "vmul.f32 s5, s5, " S "\n\t" \
    "vmul.f32 s6, s6, " S "\n\t" "vmul.f32 s7, s7, " S "\n\t"
#define TTE_COL8_MUL \
    "vmul.f32 s0, s0, s8\n\t" "vmul.f32 s1, s1, s9\n\t" "vmul.f32 s2, s2, s10\n\t" \
    "vmul.f32 s3, s3, s11\n\t" "vmul.f32 s4, s4, s12\n\t" "vmul.f32 s5, s5, s13\n\t" \
    "vmul.f32 s6, s6, s14\n\t" "vmul.f32 s7, s7, s15\n\t"
/* the end of a pass of eight: converted, times the scales (s8-s15, LD from sp), stored (ST from
 * out), the loop on to end; UP in order, DOWN from the top */
#define TTE_COL8_PASS(LD, ST) \
    TTE_COL8_CVT LD " %[sp]!, {s8-s15}\n\t" TTE_COL8_MUL ST " %[out]!, {s0-s7}\n\t" \
    "cmp %[out], %[end]\n\t" "bne 1b\n\t"
#define TTE_COL8_UP TTE_COL8_PASS("vldmia", "vstmia")
#define TTE_COL8_DOWN TTE_COL8_PASS("vldmdb", "vstmdb")
/* four weights of a column with a stride of ch (rows wp .. wp + 3 ch) into A-D as integers,
 * wp moved on by STEP (four rows on, or twelve back) */
#define TTE_COL8_LD4(STEP, A, B, C, D) \
    "ldrsb %[r0], [%[wp]]\n\t" "ldrsb %[r1], [%[wp], %[ch]]\n\t" "ldrsb %[r2], [%[wp], %[ch2]]\n\t" \
    "ldrsb %[r3], [%[wp], %[ch3]]\n\t" STEP \
    "vmov " A ", " B ", %[r0], %[r1]\n\t" "vmov " C ", " D ", %[r2], %[r3]\n\t"
#define TTE_COL8_FWD4 "add %[wp], %[wp], %[ch4]\n\t"
#define TTE_COL8_BACK12 "sub %[wp], %[wp], %[ch4], lsl #1\n\t" "sub %[wp], %[wp], %[ch4]\n\t"
#endif

/* four bytes, any alignment (one LDR and one STR on ARMv7-M) */
static TTE_ALWAYS_INLINE void copy_word(int8_t *dst, const int8_t *src)
{
    uint32_t v;
    memcpy(&v, src, sizeof v);
    memcpy(dst, &v, sizeof v);
}

#ifdef TTE_VFP_ASM
/* a column of 32-byte rows into s0-s7 (then s8-s15): the int8 at byte 32 k, by immediate
 * offsets (no pointer step per four rows) */
#define TTE_COL32_LD2(A, B, K0, K1) \
    "ldrsb %[r0], [%[wp], #" K0 "]\n\t" "ldrsb %[r1], [%[wp], #" K1 "]\n\t" "vmov " A ", " B ", %[r0], %[r1]\n\t"
#define TTE_COL32_LD8 \
    TTE_COL32_LD2("s0", "s1", "0", "32") TTE_COL32_LD2("s2", "s3", "64", "96") \
    TTE_COL32_LD2("s4", "s5", "128", "160") TTE_COL32_LD2("s6", "s7", "192", "224")

/* wcol[o] = (float)col[32 o] * scale[o] for o < qc (a multiple of 8), in order: Q's column in
 * qbuf at q_cols 32, sixteen rows a pass (eight for the last qc % 16), the same conversion and
 * product as dwpw_head_dz's loops (VCVT, VMUL) */
static TTE_ALWAYS_INLINE void dwpw_col32_cvt(const int8_t *wp, const float *sp, float *out, size_t qc)
{
    float *const e16 = out + (qc & ~(size_t)15), *const end = out + qc;
    int32_t r0, r1;
    __asm__ volatile("cmp %[out], %[e16]\n\t"
                     "beq 2f\n\t"
                     "1:\n\t"
                     TTE_COL32_LD8
                     TTE_COL32_LD2("s8", "s9", "256", "288") TTE_COL32_LD2("s10", "s11", "320", "352")
                     TTE_COL32_LD2("s12", "s13", "384", "416") TTE_COL32_LD2("s14", "s15", "448", "480")
                     "add %[wp], %[wp], #512\n\t"
                     TTE_COL8_CVT
                     "vcvt.f32.s32 s8, s8\n\t" "vcvt.f32.s32 s9, s9\n\t" "vcvt.f32.s32 s10, s10\n\t"
                     "vcvt.f32.s32 s11, s11\n\t" "vcvt.f32.s32 s12, s12\n\t" "vcvt.f32.s32 s13, s13\n\t"
                     "vcvt.f32.s32 s14, s14\n\t" "vcvt.f32.s32 s15, s15\n\t"
                     "vldmia %[sp]!, {s16-s31}\n\t"
                     "vmul.f32 s0, s0, s16\n\t" "vmul.f32 s1, s1, s17\n\t" "vmul.f32 s2, s2, s18\n\t"
                     "vmul.f32 s3, s3, s19\n\t" "vmul.f32 s4, s4, s20\n\t" "vmul.f32 s5, s5, s21\n\t"
                     "vmul.f32 s6, s6, s22\n\t" "vmul.f32 s7, s7, s23\n\t" "vmul.f32 s8, s8, s24\n\t"
                     "vmul.f32 s9, s9, s25\n\t" "vmul.f32 s10, s10, s26\n\t" "vmul.f32 s11, s11, s27\n\t"
                     "vmul.f32 s12, s12, s28\n\t" "vmul.f32 s13, s13, s29\n\t" "vmul.f32 s14, s14, s30\n\t"
                     "vmul.f32 s15, s15, s31\n\t"
                     "vstmia %[out]!, {s0-s15}\n\t"
                     "cmp %[out], %[e16]\n\t"
                     "bne 1b\n\t"
                     "2:\n\t"
                     "cmp %[out], %[end]\n\t"
                     "beq 3f\n\t"
                     TTE_COL32_LD8
                     TTE_COL8_CVT
                     "vldmia %[sp], {s8-s15}\n\t"
                     TTE_COL8_MUL
                     "vstmia %[out], {s0-s7}\n\t"
                     "3:\n\t"
                     : [r0] "=&r"(r0), [r1] "=&r"(r1), [wp] "+&r"(wp), [sp] "+&r"(sp), [out] "+&r"(out)
                     : [e16] "r"(e16), [end] "r"(end)
                     : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13",
                       "d14", "d15", "cc", "memory");
}
#undef TTE_COL32_LD8
#undef TTE_COL32_LD2

/* Q's rows of 32 bytes (columns c .. c + 31) into qbuf, four LDRD and four STRD a row (src and
 * ch word-aligned) */
static TTE_ALWAYS_INLINE void dwpw_copy_rows32(int8_t *dst, const int8_t *src, int32_t ch, size_t rows)
{
    int8_t *const end = dst + 32 * rows;
    int32_t r0, r1, r2, r3;
    __asm__ volatile("1:\n\t"
                     "ldrd %[r0], %[r1], [%[src]]\n\t" "ldrd %[r2], %[r3], [%[src], #8]\n\t"
                     "strd %[r0], %[r1], [%[dst]]\n\t" "strd %[r2], %[r3], [%[dst], #8]\n\t"
                     "ldrd %[r0], %[r1], [%[src], #16]\n\t" "ldrd %[r2], %[r3], [%[src], #24]\n\t"
                     "add %[src], %[src], %[ch]\n\t"
                     "strd %[r0], %[r1], [%[dst], #16]\n\t" "strd %[r2], %[r3], [%[dst], #24]\n\t"
                     "add %[dst], %[dst], #32\n\t"
                     "cmp %[dst], %[end]\n\t"
                     "bne 1b\n\t"
                     : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [src] "+&r"(src), [dst] "+&r"(dst)
                     : [ch] "r"(ch), [end] "r"(end)
                     : "cc", "memory");
}
#endif

/* dzc at the np listed pixels where Q's output gradient is a global pool's (tte_dwpw_head_t.dyp):
 * pv[oc] (the shares) at every pixel, masked by q->dy_mask if set, each sum in the order of
 * dwpw_dot8 (zero terms included, as there). Without a mask every pixel's sum is the same
 * float: made once (dwpw_dot1), stored at each. */
static void dwpw_pooled_dz(const tte_dwpw_head_t *q, size_t qc, const int32_t *lst, size_t np, const float *pv,
                           const float *wcol, float *dzc)
{
    size_t j, o;
    if (np == 0u) {
        return;
    }
    if (q->dy_mask == NULL) {
        const int32_t first = 0;
        float s;
        dwpw_dot1(pv, qc, &first, wcol, &s);
        for (j = 0; j < np; ++j) {
            dzc[lst[j]] = s;
        }
        return;
    }
    for (j = 0; j < np; ++j) {
        const size_t e = (size_t)lst[j] * qc;
        float acc = 0.0f;
        for (o = 0; o < qc; ++o) {
            const float gv = bit_at(q->dy_mask, e + o) ? pv[o] : 0.0f;
            acc += gv * wcol[o];
        }
        dzc[lst[j]] = acc;
    }
}

static TTE_ALWAYS_INLINE void dwpw_head_dz(const tte_dwpw_head_t *q, int32_t ch, int32_t c, size_t out_pixels,
                                           float *dzc, float *wcol, int32_t *list, int8_t *qbuf, int8_t *stash,
                                           int32_t *list2, size_t *np2, const float *pv)
{
    const size_t qc = (size_t)q->out_c;
    /* the pixels listed for the sums: list, or list2 where the previous channel made it */
    const int32_t *lst = list;
    int32_t pend[8];
    size_t i, o, e = (size_t)c;
    size_t np = 0;
    /* column c of Q: in flash with a stride of ch, or in qbuf (see tte_dwpw_head_t.q_cols) */
    const int8_t *col = q->w + c;
    int32_t stride = ch;
#ifndef TTE_VFP_ASM
    (void)list2, (void)np2;
#endif
    if (qbuf != NULL) {
        const int32_t j = c & (q->q_cols - 1);
        if (j == 0) {
            /* columns [c, c + n) of every row, read along the rows: a line of flash serves n columns */
            const int32_t n = ch - c < q->q_cols ? ch - c : q->q_cols;
            const int8_t *src = q->w + c;
            int8_t *dst = qbuf;
            if (n == 8 && q->q_cols == 8) {
                for (o = 0; o < qc; ++o, src += ch, dst += 8) {
                    copy_word(dst, src);
                    copy_word(dst + 4, src + 4);
                }
            } else if (n == 32 && q->q_cols == 32) {
#ifdef TTE_VFP_ASM
                if ((((uintptr_t)src | (uintptr_t)ch) & 3u) == 0u && qc > 0u) {
                    dwpw_copy_rows32(dst, src, ch, qc);
                    o = qc;
                } else {
                    o = 0;
                }
#else
                o = 0;
#endif
                for (; o < qc; ++o, src += ch, dst += 32) {
                    copy_word(dst, src);
                    copy_word(dst + 4, src + 4);
                    copy_word(dst + 8, src + 8);
                    copy_word(dst + 12, src + 12);
                    copy_word(dst + 16, src + 16);
                    copy_word(dst + 20, src + 20);
                    copy_word(dst + 24, src + 24);
                    copy_word(dst + 28, src + 28);
                }
            } else {
                for (o = 0; o < qc; ++o, src += ch, dst += q->q_cols) {
                    memcpy(dst, src, (size_t)n);
                }
            }
        }
        col = qbuf + j;
        stride = q->q_cols;
    }
    /* Without qbuf the column is read from flash with a stride of ch bytes, one cache line per
     * weight, and the lines serve 32 channels in a row if they stay cached; when the column and the
     * scales outgrow the D-cache, reading it in one direction evicts every line before its
     * next use, so odd channels read it backwards (the most recent lines first). Each wcol
     * element is one product, so the order changes no float. */
#ifdef TTE_VFP_ASM
    if (qbuf != NULL && q->q_cols == 32 && (qc & 7u) == 0u && qc > 0u) {
        /* in qbuf (SRAM): no direction to choose, the rows at immediate offsets */
        dwpw_col32_cvt(col, q->scale, wcol, qc);
    } else
#endif
    if (stash != NULL) {
#ifdef TTE_VFP_ASM
        /* dwpw_column_pairs: an even channel reads its column and the next channel's as
         * halfwords (LDRSH; the low byte is its own), keeps the next one's bytes in the stash,
         * and every other even channel reads backwards; the odd channel converts the stash */
        const float *sp = q->scale;
        float *out = wcol;
        int32_t r0, r1, r2, r3;
#define TTE_PAIR_ROWS(A, B, K0, K1) \
    "ldrsh %[r0], [%[wp]]\n\t" "ldrsh %[r1], [%[wp], %[ch]]\n\t" "add %[wp], %[wp], %[ch2]\n\t" \
    "sxtb %[r2], %[r0]\n\t" "sxtb %[r3], %[r1]\n\t" "vmov " A ", " B ", %[r2], %[r3]\n\t" \
    "asr %[r0], %[r0], #8\n\t" "asr %[r1], %[r1], #8\n\t" \
    "strb %[r0], [%[st], #" K0 "]\n\t" "strb %[r1], [%[st], #" K1 "]\n\t"
#define TTE_PAIR_ROWS8 \
    TTE_PAIR_ROWS("s0", "s1", "0", "1") TTE_PAIR_ROWS("s2", "s3", "2", "3") \
    TTE_PAIR_ROWS("s4", "s5", "4", "5") TTE_PAIR_ROWS("s6", "s7", "6", "7")
        if ((c & 1) != 0) {
            const int8_t *st = stash;
            __asm__ volatile("1:\n\t"
                             "ldrsb %[r0], [%[st], #0]\n\t" "ldrsb %[r1], [%[st], #1]\n\t" "vmov s0, s1, %[r0], %[r1]\n\t"
                             "ldrsb %[r0], [%[st], #2]\n\t" "ldrsb %[r1], [%[st], #3]\n\t" "vmov s2, s3, %[r0], %[r1]\n\t"
                             "ldrsb %[r0], [%[st], #4]\n\t" "ldrsb %[r1], [%[st], #5]\n\t" "vmov s4, s5, %[r0], %[r1]\n\t"
                             "ldrsb %[r0], [%[st], #6]\n\t" "ldrsb %[r1], [%[st], #7]\n\t" "vmov s6, s7, %[r0], %[r1]\n\t"
                             "add %[st], %[st], #8\n\t"
                             TTE_COL8_UP
                             : [r0] "=&r"(r0), [r1] "=&r"(r1), [st] "+&r"(st), [sp] "+&r"(sp), [out] "+&r"(out)
                             : [end] "r"(wcol + qc)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "cc", "memory");
            (void)r2, (void)r3;
        } else if ((c & 2) == 0) {
            const int8_t *wp = q->w + c;
            int8_t *st = stash;
            __asm__ volatile("1:\n\t"
                             TTE_PAIR_ROWS8
                             "add %[st], %[st], #8\n\t"
                             TTE_COL8_UP
                             : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [wp] "+&r"(wp),
                               [st] "+&r"(st), [sp] "+&r"(sp), [out] "+&r"(out)
                             : [ch] "r"(ch), [ch2] "r"(2 * ch), [end] "r"(wcol + qc)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "cc", "memory");
        } else {
            /* from the top, eight rows a pass: rows o - 8 .. o - 1 */
            const int8_t *wp = q->w + c + (qc - 8u) * (size_t)ch;
            int8_t *st = stash + qc - 8u;
            sp += qc;
            out += qc;
            __asm__ volatile("1:\n\t"
                             TTE_PAIR_ROWS8
                             "sub %[st], %[st], #8\n\t"
                             "sub %[wp], %[wp], %[ch2], lsl #3\n\t"
                             TTE_COL8_DOWN
                             : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [wp] "+&r"(wp),
                               [st] "+&r"(st), [sp] "+&r"(sp), [out] "+&r"(out)
                             : [ch] "r"(ch), [ch2] "r"(2 * ch), [end] "r"(wcol)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "cc", "memory");
        }
#undef TTE_PAIR_ROWS8
#undef TTE_PAIR_ROWS
#endif
    } else if ((c & 1) != 0) {
        o = qc;
        while ((o & 7u) != 0u) {
            --o;
            wcol[o] = (float)col[o * (size_t)stride] * q->scale[o];
        }
#ifdef TTE_VFP_ASM
        if (o > 0u) {
            /* eight at a time from the top: the block's rows o - 8 .. o - 1 */
            const int8_t *wp = col + (o - 8u) * (size_t)stride;
            const float *sp = q->scale + o;
            float *out = wcol + o;
            int32_t r0, r1, r2, r3;
            __asm__ volatile("1:\n\t"
                             TTE_COL8_LD4(TTE_COL8_FWD4, "s0", "s1", "s2", "s3")
                             TTE_COL8_LD4(TTE_COL8_BACK12, "s4", "s5", "s6", "s7")
                             TTE_COL8_DOWN
                             : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [wp] "+&r"(wp),
                               [sp] "+&r"(sp), [out] "+&r"(out)
                             : [ch] "r"(stride), [ch2] "r"(2 * stride), [ch3] "r"(3 * stride), [ch4] "r"(4 * stride), [end] "r"(wcol)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "cc", "memory");
            o = 0;
        }
#endif
        while (o > 0u) {
            --o;
            wcol[o] = (float)col[o * (size_t)stride] * q->scale[o];
        }
    } else {
        o = 0;
#ifdef TTE_VFP_ASM
        if (qc >= 8u) {
            /* eight at a time: four strided bytes per pointer step, VCVT, VMUL by the scales */
            const int8_t *wp = col;
            const float *sp = q->scale;
            float *out = wcol;
            float *const end = wcol + (qc & ~(size_t)7);
            int32_t r0, r1, r2, r3;
            __asm__ volatile("1:\n\t"
                             TTE_COL8_LD4(TTE_COL8_FWD4, "s0", "s1", "s2", "s3")
                             TTE_COL8_LD4(TTE_COL8_FWD4, "s4", "s5", "s6", "s7")
                             TTE_COL8_UP
                             : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [wp] "+&r"(wp),
                               [sp] "+&r"(sp), [out] "+&r"(out)
                             : [ch] "r"(stride), [ch2] "r"(2 * stride), [ch3] "r"(3 * stride), [ch4] "r"(4 * stride), [end] "r"(end)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "cc", "memory");
            o = qc & ~(size_t)7;
        }
#endif
        for (; o < qc; ++o) {
            wcol[o] = (float)col[o * (size_t)stride] * q->scale[o];
        }
    }
    /* the pixels where D's mask is set listed first (the others' dzc set to 0), then their
     * sums eight at a time */
    if ((ch & 7) == 0) {
        /* channel c's mask bits: one bit of every (ch / 8)-th byte */
        const uint8_t *mp = q->mask + (c >> 3);
        const uint32_t bit = 1u << (c & 7);
        const size_t mstep = (size_t)ch >> 3;
        i = 0;
#ifdef TTE_VFP_ASM
        if (list2 != NULL && (c & 1) != 0) {
            /* listed with channel c - 1's (below): dzc zeroed whole (sixteen floats a pass by
             * STRD, no setup of zero registers), the listed sums written over it */
            float *zp = dzc;
            if (out_pixels >= 16u) {
                float *const ze = dzc + (out_pixels & ~(size_t)15);
                __asm__ volatile("1:\n\t"
                                 "strd %[z], %[z], [%[zp]]\n\t" "strd %[z], %[z], [%[zp], #8]\n\t"
                                 "strd %[z], %[z], [%[zp], #16]\n\t" "strd %[z], %[z], [%[zp], #24]\n\t"
                                 "strd %[z], %[z], [%[zp], #32]\n\t" "strd %[z], %[z], [%[zp], #40]\n\t"
                                 "strd %[z], %[z], [%[zp], #48]\n\t" "strd %[z], %[z], [%[zp], #56]\n\t"
                                 "add %[zp], %[zp], #64\n\t"
                                 "cmp %[zp], %[ze]\n\t"
                                 "bne 1b\n\t"
                                 : [zp] "+&r"(zp)
                                 : [z] "r"(0), [ze] "r"(ze)
                                 : "cc", "memory");
            }
            if ((out_pixels & 15u) != 0u) {
                zero_f32(zp, out_pixels & 15u);
            }
            lst = list2;
            np = *np2;
            i = out_pixels;
        } else if (list2 != NULL) {
            /* an even channel: the odd one after it has its bit in the same bytes, so its list is
             * made too (into list2, without its zeros), two pixels a pass (an odd count's last in C) */
            int32_t *lp = list, *lp2 = list2, t;
#define TTE_HEAD_MASK_TWO(AT) \
    "ldrb %[t], " AT "\n\t" \
    "tst %[t], %[bit]\n\t" \
    "ite eq\n\t" \
    "streq %[z], [%[dz], %[i], lsl #2]\n\t" \
    "strne %[i], [%[lp]], #4\n\t" \
    "tst %[t], %[bit], lsl #1\n\t" \
    "it ne\n\t" \
    "strne %[i], [%[lp2]], #4\n\t" \
    "add %[i], %[i], #1\n\t"
            if (out_pixels >= 2) {
                __asm__ volatile("1:\n\t"
                                 TTE_HEAD_MASK_TWO("[%[mp]]")
                                 TTE_HEAD_MASK_TWO("[%[mp], %[ms]]")
                                 "add %[mp], %[mp], %[ms], lsl #1\n\t"
                                 "cmp %[i], %[n]\n\t"
                                 "bne 1b\n\t"
                                 : [t] "=&r"(t), [mp] "+&r"(mp), [lp] "+&r"(lp), [lp2] "+&r"(lp2), [i] "+&r"(i)
                                 : [ms] "r"(mstep), [bit] "r"(bit), [dz] "r"(dzc), [z] "r"(0),
                                   [n] "r"(out_pixels & ~(size_t)1)
                                 : "cc", "memory");
            }
#undef TTE_HEAD_MASK_TWO
            if (i < out_pixels) {
                if ((*mp & bit) == 0u) {
                    dzc[i] = 0.0f;
                } else {
                    *lp++ = (int32_t)i;
                }
                if ((*mp & (bit << 1)) != 0u) {
                    *lp2++ = (int32_t)i;
                }
                i = out_pixels;
            }
            np = (size_t)(lp - list);
            *np2 = (size_t)(lp2 - list2);
        } else if (out_pixels >= 4) {
            /* four pixels a pass (the last out_pixels % 4 in C) */
            int32_t *lp = list, t;
#define TTE_HEAD_MASK_ONE(AT) \
    "ldrb %[t], " AT "\n\t" \
    "tst %[t], %[bit]\n\t" \
    "ite eq\n\t" \
    "streq %[z], [%[dz], %[i], lsl #2]\n\t" \
    "strne %[i], [%[lp]], #4\n\t" \
    "add %[i], %[i], #1\n\t"
            __asm__ volatile("1:\n\t"
                             TTE_HEAD_MASK_ONE("[%[mp]]")
                             TTE_HEAD_MASK_ONE("[%[mp], %[ms]]")
                             TTE_HEAD_MASK_ONE("[%[mp], %[ms2]]")
                             TTE_HEAD_MASK_ONE("[%[mp], %[ms3]]")
                             "add %[mp], %[mp], %[ms], lsl #2\n\t"
                             "cmp %[i], %[n]\n\t"
                             "bne 1b\n\t"
                             : [t] "=&r"(t), [mp] "+&r"(mp), [lp] "+&r"(lp), [i] "+&r"(i)
                             : [ms] "r"(mstep), [ms2] "r"(2 * mstep), [ms3] "r"(3 * mstep), [bit] "r"(bit),
                               [dz] "r"(dzc), [z] "r"(0), [n] "r"(out_pixels & ~(size_t)3)
                             : "cc", "memory");
#undef TTE_HEAD_MASK_ONE
            np = (size_t)(lp - list);
        }
#endif
        for (; i < out_pixels; ++i, mp += mstep) {
            if ((*mp & bit) == 0u) {
                dzc[i] = 0.0f;
            } else {
                list[np++] = (int32_t)i;
            }
        }
    } else {
        for (i = 0; i < out_pixels; ++i, e += (size_t)ch) {
            if (!bit_at(q->mask, e)) {
                dzc[i] = 0.0f;
            } else {
                list[np++] = (int32_t)i;
            }
        }
    }
    if (pv != NULL) {
        dwpw_pooled_dz(q, qc, lst, np, pv, wcol, dzc);
        return;
    }
    for (i = 0; i + 8 <= np; i += 8) {
        dwpw_dot8(q->gy, qc, lst + i, wcol, dzc);
    }
    /* the rest: seven padded to a block of 8 with a copy of the first pixel (its sum is made
     * again, the same float), five or six as a block of 4 and one of 1 or 2 (a padded pixel
     * costs a load and eight VMLAs per eight oc, a block its own weight loads), three padded
     * to a block of 4 */
    np -= i;
    if (np == 7u) {
        for (o = 0; o < 8u; ++o) {
            pend[o] = lst[o < np ? i + o : i];
        }
        dwpw_dot8(q->gy, qc, pend, wcol, dzc);
        return;
    }
    if (np == 3u) {
        pend[0] = lst[i];
        pend[1] = lst[i + 1];
        pend[2] = lst[i + 2];
        pend[3] = lst[i];
        dwpw_dot4(q->gy, qc, pend, wcol, dzc);
        return;
    }
    if (np >= 4u) {
        dwpw_dot4(q->gy, qc, lst + i, wcol, dzc);
        i += 4;
        np -= 4;
    }
    if (np == 2u) {
        dwpw_dot2(q->gy, qc, lst + i, wcol, dzc);
    } else if (np == 1u) {
        dwpw_dot1(q->gy, qc, lst + i, wcol, dzc);
    }
}

/* tp[j] += d * wp[j] for j < n: each a different element, so their order is free. */
static void dwpw_axpy(float *tp, const float *wp, float d, int32_t n)
{
    int32_t j;
    switch (n) {
    case 7:
        tp[6] += d * wp[6];
        /* fall through */
    case 6:
        tp[5] += d * wp[5];
        /* fall through */
    case 5:
        tp[4] += d * wp[4];
        /* fall through */
    case 4:
        tp[3] += d * wp[3];
        /* fall through */
    case 3:
        tp[2] += d * wp[2];
        /* fall through */
    case 2:
        tp[1] += d * wp[1];
        /* fall through */
    case 1:
        tp[0] += d * wp[0];
        /* fall through */
    case 0:
        break;
    default:
        for (j = 0; j < n; ++j) {
            tp[j] += d * wp[j];
        }
        break;
    }
}

/* dwpw_dw_grad for stride and dilation 1 along x (the usual case): an output pixel's taps
 * kx0 <= kx < kx1 land on x0 + kx, found without a division; wtap holds the converted taps. */
static void dwpw_dw_grad_unit(const tte_conv2d_geom_t *g, const float *dzp, size_t dz_stride, const float *wtap,
                              float *tmp)
{
    const int32_t kw = g->k_w, in_w = g->in_w;
    const size_t plane = (size_t)g->in_h * in_w, rstep = (size_t)g->dil_h * in_w;
    int32_t bi, oy, ox, r;
    for (bi = 0; bi < g->batch; ++bi) {
        float *tb = tmp + (size_t)bi * plane;
        for (oy = 0; oy < g->out_h; ++oy) {
            const int32_t y0 = oy * g->stride_h - g->pad_top;
            int32_t ky0, ky1;
            float *trow;
            const float *wrow;
            valid_range(g->k_h, g->dil_h, y0, g->in_h, &ky0, &ky1);
            if (ky1 <= ky0) {
                dzp += (size_t)g->out_w * dz_stride;
                continue;
            }
            trow = tb + (size_t)(y0 + ky0 * g->dil_h) * in_w;
            wrow = wtap + ky0 * kw;
            for (ox = 0; ox < g->out_w; ++ox, dzp += dz_stride) {
                const float d = *dzp;
                const int32_t x0 = ox - g->pad_left;
                const int32_t kx0 = x0 < 0 ? -x0 : 0;
                const int32_t n = (in_w - x0 < kw ? in_w - x0 : kw) - kx0;
                float *tp = trow + (x0 + kx0);
                const float *wp = wrow + kx0;
                if (d == 0.0f || n <= 0) {
                    continue;
                }
                for (r = ky0; r < ky1; ++r, tp += rstep, wp += kw) {
                    dwpw_axpy(tp, wp, d, n);
                }
            }
        }
    }
}

/* D's input gradient, channel c, into tmp (zeroed first): the loop nest of
 * tte_conv2d_grad_input_f32 (output pixels in order, taps in order, zero terms skipped), each
 * output pixel's tap rectangle clipped to the input once. */
static void dwpw_dw_grad(const tte_conv2d_geom_t *g, const float *dzp, size_t dz_stride, const int8_t *wd,
                         float scale, float *tmp, float *wtap, int32_t cap)
{
    const int32_t kk = g->k_h * g->k_w;
    const size_t plane = (size_t)g->in_h * g->in_w;
    int32_t bi, oy, ox, ky, kx, t;
    zero_f32(tmp, (size_t)g->batch * plane);
    if (kk <= cap) {
        for (t = 0; t < kk; ++t) {
            wtap[t] = (float)wd[t] * scale;
        }
        if (g->stride_w == 1 && g->dil_w == 1) {
            dwpw_dw_grad_unit(g, dzp, dz_stride, wtap, tmp);
            return;
        }
    }
    for (bi = 0; bi < g->batch; ++bi) {
        float *tb = tmp + (size_t)bi * plane;
        for (oy = 0; oy < g->out_h; ++oy) {
            const int32_t y0 = oy * g->stride_h - g->pad_top;
            int32_t ky0, ky1;
            valid_range(g->k_h, g->dil_h, y0, g->in_h, &ky0, &ky1);
            for (ox = 0; ox < g->out_w; ++ox) {
                const float d = *dzp;
                const int32_t x0 = ox * g->stride_w - g->pad_left;
                int32_t kx0, kx1;
                dzp += dz_stride;
                if (d == 0.0f) {
                    continue;
                }
                valid_range(g->k_w, g->dil_w, x0, g->in_w, &kx0, &kx1);
                for (ky = ky0; ky < ky1; ++ky) {
                    float *tp = tb + (size_t)(y0 + ky * g->dil_h) * g->in_w + (x0 + kx0 * g->dil_w);
                    const int32_t wr = ky * g->k_w;
                    if (kk <= cap) {
                        for (kx = kx0; kx < kx1; ++kx, tp += g->dil_w) {
                            *tp += d * wtap[wr + kx];
                        }
                    } else {
                        for (kx = kx0; kx < kx1; ++kx, tp += g->dil_w) {
                            *tp += d * ((float)wd[wr + kx] * scale);
                        }
                    }
                }
            }
        }
    }
}

/* The head variants' depthwise input gradient works on a padded plane: ph x pw floats per image
 * (dwpw_plane), every output pixel's whole window inside it, so no window is clipped; the
 * interior [pad_top, pad_top + in_h) x [pad_left, pad_left + in_w) is D's input gradient, the
 * border only takes the terms that fall outside the input (dropped). Each interior element
 * gets the same terms in the same order as in dwpw_dw_grad. */
static void dwpw_plane(const tte_conv2d_geom_t *g, int32_t *ph, int32_t *pw)
{
    const int32_t eh = (g->out_h - 1) * g->stride_h + (g->k_h - 1) * g->dil_h + 1;
    const int32_t ew = (g->out_w - 1) * g->stride_w + (g->k_w - 1) * g->dil_w + 1;
    *ph = eh > g->pad_top + g->in_h ? eh : g->pad_top + g->in_h;
    *pw = ew > g->pad_left + g->in_w ? ew : g->pad_left + g->in_w;
}

/* what dwpw_dw_grad_pad needs of the plane, worked out once a call (not per channel); three
 * values only, each one a word more of dwpw_run's frame */
typedef struct {
    size_t span0; /* the interior's first element */
    size_t span;  /* from it to the interior's last element, inclusive */
    int32_t vfp_k; /* 3, 5 or 7 where dwpw_dw_plane_vfp takes the plane, else 0 */
    int32_t g3_w;  /* 4 or 8 where dwpw_dw_gather3 makes the interior, else 0 */
} dwpw_pad_t;

static dwpw_pad_t dwpw_pad(const tte_conv2d_geom_t *g, int32_t pw)
{
    dwpw_pad_t d;
    d.span0 = (size_t)g->pad_top * pw + (size_t)g->pad_left;
    d.span = (size_t)(g->in_h - 1) * pw + (size_t)g->in_w;
    d.vfp_k = 0;
    d.g3_w = 0;
#ifdef TTE_VFP_ASM
    if (g->k_h == 3 && g->k_w == 3 && g->dil_h == 1 && g->dil_w == 1 && g->stride_h == 1 && g->stride_w == 1 &&
        g->pad_top == 1 && g->pad_left == 1 && g->out_h == g->in_h && g->out_w == g->in_w && g->in_h >= 2 &&
        (g->in_w == 4 || g->in_w == 8) && pw == g->in_w + 2) {
        d.g3_w = g->in_w;
    }
    if (g->k_h == g->k_w && (g->k_w == 3 || g->k_w == 5 || g->k_w == 7) && g->dil_h == 1 && g->dil_w == 1 &&
        (g->stride_w == 1 || g->stride_w == 2) && g->out_h > 0 && g->out_w > 0) {
        d.vfp_k = g->k_w;
    }
#endif
    return d;
}

#ifdef TTE_VFP_ASM
/* a row of two adjacent 3x3 windows (pixels A, B with dz in s9, s10; taps w0-w2) at stride 1
 * (four plane floats, B's window one to the right) and 2 (five, two to the right); each
 * element takes A's term before B's */
#define TTE_DWG_PAIR1_ROW(w0, w1, w2) \
    "vldr d8, [%[t]]\n\t" "vldr d9, [%[t], #8]\n\t" \
    "vmla.f32 s16, s9, " w0 "\n\t" "vmla.f32 s17, s9, " w1 "\n\t" "vmla.f32 s18, s9, " w2 "\n\t" \
    "vmla.f32 s17, s10, " w0 "\n\t" "vmla.f32 s18, s10, " w1 "\n\t" "vmla.f32 s19, s10, " w2 "\n\t" \
    "vstr d8, [%[t]]\n\t" "vstr d9, [%[t], #8]\n\t"
#define TTE_DWG_PAIR2_ROW(w0, w1, w2) \
    "vldr d8, [%[t]]\n\t" "vldr d9, [%[t], #8]\n\t" "vldr s20, [%[t], #16]\n\t" \
    "vmla.f32 s16, s9, " w0 "\n\t" "vmla.f32 s17, s9, " w1 "\n\t" "vmla.f32 s18, s9, " w2 "\n\t" \
    "vmla.f32 s18, s10, " w0 "\n\t" "vmla.f32 s19, s10, " w1 "\n\t" "vmla.f32 s20, s10, " w2 "\n\t" \
    "vstr d8, [%[t]]\n\t" "vstr d9, [%[t], #8]\n\t" "vstr s20, [%[t], #16]\n\t"
#define TTE_DWG_PAIRS(ROW) \
    ROW("s0", "s1", "s2") "add %[t], %[t], %[pw4]\n\t" \
    ROW("s3", "s4", "s5") "add %[t], %[t], %[pw4]\n\t" \
    ROW("s6", "s7", "s8")

/* a row of two adjacent 5x5 windows (pixels A, B with dz in s20, s21; taps w0-w4) at stride 1
 * (six plane floats in s22-s27) and 2 (seven, s22-s28); each element takes A's term before B's */
#define TTE_DWG5_PAIR1_ROW(w0, w1, w2, w3, w4) \
    "vldr d11, [%[t]]\n\t" "vldr d12, [%[t], #8]\n\t" "vldr d13, [%[t], #16]\n\t" \
    "vmla.f32 s22, s20, " w0 "\n\t" "vmla.f32 s23, s20, " w1 "\n\t" "vmla.f32 s24, s20, " w2 "\n\t" \
    "vmla.f32 s25, s20, " w3 "\n\t" "vmla.f32 s26, s20, " w4 "\n\t" \
    "vmla.f32 s23, s21, " w0 "\n\t" "vmla.f32 s24, s21, " w1 "\n\t" "vmla.f32 s25, s21, " w2 "\n\t" \
    "vmla.f32 s26, s21, " w3 "\n\t" "vmla.f32 s27, s21, " w4 "\n\t" \
    "vstr d11, [%[t]]\n\t" "vstr d12, [%[t], #8]\n\t" "vstr d13, [%[t], #16]\n\t"
#define TTE_DWG5_PAIR2_ROW(w0, w1, w2, w3, w4) \
    "vldr d11, [%[t]]\n\t" "vldr d12, [%[t], #8]\n\t" "vldr d13, [%[t], #16]\n\t" "vldr s28, [%[t], #24]\n\t" \
    "vmla.f32 s22, s20, " w0 "\n\t" "vmla.f32 s23, s20, " w1 "\n\t" "vmla.f32 s24, s20, " w2 "\n\t" \
    "vmla.f32 s25, s20, " w3 "\n\t" "vmla.f32 s26, s20, " w4 "\n\t" \
    "vmla.f32 s24, s21, " w0 "\n\t" "vmla.f32 s25, s21, " w1 "\n\t" "vmla.f32 s26, s21, " w2 "\n\t" \
    "vmla.f32 s27, s21, " w3 "\n\t" "vmla.f32 s28, s21, " w4 "\n\t" \
    "vstr d11, [%[t]]\n\t" "vstr d12, [%[t], #8]\n\t" "vstr d13, [%[t], #16]\n\t" "vstr s28, [%[t], #24]\n\t"
/* taps rows 0-2 stay in s0-s14, rows 3 and 4 are loaded in turn into s15-s19 */
#define TTE_DWG5_PAIRS(ROW) \
    ROW("s0", "s1", "s2", "s3", "s4") "add %[t], %[t], %[pw4]\n\t" \
    ROW("s5", "s6", "s7", "s8", "s9") "add %[t], %[t], %[pw4]\n\t" \
    ROW("s10", "s11", "s12", "s13", "s14") "add %[t], %[t], %[pw4]\n\t" \
    "vldm %[w3], {s15-s19}\n\t" ROW("s15", "s16", "s17", "s18", "s19") "add %[t], %[t], %[pw4]\n\t" \
    "vldm %[w4], {s15-s19}\n\t" ROW("s15", "s16", "s17", "s18", "s19")

/* a row of two adjacent 7x7 windows (pixels A, B with dz in s21, s22; taps w0-w6) at stride 1
 * (eight plane floats in s23-s30) and 2 (nine, s23-s31); taps rows 0 and 1 stay in s0-s13, rows
 * 2-6 are loaded in turn into s14-s20 */
#define TTE_DWG7_PAIR1_ROW(w0, w1, w2, w3, w4, w5, w6) \
    "vldm %[t], {s23-s30}\n\t" \
    "vmla.f32 s23, s21, " w0 "\n\t" "vmla.f32 s24, s21, " w1 "\n\t" "vmla.f32 s25, s21, " w2 "\n\t" "vmla.f32 s26, s21, " w3 "\n\t" \
    "vmla.f32 s27, s21, " w4 "\n\t" "vmla.f32 s28, s21, " w5 "\n\t" "vmla.f32 s29, s21, " w6 "\n\t" \
    "vmla.f32 s24, s22, " w0 "\n\t" "vmla.f32 s25, s22, " w1 "\n\t" "vmla.f32 s26, s22, " w2 "\n\t" "vmla.f32 s27, s22, " w3 "\n\t" \
    "vmla.f32 s28, s22, " w4 "\n\t" "vmla.f32 s29, s22, " w5 "\n\t" "vmla.f32 s30, s22, " w6 "\n\t" \
    "vstm %[t], {s23-s30}\n\t"
#define TTE_DWG7_PAIR2_ROW(w0, w1, w2, w3, w4, w5, w6) \
    "vldm %[t], {s23-s31}\n\t" \
    "vmla.f32 s23, s21, " w0 "\n\t" "vmla.f32 s24, s21, " w1 "\n\t" "vmla.f32 s25, s21, " w2 "\n\t" "vmla.f32 s26, s21, " w3 "\n\t" \
    "vmla.f32 s27, s21, " w4 "\n\t" "vmla.f32 s28, s21, " w5 "\n\t" "vmla.f32 s29, s21, " w6 "\n\t" \
    "vmla.f32 s25, s22, " w0 "\n\t" "vmla.f32 s26, s22, " w1 "\n\t" "vmla.f32 s27, s22, " w2 "\n\t" "vmla.f32 s28, s22, " w3 "\n\t" \
    "vmla.f32 s29, s22, " w4 "\n\t" "vmla.f32 s30, s22, " w5 "\n\t" "vmla.f32 s31, s22, " w6 "\n\t" \
    "vstm %[t], {s23-s31}\n\t"
#define TTE_DWG7_PAIRS(ROW) \
    ROW("s0", "s1", "s2", "s3", "s4", "s5", "s6") "add %[t], %[t], %[pw4]\n\t" \
    ROW("s7", "s8", "s9", "s10", "s11", "s12", "s13") "add %[t], %[t], %[pw4]\n\t" \
    "vldmia %[wr]!, {s14-s20}\n\t" ROW("s14", "s15", "s16", "s17", "s18", "s19", "s20") "add %[t], %[t], %[pw4]\n\t" \
    "vldmia %[wr]!, {s14-s20}\n\t" ROW("s14", "s15", "s16", "s17", "s18", "s19", "s20") "add %[t], %[t], %[pw4]\n\t" \
    "vldmia %[wr]!, {s14-s20}\n\t" ROW("s14", "s15", "s16", "s17", "s18", "s19", "s20") "add %[t], %[t], %[pw4]\n\t" \
    "vldmia %[wr]!, {s14-s20}\n\t" ROW("s14", "s15", "s16", "s17", "s18", "s19", "s20") "add %[t], %[t], %[pw4]\n\t" \
    "vldmia %[wr]!, {s14-s20}\n\t" ROW("s14", "s15", "s16", "s17", "s18", "s19", "s20")

/* the plane loop of dwpw_dw_plane_vfp over rows of n output pixels, rows of dz one after the
 * other: pixels A, B two a pass (their dz loaded into DZA, DZB); both nonzero: START then PAIR
 * (their window rows); one nonzero: START then ONE (the window rows of the pixel whose dz is in
 * DZA, at t); both zero: skipped (a zero pixel adds products +-0, which change no element: the
 * plane starts at +0 and no sum of its terms gives -0, so skipping it or not gives the same bits).
 * An odd row's last pixel takes ONE alone. STEP, HALF: the windows' step for two pixels and one,
 * in bytes; geo: 4 n, 4 (n & ~1), the step from a row's last window + STEP to the next row's
 * first, the end of dz. */
#define TTE_DWG_PLANE(DZA, DZB, START, PAIR, ONE, STEP, HALF) \
    "10:\n\t" \
    "ldr %[r0], [%[geo]]\n\t" \
    "add %[re], %[dz], %[r0]\n\t" \
    "ldr %[r0], [%[geo], #4]\n\t" \
    "add %[dpe], %[dz], %[r0]\n\t" \
    "cmp %[dz], %[dpe]\n\t" \
    "beq 3f\n\t" \
    "1:\n\t" \
    "vldmia %[dz]!, {" DZA "-" DZB "}\n\t" \
    "vmov %[r0], %[r1], " DZA ", " DZB "\n\t" \
    "lsls %[r0], %[r0], #1\n\t" \
    "beq 4f\n\t" \
    "lsls %[r1], %[r1], #1\n\t" \
    "beq 5f\n\t" \
    "mov %[t], %[b]\n\t" \
    START \
    PAIR \
    "add %[b], %[b], #" STEP "\n\t" \
    "cmp %[dz], %[dpe]\n\t" \
    "bne 1b\n\t" \
    "b 3f\n\t" \
    "4:\n\t" \
    "lsls %[r1], %[r1], #1\n\t" \
    "beq 2f\n\t" \
    "vmov.f32 " DZA ", " DZB "\n\t" \
    "add %[t], %[b], #" HALF "\n\t" \
    "b 6f\n\t" \
    "5:\n\t" \
    "mov %[t], %[b]\n\t" \
    "6:\n\t" \
    START \
    ONE \
    "2:\n\t" \
    "add %[b], %[b], #" STEP "\n\t" \
    "cmp %[dz], %[dpe]\n\t" \
    "bne 1b\n\t" \
    "3:\n\t" \
    "cmp %[dz], %[re]\n\t" \
    "beq 7f\n\t" \
    "vldmia %[dz]!, {" DZA "}\n\t" \
    "mov %[dpe], %[dz]\n\t" \
    "vmov %[r0], " DZA "\n\t" \
    "lsls %[r0], %[r0], #1\n\t" \
    "beq 2b\n\t" \
    "mov %[t], %[b]\n\t" \
    "b 6b\n\t" \
    "7:\n\t" \
    "ldr %[r0], [%[geo], #8]\n\t" \
    "add %[b], %[b], %[r0]\n\t" \
    "ldr %[r0], [%[geo], #12]\n\t" \
    "cmp %[dz], %[r0]\n\t" \
    "bne 10b\n\t"

/* one 3x3 window row (dz in s9, plane floats in s16-s18) */
#define TTE_DWG3_ONE_ROW(w0, w1, w2) \
    "vldr d8, [%[t]]\n\t" "vldr s18, [%[t], #8]\n\t" \
    "vmla.f32 s16, s9, " w0 "\n\t" "vmla.f32 s17, s9, " w1 "\n\t" "vmla.f32 s18, s9, " w2 "\n\t" \
    "vstr d8, [%[t]]\n\t" "vstr s18, [%[t], #8]\n\t"
/* one 5x5 window row (dz in s20, plane floats in s22-s26) and one 7x7 window row (dz in s21,
 * plane floats in s23-s29), for the pairs with one zero pixel */
#define TTE_DWG5_ONE_ROW(w0, w1, w2, w3, w4) \
    "vldr d11, [%[t]]\n\t" "vldr d12, [%[t], #8]\n\t" "vldr s26, [%[t], #16]\n\t" \
    "vmla.f32 s22, s20, " w0 "\n\t" "vmla.f32 s23, s20, " w1 "\n\t" "vmla.f32 s24, s20, " w2 "\n\t" \
    "vmla.f32 s25, s20, " w3 "\n\t" "vmla.f32 s26, s20, " w4 "\n\t" \
    "vstr d11, [%[t]]\n\t" "vstr d12, [%[t], #8]\n\t" "vstr s26, [%[t], #16]\n\t"
#define TTE_DWG7_ONE_ROW(w0, w1, w2, w3, w4, w5, w6) \
    "vldm %[t], {s23-s29}\n\t" \
    "vmla.f32 s23, s21, " w0 "\n\t" "vmla.f32 s24, s21, " w1 "\n\t" "vmla.f32 s25, s21, " w2 "\n\t" "vmla.f32 s26, s21, " w3 "\n\t" \
    "vmla.f32 s27, s21, " w4 "\n\t" "vmla.f32 s28, s21, " w5 "\n\t" "vmla.f32 s29, s21, " w6 "\n\t" \
    "vstm %[t], {s23-s29}\n\t"

/* D's input gradient over one image's padded plane for a square 3x3, 5x5 or 7x7 window at
 * dilation 1 and stride 1 or 2 (sw4 = 4 or 8 bytes): rows output rows of n gradients dz (zeros
 * skipped), the first window at b, the next ones sw4 bytes on, rows rs4 bytes apart; plane rows
 * pw4 bytes apart. 3x3 keeps the converted taps in registers, 5x5 those of rows 0-2 (3 and 4 are
 * loaded in turn), 7x7 those of rows 0-1 (2-6 loaded in turn). */
static TTE_ALWAYS_INLINE void dwpw_dw_plane_vfp(int32_t k, const float *dz, int32_t n, int32_t rows, float *b,
                                                int32_t sw4, int32_t pw4, int32_t rs4, const float *wtap)
{
    const uint32_t geo[4] = {4u * (uint32_t)n, 4u * (uint32_t)(n & ~1), (uint32_t)(rs4 - (n + 1) / 2 * 2 * sw4),
                             (uint32_t)(uintptr_t)(dz + (size_t)n * rows)};
    const float *wr;
    float *t, *re;
    const float *dpe;
    int32_t r0, r1;
    if (k == 3) {
        if (sw4 == 4) {
            __asm__ volatile("vldmia %[w], {s0-s8}\n\t"
                             TTE_DWG_PLANE("s9", "s10", "", TTE_DWG_PAIRS(TTE_DWG_PAIR1_ROW),
                                           TTE_DWG_PAIRS(TTE_DWG3_ONE_ROW), "8", "4")
                             : [t] "=&r"(t), [r0] "=&r"(r0), [r1] "=&r"(r1), [dpe] "=&r"(dpe), [re] "=&r"(re),
                               [dz] "+&r"(dz), [b] "+&r"(b)
                             : [w] "r"(wtap), [geo] "r"(geo), [pw4] "r"(pw4)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d8", "d9", "d10", "cc", "memory");
        } else {
            __asm__ volatile("vldmia %[w], {s0-s8}\n\t"
                             TTE_DWG_PLANE("s9", "s10", "", TTE_DWG_PAIRS(TTE_DWG_PAIR2_ROW),
                                           TTE_DWG_PAIRS(TTE_DWG3_ONE_ROW), "16", "8")
                             : [t] "=&r"(t), [r0] "=&r"(r0), [r1] "=&r"(r1), [dpe] "=&r"(dpe), [re] "=&r"(re),
                               [dz] "+&r"(dz), [b] "+&r"(b)
                             : [w] "r"(wtap), [geo] "r"(geo), [pw4] "r"(pw4)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d8", "d9", "d10", "cc", "memory");
        }
    } else if (k == 5) {
        const float *const w3 = wtap + 15, *const w4 = wtap + 20;
        if (sw4 == 4) {
            __asm__ volatile("sub %[t], %[w3], #60\n\t"
                             "vldmia %[t], {s0-s14}\n\t"
                             TTE_DWG_PLANE("s20", "s21", "", TTE_DWG5_PAIRS(TTE_DWG5_PAIR1_ROW),
                                           TTE_DWG5_PAIRS(TTE_DWG5_ONE_ROW), "8", "4")
                             : [t] "=&r"(t), [r0] "=&r"(r0), [r1] "=&r"(r1), [dpe] "=&r"(dpe), [re] "=&r"(re),
                               [dz] "+&r"(dz), [b] "+&r"(b)
                             : [w3] "r"(w3), [w4] "r"(w4), [geo] "r"(geo), [pw4] "r"(pw4)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12",
                               "d13", "cc", "memory");
        } else {
            __asm__ volatile("sub %[t], %[w3], #60\n\t"
                             "vldmia %[t], {s0-s14}\n\t"
                             TTE_DWG_PLANE("s20", "s21", "", TTE_DWG5_PAIRS(TTE_DWG5_PAIR2_ROW),
                                           TTE_DWG5_PAIRS(TTE_DWG5_ONE_ROW), "16", "8")
                             : [t] "=&r"(t), [r0] "=&r"(r0), [r1] "=&r"(r1), [dpe] "=&r"(dpe), [re] "=&r"(re),
                               [dz] "+&r"(dz), [b] "+&r"(b)
                             : [w3] "r"(w3), [w4] "r"(w4), [geo] "r"(geo), [pw4] "r"(pw4)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12",
                               "d13", "d14", "cc", "memory");
        }
    } else if (sw4 == 4) {
        __asm__ volatile("sub %[t], %[w2], #56\n\t"
                         "vldmia %[t], {s0-s13}\n\t"
                         TTE_DWG_PLANE("s21", "s22", "mov %[wr], %[w2]\n\t", TTE_DWG7_PAIRS(TTE_DWG7_PAIR1_ROW),
                                       TTE_DWG7_PAIRS(TTE_DWG7_ONE_ROW), "8", "4")
                         : [t] "=&r"(t), [wr] "=&r"(wr), [r0] "=&r"(r0), [r1] "=&r"(r1), [dpe] "=&r"(dpe),
                           [re] "=&r"(re), [dz] "+&r"(dz), [b] "+&r"(b)
                         : [w2] "r"(wtap + 14), [geo] "r"(geo), [pw4] "r"(pw4)
                         : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13",
                           "d14", "d15", "cc", "memory");
    } else {
        __asm__ volatile("sub %[t], %[w2], #56\n\t"
                         "vldmia %[t], {s0-s13}\n\t"
                         TTE_DWG_PLANE("s21", "s22", "mov %[wr], %[w2]\n\t", TTE_DWG7_PAIRS(TTE_DWG7_PAIR2_ROW),
                                       TTE_DWG7_PAIRS(TTE_DWG7_ONE_ROW), "16", "8")
                         : [t] "=&r"(t), [wr] "=&r"(wr), [r0] "=&r"(r0), [r1] "=&r"(r1), [dpe] "=&r"(dpe),
                           [re] "=&r"(re), [dz] "+&r"(dz), [b] "+&r"(b)
                         : [w2] "r"(wtap + 14), [geo] "r"(geo), [pw4] "r"(pw4)
                         : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13",
                           "d14", "d15", "cc", "memory");
    }
}

/* D's input gradient gathered, for a 3x3 window at stride 1 with one pixel of padding on every
 * side over a 4- or 8-pixel-wide image (dwpw_pad's g3_w): each interior element of the plane is
 * made whole in two accumulators (s10, s11: two neighbouring elements A and B), its terms in the
 * order in which the scatter above adds them (output pixels in order: the dz row above, its own,
 * the one below, each left to right), every term a dz times a tap, a zero dz's included: a zero
 * dz adds +-0, which changes no sum that starts at +0 (no sum of its terms gives -0), so the
 * bits are those of the scatter, which skips them. No element of the interior is read before it
 * is written, so the plane is not zeroed first; its border is left as it is (no one reads it).
 * Terms of columns or rows outside the image are not made. Registers: taps s0-s8 (row-major),
 * one d register per two dz columns (the row above in d6-d8, its own in d9-d11, the one below
 * in d12-d14, three in turn). */
/* one dz row's terms of A (s10) and B (s11), columns c_1 .. c2 around A (A's is c0), taps
 * w2, w1, w0 (kx = 2, 1, 0: the leftmost pixel's term first); TL without column -1, TR without
 * column 2 */
#define TTE_G3_T(c_1, c0, c1, c2, w2, w1, w0) \
    "vmla.f32 s10, " c_1 ", " w2 "\n\t" "vmla.f32 s11, " c0 ", " w2 "\n\t" \
    "vmla.f32 s10, " c0 ", " w1 "\n\t" "vmla.f32 s11, " c1 ", " w1 "\n\t" \
    "vmla.f32 s10, " c1 ", " w0 "\n\t" "vmla.f32 s11, " c2 ", " w0 "\n\t"
#define TTE_G3_TL(c0, c1, c2, w2, w1, w0) \
    "vmla.f32 s11, " c0 ", " w2 "\n\t" \
    "vmla.f32 s10, " c0 ", " w1 "\n\t" "vmla.f32 s11, " c1 ", " w1 "\n\t" \
    "vmla.f32 s10, " c1 ", " w0 "\n\t" "vmla.f32 s11, " c2 ", " w0 "\n\t"
#define TTE_G3_TR(c_1, c0, c1, w2, w1, w0) \
    "vmla.f32 s10, " c_1 ", " w2 "\n\t" "vmla.f32 s11, " c0 ", " w2 "\n\t" \
    "vmla.f32 s10, " c0 ", " w1 "\n\t" "vmla.f32 s11, " c1 ", " w1 "\n\t" \
    "vmla.f32 s10, " c1 ", " w0 "\n\t"
/* the pairs of a row by the slots' halves (a0l, a0h: columns 0, 1 of slot 0, ...): P0 .. P3 of
 * an 8-wide row (slots 0, 1, 2, 0 for columns 0-1, 2-3, 4-5, 6-7), Q0, Q1 of a 4-wide one */
#define TTE_G3_P0(a0l, a0h, a1l, a1h, a2l, a2h, w2, w1, w0) TTE_G3_TL(a0l, a0h, a1l, w2, w1, w0)
#define TTE_G3_P1(a0l, a0h, a1l, a1h, a2l, a2h, w2, w1, w0) TTE_G3_T(a0h, a1l, a1h, a2l, w2, w1, w0)
#define TTE_G3_P2(a0l, a0h, a1l, a1h, a2l, a2h, w2, w1, w0) TTE_G3_T(a1h, a2l, a2h, a0l, w2, w1, w0)
#define TTE_G3_P3(a0l, a0h, a1l, a1h, a2l, a2h, w2, w1, w0) TTE_G3_TR(a2h, a0l, a0h, w2, w1, w0)
#define TTE_G3_Q1(a0l, a0h, a1l, a1h, a2l, a2h, w2, w1, w0) TTE_G3_TR(a0h, a1l, a1h, w2, w1, w0)
#define TTE_G3_APPLY(m, ...) m(__VA_ARGS__)
#define TTE_G3_UP "s12", "s13", "s14", "s15", "s16", "s17", "s8", "s7", "s6"
#define TTE_G3_MID "s18", "s19", "s20", "s21", "s22", "s23", "s5", "s4", "s3"
#define TTE_G3_DN "s24", "s25", "s26", "s27", "s28", "s29", "s2", "s1", "s0"
#define TTE_G3_KEEP(x) x
#define TTE_G3_DROP(x)
/* pair P of a row (UP, DN: TTE_G3_KEEP or TTE_G3_DROP, whether the row above / below is in
 * the image), stored at byte AT of the plane row */
#define TTE_G3_PAIR(P, UP, DN, AT) \
    "vmov s10, s11, %[z], %[z]\n\t" \
    UP(TTE_G3_APPLY(P, TTE_G3_UP)) TTE_G3_APPLY(P, TTE_G3_MID) DN(TTE_G3_APPLY(P, TTE_G3_DN)) \
    "vstr d5, [%[o], #" AT "]\n\t"
#define TTE_G3_LD(D, AT) "vldr " D ", [%[p], #" AT "]\n\t"
/* a load of the image's own row, its two values also added to the sum (s30) in order */
#define TTE_G3_LDS(D, AT, LO, HI) TTE_G3_LD(D, AT) "vadd.f32 s30, s30, " LO "\n\t" "vadd.f32 s30, s30, " HI "\n\t"
/* one plane row from dz row p (the rows above and below 4 W bytes away), then p and o on */
#define TTE_G3_ROW8(UP, DN) \
    UP(TTE_G3_LD("d6", "-32") TTE_G3_LD("d7", "-24")) \
    TTE_G3_LDS("d9", "0", "s18", "s19") TTE_G3_LDS("d10", "8", "s20", "s21") \
    DN(TTE_G3_LD("d12", "32") TTE_G3_LD("d13", "40")) \
    TTE_G3_PAIR(TTE_G3_P0, UP, DN, "0") \
    UP(TTE_G3_LD("d8", "-16")) TTE_G3_LDS("d11", "16", "s22", "s23") DN(TTE_G3_LD("d14", "48")) \
    TTE_G3_PAIR(TTE_G3_P1, UP, DN, "8") \
    UP(TTE_G3_LD("d6", "-8")) TTE_G3_LDS("d9", "24", "s18", "s19") DN(TTE_G3_LD("d12", "56")) \
    TTE_G3_PAIR(TTE_G3_P2, UP, DN, "16") \
    TTE_G3_PAIR(TTE_G3_P3, UP, DN, "24") \
    "add %[p], %[p], #32\n\t" "add %[o], %[o], %[pw4]\n\t"
#define TTE_G3_ROW4(UP, DN) \
    UP(TTE_G3_LD("d6", "-16") TTE_G3_LD("d7", "-8")) \
    TTE_G3_LDS("d9", "0", "s18", "s19") TTE_G3_LDS("d10", "8", "s20", "s21") \
    DN(TTE_G3_LD("d12", "16") TTE_G3_LD("d13", "24")) \
    TTE_G3_PAIR(TTE_G3_P0, UP, DN, "0") \
    TTE_G3_PAIR(TTE_G3_Q1, UP, DN, "8") \
    "add %[p], %[p], #16\n\t" "add %[o], %[o], %[pw4]\n\t"
/* the taps: int8 at wd, converted and scaled (s31) as in dwpw_dw_grad_pad */
#define TTE_G3_TAPS \
    "ldrsb %[t0], [%[wd]]\n\t" "ldrsb %[t1], [%[wd], #1]\n\t" "vmov s0, s1, %[t0], %[t1]\n\t" \
    "ldrsb %[t0], [%[wd], #2]\n\t" "ldrsb %[t1], [%[wd], #3]\n\t" "vmov s2, s3, %[t0], %[t1]\n\t" \
    "ldrsb %[t0], [%[wd], #4]\n\t" "ldrsb %[t1], [%[wd], #5]\n\t" "vmov s4, s5, %[t0], %[t1]\n\t" \
    "ldrsb %[t0], [%[wd], #6]\n\t" "ldrsb %[t1], [%[wd], #7]\n\t" "vmov s6, s7, %[t0], %[t1]\n\t" \
    "ldrsb %[t0], [%[wd], #8]\n\t" "vmov s8, %[t0]\n\t" \
    TTE_COL8_CVT "vcvt.f32.s32 s8, s8\n\t" \
    TTE_COL8_MULS("%[sc]") "vmul.f32 s8, s8, %[sc]\n\t"
/* the image: its first row, the rows between, its last row (h >= 2) */
#define TTE_G3_IMAGE(ROW) \
    TTE_G3_TAPS \
    ROW(TTE_G3_DROP, TTE_G3_KEEP) \
    "cmp %[p], %[pe]\n\t" \
    "beq 2f\n\t" \
    "1:\n\t" \
    ROW(TTE_G3_KEEP, TTE_G3_KEEP) \
    "cmp %[p], %[pe]\n\t" \
    "bne 1b\n\t" \
    "2:\n\t" \
    ROW(TTE_G3_KEEP, TTE_G3_DROP)

/* dz: h rows of w (4 or 8) gradients; o: the plane's first interior element, rows pw4 bytes
 * apart; wd: D's nine int8 taps, times scale; returns sum + dz's values in order (sum_f32's
 * order, carried on from image to image) */
static TTE_ALWAYS_INLINE float dwpw_dw_gather3(const float *dz, int32_t h, int32_t w, float *o, int32_t pw4,
                                               const int8_t *wd, float scale, float sum)
{
    const float *const pe = dz + (size_t)(h - 1) * w;
    register float acc __asm__("s30") = sum;
    register float sc __asm__("s31") = scale;
    int32_t t0, t1;
    if (w == 8) {
        __asm__ volatile(TTE_G3_IMAGE(TTE_G3_ROW8)
                         : [p] "+&r"(dz), [o] "+&r"(o), [a] "+&t"(acc), [t0] "=&r"(t0), [t1] "=&r"(t1)
                         : [wd] "r"(wd), [sc] "t"(sc), [pe] "r"(pe), [pw4] "r"(pw4), [z] "r"(0)
                         : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12",
                           "d13", "d14", "cc", "memory");
    } else {
        __asm__ volatile(TTE_G3_IMAGE(TTE_G3_ROW4)
                         : [p] "+&r"(dz), [o] "+&r"(o), [a] "+&t"(acc), [t0] "=&r"(t0), [t1] "=&r"(t1)
                         : [wd] "r"(wd), [sc] "t"(sc), [pe] "r"(pe), [pw4] "r"(pw4), [z] "r"(0)
                         : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12",
                           "d13", "d14", "cc", "memory");
    }
    return acc;
}
#undef TTE_G3_IMAGE
#undef TTE_G3_TAPS
#undef TTE_G3_ROW4
#undef TTE_G3_ROW8
#undef TTE_G3_LDS
#undef TTE_G3_LD
#undef TTE_G3_PAIR
#undef TTE_G3_DROP
#undef TTE_G3_KEEP
#undef TTE_G3_DN
#undef TTE_G3_MID
#undef TTE_G3_UP
#undef TTE_G3_APPLY
#undef TTE_G3_Q1
#undef TTE_G3_P3
#undef TTE_G3_P2
#undef TTE_G3_P1
#undef TTE_G3_P0
#undef TTE_G3_TR
#undef TTE_G3_TL
#undef TTE_G3_T
#endif

/* D's input gradient, channel c, on the padded plane: output pixels in order, taps in order, zero
 * terms skipped, as tte_conv2d_grad_input_f32; dzp: out pixels, stride 1. Only the interior is
 * read, so only the span from its first element to its last is zeroed first: the border rows above
 * and below it take their (dropped) terms onto whatever they hold. Returns 1 where it also left
 * in *dsum the sum of dzp's values (sum_f32's, in the same order), else 0. */
static TTE_ALWAYS_INLINE int32_t dwpw_dw_grad_pad(const tte_conv2d_geom_t *g, const float *dzp, const int8_t *wd,
                                                  float scale, float *plane, float *wtap, int32_t ph, int32_t pw,
                                                  const dwpw_pad_t *pd, float *dsum)
{
    const int32_t kh = g->k_h, kw = g->k_w, kk = kh * kw;
    const size_t psz = (size_t)ph * pw;
    int32_t bi, oy, ox, ky, kx, t = 0;
#ifdef TTE_VFP_ASM
    if (pd->g3_w != 0) {
        /* the taps converted in dwpw_dw_gather3's registers (wtap is not written) */
        float sum = 0.0f;
        for (bi = 0; bi < g->batch; ++bi, dzp += (size_t)g->out_h * g->out_w) {
            sum = dwpw_dw_gather3(dzp, g->out_h, pd->g3_w, plane + (size_t)bi * psz + pd->span0, 4 * pw, wd, scale,
                                  sum);
        }
        *dsum = sum;
        return 1;
    }
    if (kk >= 8) {
        /* eight taps a pass, the same conversion and product as the loop below */
        const int8_t *ws = wd;
        float *wt = wtap;
        float *const we = wtap + (kk & ~7);
        int32_t a, b, c, d;
        __asm__ volatile("vmov s8, %[sc]\n\t"
                         "1:\n\t"
                         "ldrsb %[a], [%[ws]], #1\n\t" "ldrsb %[b], [%[ws]], #1\n\t"
                         "ldrsb %[c], [%[ws]], #1\n\t" "ldrsb %[d], [%[ws]], #1\n\t"
                         "vmov s0, s1, %[a], %[b]\n\t" "vmov s2, s3, %[c], %[d]\n\t"
                         "ldrsb %[a], [%[ws]], #1\n\t" "ldrsb %[b], [%[ws]], #1\n\t"
                         "ldrsb %[c], [%[ws]], #1\n\t" "ldrsb %[d], [%[ws]], #1\n\t"
                         "vmov s4, s5, %[a], %[b]\n\t" "vmov s6, s7, %[c], %[d]\n\t"
                         TTE_COL8_CVT
                         TTE_COL8_MULS("s8")
                         "vstmia %[wt]!, {s0-s7}\n\t"
                         "cmp %[wt], %[we]\n\t"
                         "bne 1b\n\t"
                         : [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c), [d] "=&r"(d), [ws] "+&r"(ws), [wt] "+&r"(wt)
                         : [we] "r"(we), [sc] "r"(scale)
                         : "d0", "d1", "d2", "d3", "d4", "cc", "memory");
        t = kk & ~7;
    }
#endif
    if (kk - t == 1) {
        /* the odd windows' last tap after the passes of eight, without a loop */
        wtap[t] = (float)wd[t] * scale;
    } else {
        for (; t < kk; ++t) {
            wtap[t] = (float)wd[t] * scale;
        }
    }
    for (bi = 0; bi < g->batch; ++bi) {
        float *pb = plane + (size_t)bi * psz;
        zero_f32(pb + pd->span0, pd->span);
#ifdef TTE_VFP_ASM
        if (pd->vfp_k != 0) {
            dwpw_dw_plane_vfp(pd->vfp_k, dzp, g->out_w, g->out_h, pb, 4 * g->stride_w, 4 * pw,
                              4 * g->stride_h * pw, wtap);
            dzp += (size_t)g->out_h * g->out_w;
            continue;
        }
#endif
        for (oy = 0; oy < g->out_h; ++oy, dzp += g->out_w) {
            float *rowp = pb + (size_t)oy * g->stride_h * pw;
            for (ox = 0; ox < g->out_w; ++ox) {
                const float d = dzp[ox];
                float *tp = rowp + (size_t)ox * g->stride_w;
                if (d == 0.0f) {
                    continue;
                }
                for (ky = 0; ky < kh; ++ky, tp += (size_t)g->dil_h * pw) {
                    const float *wr = wtap + ky * kw;
                    for (kx = 0; kx < kw; ++kx) {
                        tp[kx * g->dil_w] += d * wr[kx];
                    }
                }
            }
        }
    }
    (void)dsum;
    return 0;
}

/* dp[k] += t * wk for eight k in order (a pixel's eight input-gradient channels) */
static TTE_ALWAYS_INLINE void dwpw_axpy8(float *dp, float t, float w0, float w1, float w2, float w3, float w4,
                                         float w5, float w6, float w7)
{
    dp[0] += t * w0;
    dp[1] += t * w1;
    dp[2] += t * w2;
    dp[3] += t * w3;
    dp[4] += t * w4;
    dp[5] += t * w5;
    dp[6] += t * w6;
    dp[7] += t * w7;
}

/* dx[i, k] += d[i] * wrow[k], k in [k0, k0 + n), pixels with d[i] != 0 (zero terms change no
 * sum: dx's sums start at +0 too), eight k at a time with their weights in registers. */
static void dwpw_dx_row(float *dx, const float *d, size_t pixels, int32_t cin, int32_t k0, int32_t n,
                        const float *wrow)
{
    int32_t j = 0;
    size_t i;
    for (; j + 8 <= n; j += 8) {
        const float w0 = wrow[j], w1 = wrow[j + 1], w2 = wrow[j + 2], w3 = wrow[j + 3];
        const float w4 = wrow[j + 4], w5 = wrow[j + 5], w6 = wrow[j + 6], w7 = wrow[j + 7];
        float *dp = dx + k0 + j;
        for (i = 0; i < pixels; ++i, dp += cin) {
            const float t = d[i];
            if (t == 0.0f) {
                continue;
            }
            dwpw_axpy8(dp, t, w0, w1, w2, w3, w4, w5, w6, w7);
        }
    }
    for (; j < n; ++j) {
        const float w0 = wrow[j];
        float *dp = dx + k0 + j;
        for (i = 0; i < pixels; ++i, dp += cin) {
            const float t = d[i];
            if (t != 0.0f) {
                *dp += t * w0;
            }
        }
    }
}

/* P's weight update, row c: for each selected input channel k (ci-th), the gradient
 * sum over pixels in order of d[i] * dequantized x[i, k] (tte_conv2d_weight_update_s8's sum;
 * zero d terms skipped), four channels at a time, then the float32 QAS step on wrow[ci]
 * (packed: a split weight's trained part) or wrow[k]. */
static void dwpw_update_row(const tte_update_params_t *u, int32_t oi, int8_t *wrow, int32_t packed,
                            const int8_t *x, float x_scale, int32_t x_zp, int32_t cin, const float *d,
                            size_t pixels, int32_t step)
{
    const float kf = qas_factor_s8(u, oi);
    const uint32_t base = (uint32_t)oi * (uint32_t)u->n_in;
    int32_t ci = 0;
    size_t i;
    for (; ci + 4 <= u->n_in; ci += 4) {
        const int32_t o0 = sel(u->in_idx, ci), o1 = sel(u->in_idx, ci + 1);
        const int32_t o2 = sel(u->in_idx, ci + 2), o3 = sel(u->in_idx, ci + 3);
        const int8_t *xp = x;
        float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
        for (i = 0; i < pixels; ++i, xp += cin) {
            const float t = d[i];
            if (t == 0.0f) {
                continue;
            }
            a0 += t * ((float)((int32_t)xp[o0] - x_zp) * x_scale);
            a1 += t * ((float)((int32_t)xp[o1] - x_zp) * x_scale);
            a2 += t * ((float)((int32_t)xp[o2] - x_zp) * x_scale);
            a3 += t * ((float)((int32_t)xp[o3] - x_zp) * x_scale);
        }
        {
            int8_t *w0 = wrow + (packed ? ci : o0), *w1 = wrow + (packed ? ci + 1 : o1);
            int8_t *w2 = wrow + (packed ? ci + 2 : o2), *w3 = wrow + (packed ? ci + 3 : o3);
            *w0 = apply_s8(*w0, qas_steps_s8(u, kf, a0, base + (uint32_t)ci, step));
            *w1 = apply_s8(*w1, qas_steps_s8(u, kf, a1, base + (uint32_t)ci + 1u, step));
            *w2 = apply_s8(*w2, qas_steps_s8(u, kf, a2, base + (uint32_t)ci + 2u, step));
            *w3 = apply_s8(*w3, qas_steps_s8(u, kf, a3, base + (uint32_t)ci + 3u, step));
        }
    }
    for (; ci < u->n_in; ++ci) {
        const int32_t o0 = sel(u->in_idx, ci);
        const int8_t *xp = x + o0;
        float a0 = 0.0f;
        int8_t *wp = wrow + (packed ? ci : o0);
        for (i = 0; i < pixels; ++i, xp += cin) {
            const float t = d[i];
            if (t != 0.0f) {
                a0 += t * ((float)((int32_t)*xp - x_zp) * x_scale);
            }
        }
        *wp = apply_s8(*wp, qas_steps_s8(u, kf, a0, base + (uint32_t)ci, step));
    }
}

/* dwpw_dx_row over a list: the n nonzero values d[j] of channel c's gradient at pixel byte
 * offsets off[j] (pixel * cin, pixels ascending), so no zero test is left in the loop; the
 * weights wq[k] * s converted as each block of them is loaded (the same floats). */
static void dwpw_dx_list(float *dx, const float *d, const int32_t *off, int32_t n, int32_t kn, const int8_t *wq,
                         float s)
{
    int32_t j = 0, l;
    if (n <= 0) {
        return;
    }
#ifdef TTE_VFP_ASM
    for (; j + 8 <= kn; j += j + 24 == kn ? 24 : (j + 16 <= kn ? 16 : 8)) {
        float *base = dx + j;
        const int8_t *wp = wq + j;
        const float *dp = d;
        const int32_t *op = off, *oe = off + n;
        int32_t t0, t1;
        float *pp;
        if (j + 24 == kn) {
            /* the last twenty-four channels in one pass (TTE_DX_AT24): four pixels a pass
             * (values in s24-s27), then the last n % 4 one at a time */
            const int32_t *const oe4 = off + (n & ~3);
            uint32_t sbits;
            memcpy(&sbits, &s, sizeof sbits);
            __asm__ volatile("vmov s31, %[sb]\n\t"
                             TTE_DX_CVT24
                             TTE_DX_LOOPS(TTE_DX_AT24, "s24-s27", "s24", "s25", "s26", "s27", TTE_DX_ONE24)
                             : [p] "=&r"(pp), [t0] "=&r"(t0), [t1] "=&r"(t1), [op] "+&r"(op), [dp] "+&r"(dp)
                             : [base] "r"(base), [oe] "r"(oe), [oe4] "r"(oe4), [wq] "r"(wp), [sb] "r"(sbits)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12",
                               "d13", "d14", "d15", "cc", "memory");
        } else if (j + 16 <= kn) {
            /* four pixels a pass (their values in s16-s19: one VLDM, their offsets by two LDRD,
             * one loop branch), then the last n % 4 one at a time */
            const int32_t *const oe4 = off + (n & ~3);
            __asm__ volatile(TTE_DX_CVT16
                             TTE_DX_LOOPS(TTE_DX_AT16, "s16-s19", "s16", "s17", "s18", "s19", TTE_DX_PIX16("s16"))
                             : [p] "=&r"(pp), [t0] "=&r"(t0), [t1] "=&r"(t1), [op] "+&r"(op), [dp] "+&r"(dp)
                             : [base] "r"(base), [oe] "r"(oe), [oe4] "r"(oe4), [wq] "r"(wp), [s] "t"(s)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12",
                               "d13", "cc", "memory");
        } else {
            /* as above: four pixels a pass (values in s8-s11), then the last n % 4 */
            const int32_t *const oe4 = off + (n & ~3);
            __asm__ volatile(TTE_DX_CVT8
                             TTE_DX_LOOPS(TTE_DX_AT8, "s8-s11", "s8", "s9", "s10", "s11", TTE_DX_PIX8("s8"))
                             : [p] "=&r"(pp), [t0] "=&r"(t0), [t1] "=&r"(t1), [op] "+&r"(op), [dp] "+&r"(dp)
                             : [base] "r"(base), [oe] "r"(oe), [oe4] "r"(oe4), [wq] "r"(wp), [s] "t"(s)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d8", "d9", "d10", "d11", "cc", "memory");
        }
    }
#endif
    for (; j + 16 <= kn; j += 16) {
        const float w0 = (float)wq[j] * s, w1 = (float)wq[j + 1] * s, w2 = (float)wq[j + 2] * s;
        const float w3 = (float)wq[j + 3] * s, w4 = (float)wq[j + 4] * s, w5 = (float)wq[j + 5] * s;
        const float w6 = (float)wq[j + 6] * s, w7 = (float)wq[j + 7] * s, w8 = (float)wq[j + 8] * s;
        const float w9 = (float)wq[j + 9] * s, w10 = (float)wq[j + 10] * s, w11 = (float)wq[j + 11] * s;
        const float w12 = (float)wq[j + 12] * s, w13 = (float)wq[j + 13] * s, w14 = (float)wq[j + 14] * s;
        const float w15 = (float)wq[j + 15] * s;
        float *base = dx + j;
        for (l = 0; l < n; ++l) {
            const float t = d[l];
            float *dp = base + off[l];
            dwpw_axpy8(dp, t, w0, w1, w2, w3, w4, w5, w6, w7);
            dwpw_axpy8(dp + 8, t, w8, w9, w10, w11, w12, w13, w14, w15);
        }
    }
    for (; j + 8 <= kn; j += 8) {
        const float w0 = (float)wq[j] * s, w1 = (float)wq[j + 1] * s, w2 = (float)wq[j + 2] * s;
        const float w3 = (float)wq[j + 3] * s, w4 = (float)wq[j + 4] * s, w5 = (float)wq[j + 5] * s;
        const float w6 = (float)wq[j + 6] * s, w7 = (float)wq[j + 7] * s;
        float *base = dx + j;
        for (l = 0; l < n; ++l) {
            const float t = d[l];
            float *dp = base + off[l];
            dwpw_axpy8(dp, t, w0, w1, w2, w3, w4, w5, w6, w7);
        }
    }
    for (; j < kn; ++j) {
        const float w0 = (float)wq[j] * s;
        float *base = dx + j;
        for (l = 0; l < n; ++l) {
            base[off[l]] += d[l] * w0;
        }
    }
}

/* dwpw_update_row over the list of dwpw_dx_list, x dequantized through xtab (indexed by the
 * byte: xtab[(uint8_t)v] = (float)(v - x_zp) * x_scale, the same float); on the M4F/M7 the
 * passes of eight and sixteen channels read the list's first nf pixels from xf instead (x's
 * first pixels so dequantized once per call); the row's gradients go to grad (n_in floats)
 * and are applied at once. xsel (M4F/M7 only, with nf == n): xf holds x's selected channels in
 * their selection order, a pixel's first n_in floats, so that a selection reads them as
 * consecutive channels (four and one at a time too). */
static TTE_NOINLINE void dwpw_update_list(const tte_update_params_t *u, int32_t oi, int8_t *wrow,
                                          int32_t packed, const int8_t *x, const float *xtab, const float *xf,
                                          int32_t nf, int32_t xsel, const float *d, const int32_t *off, int32_t n,
                                          float *grad, int32_t step)
{
    const uint8_t *xu = (const uint8_t *)x;
    int32_t ci = 0, l;
#ifndef TTE_VFP_ASM
    (void)nf;
#endif
    if (n == 0) {
        /* a zero gradient row: every step is 0 (rounded, NaN or not), so the update only
         * clamps -128 to -127 (apply_s8) */
        qas_clamp_row_s8(wrow, u->n_in, packed ? NULL : u->in_idx);
        return;
    }
#ifdef TTE_VFP_ASM
    /* with every listed pixel's x as floats, consecutive channels and n_in % 16 == 8 from 24 on:
     * the last 24 in one pass (below) where 16 and 8 took two */
    const int32_t last24 =
        nf == n && (u->in_idx == NULL || xsel) && u->n_in >= 24 && (u->n_in & 15) == 8 ? u->n_in - 24 : -1;
#else
    const int32_t last24 = -1;
#endif
    for (; ci + 16 <= u->n_in && ci != last24; ci += 16) {
        /* sixteen consecutive channels (all, or a run of a selection) */
        const int32_t o0 = sel(u->in_idx, ci);
        const uint8_t *xb = xu + o0;
        float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, a4 = 0.0f, a5 = 0.0f, a6 = 0.0f, a7 = 0.0f;
        float a8 = 0.0f, a9 = 0.0f, a10 = 0.0f, a11 = 0.0f, a12 = 0.0f, a13 = 0.0f, a14 = 0.0f, a15 = 0.0f;
        int32_t run = u->in_idx == NULL || xsel ? 16 : 1;
        while (run < 16 && sel(u->in_idx, ci + run) == o0 + run) {
            ++run;
        }
        if (run < 16) {
            break;
        }
#ifdef TTE_VFP_ASM
        if (nf > 0) {
            /* a pixel's sixteen values eight at a time into s24-s31; four pixels a pass (their
             * values in s16-s19, their offsets by two LDRD), then at most one pass of two (s16,
             * s17) and the last one of an odd count alone */
            const float *dp = d, *pp, *pq;
            const int32_t *op = off, *oe = off + nf, *const oe2 = off + (nf & ~1), *const oe4 = off + (nf & ~3);
            int32_t r0, r1;
            __asm__ volatile("movs %[r0], #0\n\t"
                             TTE_ZERO16
                             TTE_UPDF_QUADS(TTE_UPDF_16PQ, "s16-s19", "s16", "s17", "s18", "s19")
                             "cmp %[op], %[oe2]\n\t"
                             "beq 3f\n\t"
                             "1:\n\t"
                             "ldr %[r0], [%[op]], #4\n\t"
                             "vldmia %[dp]!, {s16-s17}\n\t"
                             "add %[p], %[xb], %[r0], lsl #2\n\t"
                             TTE_UPDF_16("p", "s16")
                             "ldr %[r0], [%[op]], #4\n\t"
                             "add %[p], %[xb], %[r0], lsl #2\n\t"
                             TTE_UPDF_16("p", "s17")
                             TTE_UPDF_LAST
                             TTE_UPDF_16("p", "s16")
                             "4:\n\t"
                             "vstmia %[g], {s0-s15}\n\t"
                             TTE_UPDF_XF_OPERANDS);
            if (nf == n) {
                continue;
            }
        }
        if (n > 0) {
            /* the list from nf on (its sums so far in grad when nf > 0) */
            const float *dp = d + nf;
            const int32_t *op = off + nf, *oe = off + n;
            const uint8_t *pp;
            uint32_t r0, r1, r2, r3;
            /* two pixels a pass (their values in s16, s17), the last one of an odd count alone */
            const int32_t *const oe2 = op + ((n - nf) & ~1);
            __asm__ volatile("cmp %[nf], #0\n\t"
                             "bne 5f\n\t"
                             "movs %[r0], #0\n\t"
                             TTE_ZERO16
                             "b 6f\n\t"
                             "5:\n\t"
                             "vldmia %[g], {s0-s15}\n\t"
                             "6:\n\t"
                             "cmp %[op], %[oe2]\n\t"
                             "beq 3f\n\t"
                             "1:\n\t"
                             "ldr %[r0], [%[op]], #4\n\t"
                             "vldmia %[dp]!, {s16-s17}\n\t"
                             "add %[p], %[xb], %[r0]\n\t"
                             TTE_UPD_16("s16")
                             "ldr %[r0], [%[op]], #4\n\t"
                             "add %[p], %[xb], %[r0]\n\t"
                             TTE_UPD_16("s17")
                             "cmp %[op], %[oe2]\n\t"
                             "bne 1b\n\t"
                             "3:\n\t"
                             "cmp %[op], %[oe]\n\t"
                             "beq 4f\n\t"
                             "ldr %[r0], [%[op]]\n\t"
                             "vldr s16, [%[dp]]\n\t"
                             "add %[p], %[xb], %[r0]\n\t"
                             TTE_UPD_16("s16")
                             "4:\n\t"
                             "vstmia %[g], {s0-s15}\n\t"
                             : [p] "=&r"(pp), [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3),
                               [op] "+&r"(op), [dp] "+&r"(dp)
                             : [xb] "r"(xb), [oe] "r"(oe), [oe2] "r"(oe2), [tab] "r"(xtab), [g] "r"(grad + ci),
                               [nf] "r"(nf)
                             : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "cc", "memory");
            continue;
        }
#endif
        for (l = 0; l < n; ++l) {
            const float t = d[l];
            const uint8_t *xp = xb + off[l];
            a0 += t * xtab[xp[0]];
            a1 += t * xtab[xp[1]];
            a2 += t * xtab[xp[2]];
            a3 += t * xtab[xp[3]];
            a4 += t * xtab[xp[4]];
            a5 += t * xtab[xp[5]];
            a6 += t * xtab[xp[6]];
            a7 += t * xtab[xp[7]];
            a8 += t * xtab[xp[8]];
            a9 += t * xtab[xp[9]];
            a10 += t * xtab[xp[10]];
            a11 += t * xtab[xp[11]];
            a12 += t * xtab[xp[12]];
            a13 += t * xtab[xp[13]];
            a14 += t * xtab[xp[14]];
            a15 += t * xtab[xp[15]];
        }
        grad[ci] = a0;
        grad[ci + 1] = a1;
        grad[ci + 2] = a2;
        grad[ci + 3] = a3;
        grad[ci + 4] = a4;
        grad[ci + 5] = a5;
        grad[ci + 6] = a6;
        grad[ci + 7] = a7;
        grad[ci + 8] = a8;
        grad[ci + 9] = a9;
        grad[ci + 10] = a10;
        grad[ci + 11] = a11;
        grad[ci + 12] = a12;
        grad[ci + 13] = a13;
        grad[ci + 14] = a14;
        grad[ci + 15] = a15;
    }
#ifdef TTE_VFP_ASM
    if (ci == last24) {
        /* four pixels a pass (their values in s24-s27, their offsets by two LDRD), then the last
         * n % 4 one at a time; the sums in s0-s23 */
        const float *dp = d, *pp, *pq;
        const int32_t *op = off, *oe = off + n, *const oe4 = off + (n & ~3);
        int32_t r0, r1;
        __asm__ volatile("movs %[r0], #0\n\t"
                         TTE_ZERO24
                         TTE_UPDF_QUADS(TTE_UPDF_24PQ, "s24-s27", "s24", "s25", "s26", "s27")
                         "cmp %[op], %[oe]\n\t"
                         "beq 4f\n\t"
                         "7:\n\t"
                         "ldr %[r0], [%[op]], #4\n\t"
                         "vldmia %[dp]!, {s24}\n\t"
                         "add %[p], %[xb], %[r0], lsl #2\n\t"
                         TTE_UPDF_24("p", "s24")
                         "cmp %[op], %[oe]\n\t"
                         "bne 7b\n\t"
                         "4:\n\t"
                         "vstmia %[g], {s0-s23}\n\t"
                         : [p] "=&r"(pp), [q] "=&r"(pq), [r0] "=&r"(r0), [r1] "=&r"(r1), [op] "+&r"(op),
                           [dp] "+&r"(dp)
                         : [xb] "r"(xf + ci), [oe] "r"(oe), [oe4] "r"(oe4), [g] "r"(grad + ci)
                         : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13",
                           "d14", "d15", "cc", "memory");
        ci += 24;
    }
#endif
    for (; ci + 8 <= u->n_in; ci += 8) {
        /* eight consecutive channels (all, or a run of a selection) */
        const int32_t o0 = sel(u->in_idx, ci);
        const uint8_t *xb = xu + o0;
        float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, a4 = 0.0f, a5 = 0.0f, a6 = 0.0f, a7 = 0.0f;
        int32_t run = u->in_idx == NULL || xsel ? 8 : 1;
        while (run < 8 && sel(u->in_idx, ci + run) == o0 + run) {
            ++run;
        }
        if (run < 8) {
            break;
        }
#ifdef TTE_VFP_ASM
        if (nf > 0) {
            /* four pixels a pass (their values in s16-s19, their offsets by two LDRD; the second
             * of each pair's eight values in s8-s15), then at most one pass of two (s16, s17)
             * and the last one of an odd count alone */
            const float *dp = d, *pp, *pq;
            const int32_t *op = off, *oe = off + nf, *const oe2 = off + (nf & ~1), *const oe4 = off + (nf & ~3);
            int32_t r0, r1;
            __asm__ volatile("movs %[r0], #0\n\t"
                             TTE_ZERO8
                             TTE_UPDF_QUADS(TTE_UPDF_8PQ, "s16-s19", "s16", "s17", "s18", "s19")
                             TTE_UPDF_PAIRS
                             TTE_UPDF_8PQ("s16", "s17")
                             TTE_UPDF_LAST
                             TTE_LD8_D12("p", 0)
                             TTE_UPDF_8("s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7")
                             "4:\n\t"
                             "vstmia %[g], {s0-s7}\n\t"
                             TTE_UPDF_XF_OPERANDS);
            if (nf == n) {
                continue;
            }
        }
        if (n > 0) {
            const float *dp = d + nf;
            const int32_t *op = off + nf, *oe = off + n;
            const uint8_t *pp;
            uint32_t r0, r1, r2, r3;
            __asm__ volatile("cmp %[nf], #0\n\t"
                             "bne 5f\n\t"
                             "movs %[r0], #0\n\t"
                             TTE_ZERO8
                             "b 1f\n\t"
                             "5:\n\t"
                             "vldmia %[g], {s0-s7}\n\t"
                             "1:\n\t"
                             "ldr %[r0], [%[op]], #4\n\t"
                             "vldmia %[dp]!, {s16}\n\t"
                             "add %[p], %[xb], %[r0]\n\t"
                             TTE_UPD_8
                             "cmp %[op], %[oe]\n\t"
                             "bne 1b\n\t"
                             "vstmia %[g], {s0-s7}\n\t"
                             : [p] "=&r"(pp), [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3),
                               [op] "+r"(op), [dp] "+r"(dp)
                             : [xb] "r"(xb), [oe] "r"(oe), [tab] "r"(xtab), [g] "r"(grad + ci), [nf] "r"(nf)
                             : "d0", "d1", "d2", "d3", "d8", "d9", "d10", "cc", "memory");
            continue;
        }
#endif
        for (l = 0; l < n; ++l) {
            const float t = d[l];
            const uint8_t *xp = xb + off[l];
            a0 += t * xtab[xp[0]];
            a1 += t * xtab[xp[1]];
            a2 += t * xtab[xp[2]];
            a3 += t * xtab[xp[3]];
            a4 += t * xtab[xp[4]];
            a5 += t * xtab[xp[5]];
            a6 += t * xtab[xp[6]];
            a7 += t * xtab[xp[7]];
        }
        grad[ci] = a0;
        grad[ci + 1] = a1;
        grad[ci + 2] = a2;
        grad[ci + 3] = a3;
        grad[ci + 4] = a4;
        grad[ci + 5] = a5;
        grad[ci + 6] = a6;
        grad[ci + 7] = a7;
    }
    for (; ci + 4 <= u->n_in; ci += 4) {
        const int32_t o0 = sel(u->in_idx, ci), o1 = sel(u->in_idx, ci + 1);
        const int32_t o2 = sel(u->in_idx, ci + 2), o3 = sel(u->in_idx, ci + 3);
        float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
#ifdef TTE_VFP_ASM
        if (xsel) {
            /* four selected channels, consecutive in xf: a pixel's by two 64-bit loads; two
             * pixels a pass (their values in s16, s17, their offsets by one LDRD), the last one
             * of an odd count alone */
            const float *dp = d, *pp, *pq;
            const int32_t *op = off, *oe = off + n, *const oe2 = off + (n & ~1);
            int32_t r0, r1;
            __asm__ volatile("movs %[r0], #0\n\t"
                             TTE_ZERO4
                             TTE_UPDF_PAIRS
                             "vldr d9, [%[p]]\n\t" "vldr d10, [%[p], #8]\n\t"
                             "vldr d11, [%[q]]\n\t" "vldr d12, [%[q], #8]\n\t"
                             "vmla.f32 s0, s16, s18\n\t" "vmla.f32 s1, s16, s19\n\t"
                             "vmla.f32 s2, s16, s20\n\t" "vmla.f32 s3, s16, s21\n\t"
                             "vmla.f32 s0, s17, s22\n\t" "vmla.f32 s1, s17, s23\n\t"
                             "vmla.f32 s2, s17, s24\n\t" "vmla.f32 s3, s17, s25\n\t"
                             TTE_UPDF_LAST
                             "vldr d9, [%[p]]\n\t" "vldr d10, [%[p], #8]\n\t"
                             "vmla.f32 s0, s16, s18\n\t" "vmla.f32 s1, s16, s19\n\t"
                             "vmla.f32 s2, s16, s20\n\t" "vmla.f32 s3, s16, s21\n\t"
                             "4:\n\t"
                             "vstmia %[g], {s0-s3}\n\t"
                             : [p] "=&r"(pp), [q] "=&r"(pq), [r0] "=&r"(r0), [r1] "=&r"(r1), [op] "+&r"(op),
                               [dp] "+&r"(dp)
                             : [xb] "r"(xf + ci), [oe] "r"(oe), [oe2] "r"(oe2), [g] "r"(grad + ci)
                             : "d0", "d1", "d8", "d9", "d10", "d11", "d12", "cc", "memory");
            continue;
        }
        if (n > 0) {
            /* four channels anywhere: a byte pointer each, the pixel's offset as the index */
            const float *dp = d;
            const int32_t *op = off, *oe = off + n;
            int32_t r0, r1, o;
            __asm__ volatile("movs %[r0], #0\n\t"
                             TTE_ZERO4
                             "1:\n\t"
                             "ldr %[o], [%[op]], #4\n\t"
                             "vldmia %[dp]!, {s16}\n\t"
                             "ldrb %[r0], [%[x0], %[o]]\n\t"
                             "ldrb %[r1], [%[x1], %[o]]\n\t"
                             "ldr %[r0], [%[tab], %[r0], lsl #2]\n\t"
                             "ldr %[r1], [%[tab], %[r1], lsl #2]\n\t"
                             "vmov s17, s18, %[r0], %[r1]\n\t"
                             "ldrb %[r0], [%[x2], %[o]]\n\t"
                             "ldrb %[r1], [%[x3], %[o]]\n\t"
                             "ldr %[r0], [%[tab], %[r0], lsl #2]\n\t"
                             "ldr %[r1], [%[tab], %[r1], lsl #2]\n\t"
                             "vmov s19, s20, %[r0], %[r1]\n\t"
                             "vmla.f32 s0, s16, s17\n\t" "vmla.f32 s1, s16, s18\n\t"
                             "vmla.f32 s2, s16, s19\n\t" "vmla.f32 s3, s16, s20\n\t"
                             "cmp %[op], %[oe]\n\t"
                             "bne 1b\n\t"
                             "vstmia %[g], {s0-s3}\n\t"
                             : [r0] "=&r"(r0), [r1] "=&r"(r1), [o] "=&r"(o), [op] "+r"(op), [dp] "+r"(dp)
                             : [x0] "r"(xu + o0), [x1] "r"(xu + o1), [x2] "r"(xu + o2), [x3] "r"(xu + o3),
                               [oe] "r"(oe), [tab] "r"(xtab), [g] "r"(grad + ci)
                             : "d0", "d1", "d8", "d9", "d10", "cc", "memory");
            continue;
        }
#endif
        for (l = 0; l < n; ++l) {
            const float t = d[l];
            const uint8_t *xp = xu + off[l];
            a0 += t * xtab[xp[o0]];
            a1 += t * xtab[xp[o1]];
            a2 += t * xtab[xp[o2]];
            a3 += t * xtab[xp[o3]];
        }
        grad[ci] = a0;
        grad[ci + 1] = a1;
        grad[ci + 2] = a2;
        grad[ci + 3] = a3;
    }
    for (; xsel && ci + 2 <= u->n_in; ci += 2) {
        /* two selected channels, consecutive in xf: each listed value and offset read once for
         * both */
        const float *xs = xf + ci;
        float a0 = 0.0f, a1 = 0.0f;
        for (l = 0; l < n; ++l) {
            const float t = d[l];
            const float *xp = xs + off[l];
            a0 += t * xp[0];
            a1 += t * xp[1];
        }
        grad[ci] = a0;
        grad[ci + 1] = a1;
    }
    for (; ci < u->n_in; ++ci) {
        const uint8_t *xp = xu + sel(u->in_idx, ci);
        float a0 = 0.0f;
        if (xsel) {
            const float *xs = xf + ci;
            for (l = 0; l < n; ++l) {
                a0 += d[l] * xs[off[l]];
            }
        } else {
            for (l = 0; l < n; ++l) {
                a0 += d[l] * xtab[xp[off[l]]];
            }
        }
        grad[ci] = a0;
    }
    qas_apply_row_s8(u, qas_factor_s8(u, oi), grad, u->n_in, wrow, packed ? NULL : u->in_idx,
                     (uint32_t)oi * (uint32_t)u->n_in, step);
}

/* the sum of v[0..n) in order from +0.0f; under TTE_VFP_ASM eight a pass (one VLDM), then the
 * last n % 8 as a block of 4, 2 and 1 by n's bits 2-0, in order (the sum in s8: the loads take
 * s0-s7, and no register the caller must keep is touched) */
static float sum_f32(const float *v, size_t n)
{
#ifdef TTE_VFP_ASM
    register float acc __asm__("s8");
    const float *const ve = v + (n & ~(size_t)7);
    uint32_t r;
#define TTE_SUM_ADD(S) "vadd.f32 %[a], %[a], " S "\n\t"
    __asm__ volatile("vmov %[a], %[z]\n\t"
                     "cmp %[v], %[ve]\n\t"
                     "beq 2f\n\t"
                     "1:\n\t"
                     "vldmia %[v]!, {s0-s7}\n\t"
                     TTE_SUM_ADD("s0") TTE_SUM_ADD("s1") TTE_SUM_ADD("s2") TTE_SUM_ADD("s3")
                     TTE_SUM_ADD("s4") TTE_SUM_ADD("s5") TTE_SUM_ADD("s6") TTE_SUM_ADD("s7")
                     "cmp %[v], %[ve]\n\t"
                     "bne 1b\n\t"
                     "2:\n\t"
                     /* C = bit 2, N = bit 1 */
                     "lsls %[r], %[n], #30\n\t"
                     "bcc 3f\n\t"
                     "vldmia %[v]!, {s0-s3}\n\t"
                     TTE_SUM_ADD("s0") TTE_SUM_ADD("s1") TTE_SUM_ADD("s2") TTE_SUM_ADD("s3")
                     "3:\n\t"
                     "bpl 4f\n\t"
                     "vldmia %[v]!, {s0-s1}\n\t"
                     TTE_SUM_ADD("s0") TTE_SUM_ADD("s1")
                     "4:\n\t"
                     "tst %[n], #1\n\t"
                     "beq 5f\n\t"
                     "vldr s0, [%[v]]\n\t"
                     TTE_SUM_ADD("s0")
                     "5:\n\t"
                     : [a] "=&t"(acc), [v] "+&r"(v), [r] "=&r"(r)
                     : [ve] "r"(ve), [n] "r"((uint32_t)n), [z] "r"(0)
                     : "d0", "d1", "d2", "d3", "cc", "memory");
#undef TTE_SUM_ADD
    return acc;
#else
    float acc = 0.0f;
    size_t i;
    for (i = 0; i < n; ++i) {
        acc += v[i];
    }
    return acc;
#endif
}

#ifdef TTE_VFP_ASM
/* what dwpw_list_rows carries from one image to the next: the mask byte of the next pixel, its
 * offset into x and dx */
typedef struct {
    const uint8_t *mp;
    int32_t io;
} dwpw_list_state_t;

/* dwpw_run's list of one image (channel c's mask bits a byte each, mstep bytes apart): rows
 * of in_w (at least 2) plane floats from px, pw apart; the values kept (mask bit set, nonzero)
 * appended to dst with their offsets to op, in pixel order; returns how many. A
 * function of its own, so that its rows' loop keeps its pointers in registers (in dwpw_run they
 * were spilled and reloaded per row; with in_w even, one loop over every row). Two pixels a pass
 * (four where in_w is a multiple of 4) without a branch: a value is kept when its mask bit is
 * set and its bits but the sign are not all 0, under one IT: the mask test sets NE, the LSLS
 * within the block sets it again for the two stores (each instruction of an IT block tests the
 * flags as they are then); the last pixel of an odd row in C.
 * dst may be px's plane: it is written at or before where px reads. */
static TTE_NOINLINE int32_t dwpw_list_rows(const float *px, int32_t rows, int32_t in_w, int32_t pw, size_t mstep,
                                           uint32_t bit, int32_t cin, float *dst, int32_t *op,
                                           dwpw_list_state_t *st)
{
    float *const d0 = dst;
    const uint8_t *mp = st->mp;
    int32_t io = st->io, t0, v0, v1, y;
    const int32_t w2 = in_w & ~1;
#define TTE_LIST_ONE(AT, V) \
    "ldrb %[t0], " AT "\n\t" \
    "tst %[t0], %[bit]\n\t" \
    "ittt ne\n\t" \
    "lslsne.w %[t0], %[" V "], #1\n\t" \
    "strne %[" V "], [%[dst]], #4\n\t" \
    "strne %[io], [%[op]], #4\n\t" \
    "add %[io], %[io], %[cin]\n\t"
#define TTE_LIST_TWO \
    "ldrd %[v0], %[v1], [%[px]], #8\n\t" \
    TTE_LIST_ONE("[%[mp]]", "v0") \
    TTE_LIST_ONE("[%[mp], %[ms]]", "v1") \
    "add %[mp], %[mp], %[ms], lsl #1\n\t"
#define TTE_LIST_PAIRS \
    "1:\n\t" \
    TTE_LIST_TWO \
    "cmp %[px], %[se2]\n\t" \
    "bne 1b\n\t"
#define TTE_LIST_QUADS \
    "1:\n\t" \
    TTE_LIST_TWO \
    TTE_LIST_TWO \
    "cmp %[px], %[se2]\n\t" \
    "bne 1b\n\t"
/* the one loop over every row (geo below), LOOP the loop over a row's pixels */
#define TTE_LIST_ROWS(LOOP) \
    __asm__ volatile("2:\n\t" \
                     "ldr %[t0], [%[geo]]\n\t" \
                     "add %[se2], %[px], %[t0]\n\t" \
                     LOOP \
                     "ldr %[t0], [%[geo], #4]\n\t" \
                     "add %[px], %[px], %[t0]\n\t" \
                     "ldr %[t0], [%[geo], #8]\n\t" \
                     "cmp %[px], %[t0]\n\t" \
                     "bne 2b\n\t" \
                     : [t0] "=&r"(t0), [v0] "=&r"(v0), [v1] "=&r"(v1), [se2] "=&r"(se2), [mp] "+&r"(mp), \
                       [px] "+&r"(px), [dst] "+&r"(dst), [op] "+&r"(op), [io] "+&r"(io) \
                     : [ms] "r"(mstep), [bit] "r"(bit), [cin] "r"(cin), [geo] "r"(geo) \
                     : "cc", "memory")
    if (in_w == w2 && rows > 0) {
        /* every row in the one loop: the row's end from geo[0], the next row's start by geo[1],
         * the last one's end at geo[2] */
        const uint32_t geo[3] = {4u * (uint32_t)w2, 4u * (uint32_t)(pw - w2),
                                 (uint32_t)(uintptr_t)(px + (size_t)rows * pw)};
        const float *se2;
        if ((in_w & 3) == 0) {
            TTE_LIST_ROWS(TTE_LIST_QUADS);
        } else {
            TTE_LIST_ROWS(TTE_LIST_PAIRS);
        }
        rows = 0;
    }
    for (y = 0; y < rows; ++y, px += pw - w2) {
        const float *const se2 = px + w2;
        __asm__ volatile(TTE_LIST_PAIRS
                         : [t0] "=&r"(t0), [v0] "=&r"(v0), [v1] "=&r"(v1), [mp] "+&r"(mp), [px] "+&r"(px),
                           [dst] "+&r"(dst), [op] "+&r"(op), [io] "+&r"(io)
                         : [ms] "r"(mstep), [bit] "r"(bit), [cin] "r"(cin), [se2] "r"(se2)
                         : "cc", "memory");
        if (in_w != w2) {
            const float t = *px;
            if (t != 0.0f && (*mp & bit) != 0u) {
                *dst++ = t;
                *op++ = io;
            }
            mp += mstep;
            io += cin;
        }
    }
#undef TTE_LIST_ROWS
#undef TTE_LIST_QUADS
#undef TTE_LIST_PAIRS
#undef TTE_LIST_TWO
#undef TTE_LIST_ONE
    st->mp = mp;
    st->io = io;
    return (int32_t)(dst - d0);
}
#endif

/* dst[at[j]] = src[j] for j < n: a split weight's row put together (its trained and frozen
 * parts), four a pass, each pass's indices and bytes loaded before its stores (which may alias
 * them as char stores); under TTE_VFP_ASM the four indices by two LDRD, the four bytes by one
 * LDR (any alignment on ARMv7-M, little-endian) */
static TTE_ALWAYS_INLINE void dwpw_place_bytes(int8_t *dst, const int32_t *at, const int8_t *src, int32_t n)
{
    int32_t j = 0;
#ifdef TTE_VFP_ASM
    if (n >= 4) {
        const int32_t *const ae = at + (n & ~3);
        int32_t a0, a1, a2, a3, v;
        __asm__ volatile("1:\n\t"
                         "ldrd %[a0], %[a1], [%[at]], #8\n\t"
                         "ldrd %[a2], %[a3], [%[at]], #8\n\t"
                         "ldr %[v], [%[src]], #4\n\t"
                         "strb %[v], [%[dst], %[a0]]\n\t"
                         "lsr %[v], %[v], #8\n\t"
                         "strb %[v], [%[dst], %[a1]]\n\t"
                         "lsr %[v], %[v], #8\n\t"
                         "strb %[v], [%[dst], %[a2]]\n\t"
                         "lsr %[v], %[v], #8\n\t"
                         "cmp %[at], %[ae]\n\t"
                         "strb %[v], [%[dst], %[a3]]\n\t"
                         "bne 1b\n\t"
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [v] "=&r"(v),
                           [at] "+&r"(at), [src] "+&r"(src)
                         : [dst] "r"(dst), [ae] "r"(ae)
                         : "cc", "memory");
        n &= 3;
    }
#endif
    for (; j + 4 <= n; j += 4) {
        const int32_t a0 = at[j], a1 = at[j + 1], a2 = at[j + 2], a3 = at[j + 3];
        const int8_t v0 = src[j], v1 = src[j + 1], v2 = src[j + 2], v3 = src[j + 3];
        dst[a0] = v0;
        dst[a1] = v1;
        dst[a2] = v2;
        dst[a3] = v3;
    }
    for (; j < n; ++j) {
        dst[at[j]] = src[j];
    }
}

static void dwpw_run(const tte_dwpw_backward_params_t *p, const tte_dwpw_head_t *q, const float *dz,
                     const int8_t *w_dw, const uint8_t *mask, int8_t *w, const tte_split_s8_t *ws,
                     const int8_t *x, int32_t *b, float *dx, int32_t step, float *tmp)
{
    const tte_conv2d_geom_t *g = &p->dw;
    const int32_t ch = g->in_c;
    const int32_t cin = p->in_c;
    const size_t pixels = (size_t)g->batch * g->in_h * g->in_w;
    const size_t out_pixels = (size_t)g->batch * g->out_h * g->out_w;
    /* with a head, D's input gradient is made on a padded plane (dwpw_plane) */
    int32_t ph = 0, pw = 0;
    dwpw_pad_t pad = {0, 0, 0, 0};
    size_t tsz = pixels;
    /* with a head, channel c of dz is computed into dzc (after tmp); else read from dz */
    float *dzc;
    /* with a head, also x's dequantization table, the converted weight rows (cap floats) and
     * the nonzero pixels' list (see tte_dwpw_backward_head_s8) */
    const float *xtab = NULL;
    float *xf = NULL;
    /* xf holds x's selected channels first (dwpw_update_list's xsel) */
    int32_t xsel = 0;
    /* with a head and q_cols: Q's columns for q_cols channels, after x's floats */
    int8_t *qbuf = NULL;
    /* with a head under a global pool: the shares of Q's output gradient (tte_dwpw_head_t.dyp) */
    float *pv = NULL;
    float stack_row[TTE_DWPW_ROW];
    /* with a head on the M4F/M7, stack_row (unused then) keeps the next channel's column of Q's
     * weights where dwpw_column_pairs says so */
    int8_t *const stash =
        q != NULL && q->q_cols == 0 && dwpw_column_pairs(q, ch) ? (int8_t *)(void *)stack_row : NULL;
#ifdef TTE_VFP_ASM
    /* with a head and without the stash, stack_row keeps the list of an odd channel's pixels,
     * made with the even channel's (dwpw_head_dz) where the mask bits are bytes */
    int32_t *const list2 = q != NULL && stash == NULL && (g->in_c & 7) == 0 &&
                                   (size_t)g->batch * g->out_h * g->out_w <= TTE_DWPW_ROW
                               ? (int32_t *)(void *)stack_row
                               : NULL;
#else
    int32_t *const list2 = NULL;
#endif
    size_t np2 = 0;
    const int32_t kk = g->k_h * g->k_w;
    const int32_t qk = q != NULL && q->out_c > kk ? q->out_c : kk;
    const int32_t cap = q == NULL ? TTE_DWPW_ROW : (cin > qk ? cin : qk);
    float *row;
    int32_t *off;
    const float lr_b = p->b_update != NULL ? (float)tte_update_lr(p->b_update) : 0.0f;
    const float lr_qb = q != NULL && q->b_update != NULL ? (float)tte_update_lr(q->b_update) : 0.0f;
    int32_t c, cur_qb = 0, cur_b = 0, cur_w = 0;
    size_t i;
    /* where D's input gradient starts in each image's plane (the interior of a padded one) */
    int32_t ptop = 0, pleft = 0;
    if (q != NULL && q->unpadded) {
        /* an in_h x in_w plane (dwpw_dw_grad: windows clipped), which also holds head_dz's list */
        ph = g->in_h;
        pw = g->in_w;
        if (out_pixels > tsz) {
            tsz = out_pixels;
        }
    } else if (q != NULL) {
        dwpw_plane(g, &ph, &pw);
        pad = dwpw_pad(g, pw);
        ptop = g->pad_top;
        pleft = g->pad_left;
        if ((size_t)g->batch * ph * pw > tsz) {
            tsz = (size_t)g->batch * ph * pw;
        }
    }
    dzc = tmp + tsz;
    row = stack_row;
    if (q != NULL && q->xtab != NULL) {
        /* the caller's table (a compile-time constant in flash): none in tmp */
        xtab = q->xtab;
        row = dzc + out_pixels;
    } else if (q != NULL) {
        float *own = dzc + out_pixels;
        for (i = 0; i < 256; ++i) {
            own[i] = (float)((int32_t)(int8_t)(uint8_t)i - p->x_zp) * p->x_scale;
        }
        xtab = own;
        row = own + 256;
    }
    off = q != NULL ? (int32_t *)(void *)(row + cap) : NULL;
    if (dx != NULL) {
        zero_f32(dx, pixels * (size_t)cin);
    }
    if (q != NULL && q->q_cols > 0) {
        qbuf = (int8_t *)(void *)((float *)(void *)(off + pixels) + (size_t)q->x_float_pixels * (size_t)cin);
    }
    if (q != NULL && q->gy == NULL) {
        /* gy is a global pool's gradient: its shares (tte_avgpool2d_grad_f32's 0.0f + dy / count)
         * once, after Q's columns */
        const size_t qcols = q->q_cols > 0 ? ((size_t)q->out_c * (size_t)q->q_cols + 3u) / 4u : 0u;
        pv = (float *)(void *)(off + pixels) + (size_t)q->x_float_pixels * (size_t)cin + qcols;
        for (i = 0; i < (size_t)q->out_c; ++i) {
            pv[i] = 0.0f + q->dyp[i] / q->count;
        }
    }
#ifdef TTE_VFP_ASM
    if (q != NULL && q->x_float_pixels > 0 && p->w_update != NULL && x != NULL) {
        /* x's first pixels dequantized once for every channel's weight update (after the list) */
        const uint8_t *xu = (const uint8_t *)x;
        const size_t nx = (size_t)q->x_float_pixels * (size_t)cin;
        const tte_update_params_t *u = p->w_update;
        xf = (float *)(void *)(off + pixels);
        if (u->in_idx != NULL && (size_t)q->x_float_pixels >= pixels) {
            /* all of x, each pixel's selected channels in order (the update reads no others) */
            int32_t ci;
            xsel = 1;
            for (i = 0; i < nx; i += (size_t)cin) {
                for (ci = 0; ci < u->n_in; ++ci) {
                    xf[i + (size_t)ci] = xtab[xu[i + (size_t)u->in_idx[ci]]];
                }
            }
        } else {
            /* four bytes a word (little-endian, as every M4F/M7 here) */
            for (i = 0; i + 4 <= nx; i += 4) {
                uint32_t v;
                memcpy(&v, xu + i, sizeof v);
                xf[i] = xtab[v & 0xFFu];
                xf[i + 1] = xtab[(v >> 8) & 0xFFu];
                xf[i + 2] = xtab[(v >> 16) & 0xFFu];
                xf[i + 3] = xtab[v >> 24];
            }
            for (; i < nx; ++i) {
                xf[i] = xtab[xu[i]];
            }
        }
    }
#endif
    for (c = 0; c < ch; ++c) {
        int32_t nz = 0;
        if (q != NULL) {
            /* Q's input gradient and D's activation mask (tte_mask_grad_f32), D's input gradient,
             * then D's bias update (tte_bias_update_s32: pixels in order; dzc is still whole) */
            /* tmp's plane (at least out_pixels long) holds the list until dwpw_dw_grad_pad */
            float dsum = 0.0f;
            int32_t summed;
            dwpw_head_dz(q, ch, c, out_pixels, dzc, row, (int32_t *)(void *)tmp, qbuf, stash, list2, &np2, pv);
            if (q->unpadded) {
                dwpw_dw_grad(g, dzc, 1, w_dw + (size_t)c * kk, p->dw_scale[c], tmp, row, cap);
                summed = 0;
            } else {
                summed = dwpw_dw_grad_pad(g, dzc, w_dw + (size_t)c * kk, p->dw_scale[c], tmp, row, ph, pw, &pad,
                                          &dsum);
            }
            if (q->b_update != NULL) {
                const int32_t oi = sel_pos(q->b_update->out_idx, q->b_update->n_out, c, &cur_qb);
                if (oi >= 0) {
                    const tte_update_params_t *u = q->b_update;
                    q->b[c] = apply_s32(q->b[c], qas_steps_bias(u, qas_factor_bias(u, lr_qb, oi),
                                                                summed ? dsum : sum_f32(dzc, out_pixels), oi,
                                                                (uint32_t)oi, step));
                }
            }
        } else {
            dwpw_dw_grad(g, dz + c, (size_t)ch, w_dw + (size_t)c * kk, p->dw_scale[c], tmp, row, cap);
        }
        if (off != NULL) {
            /* the activation mask (tte_mask_grad_f32): the nonzero values moved to the front of
             * tmp with their pixels' offsets into x and dx (the bias gradient, the masked sum in
             * order, is their sum: zero terms change no sum) */
            size_t e = (size_t)c;
            int32_t bi, y, xx;
            /* channel c's mask bits as above (one bit of every (ch / 8)-th byte) or by bit_at */
            const uint8_t *mp = mask + (c >> 3);
            const uint32_t bit = 1u << (c & 7);
            const size_t mstep = (size_t)ch >> 3;
            const int32_t bytes = (ch & 7) == 0;
            i = 0;
#ifdef TTE_VFP_ASM
            if (bytes && g->in_w >= 2) {
                /* each image's rows in one call (dwpw_list_rows), the state carried on */
                dwpw_list_state_t st;
                st.mp = mp;
                st.io = 0;
                for (bi = 0; bi < g->batch; ++bi) {
                    const float *src = tmp + ((size_t)bi * ph + (size_t)ptop) * pw + pleft;
                    nz += dwpw_list_rows(src, g->in_h, g->in_w, pw, mstep, bit, cin, tmp + nz, off + nz, &st);
                }
            } else
#endif
            for (bi = 0; bi < g->batch; ++bi) {
                for (y = 0; y < g->in_h; ++y) {
                    /* read at or after where tmp[nz] is written (pw >= in_w, ph >= in_h) */
                    const float *src = tmp + ((size_t)bi * ph + (size_t)(y + ptop)) * pw + pleft;
                    if (bytes) {
                        for (xx = 0; xx < g->in_w; ++xx, ++i, mp += mstep) {
                            const float t = src[xx];
                            if (t != 0.0f && (*mp & bit) != 0u) {
                                tmp[nz] = t;
                                off[nz++] = (int32_t)(i * (size_t)cin);
                            }
                        }
                        continue;
                    }
                    for (xx = 0; xx < g->in_w; ++xx, ++i, e += (size_t)ch) {
                        const float t = src[xx];
                        if (t != 0.0f && bit_at(mask, e)) {
                            tmp[nz] = t;
                            off[nz++] = (int32_t)(i * (size_t)cin);
                        }
                    }
                }
            }
        } else {
            /* the activation mask (tte_mask_grad_f32) */
            size_t e = (size_t)c;
            for (i = 0; i < pixels; ++i, e += (size_t)ch) {
                if (!bit_at(mask, e)) {
                    tmp[i] = 0.0f;
                }
            }
        }
        if (p->b_update != NULL) {
            const int32_t oi = sel_pos(p->b_update->out_idx, p->b_update->n_out, c, &cur_b);
            if (oi >= 0) {
                /* the bias gradient: the listed values' sum, or the masked channel's */
                const float bsum = sum_f32(tmp, off != NULL ? (size_t)nz : pixels);
                b[c] = apply_s32(b[c], qas_steps_bias(p->b_update, qas_factor_bias(p->b_update, lr_b, oi), bsum, oi,
                                                      (uint32_t)oi, step));
            }
        }
        if (dx != NULL) {
            /* P's input gradient: channel c's terms, before row c is updated; each dx element
             * still sums over c in order (splitting the columns changes no float sum) */
            const float s = p->w_scale[c];
            int32_t k0, n, j;
            if (off != NULL) {
                /* the whole row at once (cap >= cin); split weights gathered as bytes first */
                if (ws != NULL) {
                    const int8_t *up = ws->upd + (size_t)c * ws->n_sel;
                    const int8_t *fp = ws->frozen + (size_t)c * (ws->in_c - ws->n_sel);
                    const int32_t nf = ws->in_c - ws->n_sel, ns = ws->n_sel;
                    int8_t *gathered = (int8_t *)(void *)row;
                    dwpw_place_bytes(gathered, ws->sel, up, ns);
                    dwpw_place_bytes(gathered, ws->frz, fp, nf);
                    dwpw_dx_list(dx, tmp, off, nz, cin, gathered, s);
                } else {
                    dwpw_dx_list(dx, tmp, off, nz, cin, w + (size_t)c * cin, s);
                }
            } else {
                for (k0 = 0; k0 < cin; k0 += n) {
                    n = cin - k0 < cap ? cin - k0 : cap;
                    if (ws != NULL) {
                        const int8_t *up = ws->upd + (size_t)c * ws->n_sel;
                        const int8_t *fp = ws->frozen + (size_t)c * (ws->in_c - ws->n_sel);
                        for (j = 0; j < n; ++j) {
                            const int32_t at = ws->where[k0 + j];
                            row[j] = (float)(at >= 0 ? up[at] : fp[-1 - at]) * s;
                        }
                    } else {
                        const int8_t *wr = w + (size_t)c * cin + k0;
                        for (j = 0; j < n; ++j) {
                            row[j] = (float)wr[j] * s;
                        }
                    }
                    dwpw_dx_row(dx, tmp, pixels, cin, k0, n, row);
                }
            }
        }
        if (p->w_update != NULL) {
            const tte_update_params_t *u = p->w_update;
            const int32_t oi = sel_pos(u->out_idx, u->n_out, c, &cur_w);
            if (oi >= 0) {
                /* split weights: in_idx is ws->sel, column ci of the trained part */
                int8_t *wrow = ws != NULL ? ws->upd + (size_t)c * ws->n_sel : w + (size_t)c * cin;
                if (off != NULL) {
                    int32_t nf = xf != NULL && (size_t)q->x_float_pixels >= pixels ? nz : 0;
                    if (xf != NULL && nf == 0) {
                        /* the listed pixels below x_float_pixels (the list ascends) */
                        const int32_t lim = q->x_float_pixels * cin;
                        int32_t hi = nz;
                        while (nf < hi) {
                            const int32_t mid = nf + (hi - nf) / 2;
                            if (off[mid] < lim) {
                                nf = mid + 1;
                            } else {
                                hi = mid;
                            }
                        }
                    }
                    dwpw_update_list(u, oi, wrow, ws != NULL, x, xtab, xf, nf, xsel, tmp, off, nz, row, step);
                } else {
                    dwpw_update_row(u, oi, wrow, ws != NULL, x, p->x_scale, p->x_zp, cin, tmp, pixels, step);
                }
            }
        }
    }
}

void tte_dwpw_backward_s8(const tte_dwpw_backward_params_t *p, const float *dz, const int8_t *w_dw,
                          const uint8_t *mask, int8_t *w, const int8_t *x, int32_t *b, float *dx,
                          int32_t step, float *tmp)
{
    dwpw_run(p, NULL, dz, w_dw, mask, w, NULL, x, b, dx, step, tmp);
}

void tte_dwpw_backward_head_s8(const tte_dwpw_backward_params_t *p, const tte_dwpw_head_t *q,
                               const int8_t *w_dw, const uint8_t *mask, int8_t *w, const int8_t *x, int32_t *b,
                               float *dx, int32_t step, float *tmp)
{
    dwpw_run(p, q, NULL, w_dw, mask, w, NULL, x, b, dx, step, tmp);
}

void tte_dwpw_backward_split_s8(const tte_dwpw_backward_params_t *p, const float *dz, const int8_t *w_dw,
                                const uint8_t *mask, const tte_split_s8_t *w, const int8_t *x, int32_t *b,
                                float *dx, int32_t step, float *tmp)
{
    dwpw_run(p, NULL, dz, w_dw, mask, NULL, w, x, b, dx, step, tmp);
}

void tte_dwpw_backward_head_split_s8(const tte_dwpw_backward_params_t *p, const tte_dwpw_head_t *q,
                                     const int8_t *w_dw, const uint8_t *mask, const tte_split_s8_t *w,
                                     const int8_t *x, int32_t *b, float *dx, int32_t step, float *tmp)
{
    dwpw_run(p, q, NULL, w_dw, mask, NULL, w, x, b, dx, step, tmp);
}
