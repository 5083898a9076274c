/* Cortex-M startup: vector table, FPU enable, .data/.bss init, stack painting, main, exit.
 * Symbols come from the linker script that tte/firmware.py generates from the board file. */
#include "tte_fw.h"

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];
extern uint32_t _stack_limit[], _estack[];

int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)

struct vector_table;
extern const struct vector_table tte_vectors;

static uint32_t current_sp(void)
{
    uint32_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

__attribute__((noreturn)) void Reset_Handler(void)
{
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
    /* Our own vector table: behind a bootloader (Nano 33 BLE: 0x10000) VTOR still names its table. */
    SCB_VTOR = (uint32_t)(uintptr_t)&tte_vectors;
#endif
#if defined(__ARM_FP)
    /* CP10 and CP11 full access: must precede the first floating-point instruction. */
    SCB_CPACR |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
    /* volatile pointers: keep these loops from becoming memcpy/memset calls */
    volatile uint32_t *dst = _sdata;
    const uint32_t *src = _sidata;
    while (dst < _edata) {
        *dst++ = *src++;
    }
    for (dst = _sbss; dst < _ebss; dst++) {
        *dst = 0u;
    }
    /* Paint the free stack from its limit up to just below this frame. */
    uint32_t stop = current_sp() - 64u;
    for (dst = _stack_limit; (uint32_t)(uintptr_t)dst < stop; dst++) {
        *dst = TTE_STACK_PAINT;
    }
    int rc = main();
    tte_io_exit((uint32_t)rc);
}

uint32_t tte_fw_stack_peak_bytes(void)
{
    const volatile uint32_t *p = _stack_limit;
    while (p < _estack && *p == TTE_STACK_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)_estack - (uintptr_t)p);
}

uint32_t tte_fw_stack_size_bytes(void)
{
    return (uint32_t)((uintptr_t)_estack - (uintptr_t)_stack_limit);
}

void HardFault_Handler(void)
{
    tte_io_puts("F hardfault\n");
    tte_io_flush();
    tte_io_exit(3u);
}

void Default_Handler(void)
{
    tte_io_puts("F unexpected-interrupt\n");
    tte_io_flush();
    tte_io_exit(4u);
}

void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef void (*vector_t)(void);

#define IRQ4 Default_Handler, Default_Handler, Default_Handler, Default_Handler
#define TTE_N_IRQ 32

/* Initial stack pointer, then the 15 system exceptions, then external interrupts. */
struct vector_table {
    uint32_t *initial_sp;
    vector_t handlers[15 + TTE_N_IRQ];
};

__attribute__((section(".isr_vector"), used)) const struct vector_table tte_vectors = {
    _estack,
    {
        Reset_Handler,
        NMI_Handler,
        HardFault_Handler,
        MemManage_Handler,
        BusFault_Handler,
        UsageFault_Handler,
        0, 0, 0, 0,
        SVC_Handler,
        DebugMon_Handler,
        0,
        PendSV_Handler,
        SysTick_Handler,
        IRQ4, IRQ4, IRQ4, IRQ4, IRQ4, IRQ4, IRQ4, IRQ4,
    },
};
