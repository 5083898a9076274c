/* Valid output ranges of a convolution tap, shared by the weight-update (update.c) and
 * backward (dwpw_backward.c) kernels. Internal; hidden from the cffi declarations. */
#ifndef TTE_INTERNAL_WINDOW_H
#define TTE_INTERNAL_WINDOW_H
#ifndef TTE_CDEF
#include "tte/common.h"

/* Output positions o in [0, n_out) whose input position o * stride + off lies in [0, n_in):
 * the range [*lo, *hi). */
TTE_INTERNAL void valid_range(int32_t n_out, int32_t stride, int32_t off, int32_t n_in, int32_t *lo, int32_t *hi)
{
    int32_t a = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int32_t b = off > n_in - 1 ? 0 : (n_in - 1 - off) / stride + 1;
    *lo = a;
    *hi = b < n_out ? b : n_out;
    if (*hi < *lo) {
        *hi = *lo;
    }
}
#endif /* TTE_CDEF */
#endif
