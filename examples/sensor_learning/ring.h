/* A single-producer single-consumer ring buffer of accelerometer samples: the sensor's
 * interrupt pushes, the main loop pops. No locks: each index has one writer, and a sample is
 * written before the index that publishes it. */
#ifndef RING_H
#define RING_H
#include <stdint.h>

#define RING_CAPACITY 256u /* a power of two: 5 s at 50 Hz */

typedef struct {
    int16_t x, y, z; /* milli-g, as a typical MEMS accelerometer's 16-bit registers */
} sample_t;

typedef struct {
    sample_t buf[RING_CAPACITY];
    volatile uint32_t head; /* written by the producer only */
    volatile uint32_t tail; /* written by the consumer only */
    volatile uint32_t dropped;
} ring_t;

void ring_init(ring_t *r);
/* From the interrupt: 0 and a dropped count when the main loop fell behind. */
int ring_push(ring_t *r, sample_t s);
/* From the main loop: 0 when empty. */
int ring_pop(ring_t *r, sample_t *s);
uint32_t ring_count(const ring_t *r);

#endif
