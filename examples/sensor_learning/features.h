/* Feature extraction over a sliding window of accelerometer samples: 64 samples (1.28 s at
 * 50 Hz), a new window every 32 samples. Per axis, in g: mean, mean absolute deviation,
 * mean absolute difference of consecutive samples (how fast it moves), and range. No libm. */
#ifndef FEATURES_H
#define FEATURES_H
#include <stdint.h>

#include "ring.h"

#define FEATURE_WINDOW 64u
#define FEATURE_HOP 32u
#define FEATURE_COUNT 12

typedef struct {
    sample_t s[FEATURE_WINDOW]; /* circular: the oldest sample at `next` once full */
    uint32_t next;
    uint32_t seen;
} window_t;

void window_init(window_t *w);
/* Adds a sample; 1 when a new window is complete (every FEATURE_HOP samples once full). */
int window_add(window_t *w, sample_t s);
void features_compute(const window_t *w, float out[FEATURE_COUNT]);

#endif
