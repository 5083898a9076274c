/* Streamed int8 inverted-residual block: [conv E ->] depthwise D -> 1x1 P [-> add of x]. */
#ifndef TTE_BLOCK_H
#define TTE_BLOCK_H
#include "tte/common.h"
#include "tte/conv.h"
#include "tte/elementwise.h"
#include "tte/split.h"

/* The parameters of the unfused ops, exactly as tte_conv2d_s8 / tte_add_s8 take them
 * (whole-tensor geometry). expand == NULL: the depthwise reads x directly. add == NULL: no
 * residual; otherwise y = add(x, P(...)) when residual_first, else add(P(...), x). */
typedef struct {
    const tte_conv2d_s8_params_t *expand;
    const tte_conv2d_s8_params_t *dw;
    const tte_conv2d_s8_params_t *project;
    const tte_add_s8_params_t *add;
    int32_t residual_first;
    /* D's weights laid out at compile time for tte_conv2d_s8_dw_row_prep (frozen weights), or NULL */
    const uint32_t *dw_prep;
    /* P's weights and biases laid out at compile time for tte_conv2d_s8_pointwise_prep_px
     * (tte.compiler.emit.block.pw_layout; frozen weights; up to 24 input channels for
     * tte_conv2d_s8_pointwise_small_prep_px), or NULL */
    const uint32_t *pw_prep;
    /* E's weights and biases laid out at compile time for tte_conv2d_s8_pointwise_small_prep_ring
     * (tte.compiler.emit.block.pe_layout; frozen weights, a plain 1x1: the rows D's window takes
     * next in one call, up to three ahead where D keeps its rows widened), or NULL */
    const uint32_t *pe_prep;
    /* nonzero: with E and a D that tte_conv2d_s8_dw3_wide_bytes takes, that many bytes of scratch
     * of its own for D's window rows, each widened once; else D's scratch (P's pair buffer) holds
     * at least tte_conv2d_s8_dw_ws_bytes (a 3x3 D) or tte_conv2d_s8_dw57_pad_bytes (a 5x5 or
     * 7x7), for D over a padded copy of its rows (tte.compiler.emit.block.DW_PAD_META) */
    int32_t dw_pad;
    /* nonzero (without E and the add only): scratch holds D's outputs of a whole image too, so D
     * runs over every pixel first and P once over them all, each flash weight of P's read once
     * per image, not once per chunk of pixels (tte.compiler.emit.block.DW_ALL_META) */
    int32_t dw_all;
    /* pw_prep in the doubled layout (tte.compiler.emit.block.pwd_layout): its kernels,
     * tte_conv2d_s8_pointwise_prepd_px and _prepd_all_px (below 32 inputs
     * tte_conv2d_s8_pointwise_small_prepd_px and NULL), named here so that only an image that
     * reads the layout links them; NULL: pw_prep in pw_layout's form */
    tte_pw_prep_fn pw_doubled_px;
    tte_pw_prep_fn pw_doubled_all_px;
    /* D's output rows of a 3x3 window, stride 1 or 2, laid out at compile time for
     * tte_conv2d_s8_dw_row_blk_ws (tte.compiler.emit.block.dw3_blocks_layout; frozen weights), and
     * that kernel, named here so that only an image that reads the blocks links it; NULL, NULL: none.
     * With dw3s2, tte_conv2d_s8_dw3s2_row_blk (the blocks, if any, for the segments it leaves) */
    tte_dw_row_blk_fn dw3_row_blk;
    const uint32_t *dw3_blocks;
    /* D's weights laid out with biases 0 (tte.compiler.emit.block.dw_layout of a D whose bias a
     * step trains, its weights frozen; dw_prep NULL) and the dw3_wide functions that add the live
     * biases (&tte_conv2d_s8_dw3_wide_live), where D keeps its rows widened (dw_pad with E); else
     * NULL, NULL */
    const uint32_t *dw_prep_live;
    const tte_dw3_wide_ops_t *dw3_live;
    /* nonzero: x is the model's input, given row by row (tte_block_s8_rows; with E, without the
     * add): scratch ends with a window of E's kernel rows of it, from an 8-byte boundary a 16-byte
     * head, then (k_h - 1) * dil_h + 1 rows of in_w * in_c bytes
     * (tte.compiler.emit.block.input_window_bytes) */
    int32_t in_rows;
    /* tte_conv2d_s8_fast_rq of D, P and E as the compiler found it (their multipliers and shifts
     * are constants): TTE_BLOCK_RQ_KNOWN, with TTE_BLOCK_RQ_D, _P, _E where it holds, so that no
     * call walks every channel's multiplier and shift again; 0: each call finds it */
    int32_t rq_fast;
    /* E, the RGB stem, laid out at compile time (tte.compiler.emit.block.stem3_layout; frozen
     * weights) and its kernel, tte_conv2d_s8_stem3_prep, named here so that only an image that
     * reads such a layout links it; NULL, NULL: none */
    tte_stem3_prep_fn stem3;
    const uint32_t *stem_prep;
    /* without E and the add, a 3x3 stride-2 D whose dw_prep holds the pixel-pair words
     * (tte.compiler.emit.block.dw_layout): tte_conv2d_s8_dw3s2_ws for whole output rows, named
     * here so that only an image that reads such a layout links it (its row segments go through
     * dw3_row_blk = tte_conv2d_s8_dw3s2_row_blk); NULL: none */
    tte_dw3s2_fn dw3s2;
} tte_block_s8_params_t;
enum { TTE_BLOCK_RQ_D = 1, TTE_BLOCK_RQ_P = 2, TTE_BLOCK_RQ_E = 4, TTE_BLOCK_RQ_KNOWN = 8 };

/* Where a block that reads the model's input row by row (in_rows) gets it: the whole image, read
 * in place (no copy), or, image NULL, read_row(ctx, row, dst), which writes one row (in_w * in_c
 * bytes) of E's input to dst. Rows are asked for once each, in increasing order 0 .. in_h - 1
 * (image b of a batch: b * in_h + row), rows E reads none of included (asked and dropped), so a
 * camera that delivers the image row by row can feed it without keeping the image. */
typedef struct {
    const int8_t *image;
    void (*read_row)(void *ctx, int32_t row, int8_t *dst);
    void *ctx;
} tte_block_rows_t;

/* Bytes of scratch tte_block_s8 needs: E's kernel scratch (tte_conv2d_s8_scratch_bytes,
 * when expand != NULL), the add's (tte_add_s8_scratch_bytes of one output image, when add !=
 * NULL), P's pixel-pair buffer (8 * P's in_c from 32 input
 * channels on, tte_conv2d_s8_pointwise_px_buf; given dw_pad, D's widened rows before it), a ring of (k_h - 1) * dil_h + 1 rows of E's output (when expand !=
 * NULL), one pixel of D's output (two without expand and add; then a whole image's more
 * where dw_all), and one pixel of P's output (when add); with in_rows, then the window of the
 * input's rows, from an 8-byte boundary. scratch must be 8-byte aligned. */
int32_t tte_block_s8_scratch_bytes(const tte_block_s8_params_t *p);

/* y = the block of x, computed output row by output row; bit-identical to running the ops
 * one after the other. Biases may be NULL (w_e, b_e unused without expand). scratch holds
 * tte_block_s8_scratch_bytes(p) bytes; its content on entry does not matter. y must not
 * overlap scratch; it may overlap x as tte.compiler.fuse.block_overlap allows (output row oy only
 * over input rows no later read needs). The bytes of y not written yet serve as scratch
 * too, below any input byte still to be read. */
void tte_block_s8(const tte_block_s8_params_t *p, const int8_t *x, const int8_t *w_e, const int32_t *b_e,
                  const int8_t *w_d, const int32_t *b_d, const int8_t *w_p, const int32_t *b_p, int8_t *y,
                  int8_t *scratch);
/* The same with E's weights split (tte/split.h; E must exist, groups 1). */
void tte_block_s8_split(const tte_block_s8_params_t *p, const int8_t *x, const tte_split_s8_t *w_e,
                        const int32_t *b_e, const int8_t *w_d, const int32_t *b_d, const int8_t *w_p,
                        const int32_t *b_p, int8_t *y, int8_t *scratch);
/* tte_block_s8 / tte_block_s8_split of a block with in_rows, its input x from src: the same bytes
 * in y. With neither src->image nor src->read_row, nothing runs (y is not written). */
void tte_block_s8_rows(const tte_block_s8_params_t *p, const tte_block_rows_t *src, const int8_t *w_e,
                       const int32_t *b_e, const int8_t *w_d, const int32_t *b_d, const int8_t *w_p,
                       const int32_t *b_p, int8_t *y, int8_t *scratch);
void tte_block_s8_split_rows(const tte_block_s8_params_t *p, const tte_block_rows_t *src,
                             const tte_split_s8_t *w_e, const int32_t *b_e, const int8_t *w_d, const int32_t *b_d,
                             const int8_t *w_p, const int32_t *b_p, int8_t *y, int8_t *scratch);

/* A block's weights and biases, as tte_block_s8 takes them (NULL where it has none) */
typedef struct {
    const int8_t *w_e;
    const int32_t *b_e;
    const int8_t *w_d;
    const int32_t *b_d;
    const int8_t *w_p;
    const int32_t *b_p;
} tte_block_s8_weights_t;

/* Two streamed blocks run together (tte.compiler.fuse.pair_blocks): the second (with E, without
 * the add, in_rows) reads the first's output, whose only reader it is, row by row, so that the
 * first's output never exists whole: the second's output rows are made one at a time, each E row
 * of the second once the first has made the rows of its output that E row reads. */
typedef struct {
    const tte_block_s8_params_t *first;
    const tte_block_s8_weights_t *first_w;
    const tte_block_s8_params_t *second;
    const tte_block_s8_weights_t *second_w;
} tte_block_s8_pair_t;

/* Bytes of scratch tte_block_s8_pair needs: the second block's, from an 8-byte boundary the
 * first's, from another a 192-byte state, then the band: the most rows of the first's output one E
 * row of the second reads that none before it read, and one row of the first's depthwise's outputs
 * more (where its chunks park them). Where the second's E is a 1x1 at stride 1 (its row r reads
 * the first's row r), no band: the first makes its rows in the second's output, from the row it
 * makes next on, where an output row holds one (the second, its in_rows 0, then has no window of
 * input rows), else in the second's ring slots, where a slot holds one (the second's in_rows 1:
 * its window copies each out). scratch must be 8-byte aligned. */
int32_t tte_block_s8_pair_scratch_bytes(const tte_block_s8_pair_t *p);

/* y = second(first(x)), the bytes of tte_block_s8 run on each in turn. The first block reads x, or
 * with in_rows the model's input from src (x unused; with neither src->image nor src->read_row
 * nothing runs). y must not overlap x or scratch. */
void tte_block_s8_pair(const tte_block_s8_pair_t *p, const tte_block_rows_t *src, const int8_t *x, int8_t *y,
                       int8_t *scratch);

#endif
