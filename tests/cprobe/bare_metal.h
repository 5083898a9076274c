/* Bare-metal start-up shared by the QEMU test programs (mps2-an500: Cortex-M7; microbit: a
 * Cortex-M0): vector table, .data/.bss set-up, FPU on when there is one, semihosting. The
 * including file defines reset_handler. */
#ifndef TTE_TEST_BARE_METAL_H
#define TTE_TEST_BARE_METAL_H
#include <stdint.h>

void reset_handler(void);
extern uint32_t _estack, _sbss, _ebss, _sdata, _edata, _sidata;

static void semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
}

/* SYS_EXIT with ADP_Stopped_ApplicationExit (0) or ADP_Stopped_RunTimeErrorUnknown. */
static void semihost_exit(int ok)
{
    semihost(0x18, (const void *)(uintptr_t)(ok ? 0x20026u : 0x20023u));
    for (;;) {
    }
}

static void fault(void)
{
    semihost_exit(0);
}

__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    &_estack, (const void *)reset_handler, (const void *)fault, (const void *)fault,
    (const void *)fault, (const void *)fault, (const void *)fault,
};

static void bare_metal_start(void)
{
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    uint32_t *p, *s;
    for (p = &_sdata, s = &_sidata; p < &_edata;) *p++ = *s++;
    for (p = &_sbss; p < &_ebss;) *p++ = 0;
#if defined(__ARM_FP)
    *cpacr |= 0xFu << 20; /* CP10, CP11: the FPU */
    __asm__ volatile("dsb\n isb" ::: "memory");
#else
    (void)cpacr;
#endif
}
#endif
