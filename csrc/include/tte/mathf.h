/* tte's own deterministic float math: the same bits on every target (no libm). */
#ifndef TTE_MATHF_H
#define TTE_MATHF_H
#include "tte/common.h"

float tte_expf(float x);   /* relative error below 2e-7 on [-87, 88]; 0 below, +inf above */
float tte_logf(float x);   /* x > 0 and finite; relative error below 2e-7 */
float tte_floorf(float x);
float tte_roundf(float x); /* half away from zero (std::round) */

#endif
