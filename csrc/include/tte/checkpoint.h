/* Weights checkpoints: the trained tensors of a compiled model as one self-checking byte
 * image that the host reads back (`tte weights pull`, tte/export/checkpoint.py).
 *
 * Format version 1, every field little-endian:
 *   offset  bytes
 *   0       4    magic "TTEC"
 *   4       2    format version (1)
 *   6       2    header bytes (32)
 *   8       16   model id: the generated model's TTE_MODEL_ID (the first 16 bytes of a SHA-256
 *                over the int8 model and the order, shapes and types of its trained tensors),
 *                so that a checkpoint is never applied to another model
 *   24      4    payload bytes n (the model's TTE_TRAINABLE_BYTES)
 *   28      4    training steps since tte_init (the stochastic-rounding step counter)
 *   32      n    payload: the trained tensors whole, in plan order (tte_get_weights)
 *   32 + n  4    CRC-32/ISO-HDLC of bytes [0, 32 + n)
 *
 * Printed form (tte_ckpt_print), text lines that survive a serial terminal or a log with other
 * lines in between (the host looks for "tte-ckpt" anywhere in a line):
 *   tte-ckpt begin 1 <total bytes, decimal>
 *   tte-ckpt <offset, 8 hex digits> <up to 32 bytes as hex>      one per 32 bytes, in order
 *   tte-ckpt end
 *
 * Nothing here allocates: the payload is read through a callback in small pieces, so a device
 * prints or checks a checkpoint without a RAM buffer of its size. */
#ifndef TTE_CHECKPOINT_H
#define TTE_CHECKPOINT_H
#include "tte/common.h"

#ifndef TTE_CDEF /* cffi: declarations only */
#define TTE_CKPT_VERSION 1
#define TTE_CKPT_HEADER_BYTES 32
#define TTE_CKPT_TRAILER_BYTES 4
#define TTE_CKPT_ID_BYTES 16
#define TTE_CKPT_LINE_BYTES 32

/* tte_ckpt_check results: 0 when the image may be loaded */
#define TTE_CKPT_OK 0
#define TTE_CKPT_E_SIZE (-1)      /* shorter than its header, or not header + payload + CRC */
#define TTE_CKPT_E_MAGIC (-2)     /* not a tte checkpoint */
#define TTE_CKPT_E_VERSION (-3)   /* another format version */
#define TTE_CKPT_E_MODEL (-4)     /* written by another model (model id or payload size) */
#define TTE_CKPT_E_CRC (-5)       /* damaged */
#endif

/* Payload bytes [off, off + n) (the generated tte_get_weights_range). */
typedef void (*tte_ckpt_read_fn)(uint8_t *dst, uint32_t off, uint32_t n);
/* Writes n characters of text (a UART, a file): the printed form's sink. */
typedef void (*tte_ckpt_write_fn)(const char *s, uint32_t n);

typedef struct {
    const uint8_t *model_id; /* TTE_CKPT_ID_BYTES */
    uint32_t payload_bytes;
    uint32_t steps;
    tte_ckpt_read_fn read;
} tte_ckpt_source_t;

/* CRC-32/ISO-HDLC register update (reflected, polynomial 0xEDB88320, no pre/post inversion). */
uint32_t tte_crc32_update(uint32_t crc, const uint8_t *p, uint32_t n);
/* Bytes of the whole checkpoint: header + payload + CRC. */
uint32_t tte_ckpt_bytes(const tte_ckpt_source_t *s);
/* The whole checkpoint into dst; returns its size, or 0 (dst untouched) when cap is smaller. */
uint32_t tte_ckpt_write(const tte_ckpt_source_t *s, uint8_t *dst, uint32_t cap);
/* The printed form, in lines of TTE_CKPT_LINE_BYTES bytes, through `write`. */
void tte_ckpt_print(const tte_ckpt_source_t *s, tte_ckpt_write_fn write);
/* Whether src[0, n) is a checkpoint of this model (id and payload size) that may be loaded:
 * TTE_CKPT_OK or a TTE_CKPT_E_* code. *steps receives its step count (when not NULL). */
int32_t tte_ckpt_check(const uint8_t *src, uint32_t n, const uint8_t *model_id, uint32_t payload_bytes,
                       uint32_t *steps);

#endif
