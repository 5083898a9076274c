/* nRF52840 UARTE0 (Arduino Nano 33 BLE Sense: TX P1.03, RX P1.10). Register-level, EasyDMA
 * one byte at a time (the DMA buffers must be in RAM, so they are static). */
#include "tte_fw.h"

#define UARTE0_BASE 0x40002000u
#define REG(off) (*(volatile uint32_t *)(UARTE0_BASE + (off)))
#define TASKS_STARTRX REG(0x000u)
#define TASKS_STOPRX REG(0x004u)
#define TASKS_STARTTX REG(0x008u)
#define TASKS_STOPTX REG(0x00Cu)
#define EVENTS_ENDRX REG(0x110u)
#define EVENTS_ENDTX REG(0x120u)
#define ENABLE REG(0x500u)
#define PSEL_RTS REG(0x508u)
#define PSEL_TXD REG(0x50Cu)
#define PSEL_CTS REG(0x510u)
#define PSEL_RXD REG(0x514u)
#define BAUDRATE REG(0x524u)
#define RXD_PTR REG(0x534u)
#define RXD_MAXCNT REG(0x538u)
#define TXD_PTR REG(0x544u)
#define TXD_MAXCNT REG(0x548u)
#define CONFIG REG(0x56Cu)

#define ENABLE_UARTE 8u
#define PSEL_DISCONNECTED 0xFFFFFFFFu
#define PIN(port, n) (((uint32_t)(port) << 5) | (uint32_t)(n))

static uint8_t tx_byte, rx_byte;

/* BAUDRATE register values from the nRF52840 product specification. */
static uint32_t baud_register(uint32_t baud)
{
    switch (baud) {
    case 9600u: return 0x00275000u;
    case 38400u: return 0x009D0000u;
    case 57600u: return 0x00EB0000u;
    case 230400u: return 0x03B00000u;
    case 460800u: return 0x07400000u;
    case 921600u: return 0x0F000000u;
    case 1000000u: return 0x10000000u;
    default: return 0x01D60000u; /* 115200 */
    }
}

void tte_uart_init(uint32_t clock_hz, uint32_t baud)
{
    (void)clock_hz; /* UARTE has its own baud generator */
    ENABLE = 0u;
    PSEL_TXD = PIN(1, 3);
    PSEL_RXD = PIN(1, 10);
    PSEL_RTS = PSEL_DISCONNECTED;
    PSEL_CTS = PSEL_DISCONNECTED;
    BAUDRATE = baud_register(baud);
    CONFIG = 0u; /* no parity, no flow control */
    ENABLE = ENABLE_UARTE;
}

void tte_uart_putc(uint8_t c)
{
    tx_byte = c;
    TXD_PTR = (uint32_t)(uintptr_t)&tx_byte;
    TXD_MAXCNT = 1u;
    EVENTS_ENDTX = 0u;
    TASKS_STARTTX = 1u;
    while (EVENTS_ENDTX == 0u) {
    }
    TASKS_STOPTX = 1u;
}

uint8_t tte_uart_getc(void)
{
    RXD_PTR = (uint32_t)(uintptr_t)&rx_byte;
    RXD_MAXCNT = 1u;
    EVENTS_ENDRX = 0u;
    TASKS_STARTRX = 1u;
    while (EVENTS_ENDRX == 0u) {
    }
    return rx_byte;
}
