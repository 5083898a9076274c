/* The QAS rounding's uniform numbers as a kernel (the rounding and steps themselves are in
 * tte/internal/qas.h, inlined into the update kernels). */
#include "tte/internal/optimized.h"
#include "tte/internal/qas.h"

uint32_t tte_uniform_hash_u32(uint32_t seed, int32_t step, uint32_t index)
{
    return uniform_hash(seed, step, index);
}
