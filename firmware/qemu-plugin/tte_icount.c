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
 *   cost        optional (cost=1): also count, per region, what a cycle model needs beyond the
 *               instruction count, written after each "region" line as
 *               "cost ldm=.. ldm_beats=.. vldm=.. vldm_beats=.. div=.. vdiv=.. taken=..
 *               flash_reads=.. flash_misses=..": load/store-multiple instructions and their
 *               64-bit beats (ceil(registers / 2)), the same for VLDM/VSTM/VPUSH/VPOP (words),
 *               integer divides, VDIV/VSQRT, taken branches (a block that does not start where
 *               the previous one ended), and data reads from [flash_lo, flash_hi) with the
 *               misses of a simulated L1 D-cache (dcache bytes, dways ways, 32-byte lines,
 *               LRU). The host turns these counts into a cycle estimate (tte/targets/cycles.py).
 *   flash_lo, flash_hi, dcache, dways   the cost mode's flash range and D-cache geometry.
 *   With both prof and cost=1, the profile file also gets, whole run:
 *               "flash <insn vaddr> <flash reads> <flash misses>" per instruction that read flash,
 *               "tbcost <vaddr> <ldm> <ldm_beats> <vldm> <vldm_beats> <div> <vdiv> <taken>" per
 *               executed block (its static counts times its executions; taken: the times
 *               the next block did not start where this one ended, i.e. branches taken from
 *               it), and per site "sitecost <vaddr>" and the nine cost counts in the cost
 *               line's order over that site's instructions.
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

struct qemu_plugin_insn;
typedef uint32_t qemu_plugin_meminfo_t;

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_RW = 3 };

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr,
                                          void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_mem_cb_t cb,
                                      enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw, void *userdata);
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info);
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

/* Cost mode (cost=1): event counters that run all the time; a region reports its deltas. */
enum { K_LDM, K_LDM_BEATS, K_VLDM, K_VLDM_BEATS, K_DIV, K_VDIV, K_STATIC, K_TAKEN = K_STATIC, K_FLASH_READS,
       K_FLASH_MISSES, K_N };
static const char *const k_names[K_N] = {"ldm", "ldm_beats", "vldm", "vldm_beats", "div", "vdiv", "taken",
                                         "flash_reads", "flash_misses"};
static bool cost_mode;
static uint64_t kcount[K_N], kstart[K_N];
static uint64_t next_pc = UINT64_MAX; /* where the last executed block falls through to */
static uint64_t flash_lo = 0, flash_hi = 0;

struct tb_cost {
    uint64_t vaddr, end;
    uint64_t k[K_STATIC]; /* this block's static counts, added each time it executes */
    uint64_t execs, taken_out;  /* profile mode: executions, taken branches out of it */
    struct tb_cost *next;
};
static struct tb_cost *tb_cost_list; /* profile mode only */
static struct tb_cost *last_tb;      /* the block that ran last (profile mode) */

/* Profile and cost mode: flash reads and misses per load instruction. */
struct insn_flash {
    uint64_t vaddr, reads, misses;
    struct insn_flash *next;
};
static struct insn_flash *insn_flash_list;
static uint64_t site_k[TTE_MAX_SITES][K_N];
static uint64_t site_kstart[K_N];

#define LINE_SHIFT 5u /* 32-byte cache lines, as the Cortex-M7's L1 */
#define MAX_WAYS 8u
#define MAX_SETS 4096u
static uint64_t dcache_bytes = 4096, dways = 4;
static uint32_t n_sets;
static uint64_t tag_of[MAX_SETS][MAX_WAYS]; /* line address + 1; 0 = empty */
static uint64_t used_at[MAX_SETS][MAX_WAYS];
static uint64_t dclock;

static unsigned popcount16(uint32_t x)
{
    unsigned n = 0;
    for (x &= 0xFFFFu; x != 0; x &= x - 1) {
        n++;
    }
    return n;
}

/* Thumb-2 classes that a single-issue count prices differently (ARMv7-M encodings). */
static void classify(const uint8_t *p, size_t size, uint64_t k[K_STATIC])
{
    uint32_t hw1 = (uint32_t)p[0] | (uint32_t)p[1] << 8;
    if (size == 2) {
        unsigned regs = 0;
        if ((hw1 & 0xFE00u) == 0xB400u || (hw1 & 0xFE00u) == 0xBC00u) { /* PUSH, POP (bit 8: LR / PC) */
            regs = popcount16(hw1 & 0x1FFu);
        } else if ((hw1 & 0xF000u) == 0xC000u) { /* STMIA, LDMIA */
            regs = popcount16(hw1 & 0xFFu);
        } else {
            return;
        }
        k[K_LDM] += 1;
        k[K_LDM_BEATS] += (regs + 1) / 2;
        return;
    }
    uint32_t hw2 = (uint32_t)p[2] | (uint32_t)p[3] << 8;
    uint32_t op = (hw1 >> 7) & 3u;
    if ((hw1 & 0xFE40u) == 0xE800u && (op == 1u || op == 2u)) { /* LDM/STM IA/DB, incl. PUSH/POP.W */
        k[K_LDM] += 1;
        k[K_LDM_BEATS] += (popcount16(hw2) + 1) / 2;
    } else if ((hw1 & 0xFE00u) == 0xEC00u && (hw2 & 0x0E00u) == 0x0A00u) { /* VFP load/store, 64-bit moves */
        uint32_t pb = (hw1 >> 8) & 1u, ub = (hw1 >> 7) & 1u, wb = (hw1 >> 5) & 1u;
        bool vldr = pb == 1u && wb == 0u;               /* VLDR/VSTR: one register */
        bool vmov64 = pb == 0u && ub == 0u && wb == 0u; /* VMOV between two core registers */
        if (!vldr && !vmov64) {
            k[K_VLDM] += 1;
            k[K_VLDM_BEATS] += ((hw2 & 0xFFu) + 1) / 2;
        }
    } else if (((hw1 & 0xFFF0u) == 0xFB90u || (hw1 & 0xFFF0u) == 0xFBB0u) && (hw2 & 0x00F0u) == 0x00F0u) {
        k[K_DIV] += 1; /* SDIV, UDIV */
    } else if (((hw1 & 0xFFB0u) == 0xEE80u && (hw2 & 0x0E50u) == 0x0A00u) ||
               ((hw1 & 0xFFBFu) == 0xEEB1u && (hw2 & 0x0ED0u) == 0x0AC0u)) {
        k[K_VDIV] += 1; /* VDIV, VSQRT */
    }
}

/* The instruction's size from its first halfword (a 32-bit Thumb-2 instruction starts with
 * 0b11101, 0b11110 or 0b11111). QEMU 7.2 reports 4 bytes for a 16-bit instruction that ends a
 * block at a page boundary (the translator peeks at the next halfword to see whether that
 * instruction crosses the page, and the plugin API counts the peeked bytes): the block would
 * seem to end 2 bytes past where the next one starts, and every pass through it would count
 * a taken branch. */
static size_t thumb_size(const void *data, size_t reported)
{
    const uint8_t *p = data;
    uint32_t hw1 = (uint32_t)p[0] | (uint32_t)p[1] << 8;
    size_t size = (hw1 & 0xF800u) >= 0xE800u ? 4 : 2;
    return size < reported ? size : reported;
}

static void on_tb_cost(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    struct tb_cost *c = udata;
    if (c->vaddr != next_pc) {
        kcount[K_TAKEN]++;
        if (last_tb != NULL) {
            last_tb->taken_out++;
        }
    }
    next_pc = c->end;
    for (unsigned i = 0; i < K_STATIC; i++) {
        kcount[i] += c->k[i];
    }
    if (prof != NULL) {
        c->execs++;
        last_tb = c;
    }
}

static void on_load(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
    (void)vcpu;
    if (qemu_plugin_mem_is_store(info) || vaddr < flash_lo || vaddr >= flash_hi) {
        return;
    }
    kcount[K_FLASH_READS]++;
    struct insn_flash *f = udata; /* NULL outside profile mode */
    if (f != NULL) {
        f->reads++;
    }
    uint64_t line = vaddr >> LINE_SHIFT;
    uint32_t set = (uint32_t)(line % n_sets);
    uint64_t *tags = tag_of[set], *used = used_at[set];
    dclock++;
    uint32_t victim = 0;
    for (uint32_t w = 0; w < dways; w++) {
        if (tags[w] == line + 1) {
            used[w] = dclock;
            return;
        }
        if (used[w] < used[victim]) {
            victim = w;
        }
    }
    kcount[K_FLASH_MISSES]++;
    if (f != NULL) {
        f->misses++;
    }
    tags[victim] = line + 1;
    used[victim] = dclock;
}

static void add_cost_callbacks(struct qemu_plugin_tb *tb)
{
    struct tb_cost *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return;
    }
    c->vaddr = qemu_plugin_tb_vaddr(tb);
    c->end = c->vaddr;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        size_t size = thumb_size(qemu_plugin_insn_data(insn), qemu_plugin_insn_size(insn));
        classify(qemu_plugin_insn_data(insn), size, c->k);
        struct insn_flash *f = NULL;
        if (prof != NULL && (f = calloc(1, sizeof *f)) != NULL) {
            f->vaddr = c->end;
            f->next = insn_flash_list;
            insn_flash_list = f;
        }
        c->end += size;
        /* both directions, filtered in on_load: QEMU 7.2 applies the R/W filter the wrong way round */
        qemu_plugin_register_vcpu_mem_cb(insn, on_load, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, f);
    }
    if (prof != NULL) {
        c->next = tb_cost_list;
        tb_cost_list = c;
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_cost, QEMU_PLUGIN_CB_NO_REGS, c);
}

static void close_site(void)
{
    if (cur_site != SIZE_MAX) {
        site_insns[cur_site] += insns - site_start;
        for (unsigned k = 0; k < K_N; k++) {
            site_k[cur_site][k] += kcount[k] - site_kstart[k];
        }
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
    memcpy(site_kstart, kcount, sizeof site_kstart);
}

static void on_begin(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    region_start = insns;
    memcpy(kstart, kcount, sizeof kstart);
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
        if (cost_mode) {
            fprintf(out, "cost");
            for (unsigned i = 0; i < K_N; i++) {
                fprintf(out, " %s=%" PRIu64, k_names[i], kcount[i] - kstart[i]);
            }
            fprintf(out, "\n");
        }
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
    if (cost_mode) {
        add_cost_callbacks(tb);
    }
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
        if (cost_mode) {
            for (struct insn_flash *f = insn_flash_list; f != NULL; f = f->next) {
                if (f->reads != 0) {
                    fprintf(prof, "flash 0x%" PRIx64 " %" PRIu64 " %" PRIu64 "\n", f->vaddr, f->reads, f->misses);
                }
            }
            for (struct tb_cost *c = tb_cost_list; c != NULL; c = c->next) {
                if (c->execs != 0) {
                    fprintf(prof, "tbcost 0x%" PRIx64, c->vaddr);
                    for (unsigned k = 0; k < K_STATIC; k++) {
                        fprintf(prof, " %" PRIu64, c->k[k] * c->execs);
                    }
                    fprintf(prof, " %" PRIu64 "\n", c->taken_out);
                }
            }
            for (size_t i = 0; i < n_sites; i++) {
                fprintf(prof, "sitecost 0x%" PRIx64, site_vaddr[i]);
                for (unsigned k = 0; k < K_N; k++) {
                    fprintf(prof, " %" PRIu64, site_k[i][k]);
                }
                fprintf(prof, "\n");
            }
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
        } else if (strcmp(a, "cost=1") == 0) {
            cost_mode = true;
        } else if (strncmp(a, "flash_lo=", 9) == 0) {
            ok = parse_u64(a + 9, &flash_lo);
        } else if (strncmp(a, "flash_hi=", 9) == 0) {
            ok = parse_u64(a + 9, &flash_hi);
        } else if (strncmp(a, "dcache=", 7) == 0) {
            ok = parse_u64(a + 7, &dcache_bytes);
        } else if (strncmp(a, "dways=", 6) == 0) {
            ok = parse_u64(a + 6, &dways);
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
    uint64_t lines = dcache_bytes >> LINE_SHIFT;
    if (dways == 0 || dways > MAX_WAYS || lines == 0 || lines % dways != 0 || lines / dways > MAX_SETS) {
        qemu_plugin_outs("tte_icount: bad D-cache geometry (dcache, dways)\n");
        return -1;
    }
    n_sets = (uint32_t)(lines / dways);
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
