/*
 * tte_icount: a QEMU TCG plugin that counts guest instructions exactly and reports the count
 * executed between two marker functions of the firmware.
 *
 * Debian ships qemu-system-arm with plugin support but no qemu-plugin.h, so the few API
 * entry points used here are declared below (QEMU plugin API version 1, QEMU 6.0 .. 8.0).
 *
 * Arguments (-plugin libtte_icount.so,begin=0xADDR,end=0xADDR,out=FILE):
 *   begin, end  guest addresses of the firmware's tte_region_begin / tte_region_end
 *               (Thumb bit cleared); each is a one-instruction function (bx lr), so each
 *               starts its own translation block.
 *   out         file that receives one line per region: "region <instructions>", where the
 *               count runs from the first instruction of begin to the first of end, and at
 *               exit "total <instructions>".
 *
 * Counting: every translation block adds its instruction count to one 64-bit counter when
 * it starts executing (an inline add, no helper call). A block only stops early on an
 * exception; the firmware's counted regions raise none (semihosting calls happen outside
 * them), so the count is exact and the same on every run.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the part of QEMU's plugin API (version 1) that this plugin uses ---- */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t qemu_info_t; /* opaque here: not read */

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

#define TTE_EXPORT __attribute__((visibility("default")))
TTE_EXPORT int qemu_plugin_version = 1;
TTE_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv);
/* ------------------------------------------------------------------------- */

static uint64_t insns;        /* instructions executed so far (one vCPU) */
static uint64_t region_start; /* insns at the start of the open region */
static bool region_open;
static uint64_t addr_begin = UINT64_MAX, addr_end = UINT64_MAX;
static FILE *out;

static void on_begin(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    region_start = insns;
    region_open = true;
}

static void on_end(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    if (!region_open) {
        fprintf(out, "error end-without-begin\n");
    } else {
        fprintf(out, "region %" PRIu64 "\n", insns - region_start);
    }
    fflush(out);
    region_open = false;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    uint64_t pc = qemu_plugin_tb_vaddr(tb);
    /* The marker callbacks are registered before the inline add, and both markers are
     * alike, so whichever order QEMU runs them in cancels in the difference. */
    if (pc == addr_begin) {
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
    } else if (pc == addr_end) {
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
    }
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insns,
                                             qemu_plugin_tb_n_insns(tb));
}

static void on_qemu_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    fprintf(out, "total %" PRIu64 "\n", insns);
    fflush(out);
    if (out != stderr) {
        fclose(out);
    }
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *endp = NULL;
    unsigned long long x = strtoull(s, &endp, 0);
    if (endp == s || *endp != '\0') {
        return false;
    }
    *v = (uint64_t)x;
    return true;
}

TTE_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool ok = true;
        if (strncmp(a, "begin=", 6) == 0) {
            ok = parse_u64(a + 6, &addr_begin);
        } else if (strncmp(a, "end=", 4) == 0) {
            ok = parse_u64(a + 4, &addr_end);
        } else if (strncmp(a, "out=", 4) == 0) {
            path = a + 4;
        } else {
            ok = false;
        }
        if (!ok) {
            char msg[256];
            snprintf(msg, sizeof msg, "tte_icount: bad argument '%s'\n", a);
            qemu_plugin_outs(msg);
            return -1;
        }
    }
    out = path ? fopen(path, "w") : stderr;
    if (out == NULL) {
        qemu_plugin_outs("tte_icount: cannot open the output file\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
    return 0;
}
