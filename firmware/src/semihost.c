/* ARM semihosting for M-profile: `bkpt 0xAB`, operation in r0, parameter in r1. */
#include "tte_fw.h"

enum {
    SYS_OPEN = 0x01,
    SYS_WRITE = 0x05,
    SYS_READ = 0x06,
    SYS_WRITE0 = 0x04,
    SYS_EXIT = 0x18,
    SYS_EXIT_EXTENDED = 0x20,
};
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static int32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

static uint32_t length(const char *s)
{
    uint32_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

int32_t tte_sh_open(const char *path, uint32_t mode)
{
    uint32_t args[3] = {(uint32_t)(uintptr_t)path, mode, length(path)};
    return semihost(SYS_OPEN, args);
}

int32_t tte_sh_read(int32_t fd, void *buf, uint32_t n)
{
    uint32_t args[3] = {(uint32_t)fd, (uint32_t)(uintptr_t)buf, n};
    int32_t left = semihost(SYS_READ, args); /* bytes NOT read */
    return left < 0 ? -1 : (int32_t)n - left;
}

int32_t tte_sh_write(int32_t fd, const void *buf, uint32_t n)
{
    uint32_t args[3] = {(uint32_t)fd, (uint32_t)(uintptr_t)buf, n};
    return (int32_t)n - semihost(SYS_WRITE, args);
}

void tte_sh_write0(const char *s)
{
    (void)semihost(SYS_WRITE0, s);
}

void tte_sh_exit(uint32_t code)
{
    uint32_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, code};
    (void)semihost(SYS_EXIT_EXTENDED, args);
    /* A host without SYS_EXIT_EXTENDED: plain exit (status is lost). */
    (void)semihost(SYS_EXIT, (const void *)(uintptr_t)ADP_STOPPED_APPLICATION_EXIT);
    for (;;) {
    }
}
