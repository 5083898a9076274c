/* int8 convolution and fully connected (TFLite semantics, batch-major NHWC). */
#ifndef TTE_CONV_H
#define TTE_CONV_H
#include "tte/common.h"

/* Geometry of a 2-D convolution; weights are [out_c, k_h, k_w, in_c / groups].
 * Depthwise (with channel multiplier) is groups == in_c. */
typedef struct {
    int32_t batch, in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_top, pad_left;
    int32_t groups;
} tte_conv2d_geom_t;

typedef struct {
    tte_conv2d_geom_t g;
    int32_t in_zp;            /* input zero point (weights are symmetric, zero point 0) */
    int32_t out_zp;
    int32_t act_min, act_max; /* fused activation range in the output domain */
    const int32_t *mult;      /* per output channel requantization multiplier */
    const int32_t *shift;     /* per output channel shift (TFLite convention) */
} tte_conv2d_s8_params_t;

/* bias may be NULL. Picks the pointwise / depthwise fast path when it applies; a path that
 * needs kernel scratch (see tte_conv2d_s8_ws) takes the generic loop nest instead. */
void tte_conv2d_s8(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                   const int32_t *bias, int8_t *y);
/* Bytes of kernel scratch tte_conv2d_s8_ws takes for p: TTE_CONV_WINDOW_SCRATCH where the
 * dispatcher picks the window path of a regular conv (groups 1, not a plain 1x1, more than 32
 * window values, at most 64 output channels), else 0; the same on every target (only the
 * ARMv7E-M DSP build reads it), so one memory plan holds for all. The window path's
 * widened inputs and sums live there, not on the stack. */
#define TTE_CONV_WINDOW_SCRATCH 1280
int32_t tte_conv2d_s8_scratch_bytes(const tte_conv2d_s8_params_t *p);
/* Bytes of a plain 1x1 conv's optional pixel buffer (see tte_conv2d_s8_ws) where it changes the
 * path: 8 * in_c for in_c a multiple of 8 above TTE_PW_PAIRS_STACK / 2; else 0. */
int32_t tte_conv2d_s8_pointwise_buffer_bytes(const tte_conv2d_s8_params_t *p);
/* tte_conv2d_s8 with kernel scratch: tte_conv2d_s8_scratch_bytes(p) bytes, 8-byte aligned,
 * its content on entry does not matter (NULL: as tte_conv2d_s8). The same bytes. A plain 1x1
 * conv (scratch bytes 0) may be given 8 * in_c bytes: the pixel buffer of
 * tte_conv2d_s8_pointwise_px_buf (four pixels a pass beyond TTE_PW_PAIRS_STACK / 2 channels). */
void tte_conv2d_s8_ws(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                      const int32_t *bias, int8_t *y, void *scratch);
/* tte_conv2d_s8_ws with the scratch's size: a plain 1x1 conv given 16 * in_c bytes or more (eight
 * pixels' widened inputs) runs eight pixels a pass from 32 input channels on; the same bytes. */
void tte_conv2d_s8_ws_sized(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                            const int32_t *bias, int8_t *y, void *scratch, int32_t scratch_bytes);
/* The generic loop nest (what the fast paths must equal; exported for tests). */
void tte_conv2d_s8_generic(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                           const int32_t *bias, int8_t *y);

/* The RGB stem (3x3 over three channels, dilated rows allowed, a multiple of four output channels
 * up to eight) over its channels laid out at compile time (tte.compiler.emit.block.stem3_layout:
 * per channel 18 words, its doubled bias, the 27 weights as doubled int16 lanes (2 w0, 2 w2),
 * (2 w1, 2 w3) of each four (the last word's fourth 0), its multiplier, e = ~shift (0 for a
 * multiplier 0) and (2 out_zp + 1) << e), where the compiler found the per-call layout's kernel
 * exact (conv_stem_s8.c's stem3_fits: clamp range all of int8, tte_rq_fast_ok, the input zero
 * point inside int8, every |bias| + 27 255 128 below 2**29): a streamed block's expand conv, no
 * layout made per call. The same bytes as tte_conv2d_s8. */
void tte_conv2d_s8_stem3_prep(const tte_conv2d_s8_params_t *p, const int8_t *x, const uint32_t *lay, int8_t *y);
typedef void (*tte_stem3_prep_fn)(const tte_conv2d_s8_params_t *p, const int8_t *x, const uint32_t *lay, int8_t *y);

/* Building blocks of tte_conv2d_s8 that tte_block_s8 and tte_conv2d_s8_split reuse.
 * fast_rq: whether the fast output stage is exact for every channel (tte_rq_fast_ok);
 * pass its result as `fast`. pointwise_px: a 1x1 conv of npx consecutive pixels.
 * dw_pixel: one output pixel (every channel) of a depthwise conv whose tap ky reads input
 * row rows[ky] (NULL: outside the image); dw_row: its pixels [ox0, ox0 + k) of one output
 * row, pixel i at out + i * ostride. */
int32_t tte_conv2d_s8_fast_rq(const tte_conv2d_s8_params_t *p);
void tte_conv2d_s8_pointwise_px(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, int32_t npx,
                                const int8_t *w, const int32_t *bias, int8_t *y);
void tte_conv2d_s8_dw_pixel(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows, int32_t ox,
                            const int8_t *w, const int32_t *bias, int8_t *out);
/* A 1x1 conv whose weight is split by input channel: ia[j] (j < na) against rows of wa (na
 * per output channel), ib[j] (j < nb) against wb. Returns 0, doing nothing, where it has no
 * fast path (then the caller loops). */
int32_t tte_conv2d_s8_pointwise_gather_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                          const int32_t *ia, int32_t na, const int8_t *wa, const int32_t *ib,
                                          int32_t nb, const int8_t *wb, const int32_t *bias, int8_t *y);
void tte_conv2d_s8_dw_row(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows, int32_t ox0,
                          int32_t k, const int8_t *w, const int32_t *bias, int8_t *out, size_t ostride);
/* dw_row with the weights also laid out at compile time (tte.compiler.emit.block.dw_prepared;
 * NULL: none): for each four channels c..c+3 below in_c & ~3, the int32 bias[c + j] - in_zp *
 * (the sum of channel c + j's taps) for j < 4, then per tap two words, the int16 weights of
 * channels c and c + 2 and of c + 1 and c + 3 (low halfword first). Read on the ARMv7E-M DSP
 * path for multiplier 1, dilation 1 and at most 49 taps; the same bytes as dw_row. */
void tte_conv2d_s8_dw_row_prep(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                               int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias, const uint32_t *prep,
                               int8_t *out, size_t ostride);
/* dw_row_prep over whole output rows [oy0, oy0 + nrows) of image xb, one after the other
 * at out (out_c apart) */
void tte_conv2d_s8_dw_rows_prep(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *xb, int32_t oy0,
                                int32_t nrows, const int8_t *w, const int32_t *bias, const uint32_t *prep, int8_t *out);
/* dw_row_prep and dw_rows_prep with ws_bytes of scratch at ws (4-byte aligned; NULL: none):
 * with 24 * (pixels a row + 2) bytes (48 for two channel groups a pass, from eight channels
 * on) a 3x3 stride-1 window over a sign-extended copy of its rows there, the same bytes (at
 * stride 2, tte_conv2d_s8_dw3s2_ws's: 48 or 96 bytes a pixel + 2).
 * tte_conv2d_s8_dw_ws_bytes: the scratch that suits any call of geometry g (0: none is read). */
size_t tte_conv2d_s8_dw_ws_bytes(const tte_conv2d_geom_t *g);
/* A 3x3 stride-2 depthwise (multiplier 1, dilation 1, a multiple of four channels) over output
 * pixels [ox0, ox0 + k) of nrows output rows of image xb from row oy0 on (xb NULL: one row of
 * window rows `rows`), outputs ostride apart, through a sign-extended copy of its window rows in
 * ws (tte_conv2d_s8_dw_ws_bytes for any call), reading the pixel-pair words that
 * tte/compiler/emit/block.py's dw_layout puts after prep's for a streamed block without E and
 * the add: returns whether it ran (the DSP path, the output stage of mode 2); 0, nothing written */
int32_t tte_conv2d_s8_dw3s2_ws(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                               const int8_t *xb, int32_t nrows, int32_t oy0, int32_t ox0, int32_t k,
                               const int32_t *bias, const uint32_t *prep, int8_t *out, size_t ostride, void *ws,
                               size_t ws_bytes);
/* tte_conv2d_s8_dw_row_blk_ws's call (tte_dw_row_blk_fn, below) of such a block's row segments:
 * tte_conv2d_s8_dw3s2_ws on one output row where it takes it, else tte_conv2d_s8_dw_row_blk_ws */
void tte_conv2d_s8_dw3s2_row_blk(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                                 int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias, const uint32_t *prep,
                                 int8_t *out, size_t ostride, void *ws, size_t ws_bytes, const uint32_t *blocks);
typedef int32_t (*tte_dw3s2_fn)(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                                const int8_t *xb, int32_t nrows, int32_t oy0, int32_t ox0, int32_t k,
                                const int32_t *bias, const uint32_t *prep, int8_t *out, size_t ostride, void *ws,
                                size_t ws_bytes);
/* dw_row_prep_ws's scratch for a square 5x5 or 7x7 window (stride 1) over a padded,
 * sign-extended copy of its rows: 8 * k_h * ((k - 1) * stride_w + k_w) bytes for k pixels;
 * this for a whole output row (0: not such a window) */
size_t tte_conv2d_s8_dw57_pad_bytes(const tte_conv2d_geom_t *g);
/* A 3x3 stride-1 depthwise (multiplier 1, dilation 1, a multiple of four channels) over three
 * input rows kept sign-extended and padded across calls (a streamed block's ring, each row
 * widened once) in scratch ws of tte_conv2d_s8_dw3_wide_bytes (0: not such a depthwise; 4-byte
 * aligned): tte_conv2d_s8_dw3_wide_init sets it up and returns whether the depthwise takes
 * it (the output stage, weights laid out at compile time in prep, the DSP path; else 0 and the
 * caller takes dw_row_prep_ws); then, per output row, whose window starts at row top (an input
 * row's number, offset per image so that no two images share one), tte_conv2d_s8_dw3_wide_rows widens those of
 * its window rows (rows[ky]: row top + ky, NULL in the padding) not held yet (each once, in
 * order), and
 * tte_conv2d_s8_dw3_wide_row runs output pixels [ox0, ox0 + k) of that row (the last given to
 * wide_rows), the bytes dw_row_prep gives. */
size_t tte_conv2d_s8_dw3_wide_bytes(const tte_conv2d_geom_t *g);
int32_t tte_conv2d_s8_dw3_wide_init(const tte_conv2d_s8_params_t *p, int32_t fast, const int32_t *bias,
                                    const uint32_t *prep, void *ws);
void tte_conv2d_s8_dw3_wide_rows(const tte_conv2d_s8_params_t *p, void *ws, int32_t top, const int8_t *const *rows);
void tte_conv2d_s8_dw3_wide_row(const tte_conv2d_s8_params_t *p, void *ws, int32_t ox0, int32_t k, int8_t *out,
                                size_t ostride);
/* The dw3_wide_* functions over prep with biases 0 (tte.compiler.emit.block.dw_layout of a
 * depthwise whose bias a step trains, its weights frozen): tte_conv2d_s8_dw3_wide_init_b adds
 * the live biases to the layout's folded ones once per call, in its scratch of
 * tte_conv2d_s8_dw3_wide_b_bytes (8 words more per pass of eight channels), and the rows read
 * them there, the same loop as over a layout's biases; the same bytes as dw_row_prep over the
 * compile-time layout of those biases. tte_conv2d_s8_dw3_wide_live names the four, so that only
 * an image whose block reads such a layout links them (tte_block_s8_params_t.dw3_live). */
size_t tte_conv2d_s8_dw3_wide_b_bytes(const tte_conv2d_geom_t *g);
int32_t tte_conv2d_s8_dw3_wide_init_b(const tte_conv2d_s8_params_t *p, int32_t fast, const int32_t *bias,
                                      const uint32_t *prep, void *ws);
void tte_conv2d_s8_dw3_wide_rows_b(const tte_conv2d_s8_params_t *p, void *ws, int32_t top, const int8_t *const *rows);
void tte_conv2d_s8_dw3_wide_row_b(const tte_conv2d_s8_params_t *p, void *ws, int32_t ox0, int32_t k, int8_t *out,
                                  size_t ostride);
typedef struct {
    size_t (*bytes)(const tte_conv2d_geom_t *g);
    int32_t (*init)(const tte_conv2d_s8_params_t *p, int32_t fast, const int32_t *bias, const uint32_t *prep,
                    void *ws);
    void (*rows)(const tte_conv2d_s8_params_t *p, void *ws, int32_t top, const int8_t *const *rows);
    void (*row)(const tte_conv2d_s8_params_t *p, void *ws, int32_t ox0, int32_t k, int8_t *out, size_t ostride);
} tte_dw3_wide_ops_t;
extern const tte_dw3_wide_ops_t tte_conv2d_s8_dw3_wide_live;
void tte_conv2d_s8_dw_row_prep_ws(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                                  int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias, const uint32_t *prep,
                                  int8_t *out, size_t ostride, void *ws, size_t ws_bytes);
void tte_conv2d_s8_dw_rows_prep_ws(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *xb, int32_t oy0,
                                   int32_t nrows, const int8_t *w, const int32_t *bias, const uint32_t *prep,
                                   int8_t *out, void *ws, size_t ws_bytes);
/* dw_row_prep_ws with a 3x3 depthwise's output rows of stride 1 or 2 also laid out at compile
 * time (tte.compiler.emit.block.dw3_blocks_layout; NULL: none): per four channels c..c+3 below
 * in_c & ~3, 41 words: the tap words (rows 0 and 1 of each column as one pair of int16 weights
 * per channel, then row 2's columns 0 and 1 so, then row 2's column 2 as prep's tap words),
 * prep's four biases, per channel the output stage's mult << 1 and ~shift (31 for mult 0), then
 * 2 * out_zp + 1, the biases of a pixel whose left window column is in the padding, of one whose
 * right one is, and row 2's column 1 as prep's tap words. Read on the ARMv7E-M DSP path where
 * every window row is inside and the output stage is tte_rq_fast_s8's; the same bytes. */
typedef void (*tte_dw_row_blk_fn)(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                                  int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias, const uint32_t *prep,
                                  int8_t *out, size_t ostride, void *ws, size_t ws_bytes, const uint32_t *blocks);
void tte_conv2d_s8_dw_row_blk_ws(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *const *rows,
                                 int32_t ox0, int32_t k, const int8_t *w, const int32_t *bias, const uint32_t *prep,
                                 int8_t *out, size_t ostride, void *ws, size_t ws_bytes, const uint32_t *blocks);
/* pointwise_px with a buffer for its pixel-pair path (8 * in_c bytes, 4-byte aligned: two
 * pairs of pixels per pass over the weights; NULL: one pair in the stack's, up to
 * TTE_PW_PAIRS_STACK input channels); with TTE_PW_BUF8 or'ed into fast, 16 * in_c bytes,
 * 8-byte aligned: eight pixels per pass over the weights */
#define TTE_PW_PAIRS_STACK 64
#define TTE_PW_BUF8 2
void tte_conv2d_s8_pointwise_px_buf(const tte_conv2d_s8_params_t *p, int32_t fast, const int8_t *x, int32_t npx,
                                    const int8_t *w, const int32_t *bias, int8_t *y, int16_t *buf);
/* pointwise_px with the weights and biases laid out at compile time (tte.compiler.emit.block.pw_layout,
 * pointwise_s8.c; in_c a multiple of 8 from 32 on, out_c even, every sum within 24 bits, the
 * output stage exact as tte_rq_fast_s8 on them: clamp range [-128, 127], shifts in [-23, -1]),
 * any npx >= 1; buf: 8 * in_c bytes, 4-byte aligned. The same bytes as pointwise_px. */
void tte_conv2d_s8_pointwise_prep_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                     const uint32_t *prep, int8_t *y, int16_t *buf);
/* tte_conv2d_s8_pointwise_prep_px with a live (trained) int32 bias: prep laid out with bias 0
 * (tte.compiler.emit.block.pw_conv_layout's live_bias form), 256 bias[c] added to channel c's
 * prepared bias as each pair's are loaded; every |bias[c]| within the layout's bound (the sums
 * stay within 24 bits; tte_pointwise_bias_fits). The same bytes as pointwise_px. */
void tte_conv2d_s8_pointwise_prep_bias_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                          const uint32_t *prep, const int32_t *bias, int8_t *y, int16_t *buf);
/* Whether every |bias[c]|, c < m, is at most limit (prep_bias_px's condition). */
int32_t tte_pointwise_bias_fits(const int32_t *bias, int32_t m, int32_t limit);
/* Bytes of the buffer of tte_conv2d_s8_pointwise_prep_all_px over npx pixels: every pixel's
 * widened inputs (8 * in_c bytes per four pixels) where the layout is read in more than one pass
 * of channels (more than 3.5 KB over more than four pixels), else 0 (prep_px's buffer does). */
int32_t tte_conv2d_s8_pointwise_prep_all_bytes(const tte_conv2d_s8_params_t *p, int32_t npx);
/* tte_conv2d_s8_pointwise_prep_px with every pixel widened once (not once per pass of channels)
 * into buf, tte_conv2d_s8_pointwise_prep_all_bytes(p, npx) bytes, 4-byte aligned (when that is
 * 0, prep_px's buffer of 8 * in_c bytes). The same bytes. */
void tte_conv2d_s8_pointwise_prep_all_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                         const uint32_t *prep, int8_t *y, int16_t *buf);
/* prep_px and prep_all_px over the doubled layout (tte.compiler.emit.block.pwd_layout: the
 * weights as doubled int16 lanes, twice pw_layout's weight bytes, on the same conditions, where
 * the flash has room), with the same buffers. The same bytes. */
typedef void (*tte_pw_prep_fn)(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx, const uint32_t *prep,
                               int8_t *y, int16_t *buf);
void tte_conv2d_s8_pointwise_prepd_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                      const uint32_t *prep, int8_t *y, int16_t *buf);
void tte_conv2d_s8_pointwise_prepd_all_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                          const uint32_t *prep, int8_t *y, int16_t *buf);
/* The same for a 1x1 whose output zero point is -128 (an output stage one instruction shorter an
 * output: a sum below 0 clamps to out_zp with or without the rounding's [sum < 0]). The same
 * bytes. */
void tte_conv2d_s8_pointwise_prepz_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                      const uint32_t *prep, int8_t *y, int16_t *buf);
void tte_conv2d_s8_pointwise_prepz_all_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                          const uint32_t *prep, int8_t *y, int16_t *buf);
/* pointwise_px with the weights and biases laid out at compile time (tte.compiler.emit.block.pe_layout,
 * pointwise_s8.c; in_c 4 to 24, a multiple of 4; the doubled sums within int32 as pws_fits, the
 * output stage exact as tte_rq_fast_s8 on them: clamp range [-128, 127], shifts in [-21, -1]),
 * any npx >= 1. The same bytes as pointwise_px. */
void tte_conv2d_s8_pointwise_small_prep_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                           const uint32_t *prep, int8_t *y);
/* small_prep_px over pe_layout's words rearranged by pairs of output channels
 * (tte.compiler.emit.block.pwd_layout below 32 inputs, pointwise_small_s8.c: in_c 8, 16 or 24,
 * out_c even, pe_layout's conditions), four pixels by two channels a step; buf unused
 * (tte_pw_prep_fn's). The same bytes as pointwise_px. */
void tte_conv2d_s8_pointwise_small_prepd_px(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                            const uint32_t *prep, int8_t *y, int16_t *buf);
/* small_prep_px on rows consecutive runs of npx pixels of x (run r from x + r npx in_c on), run r's
 * outputs into slot (slot + r) mod slots of ring (slots of npx out_c bytes; slot < slots): a
 * streamed block's rows of E into its ring, each pass of the layout's channels over all of them,
 * so that the layout is read once per call. rows >= 1. The same bytes as small_prep_px per run. */
void tte_conv2d_s8_pointwise_small_prep_ring(const tte_conv2d_s8_params_t *p, const int8_t *x, int32_t npx,
                                             int32_t rows, const uint32_t *prep, int8_t *ring, int32_t slots,
                                             int32_t slot);

/* A depthwise conv (multiplier 1) whose output y may start over its input x, or a multiple of
 * in_c bytes below it (or lie apart): `group` channels a pass (the last pass the rest), each
 * pass's input channels copied into scratch of tte_conv2d_s8_depthwise_inplace_bytes(g, group)
 * bytes (8-byte aligned: the passes' parameters, TTE_DW_INPLACE_PARAMS_BYTES, then the copies)
 * and run by tte_conv2d_s8 into the rest of it, then copied to y, whose bytes of those channels
 * no later pass reads. The same bytes as tte_conv2d_s8. */
#define TTE_DW_INPLACE_PARAMS_BYTES 128
size_t tte_conv2d_s8_depthwise_inplace_bytes(const tte_conv2d_geom_t *g, int32_t group);
void tte_conv2d_s8_depthwise_inplace(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                                     const int32_t *bias, int8_t *y, int8_t *scratch, int32_t group);
/* A plain 1x1 conv (stride 1, no padding) over runs of pixels in order (tte_conv2d_s8_pointwise_px,
 * which reads only a run's inputs): each run as long as its outputs end at or below the first
 * input not read yet (or lie clear of them); where none would, the pixels whose outputs fit a
 * buffer of TTE_PW_BY_PIXEL_FIRST bytes on the stack made there and stored once they are read.
 * So its output y may start out_c bytes or more below its input x where out_c <= in_c, and at x
 * or below where also out_c <= TTE_PW_BY_PIXEL_FIRST. The same bytes as tte_conv2d_s8. */
#define TTE_PW_BY_PIXEL_FIRST 512
void tte_conv2d_s8_pointwise_by_pixel(const tte_conv2d_s8_params_t *p, const int8_t *x, const int8_t *w,
                                      const int32_t *bias, int8_t *y);

typedef struct {
    int32_t rows;             /* product of the leading dimensions */
    int32_t in_features;      /* K */
    int32_t out_features;     /* N; weights are [N, K] */
    int32_t in_zp, out_zp;
    int32_t act_min, act_max;
    int32_t per_channel;      /* 0: mult[0]/shift[0] for every output */
    const int32_t *mult;
    const int32_t *shift;
} tte_fc_s8_params_t;

void tte_fully_connected_s8(const tte_fc_s8_params_t *p, const int8_t *x, const int8_t *w,
                            const int32_t *bias, int8_t *y);
/* the same with the weights and biases laid out at compile time (tte.compiler.emit.conv.fc_layout,
 * fully_connected_s8.c) */
void tte_fully_connected_s8_prep(const tte_fc_s8_params_t *p, const int8_t *x, const uint32_t *prep, int8_t *y);

#endif
