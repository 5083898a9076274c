/* Runs the generated kernel cases (tests/test_qemu_kernels.py) and prints one line per case:
 * its index and an FNV-1a digest of every buffer after the call. Hosted build: printf from
 * main. Bare-metal build (-DTTE_BARE_METAL, QEMU mps2-an500): vector table, FPU on, lines
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
void reset_handler(void);
extern uint32_t _estack, _sbss, _ebss, _sdata, _edata, _sidata;

static void semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
}

static void fault(void)
{
    semihost(0x18, (const void *)(uintptr_t)0x20023u); /* ADP_Stopped_RunTimeErrorUnknown */
    for (;;) {
    }
}

__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    &_estack, (const void *)reset_handler, (const void *)fault, (const void *)fault,
    (const void *)fault, (const void *)fault, (const void *)fault,
};

void reset_handler(void)
{
    static char line[19];
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    uint32_t *p, *s, i;
    for (p = &_sdata, s = &_sidata; p < &_edata;) *p++ = *s++;
    for (p = &_sbss; p < &_ebss;) *p++ = 0;
    *cpacr |= 0xFu << 20; /* CP10, CP11: the FPU */
    __asm__ volatile("dsb\n isb" ::: "memory");
    for (i = 0; i < tte_cases_count(); ++i) {
        hex_line(i, tte_case_digest(i), line);
        semihost(0x04, line); /* SYS_WRITE0 */
    }
    semihost(0x18, (const void *)(uintptr_t)0x20026u); /* ADP_Stopped_ApplicationExit */
    for (;;) {
    }
}
#endif
