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
 *   prof        optional: profile file. At exit it gets one line per translated block,
 *               "tb <vaddr> <instructions in the block> <executions>" (a flat profile; the
 *               host maps addresses to functions), and, if lo/hi are given, one line per
 *               block of the function [lo, hi) that started executing inside a region,
 *               "site <vaddr> <instructions>": the instructions from that block's start up
 *               to the next such block (or the region's end), i.e. per call site of the
 *               training step, its callees included.
 *   lo, hi      optional: the address range of the function whose blocks delimit sites.
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

/* Profile mode (prof=...): per-block execution counters and per-site attribution. */
struct tb_count {
    uint64_t vaddr;
    uint64_t n_insns;
    uint64_t execs;
    struct tb_count *next;
};
static struct tb_count *tb_list;
static FILE *prof;
static uint64_t addr_lo = UINT64_MAX, addr_hi = 0;
#define TTE_MAX_SITES 4096
static uint64_t site_vaddr[TTE_MAX_SITES];
static uint64_t site_insns[TTE_MAX_SITES];
static size_t n_sites;
static size_t cur_site = SIZE_MAX; /* site being charged, SIZE_MAX outside */
static uint64_t site_start;

static void close_site(void)
{
    if (cur_site != SIZE_MAX) {
        site_insns[cur_site] += insns - site_start;
        cur_site = SIZE_MAX;
    }
}

static void on_site(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    if (!region_open) {
        return;
    }
    close_site();
    uint64_t pc = (uint64_t)(uintptr_t)udata;
    size_t i = 0;
    while (i < n_sites && site_vaddr[i] != pc) {
        i++;
    }
    if (i == n_sites) {
        if (n_sites == TTE_MAX_SITES) {
            return;
        }
        site_vaddr[n_sites++] = pc;
    }
    cur_site = i;
    site_start = insns;
}

static void on_begin(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    region_start = insns;
    region_open = true;
    cur_site = SIZE_MAX;
}

static void on_end(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    close_site();
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
    if (prof != NULL && pc >= addr_lo && pc < addr_hi) {
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_site, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)pc);
    }
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insns,
                                             qemu_plugin_tb_n_insns(tb));
    if (prof != NULL) {
        struct tb_count *c = calloc(1, sizeof *c);
        if (c != NULL) {
            c->vaddr = pc;
            c->n_insns = qemu_plugin_tb_n_insns(tb);
            c->next = tb_list;
            tb_list = c;
            qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &c->execs, 1);
        }
    }
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
    if (prof != NULL) {
        for (struct tb_count *c = tb_list; c != NULL; c = c->next) {
            if (c->execs != 0) {
                fprintf(prof, "tb 0x%" PRIx64 " %" PRIu64 " %" PRIu64 "\n", c->vaddr, c->n_insns, c->execs);
            }
        }
        for (size_t i = 0; i < n_sites; i++) {
            fprintf(prof, "site 0x%" PRIx64 " %" PRIu64 "\n", site_vaddr[i], site_insns[i]);
        }
        fclose(prof);
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
    const char *prof_path = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool ok = true;
        if (strncmp(a, "begin=", 6) == 0) {
            ok = parse_u64(a + 6, &addr_begin);
        } else if (strncmp(a, "end=", 4) == 0) {
            ok = parse_u64(a + 4, &addr_end);
        } else if (strncmp(a, "out=", 4) == 0) {
            path = a + 4;
        } else if (strncmp(a, "prof=", 5) == 0) {
            prof_path = a + 5;
        } else if (strncmp(a, "lo=", 3) == 0) {
            ok = parse_u64(a + 3, &addr_lo);
        } else if (strncmp(a, "hi=", 3) == 0) {
            ok = parse_u64(a + 3, &addr_hi);
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
    if (prof_path != NULL) {
        prof = fopen(prof_path, "w");
        if (prof == NULL) {
            qemu_plugin_outs("tte_icount: cannot open the profile file\n");
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
    return 0;
}
