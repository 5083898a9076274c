/* The data stream and the report, over one of three transports chosen at build time:
 *   input:  TTE_IN_SEMIHOST (a host file, QEMU), TTE_IN_UART, TTE_IN_EMBEDDED (flash array)
 *   output: TTE_OUT_SEMIHOST (a host file, QEMU), TTE_OUT_UART
 * The stream format is in firmware/src/main.c. */
#include "tte_fw.h"

#ifndef TTE_UART_CLOCK_HZ
#define TTE_UART_CLOCK_HZ 25000000u
#endif
#ifndef TTE_UART_BAUD
#define TTE_UART_BAUD 115200u
#endif
#ifndef TTE_IN_PATH
#define TTE_IN_PATH "tte_input.bin"
#endif
#ifndef TTE_OUT_PATH
#define TTE_OUT_PATH "tte_report.txt"
#endif

#if defined(TTE_IN_EMBEDDED)
extern const uint8_t tte_embedded_stream[];
extern const uint32_t tte_embedded_stream_bytes;
static uint32_t in_pos;
#elif defined(TTE_IN_SEMIHOST)
static int32_t in_fd = -1;
#elif !defined(TTE_IN_UART)
#error "define one of TTE_IN_SEMIHOST, TTE_IN_UART, TTE_IN_EMBEDDED"
#endif

#if defined(TTE_OUT_SEMIHOST)
static int32_t out_fd = -1;
static char out_buf[128];
static uint32_t out_len;
#elif !defined(TTE_OUT_UART)
#error "define one of TTE_OUT_SEMIHOST, TTE_OUT_UART"
#endif

void tte_io_init(void)
{
#if defined(TTE_IN_UART) || defined(TTE_OUT_UART)
    tte_uart_init(TTE_UART_CLOCK_HZ, TTE_UART_BAUD);
#endif
#if defined(TTE_IN_SEMIHOST)
    in_fd = tte_sh_open(TTE_IN_PATH, 1u);
    if (in_fd < 0) {
        tte_sh_write0("tte: cannot open " TTE_IN_PATH "\n");
        tte_sh_exit(2u);
    }
#endif
#if defined(TTE_OUT_SEMIHOST)
    out_fd = tte_sh_open(TTE_OUT_PATH, 5u);
    if (out_fd < 0) {
        tte_sh_write0("tte: cannot create " TTE_OUT_PATH "\n");
        tte_sh_exit(2u);
    }
#endif
}

int tte_io_read(void *buf, uint32_t n)
{
    uint8_t *p = (uint8_t *)buf;
#if defined(TTE_IN_EMBEDDED)
    if (tte_embedded_stream_bytes - in_pos < n) {
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        p[i] = tte_embedded_stream[in_pos + i];
    }
    in_pos += n;
    return 1;
#elif defined(TTE_IN_SEMIHOST)
    while (n > 0u) {
        int32_t got = tte_sh_read(in_fd, p, n);
        if (got <= 0) {
            return 0;
        }
        p += got;
        n -= (uint32_t)got;
    }
    return 1;
#else
    for (uint32_t i = 0; i < n; i++) {
        p[i] = tte_uart_getc();
    }
    return 1;
#endif
}

const void *tte_io_map(uint32_t n)
{
#if defined(TTE_IN_EMBEDDED)
    if (tte_embedded_stream_bytes - in_pos < n) {
        return NULL;
    }
    const void *p = &tte_embedded_stream[in_pos];
    in_pos += n;
    return p;
#else
    (void)n;
    return NULL;
#endif
}

void tte_io_flush(void)
{
#if defined(TTE_OUT_SEMIHOST)
    if (out_len > 0u) {
        (void)tte_sh_write(out_fd, out_buf, out_len);
        out_len = 0u;
    }
#endif
}

void tte_io_write(const char *s, uint32_t n)
{
#if defined(TTE_OUT_SEMIHOST)
    for (uint32_t i = 0; i < n; i++) {
        if (out_len == sizeof out_buf) {
            tte_io_flush();
        }
        out_buf[out_len++] = s[i];
    }
#else
    for (uint32_t i = 0; i < n; i++) {
        tte_uart_putc((uint8_t)s[i]);
    }
#endif
}

void tte_io_puts(const char *s)
{
    uint32_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    tte_io_write(s, n);
}

void tte_io_exit(uint32_t code)
{
    tte_io_flush();
    /* With a debugger or QEMU attached this stops the program with its status; on a board
     * without one, `bkpt` faults, and the fault handler ends here again: park instead. */
#if defined(TTE_OUT_SEMIHOST) || defined(TTE_IN_SEMIHOST) || defined(TTE_SEMIHOST_EXIT)
    tte_sh_exit(code);
#else
    (void)code;
    for (;;) {
    }
#endif
}
