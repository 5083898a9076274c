/* Region markers for exact instruction counts. Each is one `bx lr` at its own address: the
 * TCG plugin (firmware/qemu-plugin/tte_icount.c) snapshots its counter when either starts.
 * noipa + a volatile asm keep the compiler from removing or merging the calls. */
#include "tte_fw.h"

__attribute__((noipa, used)) void tte_region_begin(void)
{
    __asm volatile("" ::: "memory");
}

__attribute__((noipa, used)) void tte_region_end(void)
{
    __asm volatile("" ::: "memory");
}
