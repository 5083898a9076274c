/* Split int8 weights: a partially trained layer's weight [rows, in_c] (rows = out_c * k_h *
 * k_w, in_c = input channels per group, groups 1) held as two dense arrays, so that only the
 * trained input channels take SRAM and the frozen rest stays in flash (const):
 *   upd    [rows, n_sel]         the trained channels sel[0..n_sel), ascending (SRAM)
 *   frozen [rows, in_c - n_sel]  the others frz[...], ascending (flash)
 * Element (r, c) of the whole weight is upd[r * n_sel + where[c]] when where[c] >= 0, else
 * frozen[r * (in_c - n_sel) + (-1 - where[c])]. */
#ifndef TTE_SPLIT_H
#define TTE_SPLIT_H
#include "tte/common.h"
#include "tte/conv.h"

typedef struct {
    int32_t rows;
    int32_t in_c;
    int32_t n_sel;
    const int32_t *sel;       /* [n_sel] */
    const int32_t *frz;       /* [in_c - n_sel] */
    const int32_t *where;     /* [in_c] */
    int8_t *upd;              /* [rows, n_sel], trained in place */
    const int8_t *frozen;     /* [rows, in_c - n_sel] */
} tte_split_s8_t;

/* Element (row, c) of the whole weight. */
int8_t tte_split_s8_at(const tte_split_s8_t *s, int32_t row, int32_t c);
/* The whole weight, rows * in_c bytes, into dst. */
void tte_split_s8_get(const tte_split_s8_t *s, int8_t *dst);
/* The trained channels from a whole weight (src, rows * in_c bytes); the frozen ones are
 * constant and not read. */
void tte_split_s8_set(const tte_split_s8_t *s, const int8_t *src);
/* CRC-32/ISO-HDLC register update (reflected, polynomial 0xEDB88320, no pre/post inversion)
 * over the whole weight's bytes in order: what the register would be after the bytes of
 * tte_split_s8_get. */
uint32_t tte_split_s8_crc32(const tte_split_s8_t *s, uint32_t crc);

/* tte_conv2d_s8 with split weights (groups 1, any kernel, stride, padding, dilation):
 * the same bytes (integer sums do not depend on their order). */
void tte_conv2d_s8_split(const tte_conv2d_s8_params_t *p, const int8_t *x, const tte_split_s8_t *w,
                         const int32_t *bias, int8_t *y);

#endif
