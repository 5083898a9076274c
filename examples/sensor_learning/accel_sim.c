#include "accel_sim.h"

static uint32_t rng = 1u;
static uint32_t tick;
static int activity;
static int mount;
static int32_t phase_jitter;

uint32_t accel_sim_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static int32_t noise(int32_t amplitude)
{
    return (int32_t)(accel_sim_rand() % (2u * (uint32_t)amplitude + 1u)) - amplitude;
}

/* sin(2 pi p / 1000) * 1000 for a phase p in [0, 1000): a parabola per half period (within
 * 6 %), no libm, as cheap as a sensor simulation needs. */
static int32_t sin1000(int32_t p)
{
    const int32_t q = p % 1000;
    const int32_t h = q < 500 ? q : q - 500;   /* position in the half period, 0..499 */
    const int32_t v = (4 * h * (500 - h)) / 250; /* 0..1000 */
    return q < 500 ? v : -v;
}

void accel_sim_init(uint32_t seed, int wear)
{
    rng = seed ? seed : 1u;
    tick = 0;
    activity = 0;
    mount = wear;
    phase_jitter = 0;
}

void accel_sim_set_activity(int a)
{
    activity = a;
    phase_jitter = (int32_t)(accel_sim_rand() % 1000u);
}

void accel_sim_isr(ring_t *ring)
{
    /* milliseconds since start, so frequencies read as mHz below */
    const int32_t t = (int32_t)(tick * (1000u / ACCEL_HZ));
    int32_t up = 1000, fwd = 0, side = 0;
    sample_t s;
    tick++;
    switch (activity) {
    case 1: /* walking: 1.8 Hz bounce, 0.9 Hz sway */
        up += 350 * sin1000((t * 18 / 10 + phase_jitter) % 1000) / 1000 + noise(60);
        side = 180 * sin1000((t * 9 / 10 + phase_jitter) % 1000) / 1000 + noise(60);
        fwd = noise(80);
        break;
    case 2: /* shaking: 5 Hz, strong, mostly forward */
        fwd = 900 * sin1000((t * 5 + phase_jitter) % 1000) / 1000 + noise(150);
        up += 300 * sin1000((t * 3 + phase_jitter) % 1000) / 1000 + noise(150);
        side = noise(150);
        break;
    default: /* still: gravity and sensor noise */
        up += noise(25);
        fwd = noise(25);
        side = noise(25);
        break;
    }
    if (mount == 0) {
        s.x = (int16_t)fwd;
        s.y = (int16_t)side;
        s.z = (int16_t)up;
    } else {
        s.x = (int16_t)up;
        s.y = (int16_t)fwd;
        s.z = (int16_t)side;
    }
    (void)ring_push(ring, s);
}
