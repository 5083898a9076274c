/* tests/test_checkpoint_c.py: csrc/src/checkpoint.c on its own, for any payload size.
 *   checkpoint_main <payload bytes>
 * prints the printed form, then "img <hex of tte_ckpt_write's image>", then the result of
 * tte_ckpt_check for the image and for damaged variants of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tte/checkpoint.h"

static uint8_t payload[4096];
static uint8_t image[4096 + 64];

static void read_payload(uint8_t *dst, uint32_t off, uint32_t n)
{
    memcpy(dst, payload + off, n);
}

static void write_text(const char *s, uint32_t n)
{
    fwrite(s, 1, n, stdout);
}

int main(int argc, char **argv)
{
    uint8_t id[TTE_CKPT_ID_BYTES], other[TTE_CKPT_ID_BYTES];
    tte_ckpt_source_t src;
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 0u, i, total, steps = 0;
    for (i = 0; i < n; i++) {
        payload[i] = (uint8_t)(i * 7u + 3u);
    }
    for (i = 0; i < TTE_CKPT_ID_BYTES; i++) {
        id[i] = (uint8_t)i;
        other[i] = (uint8_t)(i + 1u);
    }
    src.model_id = id;
    src.payload_bytes = n;
    src.steps = 5;
    src.read = read_payload;
    tte_ckpt_print(&src, write_text);
    total = tte_ckpt_write(&src, image, sizeof image);
    printf("img ");
    for (i = 0; i < total; i++) {
        printf("%02x", image[i]);
    }
    printf("\nsmall %u\n", (unsigned)tte_ckpt_write(&src, image, total - 1u));
    {
        const int32_t r = tte_ckpt_check(image, total, id, n, &steps); /* before steps is read */
        printf("ok %d %u\n", (int)r, (unsigned)steps);
    }
    printf("model %d\n", (int)tte_ckpt_check(image, total, other, n, NULL));
    printf("size %d %d\n", (int)tte_ckpt_check(image, total - 1u, id, n, NULL),
           (int)tte_ckpt_check(image, 20u, id, n, NULL));
    printf("payload %d\n", (int)tte_ckpt_check(image, total, id, n + 1u, NULL));
    image[total - 1u] ^= 0x80u;
    printf("crc %d\n", (int)tte_ckpt_check(image, total, id, n, NULL));
    image[total - 1u] ^= 0x80u;
    image[4] = 2;
    printf("version %d\n", (int)tte_ckpt_check(image, total, id, n, NULL));
    image[0] = 'X';
    printf("magic %d\n", (int)tte_ckpt_check(image, total, id, n, NULL));
    return 0;
}
