/* ARM CMSDK APB UART (MPS2 boards): UART0 at 0x40004000 on mps2-an500; a board file's
 * uart_base overrides it (mps2-an505: 0x50200000, the secure alias the secure firmware uses). */
#include "tte_fw.h"

#ifdef TTE_UART_BASE
#define CMSDK_UART0_BASE TTE_UART_BASE
#else
#define CMSDK_UART0_BASE 0x40004000u
#endif

typedef struct {
    volatile uint32_t DATA;     /* 0x00 */
    volatile uint32_t STATE;    /* 0x04: bit0 TX full, bit1 RX full */
    volatile uint32_t CTRL;     /* 0x08: bit0 TX enable, bit1 RX enable */
    volatile uint32_t INTSTATUS;/* 0x0C */
    volatile uint32_t BAUDDIV;  /* 0x10: >= 16 */
} cmsdk_uart_t;

#define UART ((cmsdk_uart_t *)CMSDK_UART0_BASE)
#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u

void tte_uart_init(uint32_t clock_hz, uint32_t baud)
{
    uint32_t div = clock_hz / baud;
    UART->BAUDDIV = div < 16u ? 16u : div;
    UART->CTRL = 0x3u;
}

void tte_uart_putc(uint8_t c)
{
    while (UART->STATE & STATE_TX_FULL) {
    }
    UART->DATA = c;
}

uint8_t tte_uart_getc(void)
{
    while (!(UART->STATE & STATE_RX_FULL)) {
    }
    return (uint8_t)UART->DATA;
}
