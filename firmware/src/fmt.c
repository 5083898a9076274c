/* Number formatting without printf (no heap, no newlib stdio). */
#include "tte_fw.h"

static const char HEX[] = "0123456789abcdef";

char *tte_fmt_u32(char *p, uint32_t v)
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

char *tte_fmt_hex32(char *p, uint32_t v)
{
    for (int s = 28; s >= 0; s -= 4) {
        *p++ = HEX[(v >> s) & 0xFu];
    }
    return p;
}

char *tte_fmt_hex8(char *p, uint8_t v)
{
    *p++ = HEX[v >> 4];
    *p++ = HEX[v & 0xFu];
    return p;
}
