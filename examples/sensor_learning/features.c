#include "features.h"

void window_init(window_t *w)
{
    w->next = 0;
    w->seen = 0;
}

int window_add(window_t *w, sample_t s)
{
    w->s[w->next] = s;
    w->next = (w->next + 1u) % FEATURE_WINDOW;
    w->seen++;
    return w->seen >= FEATURE_WINDOW && (w->seen - FEATURE_WINDOW) % FEATURE_HOP == 0u;
}

static int32_t axis(const sample_t *s, int a)
{
    return a == 0 ? s->x : a == 1 ? s->y : s->z;
}

static float absf(float v)
{
    return v < 0.0f ? -v : v;
}

void features_compute(const window_t *w, float out[FEATURE_COUNT])
{
    int a;
    for (a = 0; a < 3; a++) {
        int32_t sum = 0, lo = 32767, hi = -32768, prev = 0;
        float mean, dev = 0.0f, diff = 0.0f;
        uint32_t i;
        for (i = 0; i < FEATURE_WINDOW; i++) {
            const int32_t v = axis(&w->s[(w->next + i) % FEATURE_WINDOW], a);
            sum += v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            if (i > 0) {
                diff += absf((float)(v - prev));
            }
            prev = v;
        }
        mean = (float)sum / (float)FEATURE_WINDOW;
        for (i = 0; i < FEATURE_WINDOW; i++) {
            dev += absf((float)axis(&w->s[(w->next + i) % FEATURE_WINDOW], a) - mean);
        }
        out[4 * a + 0] = mean / 1000.0f;
        out[4 * a + 1] = dev / (float)FEATURE_WINDOW / 1000.0f;
        out[4 * a + 2] = diff / (float)(FEATURE_WINDOW - 1u) / 1000.0f;
        out[4 * a + 3] = (float)(hi - lo) / 1000.0f;
    }
}
