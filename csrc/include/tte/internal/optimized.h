/* The kernels' inline assembly needs gcc's register allocator at work: at -O0 (an IDE's Debug
 * configuration, say) its operands do not fit the registers and gcc stops with "impossible
 * constraints". Included first by every kernel file, this compiles the kernels optimized
 * whatever the build's level on Arm; the rest of the firmware keeps the user's. */
#ifndef TTE_INTERNAL_OPTIMIZED_H
#define TTE_INTERNAL_OPTIMIZED_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__arm__) && !defined(__OPTIMIZE__)
#pragma GCC optimize("O2")
#endif

#endif
