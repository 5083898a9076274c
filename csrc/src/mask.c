/* Activation masks saved in the forward pass, applied in the backward pass. */
#include "tte/internal/optimized.h"
#include <string.h>

#include "tte/mask.h"

/* lo < y < hi as one unsigned compare: y in [lo1, hi1] (int8 bounds, empty when lo1 > hi1)
 * is (uint8)(y - lo1) <= hi1 - lo1. Eight elements per mask byte, no per-bit branches;
 * under the DSP extension four bytes per word: USUB8 subtracts lo1 bytewise (mod 256), a
 * second USUB8 sets the GE flags where the difference is at most hi1 - lo1, SEL keeps the
 * bytes of the word's bit pattern (b: bit j of byte j, or bit 4 + j) there, and USAD8 gathers
 * the eight bits of two words into one byte; thirty-two elements a pass, then sixteen, eight. */
#if defined(__ARM_FEATURE_DSP)
static TTE_ALWAYS_INLINE uint32_t mask_bits4(const int8_t *y, uint32_t l4, uint32_t k4, uint32_t b)
{
    uint32_t v, d, t;
    memcpy(&v, y, sizeof v);
    __asm__("usub8 %0, %2, %3\n\t"
            "usub8 %1, %4, %0\n\t"
            "sel %0, %5, %6"
            : "=&r"(d), "=&r"(t)
            : "r"(v), "r"(l4), "r"(k4), "r"(b), "r"(0u)
            : "cc");
    return d;
}

/* The mask byte of the eight elements at y: the two words' bit patterns (b0: bits 0-3, b1: bits
 * 4-7) ORed, then USAD8 adds the four bytes, whose bits are disjoint: their OR in the low byte */
static TTE_ALWAYS_INLINE uint32_t mask_byte8(const int8_t *y, uint32_t l4, uint32_t k4, uint32_t b0, uint32_t b1)
{
    uint32_t s;
    __asm__("usad8 %0, %1, %2" : "=r"(s) : "r"(mask_bits4(y, l4, k4, b0) | mask_bits4(y + 4, l4, k4, b1)), "r"(0u));
    return s;
}
#endif

void tte_act_mask_s8(const int8_t *y, uint8_t *mask, int32_t n, int32_t lo, int32_t hi)
{
    const int32_t lo1 = lo + 1 < -128 ? -128 : lo + 1;
    const int32_t hi1 = hi - 1 > 127 ? 127 : hi - 1;
    int32_t i = 0;
    if (lo1 > hi1) {
        memset(mask, 0, (size_t)(n + 7) >> 3);
        return;
    }
    {
        const uint32_t k = (uint32_t)(hi1 - lo1);
#if defined(__ARM_FEATURE_DSP)
        const uint32_t l4 = (uint32_t)(uint8_t)lo1 * 0x01010101u;
        const uint32_t k4 = k * 0x01010101u;
        /* in registers (gcc would rebuild them in the loop) */
        uint32_t b0 = 0x08040201u, b1 = 0x80402010u;
        __asm__("" : "+r"(b0), "+r"(b1));
        if (n >= 32) {
            /* thirty-two elements a pass, their four mask bytes one word */
            const int8_t *yp = y;
            const int8_t *const ye = y + (n & ~31);
            uint8_t *mp = mask;
            do {
                const uint32_t m = mask_byte8(yp, l4, k4, b0, b1) | mask_byte8(yp + 8, l4, k4, b0, b1) << 8
                                   | mask_byte8(yp + 16, l4, k4, b0, b1) << 16
                                   | mask_byte8(yp + 24, l4, k4, b0, b1) << 24;
                memcpy(mp, &m, sizeof m);
                yp += 32;
                mp += 4;
            } while (yp != ye);
            i = n & ~31;
        }
        if (i + 15 < n) {
            const uint32_t m = mask_byte8(y + i, l4, k4, b0, b1) | mask_byte8(y + i + 8, l4, k4, b0, b1) << 8;
            mask[i >> 3] = (uint8_t)m;
            mask[(i >> 3) + 1] = (uint8_t)(m >> 8);
            i += 16;
        }
        if (i + 7 < n) {
            mask[i >> 3] = (uint8_t)mask_byte8(y + i, l4, k4, b0, b1);
            i += 8;
        }
#endif
        for (; i < n; i += 8) {
            const int32_t e = n - i < 8 ? n - i : 8;
            uint32_t byte = 0;
            int32_t j;
            for (j = 0; j < e; ++j) {
                byte |= (uint32_t)((uint32_t)(uint8_t)(y[i + j] - lo1) <= k) << j;
            }
            mask[i >> 3] = (uint8_t)byte;
        }
    }
}

void tte_mask_grad_f32(const float *dy, const uint8_t *mask, float *dx, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        dx[i] = ((mask[i >> 3] >> (i & 7)) & 1u) ? dy[i] : 0.0f;
    }
}
