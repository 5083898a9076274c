#include "tte_testmodel.h"

/* .data: non-zero initial weights (checks the startup's copy from flash). */
static int8_t weights[TTE_TRAINABLE_BYTES] = {
    -40, -37, -34, -31, -28, -25, -22, -19, -16, -13, -10, -7, -4, -1, 2, 5,
    8, 11, 14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47, 50, 53,
};
/* .bss: must read as zero after reset (checks the startup's clearing). */
static int8_t arena[TTE_ARENA_BYTES];
static int bss_was_zero;
/* .bss: the input, written by the caller through tte_input_buffer(). */
static int8_t input[TTE_INPUT_BYTES];

int8_t *tte_input_buffer(void)
{
    return input;
}

void tte_init(void)
{
    bss_was_zero = 1;
    for (uint32_t i = 0; i < TTE_ARENA_BYTES; i++) {
        if (arena[i] != 0) {
            bss_was_zero = 0;
        }
    }
}

/* Uses `depth` frames of TTE_TESTMODEL_FRAME_BYTES each (a known stack peak). */
__attribute__((noinline)) static int32_t descend(int32_t depth, int32_t seed)
{
    volatile uint8_t frame[TTE_TESTMODEL_FRAME_BYTES];
    frame[0] = (uint8_t)seed;
    frame[TTE_TESTMODEL_FRAME_BYTES - 1] = (uint8_t)(seed >> 8);
    if (depth <= 1) {
        return frame[0];
    }
    return descend(depth - 1, seed + 1) + frame[TTE_TESTMODEL_FRAME_BYTES - 1];
}

float tte_train_step(const int8_t *in, int32_t label)
{
    if (in == 0) {
        in = input;
    }
    if (!bss_was_zero) {
        return -1.0f;
    }
    if (label < 0) {
        /* A loop of exactly 2 instructions per iteration (subs, bne): checks the counter. */
        uint32_t n = (uint32_t)(-label);
        __asm volatile(".syntax unified\n1:\n\tsubs %0, %0, #1\n\tbne 1b" : "+l"(n) : : "cc");
        return 0.0f;
    }
    int32_t sum = 0;
    for (uint32_t i = 0; i < TTE_TRAINABLE_BYTES; i++) {
        int32_t d = (int32_t)(in[i] ^ in[i + 32]) >> 4;
        weights[i] = (int8_t)(uint8_t)(weights[i] + d + (label & 3));
        sum += weights[i];
        arena[i] = weights[i];
    }
    if (label > 0) {
        (void)descend(label, sum);
    }
    return (float)sum / 100.0f;
}

void tte_infer(const int8_t *in, int8_t *out)
{
    if (in == 0) {
        in = input;
    }
    for (uint32_t k = 0; k < TTE_OUTPUT_BYTES; k++) {
        int32_t acc = 0;
        for (uint32_t i = 0; i < TTE_INPUT_BYTES; i++) {
            acc += (int32_t)weights[(i + k) % TTE_TRAINABLE_BYTES] * in[i];
        }
        acc >>= 8;
        out[k] = (int8_t)(acc > 127 ? 127 : acc < -128 ? -128 : acc);
    }
}

uint32_t tte_trainable_crc32(void)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < TTE_TRAINABLE_BYTES; i++) {
        crc ^= (uint8_t)weights[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

void tte_get_weights(uint8_t *dst)
{
    for (uint32_t i = 0; i < TTE_TRAINABLE_BYTES; i++) {
        dst[i] = (uint8_t)weights[i];
    }
}

void tte_set_weights(const uint8_t *src)
{
    for (uint32_t i = 0; i < TTE_TRAINABLE_BYTES; i++) {
        weights[i] = (int8_t)src[i];
    }
}

void tte_get_weights_range(uint8_t *dst, uint32_t off, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        dst[i] = (uint8_t)weights[off + i];
    }
}

void tte_set_weights_range(const uint8_t *src, uint32_t off, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        weights[off + i] = (int8_t)src[i];
    }
}
