/* tte firmware: the board-independent interfaces of startup, I/O and measurement. */
#ifndef TTE_FW_H
#define TTE_FW_H

#include <stddef.h>
#include <stdint.h>

/* ---- startup.c: stack painting ---- */
#define TTE_STACK_PAINT 0xC5C5C5C5u
/* Bytes of the stack region ever written since reset (scan for the first painted word). */
uint32_t tte_fw_stack_peak_bytes(void);
/* Size of the stack region (from the linker script). */
uint32_t tte_fw_stack_size_bytes(void);

/* ---- markers.c: instruction-count regions (see firmware/qemu-plugin) ---- */
void tte_region_begin(void);
void tte_region_end(void);

/* ---- semihost.c: ARM semihosting (QEMU, or a debugger) ---- */
int32_t tte_sh_open(const char *path, uint32_t mode); /* mode: 0 "r", 1 "rb", 4 "w", 5 "wb" */
int32_t tte_sh_read(int32_t fd, void *buf, uint32_t n);  /* bytes read (0 at end of file) */
int32_t tte_sh_write(int32_t fd, const void *buf, uint32_t n);
void tte_sh_write0(const char *s);                        /* to the debug console */
void tte_sh_exit(uint32_t code) __attribute__((noreturn));

/* ---- uart_*.c: one register-level driver per board family, or none ---- */
void tte_uart_init(uint32_t clock_hz, uint32_t baud);
void tte_uart_putc(uint8_t c);
uint8_t tte_uart_getc(void); /* blocks until a byte arrives */

/* ---- io.c: the data stream (commands in) and the report (text lines out) ---- */
void tte_io_init(void);
/* Reads exactly n bytes; returns 0 when the stream has ended first. */
int tte_io_read(void *buf, uint32_t n);
/* Where the next n input bytes are, if the stream is memory-mapped (embedded data set):
 * avoids a RAM copy; NULL otherwise. Advances the stream on success. */
const void *tte_io_map(uint32_t n);
void tte_io_write(const char *s, uint32_t n);
void tte_io_puts(const char *s);
void tte_io_flush(void);
void tte_io_exit(uint32_t code) __attribute__((noreturn));

/* ---- fmt.c: allocation-free formatting ---- */
char *tte_fmt_u32(char *p, uint32_t v);   /* decimal; returns the end */
char *tte_fmt_hex32(char *p, uint32_t v); /* 8 lower-case hex digits */
char *tte_fmt_hex8(char *p, uint8_t v);

#endif
