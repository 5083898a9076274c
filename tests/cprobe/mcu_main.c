/* Bare-metal wrapper for QEMU (mps2-an500: Cortex-M7; microbit: Cortex-M0) around the probe:
 * its result digest through semihosting. */
#include "bare_metal.h"

uint32_t tte_probe(void);

void reset_handler(void)
{
    static char line[12];
    static const char hex[] = "0123456789abcdef";
    uint32_t d;
    int i;
    bare_metal_start();
    d = tte_probe();
    for (i = 0; i < 8; ++i) line[i] = hex[(d >> (28 - 4 * i)) & 0xF];
    line[8] = '\n';
    line[9] = 0;
    semihost(0x04, line);
    semihost_exit(1);
}
