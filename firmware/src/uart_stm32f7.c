/* STM32F7 USART1 (STM32F746G-DISCO: the ST-LINK virtual COM port on PA9 TX / PB7 RX, AF7).
 * Register-level, no HAL. USART1 is clocked from APB2; pass that clock to tte_uart_init. */
#include "tte_fw.h"

#define RCC_BASE 0x40023800u
#define RCC_AHB1ENR (*(volatile uint32_t *)(RCC_BASE + 0x30u))
#define RCC_APB2ENR (*(volatile uint32_t *)(RCC_BASE + 0x44u))
#define RCC_AHB1ENR_GPIOAEN (1u << 0)
#define RCC_AHB1ENR_GPIOBEN (1u << 1)
#define RCC_APB2ENR_USART1EN (1u << 4)

typedef struct {
    volatile uint32_t MODER, OTYPER, OSPEEDR, PUPDR, IDR, ODR, BSRR, LCKR, AFR[2];
} gpio_t;
#define GPIOA ((gpio_t *)0x40020000u)
#define GPIOB ((gpio_t *)0x40020400u)

typedef struct {
    volatile uint32_t CR1;  /* 0x00 */
    volatile uint32_t CR2;  /* 0x04 */
    volatile uint32_t CR3;  /* 0x08 */
    volatile uint32_t BRR;  /* 0x0C */
    volatile uint32_t GTPR; /* 0x10 */
    volatile uint32_t RTOR; /* 0x14 */
    volatile uint32_t RQR;  /* 0x18 */
    volatile uint32_t ISR;  /* 0x1C */
    volatile uint32_t ICR;  /* 0x20 */
    volatile uint32_t RDR;  /* 0x24 */
    volatile uint32_t TDR;  /* 0x28 */
} usart_t;
#define USART1 ((usart_t *)0x40011000u)
#define CR1_UE (1u << 0)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define ISR_ORE (1u << 3)
#define ISR_RXNE (1u << 5)
#define ISR_TXE (1u << 7)
#define ICR_ORECF (1u << 3)

static void pin_af(gpio_t *g, uint32_t pin, uint32_t af)
{
    g->MODER = (g->MODER & ~(3u << (2u * pin))) | (2u << (2u * pin)); /* alternate function */
    g->OSPEEDR |= 3u << (2u * pin);
    g->AFR[pin >> 3] = (g->AFR[pin >> 3] & ~(0xFu << (4u * (pin & 7u)))) | (af << (4u * (pin & 7u)));
}

void tte_uart_init(uint32_t clock_hz, uint32_t baud)
{
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN | RCC_AHB1ENR_GPIOBEN;
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    (void)RCC_APB2ENR; /* read back: the clock is on before the first register access */
    pin_af(GPIOA, 9u, 7u);
    pin_af(GPIOB, 7u, 7u);
    USART1->CR1 = 0u;
    USART1->BRR = (clock_hz + baud / 2u) / baud; /* oversampling by 16 */
    USART1->CR1 = CR1_TE | CR1_RE | CR1_UE;
}

void tte_uart_putc(uint8_t c)
{
    while (!(USART1->ISR & ISR_TXE)) {
    }
    USART1->TDR = c;
}

uint8_t tte_uart_getc(void)
{
    for (;;) {
        uint32_t isr = USART1->ISR;
        if (isr & ISR_RXNE) {
            return (uint8_t)USART1->RDR;
        }
        if (isr & ISR_ORE) {
            USART1->ICR = ICR_ORECF;
        }
    }
}
