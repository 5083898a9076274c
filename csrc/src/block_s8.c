/* Streamed int8 inverted-residual block (see tte/block.h and tte/compiler/fuse.py).
 *
 * For each output row oy of the depthwise D, the rows of E's output that D's window needs
 * are computed (each once, in order) into a ring of `span` rows, slot r % span; rows that
 * fall out of the window are overwritten. E's rows come from tte_conv2d_s8 itself on a
 * one-output-row geometry. D, P and the add then run over chunks of pixels of the output
 * row: D's outputs for a chunk are parked at the end of y, which is not written yet (the
 * chunk is as long as fits behind the chunk's own outputs), and P reads them from there,
 * over a multiple of four pixels (its fast pass) where the rest can be carried to the next
 * chunk; where too few pixels fit (the last pixels of y) they go through scratch. D, P are depthwise_s8.c's row / pixel and pointwise_s8.c's kernels, the add
 * tte_add_s8_ws (in place): the same integer arithmetic as the unfused ops, the same bytes.
 * A block that reads the model's input row by row (in_rows, tte_block_s8_rows) takes E's input
 * rows from the caller's image in place, or from its reader through a window of E's kernel rows at
 * the end of scratch, on which E runs as on a small image (expand_row_window). */
#include "tte/internal/optimized.h"
#include "tte/block.h"
#include "tte/internal/conv_s8.h"

#include <string.h>

/* tte_conv2d_s8_fast_rq of the block's conv c (bit: its TTE_BLOCK_RQ_* bit), from the compiler's
 * rq_fast where it gives it */
static int32_t block_fast_rq(const tte_block_s8_params_t *p, const tte_conv2d_s8_params_t *c, int32_t bit)
{
    return p->rq_fast & TTE_BLOCK_RQ_KNOWN ? (p->rq_fast & bit) != 0 : tte_conv2d_s8_fast_rq(c);
}

static int32_t ring_span(const tte_conv2d_geom_t *gd)
{
    return (gd->k_h - 1) * gd->dil_h + 1;
}

/* P's pixel-pair buffer at the start of scratch (tte_conv2d_s8_pointwise_px_buf) */
static int32_t pair_bytes(const tte_block_s8_params_t *p)
{
    const int32_t n = p->project->g.in_c;
    return n >= 32 ? 8 * n : 0;
}

/* D's window rows kept sign-extended and padded across its calls (given by the planner, optional,
 * with E: each row of E's output widened once, tte_conv2d_s8_dw3_wide_bytes; over a layout of
 * biases 0, dw3_live's), else 0 */
static int32_t wide_bytes(const tte_block_s8_params_t *p)
{
    if (!p->dw_pad || p->expand == NULL) {
        return 0;
    }
    return (int32_t)(p->dw3_live != NULL ? p->dw3_live->bytes(&p->dw->g) : tte_conv2d_s8_dw3_wide_bytes(&p->dw->g));
}

/* D's padded copy of its rows: dw3_ring's for a 3x3 (its whole output row: every chunk fits),
 * dw57_pad's for a 5x5 or 7x7 */
static int32_t dw_pad_bytes(const tte_conv2d_geom_t *gd)
{
    const size_t ring = tte_conv2d_s8_dw_ws_bytes(gd);
    return (int32_t)(ring > 0 ? ring : tte_conv2d_s8_dw57_pad_bytes(gd));
}

/* The bytes at the start of P's pair buffer, D's scratch before P runs on each chunk: without E
 * and the add, at least what D reads (tte_conv2d_s8_dw_ws_bytes); with them the pair buffer
 * alone (more would raise the paper models' peak: D takes it where it fits) */
static int32_t pair_region_bytes(const tte_block_s8_params_t *p)
{
    const int32_t d = p->expand == NULL && p->add == NULL ? (int32_t)tte_conv2d_s8_dw_ws_bytes(&p->dw->g) : 0;
    /* given by the planner (optional): D's padded copy of its rows (unless kept whole, wide_bytes) */
    const int32_t pad = p->dw_pad && wide_bytes(p) == 0 ? dw_pad_bytes(&p->dw->g) : 0;
    const int32_t m = d > pad ? d : pad;
    return m > pair_bytes(p) ? m : pair_bytes(p);
}

/* E's kernel scratch at the very start (tte_conv2d_s8_ws; a multiple of 8 bytes, so what
 * follows keeps its alignment) */
static TTE_ALWAYS_INLINE int32_t expand_bytes(const tte_block_s8_params_t *p)
{
    return p->expand != NULL ? tte_conv_scratch_bytes(&p->expand->g) : 0;
}

/* then the add's table (tte_add_s8_ws) where the block's output image reaches its length: 1 KB
 * off the stack, a multiple of 8 bytes too */
static TTE_ALWAYS_INLINE int32_t add_bytes(const tte_block_s8_params_t *p)
{
    const tte_conv2d_geom_t *gp = &p->project->g;
    return p->add != NULL ? tte_add_s8_scratch_bytes(gp->out_h * gp->out_w * gp->out_c) : 0;
}

/* Pixels of D's output block_run_flat keeps in scratch: four (P's fast pass on the last pixels
 * of y, where no room is left to park them) from 128 channels on, where P's pairs cost most;
 * else two, which keeps the smaller blocks' scratch (KWS's are at its peak SRAM). */
static int32_t flat_dbuf_pixels(const tte_conv2d_geom_t *gd)
{
    return gd->out_c >= 128 ? 4 : 2;
}

/* block_run_all's buffer of P's widened pixels (tte_conv2d_s8_pointwise_prep_all_px; 0: none) */
static int32_t all_wide_bytes(const tte_block_s8_params_t *p)
{
    const tte_conv2d_geom_t *gd = &p->dw->g;
    return p->pw_prep != NULL && p->project->g.in_c > 24
               ? tte_conv2d_s8_pointwise_prep_all_bytes(p->project, gd->out_h * gd->out_w)
               : 0;
}

/* The window of the model's input rows E reads next (in_rows with a reader), in scratch from the
 * 8-byte boundary at or after the block's other scratch: rows [ask - n, ask) of image base / in_h,
 * contiguous after this head (in scratch, not on block_run's frame, which is on the deepest stack
 * path), room for E's kernel rows of its input */
typedef struct {
    int32_t n;
    int32_t ask;
    int32_t base;
    int32_t unused;
} in_window_t;

static in_window_t *window_of(const int8_t *x)
{
    return (in_window_t *)(uintptr_t)(x - sizeof(in_window_t));
}

static int8_t *window_buf(in_window_t *w)
{
    return (int8_t *)(void *)(w + 1);
}

/* Whether src gives the input through its reader (x is then the window's rows) */
static TTE_ALWAYS_INLINE int reads_rows(const tte_block_rows_t *src)
{
    return src != NULL && src->image == NULL;
}

static int32_t window_at(int32_t n)
{
    return (n + 7) & ~7;
}

static int32_t window_rows(const tte_conv2d_geom_t *ge)
{
    return (ge->k_h - 1) * ge->dil_h + 1;
}

int32_t tte_block_s8_scratch_bytes(const tte_block_s8_params_t *p)
{
    const tte_conv2d_geom_t *gd = &p->dw->g;
    int32_t n = expand_bytes(p) + add_bytes(p) + wide_bytes(p) + pair_region_bytes(p) + gd->out_c;
    if (p->expand == NULL && p->add == NULL) {
        n += (flat_dbuf_pixels(gd) - 1) * gd->out_c; /* block_run_flat's further pixels of D */
        if (p->dw_all) {
            const int32_t wide = all_wide_bytes(p);
            n += gd->out_h * gd->out_w * gd->out_c; /* block_run_all's image of D */
            n += wide > 0 ? 7 + wide : 0;           /* and P's widened pixels, 8-byte aligned */
        }
    }
    if (p->expand != NULL) {
        n += ring_span(gd) * gd->in_w * gd->in_c;
    }
    if (p->add != NULL) {
        n += p->project->g.out_c;
    }
    if (p->in_rows && p->expand != NULL) {
        const tte_conv2d_geom_t *ge = &p->expand->g;
        n = window_at(n) + (int32_t)sizeof(in_window_t) + window_rows(ge) * ge->in_w * ge->in_c;
    }
    return n;
}

/* E (parameters q: one output row's over the whole image) on x into dst: the stem's compile-time
 * layout where the block has one (stem3_layout checked the image), else tte_conv2d_s8 */
static TTE_ALWAYS_INLINE void expand_conv(const tte_block_s8_params_t *p, const tte_conv2d_s8_params_t *q,
                                          const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *dst,
                                          void *e_scratch)
{
    if (p->stem3 != NULL) {
        p->stem3(q, x, p->stem_prep, dst);
    } else {
        tte_conv2d_s8_ws(q, x, w, bias, dst, e_scratch);
    }
}

/* Row r of block p's E output (batch image xb) into dst; e_scratch: E's kernel scratch. Inlined
 * in block_run, as its only caller but expand_row_window, so that no frame of its own adds to the
 * deepest stack path. */
static TTE_ALWAYS_INLINE void expand_row(const tte_block_s8_params_t *p, int32_t fast_e, const int8_t *xb, const int8_t *w,
                       const tte_split_s8_t *ws, const int32_t *bias, int32_t r, int8_t *dst, void *e_scratch)
{
    const tte_conv2d_s8_params_t *e = p->expand;
    tte_conv2d_s8_params_t q = *e;
    const tte_conv2d_geom_t *g = &e->g;
    if (ws == NULL && fast_e >= 0) {
        /* a plain 1x1 conv: from its compile-time layout, else the pointwise kernel on the row's
         * pixels (what tte_conv2d_s8 picks), the output stage's mode found once per block call */
        if (p->pe_prep != NULL) {
            tte_conv2d_s8_pointwise_small_prep_px(e, xb + (size_t)r * g->in_w * g->in_c, g->in_w, p->pe_prep, dst);
        } else {
            tte_conv2d_s8_pointwise_px(e, fast_e, xb + (size_t)r * g->in_w * g->in_c, g->in_w, w, bias, dst);
        }
        return;
    }
    q.g.batch = 1;
    q.g.out_h = 1;
    if (g->k_h == 1 && g->stride_h == 1 && g->pad_top == 0) {
        /* one input row gives one output row (keeps the pointwise fast path) */
        q.g.in_h = 1;
        xb += (size_t)r * g->in_w * g->in_c;
    } else {
        /* the window of output row r starts at input row r * stride - pad_top */
        q.g.pad_top = g->pad_top - r * g->stride_h;
    }
    if (ws != NULL) {
        tte_conv2d_s8_split(&q, xb, ws, bias, dst);
    } else {
        expand_conv(p, &q, xb, w, bias, dst, e_scratch);
    }
}

/* Rows next..hi of E's output from its compile-time layout (a plain 1x1, pe_prep) into their
 * slots of the ring in one call, so that the layout is read once for them all. ahead (D's rows
 * kept widened, dw3_wide: D reads a row of the ring once, when it enters D's window, and every row
 * before next has): up to span rows from next on, none of whose slots holds a row still to be
 * read, so that most output rows call E not at all. Returns the next row to compute. */
static TTE_NOINLINE int32_t expand_rows(const tte_block_s8_params_t *p, const int8_t *xb, int32_t next, int32_t hi, int8_t *ring,
                                        int32_t span, int32_t ahead)
{
    const tte_conv2d_geom_t *g = &p->expand->g;
    int32_t last = hi;
    if (ahead) {
        last = next + span - 1 < g->out_h - 1 ? next + span - 1 : g->out_h - 1;
    }
    tte_conv2d_s8_pointwise_small_prep_ring(p->expand, xb + (size_t)next * g->in_w * g->in_c, g->in_w,
                                            last - next + 1, p->pe_prep, ring, span, next % span);
    return last + 1;
}

/* The window brought to the input rows E's output row r reads: the rows before them dropped (the
 * kept ones moved down, at most window_rows - 1 rows), the rows after it asked for in order, each
 * once; rows E skips are asked for and dropped too. */
static TTE_NOINLINE void window_advance(const tte_block_rows_t *src, const tte_conv2d_geom_t *ge, in_window_t *w, int32_t r)
{
    const size_t row_bytes = (size_t)ge->in_w * ge->in_c;
    const int32_t top = r * ge->stride_h - ge->pad_top;
    const int32_t lo = top < 0 ? 0 : top;
    const int32_t last = top + (ge->k_h - 1) * ge->dil_h;
    const int32_t hi = last < ge->in_h - 1 ? last : ge->in_h - 1;
    int32_t drop = lo - (w->ask - w->n);
    if (drop > w->n) {
        drop = w->n;
    }
    if (drop > 0) {
        w->n -= drop;
        memmove(window_buf(w), window_buf(w) + (size_t)drop * row_bytes, (size_t)w->n * row_bytes);
    }
    for (; w->ask <= hi; ++w->ask) {
        /* a row before lo comes with n == 0 (every kept row was before it too): dropped */
        src->read_row(src->ctx, w->base + w->ask, window_buf(w) + (size_t)w->n * row_bytes);
        if (w->ask >= lo) {
            ++w->n;
        }
    }
}

/* The rows of the image no E row read: asked for all the same, in order (the reader's contract) */
static TTE_NOINLINE void window_drain(const tte_block_rows_t *src, const tte_conv2d_geom_t *ge, in_window_t *w)
{
    for (; w->ask < ge->in_h; ++w->ask) {
        src->read_row(src->ctx, w->base + w->ask, window_buf(w));
    }
}

/* Row r of E's output from the window (E's input rows it reads, whole: tte_conv2d_s8 on the
 * window's rows as a small image, its padding moved to match) into dst */
static TTE_NOINLINE void expand_row_window(const tte_block_s8_params_t *p, int32_t fast_e, in_window_t *w, const int8_t *w_e,
                              const tte_split_s8_t *ws, const int32_t *bias, int32_t r, int8_t *dst, void *e_scratch)
{
    const tte_conv2d_geom_t *g = &p->expand->g;
    tte_conv2d_s8_params_t q;
    if (fast_e >= 0 || (g->k_h == 1 && g->stride_h == 1 && g->pad_top == 0)) {
        /* one input row gives one output row: the window is row r alone */
        expand_row(p, fast_e, window_buf(w), w_e, ws, bias, 0, dst, e_scratch);
        return;
    }
    q = *p->expand;
    q.g.batch = 1;
    q.g.out_h = 1;
    q.g.in_h = w->n;
    q.g.pad_top = g->pad_top - r * g->stride_h + (w->ask - w->n);
    if (ws != NULL) {
        tte_conv2d_s8_split(&q, window_buf(w), ws, bias, dst);
    } else {
        tte_conv2d_s8_ws(&q, window_buf(w), w_e, bias, dst, e_scratch);
    }
}

/* The window's row through E, a plain 1x1 from its layout (pe_prep), into dst, as expand_row takes
 * it: without expand_row_window's frame (its copy of E's parameters) on the deepest stack path */
static TTE_NOINLINE void expand_row_prep(const tte_block_s8_params_t *p, in_window_t *w, int8_t *dst)
{
    tte_conv2d_s8_pointwise_small_prep_px(p->expand, window_buf(w), p->expand->g.in_w, p->pe_prep, dst);
}

/* Rows next..hi of E's output from the model's input rows through the window (reads_rows: x is
 * its rows) into their slots of D's ring. Returns the next row to compute. */
static TTE_NOINLINE int32_t expand_rows_window(const tte_block_s8_params_t *p, const tte_block_rows_t *src,
                                               const int8_t *x, int32_t fast_e, const int8_t *w_e,
                                               const tte_split_s8_t *ws_e, const int32_t *b_e, int32_t next,
                                               int32_t hi, int8_t *ring, void *e_scratch)
{
    const tte_conv2d_geom_t *gd = &p->dw->g;
    const size_t row_bytes = (size_t)gd->in_w * gd->in_c;
    const int32_t span = ring_span(gd);
    for (; next <= hi; ++next) {
        window_advance(src, &p->expand->g, window_of(x), next);
        if (p->pe_prep != NULL && ws_e == NULL && fast_e >= 0) {
            expand_row_prep(p, window_of(x), ring + (size_t)(next % span) * row_bytes);
        } else {
            expand_row_window(p, fast_e, window_of(x), w_e, ws_e, b_e, next, ring + (size_t)(next % span) * row_bytes,
                              e_scratch);
        }
    }
    return next;
}

#define TTE_BLOCK_MAX_KH 16

/* The end of the free bytes of y from yp on: y_end, or the lowest input byte still needed
 * when the input [x_lo, x_end) reaches into them. */
static uintptr_t free_end(const int8_t *yp, const int8_t *y_end, uintptr_t x_lo, uintptr_t x_end)
{
    const uintptr_t a = (uintptr_t)yp, e = (uintptr_t)y_end;
    if (x_end <= a || x_lo >= e) {
        return e;
    }
    return x_lo > a ? x_lo : a;
}

/* The rows tap ky of D's output row oy reads from image xb (NULL outside the image). */
static void input_rows(const tte_conv2d_geom_t *gd, const int8_t *xb, int32_t oy, const int8_t **rows)
{
    const size_t row_bytes = (size_t)gd->in_w * gd->in_c;
    int32_t ky;
    for (ky = 0; ky < gd->k_h; ++ky) {
        const int32_t iy = oy * gd->stride_h - gd->pad_top + ky * gd->dil_h;
        rows[ky] = iy < 0 || iy >= gd->in_h ? NULL : xb + (size_t)iy * row_bytes;
    }
}

/* P on n pixels of D's outputs d into y: from its compile-time layout where it has one
 * (pw_layout's form from 32 input channels on, with the block's buffer pairs; pe_layout's up to
 * 24, tte.compiler.emit.block) */
static void project_px(const tte_block_s8_params_t *p, int32_t fast_p, const int8_t *d, int32_t n,
                       const int8_t *w_p, const int32_t *b_p, int8_t *y, int16_t *pairs)
{
    if (p->pw_prep != NULL && p->pw_doubled_px != NULL) {
        p->pw_doubled_px(p->project, d, n, p->pw_prep, y, pairs);
    } else if (p->pw_prep != NULL && p->project->g.in_c <= 24) {
        tte_conv2d_s8_pointwise_small_prep_px(p->project, d, n, p->pw_prep, y);
    } else if (p->pw_prep != NULL) {
        tte_conv2d_s8_pointwise_prep_px(p->project, d, n, p->pw_prep, y, pairs);
    } else {
        tte_conv2d_s8_pointwise_px_buf(p->project, fast_p, d, n, w_p, b_p, y, pairs);
    }
}

/* Without E and the add: D over whole output rows [oy0, oy0 + nrows) of image xb into out, a 3x3
 * stride-2 D through p->dw3s2 (tte_conv2d_s8_dw3s2_ws, given where its layout holds the pair
 * words) where it takes them */
static TTE_ALWAYS_INLINE void flat_dw_rows(const tte_block_s8_params_t *p, int32_t fast_d, const int8_t *xb,
                                           int32_t oy0, int32_t nrows, const int8_t *w_d, const int32_t *b_d,
                                           int8_t *out, void *dw_ws, size_t dw_bytes)
{
    if (p->dw3s2 == NULL
        || !p->dw3s2(p->dw, fast_d, NULL, xb, nrows, oy0, 0, p->dw->g.out_w, b_d, p->dw_prep, out,
                                (size_t)p->dw->g.out_c, dw_ws, dw_bytes)) {
        tte_conv2d_s8_dw_rows_prep_ws(p->dw, fast_d, xb, oy0, nrows, w_d, b_d, p->dw_prep, out, dw_ws, dw_bytes);
    }
}

/* Without E and the add, D's outputs of a whole image in scratch (dw_all): D over every output
 * row in one call, then P once over every pixel (x is not read after D, so y may overlap it
 * anywhere) */
static void block_run_all(const tte_block_s8_params_t *p, const int8_t *x, const int8_t *w_d, const int32_t *b_d,
                          const int8_t *w_p, const int32_t *b_p, int8_t *y, int8_t *scratch)
{
    const tte_conv2d_geom_t *gd = &p->dw->g;
    const size_t x_image = (size_t)gd->in_h * gd->in_w * gd->in_c;
    const int32_t npix = gd->out_h * gd->out_w;
    const size_t y_image = (size_t)npix * p->project->g.out_c;
    int16_t *const pairs = pair_bytes(p) > 0 ? (int16_t *)(void *)scratch : NULL;
    const size_t dw_bytes = (size_t)pair_region_bytes(p);
    void *const dw_ws = dw_bytes > 0 ? scratch : NULL;
    /* after block_run_flat's own pixels of D; then P's widened pixels, where it has them */
    const size_t d_at = dw_bytes + (size_t)flat_dbuf_pixels(gd) * gd->out_c;
    int8_t *const d = scratch + d_at;
    int16_t *const wide = (int16_t *)(void *)(scratch + ((d_at + (size_t)npix * gd->out_c + 7) & ~(size_t)7));
    const int32_t fast_d = block_fast_rq(p, p->dw, TTE_BLOCK_RQ_D);
    const int32_t fast_p = block_fast_rq(p, p->project, TTE_BLOCK_RQ_P);
    int32_t b;
    for (b = 0; b < gd->batch; ++b) {
        int8_t *const yb = y + (size_t)b * y_image;
        flat_dw_rows(p, fast_d, x + (size_t)b * x_image, 0, gd->out_h, w_d, b_d, d, dw_ws, dw_bytes);
        if (all_wide_bytes(p) > 0) {
            if (p->pw_doubled_all_px != NULL) {
                p->pw_doubled_all_px(p->project, d, npix, p->pw_prep, yb, wide);
            } else {
                tte_conv2d_s8_pointwise_prep_all_px(p->project, d, npix, p->pw_prep, yb, wide);
            }
        } else {
            project_px(p, fast_p, d, npix, w_p, b_p, yb, pairs);
        }
    }
}

/* D on output pixels [ox, ox + k) of the row whose window rows are rows, outputs os apart from
 * out: through the 3x3 blocks laid out at compile time where the block has them (the test here,
 * not in a wrapper: a call without them costs what it did, and links no blocks kernel) */
static TTE_ALWAYS_INLINE void dw_row_call(const tte_block_s8_params_t *p, int32_t fast_d, const int8_t *const *rows,
                                          int32_t ox, int32_t k, const int8_t *w_d, const int32_t *b_d, int8_t *out,
                                          size_t os, void *dw_ws, size_t dw_bytes)
{
    if (p->dw3_row_blk != NULL) {
        p->dw3_row_blk(p->dw, fast_d, rows, ox, k, w_d, b_d, p->dw_prep, out, os, dw_ws, dw_bytes, p->dw3_blocks);
    } else {
        tte_conv2d_s8_dw_row_prep_ws(p->dw, fast_d, rows, ox, k, w_d, b_d, p->dw_prep, out, os, dw_ws, dw_bytes);
    }
}

/* Without E and the add: D reads x itself, so a chunk of pixels runs on across output rows
 * (D row segment by row segment) and P sees longer runs than one row. The same parking of
 * D's outputs in y as block_run, below the first input row the chunk's first pixel reads
 * (later rows of the chunk read only rows at or after it); where no two pixels fit there, two
 * go through scratch. */
static void block_run_flat(const tte_block_s8_params_t *p, const int8_t *x, const int8_t *w_d, const int32_t *b_d,
                           const int8_t *w_p, const int32_t *b_p, int8_t *y, int8_t *scratch)
{
    const tte_conv2d_geom_t *gd = &p->dw->g;
    const size_t row_bytes = (size_t)gd->in_w * gd->in_c;
    const size_t x_image = (size_t)gd->in_h * row_bytes;
    const int32_t out_c = p->project->g.out_c, dc = gd->out_c;
    const int32_t npix = gd->out_h * gd->out_w;
    const size_t y_image = (size_t)npix * out_c;
    int8_t *const y_end = y + (size_t)gd->batch * y_image;
    const uintptr_t x_end = (uintptr_t)(x + (size_t)gd->batch * x_image);
    int16_t *const pairs = pair_bytes(p) > 0 ? (int16_t *)(void *)scratch : NULL;
    /* D runs before P on each chunk: P's pair buffer is D's scratch meanwhile */
    const size_t dw_bytes = (size_t)pair_region_bytes(p);
    void *const dw_ws = dw_bytes > 0 ? scratch : NULL;
    int8_t *const dbuf = scratch + dw_bytes;
    const int32_t fast_d = block_fast_rq(p, p->dw, TTE_BLOCK_RQ_D);
    const int32_t fast_p = block_fast_rq(p, p->project, TTE_BLOCK_RQ_P);
    const int8_t *rows[TTE_BLOCK_MAX_KH];
    int32_t b, pix, q;
    for (b = 0; b < gd->batch; ++b) {
        const int8_t *xb = x + (size_t)b * x_image;
        int8_t *yb = y + (size_t)b * y_image;
        /* c pixels carried from the last chunk: D ran on them, their outputs are at carry
         * (P runs on multiples of four pixels, its fast pass, where the room allows) */
        int32_t c = 0;
        const int8_t *carry = NULL;
        for (pix = 0; pix < npix;) {
            /* D's reads from here on start at the first pixel it has still to run on */
            const int32_t oy = (pix + c < npix ? pix + c : npix - 1) / gd->out_w;
            const int32_t top = oy * gd->stride_h - gd->pad_top;
            const uintptr_t x_lo = (uintptr_t)(xb + (size_t)(top < 0 ? 0 : top) * row_bytes);
            int8_t *yp = yb + (size_t)pix * out_c;
            const uintptr_t limit = free_end(yp, y_end, x_lo, x_end);
            int32_t k = (int32_t)((limit - (uintptr_t)yp) / ((uintptr_t)out_c + (uintptr_t)dc));
            int32_t np;
            if (k > npix - pix) {
                k = npix - pix;
            }
            if (c > 0 && k < c) {
                /* (not expected: the room only grows) P on the carried pixels where they are */
                project_px(p, fast_p, carry, c, w_p, b_p, yp, pairs);
                pix += c;
                c = 0;
                continue;
            }
            /* up to flat_dbuf_pixels pixels whose P outputs fit in y, D's outputs in scratch */
            int32_t s4 = (int32_t)((limit - (uintptr_t)yp) / (uintptr_t)out_c);
            if (s4 > flat_dbuf_pixels(gd)) {
                s4 = flat_dbuf_pixels(gd);
            }
            if (s4 > npix - pix) {
                s4 = npix - pix;
            }
            if (c > 0 || k >= 4 || (k >= 2 && s4 <= k)) {
                int8_t *dk = yp + (limit - (uintptr_t)yp) - (size_t)k * dc;
                if (c > 0) {
                    memmove(dk, carry, (size_t)c * dc);
                }
                for (q = c; q < k;) {
                    const int32_t qx = (pix + q) % gd->out_w;
                    const int32_t full = qx == 0 ? (k - q) / gd->out_w : 0;
                    if (full >= 2) {
                        /* whole rows in one call */
                        flat_dw_rows(p, fast_d, xb, (pix + q) / gd->out_w, full, w_d, b_d, dk + (size_t)q * dc,
                                     dw_ws, dw_bytes);
                        q += full * gd->out_w;
                        continue;
                    }
                    const int32_t seg = gd->out_w - qx < k - q ? gd->out_w - qx : k - q;
                    input_rows(gd, xb, (pix + q) / gd->out_w, rows);
                    dw_row_call(p, fast_d, rows, qx, seg, w_d, b_d, dk + (size_t)q * dc, (size_t)dc, dw_ws, dw_bytes);
                    q += seg;
                }
                np = k;
                if (k < npix - pix) {
                    /* the rest is carried; it always fits the next chunk (the room left is
                     * at least its D outputs and P outputs) */
                    const int32_t next_top = (pix + k) / gd->out_w * gd->stride_h - gd->pad_top;
                    if (k >= 4) {
                        np = k & ~3;
                    } else if (next_top > top && next_top > 0) {
                        np = 0; /* the next row's chunk has more room: all of them go with it */
                    } else if (k >= 2) {
                        np = k & ~1;
                    }
                }
                if (np > 0) {
                    project_px(p, fast_p, dk, np, w_p, b_p, yp, pairs);
                }
                c = k - np;
                carry = dk + (size_t)np * dc;
                pix += np;
                continue;
            }
            /* little room to park D's outputs in y: up to flat_dbuf_pixels of them in scratch */
            k = s4 > 0 ? s4 : 1;
            for (q = 0; q < k;) {
                const int32_t qx = (pix + q) % gd->out_w;
                const int32_t seg = gd->out_w - qx < k - q ? gd->out_w - qx : k - q;
                input_rows(gd, xb, (pix + q) / gd->out_w, rows);
                dw_row_call(p, fast_d, rows, qx, seg, w_d, b_d, dbuf + (size_t)q * dc, (size_t)dc, dw_ws, dw_bytes);
                q += seg;
            }
            project_px(p, fast_p, dbuf, k, w_p, b_p, yp, pairs);
            pix += k;
        }
    }
}

/* D on output pixels [ox, ox + k) of the row whose window rows are rows into out, pixels out_c
 * apart, dw_bytes of scratch at dw_ws; dw_ws given with no bytes: the widened rows there
 * (tte_conv2d_s8_dw3_wide_init took them). Inlined, and no variable of its own on block_run's
 * frame: both are on the deepest stack path (a frame of its own took 64 bytes more). */
static TTE_ALWAYS_INLINE void dw_part(const tte_block_s8_params_t *p, int32_t fast_d, const int8_t *const *rows,
                                      int32_t ox, int32_t k, const int8_t *w_d, const int32_t *b_d, int8_t *out,
                                      void *dw_ws, size_t dw_bytes)
{
    const size_t os = (size_t)p->dw->g.out_c;
    if (dw_ws != NULL && dw_bytes == 0 && p->dw3_live != NULL) {
        p->dw3_live->row(p->dw, dw_ws, ox, k, out, os);
    } else if (dw_ws != NULL && dw_bytes == 0) {
        tte_conv2d_s8_dw3_wide_row(p->dw, dw_ws, ox, k, out, os);
    } else {
        dw_row_call(p, fast_d, rows, ox, k, w_d, b_d, out, os, dw_ws, dw_bytes);
    }
}

/* The add of len elements, the residual xp and P's outputs py, into yp: on the table that
 * block_run built once (side, tte_add_s8_table_init) */
static void residual_add(const tte_block_s8_params_t *p, const int8_t *xp, const int8_t *py, int8_t *yp,
                         int32_t len, int32_t *table, int32_t side)
{
    if (p->residual_first) {
        tte_add_s8_tab(p->add, side, xp, py, yp, len, table);
    } else {
        tte_add_s8_tab(p->add, side, py, xp, yp, len, table);
    }
}

/* P on n pixels of D's outputs d into yp, then the add with the residual xp in place */
static void project_add(const tte_block_s8_params_t *p, int32_t fast_p, const int8_t *d, int32_t n,
                        const int8_t *w_p, const int32_t *b_p, int8_t *yp, const int8_t *xp, int16_t *pairs,
                        int32_t *table, int32_t side)
{
    project_px(p, fast_p, d, n, w_p, b_p, yp, pairs);
    if (p->add != NULL) {
        residual_add(p, xp, yp, yp, n * p->project->g.out_c, table, side);
    }
}

/* A part of one image's output rows, for tte_block_s8_pair: rows [oy0, oy1) of image b, y holding
 * output row y_row on (up to y_end: the parking room of D's outputs), E's next row kept in next
 * across the calls (the ring and the input window in scratch are kept too); no pixel is carried
 * past oy1. The window of the input rows starts with oy0 == 0 and is drained with oy1 == out_h. */
typedef struct {
    int32_t b;
    int32_t oy0;
    int32_t oy1;
    int32_t y_row;
    int32_t next; /* E's next row */
    int32_t wide; /* D's widened rows set up (block_wide_init), kept across the ranges */
    int8_t *y_end;
} block_range_t;

/* D's widened rows set up (tte_conv2d_s8_dw3_wide_init, or dw3_live's) at the first range of a
 * call's images (rg NULL: the call's one), whose result the later ranges take: their slots then
 * keep the rows widened so far (numbered apart per image), the state one call would have. Nonzero:
 * D takes them. */
static int32_t block_wide_init(const tte_block_s8_params_t *p, int32_t fast_d, const int32_t *b_d, void *ws,
                               block_range_t *rg)
{
    int32_t wide;
    if (rg != NULL && (rg->oy0 > 0 || rg->b > 0)) {
        return rg->wide;
    }
    wide = p->dw3_live != NULL ? p->dw3_live->init(p->dw, fast_d, b_d, p->dw_prep_live, ws)
                               : tte_conv2d_s8_dw3_wide_init(p->dw, fast_d, b_d, p->dw_prep, ws);
    if (rg != NULL) {
        rg->wide = wide;
    }
    return wide;
}

/* E as a plain 1x1 conv (tte_conv2d_s8's pointwise case): its fast_rq, else -1 */
static TTE_ALWAYS_INLINE int32_t expand_fast_rq(const tte_block_s8_params_t *p)
{
    const tte_conv2d_geom_t *ge = p->expand != NULL ? &p->expand->g : NULL;
    return ge != NULL && ge->groups == 1 && ge->k_h == 1 && ge->k_w == 1 && ge->stride_h == 1 && ge->stride_w == 1
                   && ge->pad_top == 0 && ge->pad_left == 0 && ge->out_h == ge->in_h && ge->out_w == ge->in_w
               ? block_fast_rq(p, p->expand, TTE_BLOCK_RQ_E)
               : -1;
}

/* Where D's ring of E's rows starts in scratch: after E's kernel scratch, the add's table, D's
 * widened rows and P's pair buffer (block_run's layout) */
static int32_t ring_offset(const tte_block_s8_params_t *p)
{
    return expand_bytes(p) + add_bytes(p) + wide_bytes(p) + pair_region_bytes(p);
}

/* src (in_rows; else NULL): x is the model's input given by src; with its reader, x is the window
 * of its rows in scratch, and no input byte is in y's way; rg: a part of the output rows (else NULL:
 * every row of every image) */
static void block_run(const tte_block_s8_params_t *p, const int8_t *x, const tte_block_s8_weights_t *w,
                      const tte_split_s8_t *ws_e, int8_t *y, int8_t *scratch, const tte_block_rows_t *src,
                      block_range_t *rg)
{
    const tte_conv2d_geom_t *gd = &p->dw->g;
    const tte_conv2d_geom_t *gx = p->expand != NULL ? &p->expand->g : gd;
    const int32_t span = ring_span(gd);
    const size_t row_bytes = (size_t)gd->in_w * gd->in_c;
    const size_t x_image = (size_t)gx->in_h * gx->in_w * gx->in_c;
    const int32_t out_c = p->project->g.out_c;
    const size_t y_image = (size_t)gd->out_h * gd->out_w * out_c;
    int8_t *const y_end = rg != NULL ? rg->y_end : y + (size_t)gd->batch * y_image;
    /* the image and rows to compute, the first pixel y holds */
    const int32_t b0 = rg != NULL ? rg->b : 0, b1 = rg != NULL ? rg->b + 1 : gd->batch;
    const int32_t oy0 = rg != NULL ? rg->oy0 : 0, oy1 = rg != NULL ? rg->oy1 : gd->out_h;
    const size_t y_pix0 = rg != NULL ? (size_t)rg->y_row * gd->out_w : 0;
    const size_t x_row = (size_t)gx->in_w * gx->in_c;
    const uintptr_t x_end = src != NULL ? 0 : (uintptr_t)(x + (size_t)gd->batch * x_image);
    uintptr_t x_lo;
    int32_t lo_row;
    const int32_t e_bytes = expand_bytes(p), a_bytes = add_bytes(p), w_bytes = wide_bytes(p);
    int8_t *const e_scratch = e_bytes > 0 ? scratch : NULL;
    int32_t *const table = a_bytes > 0 ? (int32_t *)(void *)(scratch + e_bytes) : NULL;
    /* the add's table built once for every chunk (0: none) */
    const int32_t side = table != NULL ? tte_add_s8_table_init(p->add, table) : 0;
    /* D's widened rows (w_bytes, where D takes them: set up per image), then P's pair buffer */
    int8_t *const pr = scratch + e_bytes + a_bytes + w_bytes;
    int16_t *const pairs = pair_bytes(p) > 0 ? (int16_t *)(void *)pr : NULL;
    /* D runs before P on each chunk: P's pair buffer is D's scratch meanwhile (or, no bytes
     * given, the widened rows: dw_part) */
    size_t dw_bytes = (size_t)pair_region_bytes(p);
    void *dw_ws = dw_bytes > 0 ? pr : NULL;
    int8_t *ring = pr + dw_bytes;
    int8_t *dbuf = ring + (p->expand != NULL ? (size_t)span * row_bytes : 0);
    int8_t *pbuf = dbuf + gd->out_c;
    const int8_t *rows[TTE_BLOCK_MAX_KH];
    const int32_t fast_d = block_fast_rq(p, p->dw, TTE_BLOCK_RQ_D);
    const int32_t fast_p = block_fast_rq(p, p->project, TTE_BLOCK_RQ_P);
    const int32_t fast_e = expand_fast_rq(p);
    int32_t b, oy, ox, ky;
    if (gd->k_h > TTE_BLOCK_MAX_KH) {
        return; /* never emitted: tte.compiler.emit refuses such a kernel height */
    }
    if (p->expand == NULL && p->add == NULL) {
        if (p->dw_all) {
            block_run_all(p, x, w->w_d, w->b_d, w->w_p, w->b_p, y, scratch);
        } else {
            block_run_flat(p, x, w->w_d, w->b_d, w->w_p, w->b_p, y, scratch);
        }
        return;
    }
    /* over a layout of biases 0, the live biases added once here (dw3_live); a range after the
     * first keeps the rows widened so far, as one call would (block_range_t.wide) */
    if (w_bytes > 0 && block_wide_init(p, fast_d, w->b_d, scratch + e_bytes + a_bytes, rg)) {
        dw_ws = scratch + e_bytes + a_bytes;
        dw_bytes = 0;
    }
    for (b = b0; b < b1; ++b) {
        const int8_t *xb = x + (size_t)b * x_image;
        int8_t *yb = rg != NULL ? y : y + (size_t)b * y_image;
        int32_t next = rg != NULL ? rg->next : 0; /* the next row of E's output to compute */
        if (reads_rows(src) && oy0 == 0) {
            window_of(x)->n = 0;
            window_of(x)->ask = 0;
            window_of(x)->base = b * gx->in_h;
        }
        int32_t c = 0;    /* pixels carried to the next chunk: D ran on them, their outputs at carry */
        const int8_t *carry = NULL;
        for (oy = oy0; oy < oy1; ++oy) {
            const int32_t top = oy * gd->stride_h - gd->pad_top;
            if (p->expand != NULL) {
                int32_t lo = top < 0 ? 0 : top;
                int32_t hi = top + (gd->k_h - 1) * gd->dil_h;
                if (hi > gd->in_h - 1) {
                    hi = gd->in_h - 1;
                }
                if (next < lo) {
                    next = lo;
                }
                if (next <= hi && reads_rows(src)) {
                    next = expand_rows_window(p, src, x, fast_e, w->w_e, ws_e, w->b_e, next, hi, ring, e_scratch);
                } else if (next <= hi && p->pe_prep != NULL && ws_e == NULL && fast_e >= 0) {
                    next = expand_rows(p, xb, next, hi, ring, span, dw_ws != NULL && dw_bytes == 0);
                }
                for (; next <= hi; ++next) {
                    expand_row(p, fast_e, xb, w->w_e, ws_e, w->b_e, next, ring + (size_t)(next % span) * row_bytes,
                               e_scratch);
                }
            }
            for (ky = 0; ky < gd->k_h; ++ky) {
                const int32_t iy = top + ky * gd->dil_h;
                if (iy < 0 || iy >= gd->in_h) {
                    rows[ky] = NULL;
                } else if (p->expand != NULL) {
                    rows[ky] = ring + (size_t)(iy % span) * row_bytes;
                } else {
                    rows[ky] = xb + (size_t)iy * row_bytes;
                }
            }
            if (dw_ws != NULL && dw_bytes == 0) {
                /* the rows of image b numbered apart from the other images' */
                if (p->dw3_live != NULL) {
                    p->dw3_live->rows(p->dw, dw_ws, top + b * (gd->in_h + 4), rows);
                } else {
                    tte_conv2d_s8_dw3_wide_rows(p->dw, dw_ws, top + b * (gd->in_h + 4), rows);
                }
            }
            /* the lowest input byte still to be read from here on (the add reads the rows of
             * the carried pixels too) */
            lo_row = p->expand != NULL ? next * gx->stride_h - gx->pad_top : top;
            if (p->add != NULL && (oy * gd->out_w - c) / gd->out_w < lo_row) {
                lo_row = (oy * gd->out_w - c) / gd->out_w;
            }
            x_lo = src != NULL ? 0 : (uintptr_t)(xb + (size_t)(lo_row < 0 ? 0 : lo_row) * x_row);
            for (ox = 0; ox < gd->out_w;) {
                /* the chunk's first pixel: the first of the c carried ones */
                const size_t pix = (size_t)oy * gd->out_w + ox - c;
                int8_t *yp = yb + (pix - y_pix0) * out_c;
                const int8_t *xp = p->add != NULL ? xb + pix * out_c : xb;
                /* a chunk of k pixels: D's outputs are parked in y behind the chunk's own
                 * outputs, below any input byte still to be read (y may overlap x, see
                 * tte.compiler.fuse.block_overlap), then P and the add run over them at once,
                 * over a multiple of four where the rest can be carried to the next chunk */
                const uintptr_t limit = free_end(yp, y_end, x_lo, x_end);
                int32_t k = (int32_t)((limit - (uintptr_t)yp) / ((uintptr_t)out_c + (uintptr_t)gd->out_c));
                if (k > c + gd->out_w - ox) {
                    k = c + gd->out_w - ox;
                }
                if (c > 0 && k <= c) {
                    /* (no room for a new pixel) P and the add on the carried ones where they are */
                    project_add(p, fast_p, carry, c, w->w_p, w->b_p, yp, xp, pairs, table, side);
                    c = 0;
                    continue;
                }
                if (k >= 2) {
                    int8_t *dk = yp + (limit - (uintptr_t)yp) - (size_t)k * gd->out_c;
                    const int32_t fresh = k - c, row_end = ox + fresh == gd->out_w;
                    int32_t np = k;
                    if (c > 0) {
                        memmove(dk, carry, (size_t)c * gd->out_c);
                    }
                    dw_part(p, fast_d, rows, ox, fresh, w->w_d, w->b_d, dk + (size_t)c * gd->out_c, dw_ws,
                            dw_bytes);
                    if (!row_end || oy + 1 < oy1) {
                        /* the rest is carried; it always fits the next chunk (the room left
                         * is at least its D outputs and P outputs) */
                        np = k >= 4 ? k & ~3 : row_end ? 0 : k & ~1;
                    }
                    if (np > 0) {
                        project_add(p, fast_p, dk, np, w->w_p, w->b_p, yp, xp, pairs, table, side);
                    }
                    ox += fresh;
                    c = k - np;
                    carry = dk + (size_t)np * gd->out_c;
                    continue;
                }
                dw_part(p, fast_d, rows, ox, 1, w->w_d, w->b_d, dbuf, dw_ws, dw_bytes);
                if (p->add == NULL) {
                    project_px(p, fast_p, dbuf, 1, w->w_p, w->b_p, yp, pairs);
                } else {
                    project_px(p, fast_p, dbuf, 1, w->w_p, w->b_p, pbuf, pairs);
                    residual_add(p, xp, pbuf, yp, out_c, table, side);
                }
                ++ox;
            }
        }
        if (reads_rows(src) && oy1 == gd->out_h) {
            window_drain(src, gx, window_of(x));
        }
        if (rg != NULL) {
            rg->next = next;
        }
    }
}

void tte_block_s8(const tte_block_s8_params_t *p, const int8_t *x, const int8_t *w_e, const int32_t *b_e,
                  const int8_t *w_d, const int32_t *b_d, const int8_t *w_p, const int32_t *b_p, int8_t *y,
                  int8_t *scratch)
{
    const tte_block_s8_weights_t w = {w_e, b_e, w_d, b_d, w_p, b_p};
    block_run(p, x, &w, NULL, y, scratch, NULL, NULL);
}

void tte_block_s8_split(const tte_block_s8_params_t *p, const int8_t *x, const tte_split_s8_t *w_e,
                        const int32_t *b_e, const int8_t *w_d, const int32_t *b_d, const int8_t *w_p,
                        const int32_t *b_p, int8_t *y, int8_t *scratch)
{
    const tte_block_s8_weights_t w = {NULL, b_e, w_d, b_d, w_p, b_p};
    block_run(p, x, &w, w_e, y, scratch, NULL, NULL);
}

/* The input of a block with in_rows: the caller's image, or the rows of the window at the end of
 * scratch (tte_block_s8_scratch_bytes), or NULL when src gives no rows */
static const int8_t *rows_input(const tte_block_s8_params_t *p, const tte_block_rows_t *src, int8_t *scratch)
{
    if (src->image != NULL) {
        return src->image;
    }
    if (src->read_row == NULL || p->expand == NULL || !p->in_rows) {
        return NULL;
    }
    return scratch + (size_t)(tte_block_s8_scratch_bytes(p)
                              - window_rows(&p->expand->g) * p->expand->g.in_w * p->expand->g.in_c);
}

void tte_block_s8_rows(const tte_block_s8_params_t *p, const tte_block_rows_t *src, const int8_t *w_e,
                       const int32_t *b_e, const int8_t *w_d, const int32_t *b_d, const int8_t *w_p,
                       const int32_t *b_p, int8_t *y, int8_t *scratch)
{
    const int8_t *const x = rows_input(p, src, scratch);
    const tte_block_s8_weights_t w = {w_e, b_e, w_d, b_d, w_p, b_p};
    if (x != NULL) {
        block_run(p, x, &w, NULL, y, scratch, src, NULL);
    }
}

void tte_block_s8_split_rows(const tte_block_s8_params_t *p, const tte_block_rows_t *src,
                             const tte_split_s8_t *w_e, const int32_t *b_e, const int8_t *w_d, const int32_t *b_d,
                             const int8_t *w_p, const int32_t *b_p, int8_t *y, int8_t *scratch)
{
    const int8_t *const x = rows_input(p, src, scratch);
    const tte_block_s8_weights_t w = {NULL, b_e, w_d, b_d, w_p, b_p};
    if (x != NULL) {
        block_run(p, x, &w, w_e, y, scratch, src, NULL);
    }
}

/* ---- two blocks run together (tte_block_s8_pair) ----
 *
 * B's output rows are made one at a time. Before each, the pair runs B's E on the rows of E's
 * output that D's window needs, each after A has made the rows of its output that E row reads
 * and none made before; then block_run of B makes the output row from its ring, every E row it
 * reads there (its input given as an image: it reads none). Where every E row of B reads one new
 * row of A's output alone (a 1x1 E at stride 1), A makes it where nothing else lives until E has
 * read it (pair_where): in B's output from the row to be made next on (PAIR_OUTPUT; E reads it
 * there), else in the ring slot of B's D that the E row then writes (PAIR_SLOTS; E reads it
 * through B's window of its input rows, from pair_row's copy); else into the band, from its first
 * byte, which B's window reads from the same way. A's rows that no E row reads are made last,
 * where nothing reads them (A's own input is read to its end). Both keep their ring, window and
 * E's next row in their scratch across the calls; neither runs inside the other, so the deepest
 * stack path is one block's. */

enum { PAIR_BAND, PAIR_SLOTS, PAIR_OUTPUT };

typedef struct {
    /* B's input: pair_row on this state for B's window while the pair runs E (image NULL), an
     * image while block_run makes B's output rows (none read: every E row they read made) */
    tte_block_rows_t src;
    int32_t where;         /* where A makes its rows (PAIR_BAND, PAIR_SLOTS, PAIR_OUTPUT) */
    int32_t band;          /* the band's bytes: rows and the room to park A's D outputs */
    int32_t made;          /* the rows of A's output made so far */
    int32_t base;          /* b * A's out_h: image b's rows as B's window asks for them */
    int32_t row_bytes;
    int32_t fast_e;        /* B's E's expand_fast_rq, found once a call */
    block_range_t rg[2];   /* A's and B's ranges (E's next row and D's rows kept in each) */
    const tte_block_s8_pair_t *p;
    int8_t *ring;          /* B's ring of E's rows */
    /* block_run's arguments for A (0) and B (1): y[0] A's last rows made, y[1] image b's output */
    const int8_t *x[2];
    int8_t *y[2];
    int8_t *s[2];
    const tte_block_rows_t *a_src;
} pair_state_t;

/* its bytes in scratch, the same on every target (tte.compiler.emit.block.PAIR_STATE_BYTES) */
#define PAIR_STATE_BYTES 192
typedef char pair_state_fits[sizeof(pair_state_t) <= PAIR_STATE_BYTES ? 1 : -1];

static int32_t align8(int32_t n)
{
    return (n + 7) & ~7;
}

/* The rows of B's D input (E's output) that D's output row oy reads: *lo to the one returned */
static int32_t pair_d_rows(const tte_conv2d_geom_t *gd, int32_t oy, int32_t *lo)
{
    const int32_t top = oy * gd->stride_h - gd->pad_top;
    const int32_t hi = top + (gd->k_h - 1) * gd->dil_h;
    *lo = top < 0 ? 0 : top;
    return hi < gd->in_h - 1 ? hi : gd->in_h - 1;
}

/* The last row of A's output B's E row r reads (the last one its window asks for) */
static int32_t pair_e_last(const tte_conv2d_geom_t *ge, int32_t r)
{
    const int32_t last = r * ge->stride_h - ge->pad_top + (ge->k_h - 1) * ge->dil_h;
    return last < ge->in_h - 1 ? last : ge->in_h - 1;
}

/* The rows of A's output the band holds: the most that one E row of B needs made (E's rows in
 * block_run's order: for each output row, from the first D reads not yet made to its last) */
static int32_t pair_band_rows(const tte_block_s8_pair_t *p)
{
    const tte_conv2d_geom_t *gd = &p->second->dw->g, *ge = &p->second->expand->g;
    int32_t made = 0, most = 0, next = 0, oy, lo, hi;
    for (oy = 0; oy < gd->out_h; ++oy) {
        hi = pair_d_rows(gd, oy, &lo);
        for (next = next < lo ? lo : next; next <= hi; ++next) {
            const int32_t last = pair_e_last(ge, next);
            if (last + 1 - made > most) {
                most = last + 1 - made;
            }
            if (last + 1 > made) {
                made = last + 1;
            }
        }
    }
    return most;
}

/* A's output row bytes, and the room after the band's rows where A parks D's outputs: one row of
 * them, so that every chunk of A takes a whole row */
static int32_t pair_row_bytes(const tte_block_s8_pair_t *p)
{
    const tte_conv2d_geom_t *gp = &p->first->project->g;
    return gp->out_w * gp->out_c;
}

static int32_t pair_park_bytes(const tte_block_s8_pair_t *p)
{
    const tte_conv2d_geom_t *gd = &p->first->dw->g;
    return gd->out_w * gd->out_c;
}

/* B's D's ring rows' bytes */
static int32_t pair_slot_bytes(const tte_block_s8_pair_t *p)
{
    const tte_conv2d_geom_t *gd = &p->second->dw->g;
    return gd->in_w * gd->in_c;
}

/* B's output row bytes */
static int32_t pair_out_row_bytes(const tte_block_s8_pair_t *p)
{
    const tte_conv2d_geom_t *gp = &p->second->project->g;
    return gp->out_w * gp->out_c;
}

/* Where A makes its rows. Where each E row r of B reads A's row r alone (a 1x1 E at stride 1,
 * one new row each: the band's one): in B's output from the row block_run makes next on, where
 * its last row holds one of A's (E reads it there, as an image of one row; B then has no window),
 * else in the slot of B's ring E's row r is written to, where a slot holds one (it holds a row D
 * reads no more, the ring's invariant, until E writes it, after pair_row has copied A's row into
 * B's window); else in the band. */
static int32_t pair_where(const tte_block_s8_pair_t *p)
{
    const tte_conv2d_geom_t *ge = &p->second->expand->g;
    if (ge->k_h != 1 || ge->stride_h != 1 || ge->pad_top != 0 || pair_band_rows(p) != 1) {
        return PAIR_BAND;
    }
    if (pair_out_row_bytes(p) >= pair_row_bytes(p)) {
        return PAIR_OUTPUT;
    }
    return pair_slot_bytes(p) >= pair_row_bytes(p) ? PAIR_SLOTS : PAIR_BAND;
}

int32_t tte_block_s8_pair_scratch_bytes(const tte_block_s8_pair_t *p)
{
    const int32_t band = pair_where(p) == PAIR_BAND ? pair_band_rows(p) * pair_row_bytes(p) + pair_park_bytes(p) : 0;
    return align8(tte_block_s8_scratch_bytes(p->second)) + align8(tte_block_s8_scratch_bytes(p->first))
           + PAIR_STATE_BYTES + band;
}

/* B's window's reader: row (of image base / in_h) of A's output from y[0], which holds A's last
 * range, rows rg[0].y_row to made */
static void pair_row(void *ctx, int32_t row, int8_t *dst)
{
    const pair_state_t *st = (const pair_state_t *)ctx;
    const int32_t r = row - st->base;
    if (r >= st->rg[0].y_row && r < st->made) {
        memcpy(dst, st->y[0] + (size_t)(r - st->rg[0].y_row) * st->row_bytes, (size_t)st->row_bytes);
    }
}

/* block_run of A (k 0) or B (k 1) on its range st->rg[k], every argument from st: the pair's frame,
 * on the deepest stack path, keeps few values (inlined there: one frame) */
static TTE_ALWAYS_INLINE void pair_block(pair_state_t *st, int32_t k)
{
    block_run(k == 0 ? st->p->first : st->p->second, st->x[k], k == 0 ? st->p->first_w : st->p->second_w, NULL,
              st->y[k], st->s[k], k == 0 ? st->a_src : &st->src, &st->rg[k]);
}

/* st set up for a call (the part that block_run's frame need not sit on); 0: no input */
static TTE_NOINLINE int32_t pair_begin(const tte_block_s8_pair_t *p, pair_state_t *st, const tte_block_rows_t *src,
                                       const int8_t *x, int8_t *scratch)
{
    int8_t *const sa = scratch + align8(tte_block_s8_scratch_bytes(p->second));
    st->p = p;
    st->s[0] = sa;
    st->s[1] = scratch;
    st->a_src = src;
    st->x[0] = src != NULL ? rows_input(p->first, src, sa) : x;
    st->src.image = NULL;
    st->src.read_row = pair_row;
    st->src.ctx = st;
    st->where = pair_where(p);
    /* B's input: its window (none where A's rows are in its output: then any byte, never read) */
    st->x[1] = st->where == PAIR_OUTPUT ? scratch : rows_input(p->second, &st->src, scratch);
    st->row_bytes = pair_row_bytes(p);
    st->band = st->where == PAIR_BAND ? pair_band_rows(p) * st->row_bytes + pair_park_bytes(p) : 0;
    st->fast_e = expand_fast_rq(p->second);
    st->ring = scratch + ring_offset(p->second);
    return st->x[0] != NULL && st->x[1] != NULL;
}

/* A's rows [made, last] to be made next, into dst (room up to end) */
static void pair_a_rows(pair_state_t *st, int32_t last, int8_t *dst, int8_t *end)
{
    st->rg[0].oy0 = st->made;
    st->rg[0].oy1 = last + 1;
    st->rg[0].y_row = st->made;
    st->rg[0].y_end = end;
    st->y[0] = dst;
    st->made = last + 1;
}

/* B's E row r (every row of A's output it reads made) into its slot of D's ring: from A's row
 * where A made it (PAIR_OUTPUT), else through B's window */
static TTE_NOINLINE void pair_expand(const tte_block_s8_params_t *b, pair_state_t *st, int32_t r)
{
    void *const e_scratch = expand_bytes(b) > 0 ? st->s[1] : NULL;
    if (st->where == PAIR_OUTPUT) {
        const int8_t *const row = st->y[0] + (size_t)(r - st->rg[0].y_row) * st->row_bytes;
        int8_t *const slot = st->ring + (size_t)(r % ring_span(&b->dw->g)) * pair_slot_bytes(st->p);
        expand_row(b, st->fast_e, row, st->p->second_w->w_e, NULL, st->p->second_w->b_e, 0, slot, e_scratch);
    } else {
        expand_rows_window(b, &st->src, st->x[1], st->fast_e, st->p->second_w->w_e, NULL, st->p->second_w->b_e, r, r,
                           st->ring, e_scratch);
    }
}

/* A's next rows, up to row last, for B's E row r (B's output row oy next; r < 0: rows no E row
 * reads): where they are made (pair_where), in B's output as many as it holds (at least one) */
static void pair_a_next(const tte_block_s8_pair_t *p, pair_state_t *st, int32_t r, int32_t oy, int32_t last)
{
    int8_t *dst, *end;
    if (st->where == PAIR_OUTPUT) {
        int32_t fit;
        dst = st->y[1] + (size_t)oy * pair_out_row_bytes(p);
        fit = (int32_t)((st->rg[1].y_end - dst - pair_park_bytes(p)) / st->row_bytes);
        fit = fit > 1 ? fit : 1;
        pair_a_rows(st, last - st->made + 1 > fit ? st->made + fit - 1 : last, dst, st->rg[1].y_end);
        return;
    }
    if (r < 0) { /* B's window: E has read it for the last time */
        dst = (int8_t *)(uintptr_t)st->x[1];
        end = dst + (size_t)window_rows(&p->second->expand->g) * st->row_bytes;
    } else if (st->where == PAIR_SLOTS) {
        dst = st->ring + (size_t)(r % ring_span(&p->second->dw->g)) * pair_slot_bytes(p);
        end = dst + pair_slot_bytes(p);
    } else {
        dst = (int8_t *)(void *)st + PAIR_STATE_BYTES;
        end = dst + st->band;
    }
    pair_a_rows(st, r < 0 ? st->made : last, dst, end);
}

/* Before B's output row oy: B's E rows D reads, each once A has made the rows it reads. Returns 1
 * where A must first make rows (its range and y[0] set; called again after), else 0: B's E rows
 * are there (and, before the last row, A's rows no E row reads have been made). */
static TTE_NOINLINE int32_t pair_feed(const tte_block_s8_pair_t *p, pair_state_t *st, int32_t oy)
{
    const tte_block_s8_params_t *const b = p->second;
    const tte_conv2d_geom_t *gd = &b->dw->g, *ge = &b->expand->g;
    int32_t lo, next = st->rg[1].next;
    const int32_t hi = pair_d_rows(gd, oy, &lo);
    st->src.image = NULL;
    for (next = next < lo ? lo : next; next <= hi; ++next) {
        if (pair_e_last(ge, next) >= st->made) {
            /* (in B's output: every row this output row's E rows read that it holds) */
            st->rg[1].next = next;
            pair_a_next(p, st, next, oy, pair_e_last(ge, st->where == PAIR_OUTPUT ? hi : next));
            return 1;
        }
        pair_expand(b, st, next);
    }
    st->rg[1].next = next;
    if (oy == gd->out_h - 1 && st->made < ge->in_h) {
        pair_a_next(p, st, -1, oy, ge->in_h - 1);
        return 1;
    }
    st->src.image = st->x[1];
    return 0;
}

void tte_block_s8_pair(const tte_block_s8_pair_t *p, const tte_block_rows_t *src, const int8_t *x, int8_t *y,
                       int8_t *scratch)
{
    pair_state_t *const st = (pair_state_t *)(void *)(scratch + align8(tte_block_s8_scratch_bytes(p->second))
                                                      + align8(tte_block_s8_scratch_bytes(p->first)));
    const tte_conv2d_geom_t *gd = &p->second->dw->g;
    const size_t y_image = (size_t)gd->out_h * gd->out_w * p->second->project->g.out_c;
    int32_t b, oy;
    if (!pair_begin(p, st, src, x, scratch)) {
        return; /* A's input given by neither an image nor a reader */
    }
    for (b = 0; b < gd->batch; ++b) {
        st->made = 0;
        st->base = b * p->first->project->g.out_h;
        st->rg[0].b = st->rg[1].b = b;
        st->rg[0].next = st->rg[1].next = 0;
        st->rg[1].y_row = 0;
        st->y[1] = y + (size_t)b * y_image;
        st->rg[1].y_end = st->y[1] + y_image;
        if (st->where != PAIR_OUTPUT) {
            in_window_t *const win = window_of(st->x[1]);
            win->n = 0;
            win->ask = 0;
            win->base = st->base;
        }
        for (oy = 0; oy < gd->out_h; ++oy) {
            while (pair_feed(p, st, oy)) {
                pair_block(st, 0);
            }
            st->rg[1].oy0 = oy;
            st->rg[1].oy1 = oy + 1;
            pair_block(st, 1);
        }
    }
}
