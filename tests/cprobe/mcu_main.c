/* Bare-metal wrapper for QEMU (mps2-an500: Cortex-M7; microbit: a Cortex-M0) around the probe:
 * its result digest through semihosting. The stack grows down from the top of RAM towards .bss
 * (mcu.ld keeps STACK_GUARD + some room between them): it is painted first and, if the probe
 * reached the STACK_GUARD bytes just above .bss, the run fails with that said instead of a digest
 * taken from buffers the stack may have overwritten. */
#include "bare_metal.h"

/* more than any kernel's unwritten locals (dwpw_backward.c's 256-byte row), so that a frame
 * cannot step over the guard into .bss with the guard's paint intact */
#define STACK_GUARD 512u
#define STACK_PAINT 0x5EC7A9D1u

uint32_t tte_probe(void);

/* paint from the end of .bss up to below this function's frame */
static __attribute__((noinline)) void stack_paint(void)
{
    uintptr_t a, sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (a = (uintptr_t)&_ebss; a < sp - 64u; a += 4u) {
        *(volatile uint32_t *)a = STACK_PAINT;
    }
}

static int stack_guard_intact(void)
{
    uintptr_t a;
    for (a = (uintptr_t)&_ebss; a < (uintptr_t)&_ebss + STACK_GUARD; a += 4u) {
        if (*(const volatile uint32_t *)a != STACK_PAINT) {
            return 0;
        }
    }
    return 1;
}

void reset_handler(void)
{
    static char line[12];
    static const char hex[] = "0123456789abcdef";
    uint32_t d;
    int i;
    bare_metal_start();
    stack_paint();
    d = tte_probe();
    if (!stack_guard_intact()) {
        semihost(0x04, "stack overflow: the probe's stack reached the guard above .bss\n");
        semihost_exit(0);
    }
    for (i = 0; i < 8; ++i) line[i] = hex[(d >> (28 - 4 * i)) & 0xF];
    line[8] = '\n';
    line[9] = 0;
    semihost(0x04, line);
    semihost_exit(1);
}
