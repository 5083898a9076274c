/* Boards without a UART driver here (rp2040, stm32h743): output goes nowhere, input never
 * arrives. Their firmware uses the embedded data set and semihosting. */
#include "tte_fw.h"

void tte_uart_init(uint32_t clock_hz, uint32_t baud)
{
    (void)clock_hz;
    (void)baud;
}

void tte_uart_putc(uint8_t c)
{
    (void)c;
}

uint8_t tte_uart_getc(void)
{
    for (;;) {
    }
}
