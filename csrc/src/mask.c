/* Activation masks saved in the forward pass, applied in the backward pass. */
#include "tte/internal/optimized.h"
#include <string.h>

#include "tte/mask.h"

/* lo < y < hi as one unsigned compare: y in [lo1, hi1] (int8 bounds, empty when lo1 > hi1)
 * is (uint8)(y - lo1) <= hi1 - lo1. Eight elements per mask byte, no per-bit branches;
 * under the DSP extension four bytes per word: USUB8 subtracts lo1 bytewise (mod 256),
 * a second USUB8 sets the GE flags where the difference is at most hi1 - lo1, SEL turns
 * them into 0xFF bytes, and one multiply gathers the eight flag bits of two words. */
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
        const uint32_t ones = 0xFFFFFFFFu;
        /* in registers (gcc would rebuild the masks with four BICs each) */
        uint32_t b0 = 0x08040201u, b1 = 0x80402010u, sum = 0x01010101u;
        __asm__("" : "+r"(b0), "+r"(b1), "+r"(sum));
        for (; i + 7 < n; i += 8) {
            uint32_t v0, v1, d, t;
            memcpy(&v0, y + i, 4);
            memcpy(&v1, y + i + 4, 4);
            __asm__("usub8 %0, %2, %3\n\t"
                    "usub8 %1, %4, %0\n\t"
                    "sel %0, %5, %6"
                    : "=&r"(d), "=&r"(t)
                    : "r"(v0), "r"(l4), "r"(k4), "r"(ones), "r"(0u)
                    : "cc");
            v0 = d & b0;
            __asm__("usub8 %0, %2, %3\n\t"
                    "usub8 %1, %4, %0\n\t"
                    "sel %0, %5, %6"
                    : "=&r"(d), "=&r"(t)
                    : "r"(v1), "r"(l4), "r"(k4), "r"(ones), "r"(0u)
                    : "cc");
            v0 |= d & b1;
            mask[i >> 3] = (uint8_t)((v0 * sum) >> 24);
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
