/* A small stand-in with the generated model's C API, for testing the firmware, linker
 * script, QEMU runner and instruction counting before (and independently of) codegen.
 * Its arithmetic is mirrored in tests/test_qemu.py. */
#ifndef TTE_TESTMODEL_H
#define TTE_TESTMODEL_H

#include <stdint.h>

typedef int8_t tte_input_t;
typedef int8_t tte_output_t;
#define TTE_INPUT_BYTES 64
#define TTE_OUTPUT_BYTES 4
#define TTE_NUM_CLASSES 4
#define TTE_TRAINABLE_BYTES 32
#ifndef TTE_ARENA_BYTES
#define TTE_ARENA_BYTES 1024
#endif
/* Stack bytes per level of the recursion a training step makes (label levels deep). */
#define TTE_TESTMODEL_FRAME_BYTES 256

void tte_init(void);
/* Where the input lives (the generated code puts it in the arena): write it there, pass NULL. */
int8_t *tte_input_buffer(void);
void tte_infer(const int8_t *in, int8_t *out);
float tte_train_step(const int8_t *in, int32_t label);
uint32_t tte_trainable_crc32(void);
void tte_get_weights(uint8_t *dst);
void tte_set_weights(const uint8_t *src);
void tte_get_weights_range(uint8_t *dst, uint32_t off, uint32_t n);
void tte_set_weights_range(const uint8_t *src, uint32_t off, uint32_t n);

#endif
