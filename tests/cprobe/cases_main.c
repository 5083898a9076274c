/* Runs the generated kernel cases (tests/test_qemu_kernels.py) and prints one line per case:
 * its index and an FNV-1a digest of every buffer after the call. Hosted build: printf from
 * main. Bare-metal build (-DTTE_BARE_METAL, QEMU mps2-an500): bare_metal.h's start-up, lines
 * and exit status through semihosting. */
#include <stdint.h>

uint32_t tte_cases_count(void);
uint32_t tte_case_digest(uint32_t i);

static void hex_line(uint32_t i, uint32_t d, char *line)
{
    static const char hex[] = "0123456789abcdef";
    int k;
    for (k = 0; k < 8; ++k) {
        line[k] = hex[(i >> (28 - 4 * k)) & 0xF];
        line[9 + k] = hex[(d >> (28 - 4 * k)) & 0xF];
    }
    line[8] = ' ';
    line[17] = '\n';
    line[18] = 0;
}

#ifndef TTE_BARE_METAL
#include <stdio.h>

int main(void)
{
    char line[19];
    uint32_t i;
    for (i = 0; i < tte_cases_count(); ++i) {
        hex_line(i, tte_case_digest(i), line);
        fputs(line, stdout);
    }
    return 0;
}
#else
#include "bare_metal.h"

void reset_handler(void)
{
    static char line[19];
    uint32_t i;
    bare_metal_start();
    for (i = 0; i < tte_cases_count(); ++i) {
        hex_line(i, tte_case_digest(i), line);
        semihost(0x04, line); /* SYS_WRITE0 */
    }
    semihost_exit(1);
}
#endif
