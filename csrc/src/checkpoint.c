/* Weights checkpoints (tte/checkpoint.h gives the format). */
#include "tte/internal/optimized.h"
#include <string.h>

#include "tte/checkpoint.h"

static const uint8_t magic[4] = {'T', 'T', 'E', 'C'};

uint32_t tte_crc32_update(uint32_t crc, const uint8_t *p, uint32_t n)
{
    uint32_t i;
    int k;
    for (i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i];
        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return crc;
}

/* memcmp's job: the runtime needs nothing from libc beyond memcpy/memmove/memset */
static int same_bytes(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return 0;
        }
    }
    return 1;
}

static void put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    put_u16(p, v & 0xFFFFu);
    put_u16(p + 2, v >> 16);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void header(const tte_ckpt_source_t *s, uint8_t h[TTE_CKPT_HEADER_BYTES])
{
    memcpy(h, magic, 4);
    put_u16(h + 4, TTE_CKPT_VERSION);
    put_u16(h + 6, TTE_CKPT_HEADER_BYTES);
    memcpy(h + 8, s->model_id, TTE_CKPT_ID_BYTES);
    put_u32(h + 24, s->payload_bytes);
    put_u32(h + 28, s->steps);
}

uint32_t tte_ckpt_bytes(const tte_ckpt_source_t *s)
{
    return TTE_CKPT_HEADER_BYTES + s->payload_bytes + TTE_CKPT_TRAILER_BYTES;
}

uint32_t tte_ckpt_write(const tte_ckpt_source_t *s, uint8_t *dst, uint32_t cap)
{
    const uint32_t total = tte_ckpt_bytes(s);
    uint32_t crc;
    if (cap < total) {
        return 0;
    }
    header(s, dst);
    s->read(dst + TTE_CKPT_HEADER_BYTES, 0, s->payload_bytes);
    crc = tte_crc32_update(0xFFFFFFFFu, dst, TTE_CKPT_HEADER_BYTES + s->payload_bytes) ^ 0xFFFFFFFFu;
    put_u32(dst + TTE_CKPT_HEADER_BYTES + s->payload_bytes, crc);
    return total;
}

static char *hex32(char *p, uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    int i;
    for (i = 7; i >= 0; i--) {
        *p++ = digits[(v >> (4 * i)) & 0xFu];
    }
    return p;
}

static char *decimal(char *p, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0) {
        *p++ = tmp[--n];
    }
    return p;
}

/* One data line: "tte-ckpt <offset> <hex>\n". */
static void print_line(tte_ckpt_write_fn write, uint32_t off, const uint8_t *b, uint32_t n)
{
    static const char digits[] = "0123456789abcdef";
    char line[9 + 9 + 2 * TTE_CKPT_LINE_BYTES + 1];
    char *p = line;
    uint32_t i;
    memcpy(p, "tte-ckpt ", 9);
    p = hex32(p + 9, off);
    *p++ = ' ';
    for (i = 0; i < n; i++) {
        *p++ = digits[b[i] >> 4];
        *p++ = digits[b[i] & 0xFu];
    }
    *p++ = '\n';
    write(line, (uint32_t)(p - line));
}

void tte_ckpt_print(const tte_ckpt_source_t *s, tte_ckpt_write_fn write)
{
    /* the image is produced piece by piece: header, payload, CRC, with the CRC running along */
    uint8_t buf[TTE_CKPT_LINE_BYTES];
    uint8_t h[TTE_CKPT_HEADER_BYTES];
    char begin[32];
    char *p = begin;
    const uint32_t total = tte_ckpt_bytes(s);
    const uint32_t body = TTE_CKPT_HEADER_BYTES + s->payload_bytes;
    uint32_t crc = 0xFFFFFFFFu;
    uint32_t off;

    memcpy(p, "tte-ckpt begin 1 ", 17);
    p = decimal(p + 17, total);
    *p++ = '\n';
    write(begin, (uint32_t)(p - begin));
    header(s, h);
    for (off = 0; off < total; off += TTE_CKPT_LINE_BYTES) {
        const uint32_t n = total - off < TTE_CKPT_LINE_BYTES ? total - off : TTE_CKPT_LINE_BYTES;
        uint32_t i;
        for (i = 0; i < n;) {
            const uint32_t k = off + i;
            if (k < TTE_CKPT_HEADER_BYTES) {
                buf[i] = h[k];
                crc = tte_crc32_update(crc, &buf[i], 1u);
                i++;
            } else if (k < body) {
                const uint32_t m = n - i < body - k ? n - i : body - k;
                s->read(&buf[i], k - TTE_CKPT_HEADER_BYTES, m);
                crc = tte_crc32_update(crc, &buf[i], m);
                i += m;
            } else {
                buf[i++] = (uint8_t)((crc ^ 0xFFFFFFFFu) >> (8u * (k - body)));
            }
        }
        print_line(write, off, buf, n);
    }
    write("tte-ckpt end\n", 13u);
}

int32_t tte_ckpt_check(const uint8_t *src, uint32_t n, const uint8_t *model_id, uint32_t payload_bytes,
                       uint32_t *steps)
{
    uint32_t payload;
    if (n < TTE_CKPT_HEADER_BYTES + TTE_CKPT_TRAILER_BYTES) {
        return TTE_CKPT_E_SIZE;
    }
    if (!same_bytes(src, magic, 4u)) {
        return TTE_CKPT_E_MAGIC;
    }
    if (src[4] != TTE_CKPT_VERSION || src[5] != 0 || src[6] != TTE_CKPT_HEADER_BYTES || src[7] != 0) {
        return TTE_CKPT_E_VERSION;
    }
    payload = get_u32(src + 24);
    if (payload > n - TTE_CKPT_HEADER_BYTES - TTE_CKPT_TRAILER_BYTES
        || n != TTE_CKPT_HEADER_BYTES + payload + TTE_CKPT_TRAILER_BYTES) {
        return TTE_CKPT_E_SIZE;
    }
    if ((tte_crc32_update(0xFFFFFFFFu, src, TTE_CKPT_HEADER_BYTES + payload) ^ 0xFFFFFFFFu)
        != get_u32(src + TTE_CKPT_HEADER_BYTES + payload)) {
        return TTE_CKPT_E_CRC;
    }
    if (!same_bytes(src + 8, model_id, TTE_CKPT_ID_BYTES) || payload != payload_bytes) {
        return TTE_CKPT_E_MODEL;
    }
    if (steps != NULL) {
        *steps = get_u32(src + 28);
    }
    return TTE_CKPT_OK;
}
