/* On-device learning from a live sensor stream, the device side.
 *
 * The accelerometer's data-ready interrupt (accel_sim_isr, simulated) pushes samples into a
 * ring buffer; the main loop drains it into a sliding window, computes features every 32
 * samples, and then
 *   - infers the activity (tte_infer), and
 *   - when a label arrives for that window (the user pressed "I am walking"), takes one
 *     training step on it (tte_train_step): test first, then train, so the accuracy printed
 *     is on windows the model had not learnt from.
 * After the labelled phase it only infers (the simulation knows the truth, so it can score),
 * then prints its trained weights as a checkpoint (tte_checkpoint_print) for
 * `tte weights pull`.
 *
 * On a board, main() is the same without printf: the ISR is the sensor driver's, labels come
 * from a button or a radio message, and tte_checkpoint_print writes to the UART.
 *   sensor_learning [labelled windows] [test windows] [mount 0|1] [seed] */
#include <stdio.h>
#include <stdlib.h>

#include "accel_sim.h"
#include "features.h"

#ifndef MODEL_HEADER
#error "MODEL_HEADER must name the generated model header, e.g. -DMODEL_HEADER='\"har.h\"'"
#endif
#include MODEL_HEADER

#define SAMPLES_PER_WAKEUP 10u /* the main loop sleeps, the ring buffer holds what arrives */

static ring_t ring;
static window_t win;

/* The window's features as the model's input, written where the model reads it. */
static void load_input(const float feat[FEATURE_COUNT])
{
    tte_input_t *in = tte_input_buffer();
    int i;
    for (i = 0; i < FEATURE_COUNT; i++) {
#if TTE_INPUT_FLOAT
        in[i] = feat[i];
#else
        const float v = feat[i] / TTE_INPUT_SCALE;
        int32_t q = (int32_t)(v + (v >= 0.0f ? 0.5f : -0.5f)) + TTE_INPUT_ZERO_POINT;
        in[i] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
#endif
    }
}

static int predict(void)
{
    tte_output_t out[TTE_NUM_CLASSES];
    int best = 0, i;
    tte_infer(NULL, out);
    for (i = 1; i < TTE_NUM_CLASSES; i++) {
        best = out[i] > out[best] ? i : best;
    }
    return best;
}

static void print_hex(const char *tag, const void *p, uint32_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    uint32_t i;
    printf("%s ", tag);
    for (i = 0; i < n; i++) {
        printf("%02x", b[i]);
    }
}

static void uart_write(const char *s, uint32_t n)
{
    fwrite(s, 1, n, stdout);
}

int main(int argc, char **argv)
{
    const long labelled = argc > 1 ? strtol(argv[1], NULL, 10) : 300;
    const long tests = argc > 2 ? strtol(argv[2], NULL, 10) : 200;
    const int mount = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 1;
    const unsigned long seed = argc > 4 ? strtoul(argv[4], NULL, 10) : 7u;
    long windows = 0, block_n = 0, block_ok = 0, test_n = 0, test_ok = 0, steps = 0;
    float last_features[FEATURE_COUNT];

    tte_init();
    ring_init(&ring);
    window_init(&win);
    accel_sim_init((uint32_t)seed, mount);
    printf("# on-device learning: mount %d, %ld labelled windows, then %ld test windows\n", mount, labelled, tests);
    while (windows < labelled + tests) {
        const int activity = (int)(accel_sim_rand() % ACCEL_ACTIVITIES);
        const uint32_t samples = ACCEL_HZ * (4u + accel_sim_rand() % 5u);
        uint32_t k;
        accel_sim_set_activity(activity);
        for (k = 0; k < samples && windows < labelled + tests; k++) {
            sample_t s;
            accel_sim_isr(&ring); /* the interrupt, 50 times a second */
            if ((k + 1u) % SAMPLES_PER_WAKEUP != 0u) {
                continue;
            }
            while (ring_pop(&ring, &s)) { /* the main loop wakes up */
                float feat[FEATURE_COUNT];
                int pred;
                if (!window_add(&win, s)) {
                    continue;
                }
                features_compute(&win, feat);
                load_input(feat);
                pred = predict();
                windows++;
                if (windows <= labelled) {
                    /* a label arrives for about half of the windows */
                    block_n++;
                    block_ok += pred == activity;
                    if (accel_sim_rand() % 2u == 0u) {
                        load_input(feat); /* the inference used the arena, input included */
                        (void)tte_train_step(NULL, activity);
                        steps++;
                    }
                    if (block_n == 50) {
                        printf("labelled windows %ld-%ld: accuracy before learning from them %ld/50, "
                               "%ld steps so far\n", windows - 49, windows, block_ok, steps);
                        block_n = block_ok = 0;
                    }
                } else {
                    test_n++;
                    test_ok += pred == activity;
                    for (int i = 0; i < FEATURE_COUNT; i++) {
                        last_features[i] = feat[i];
                    }
                }
                if (windows >= labelled + tests) {
                    break;
                }
            }
        }
    }
    printf("test windows: accuracy %ld/%ld after %ld training steps, %lu samples dropped\n", test_ok, test_n,
           steps, (unsigned long)ring.dropped);
    if (test_n > 0) {
        /* one probe for the host: the model's input and output bytes on the last test window */
        tte_output_t out[TTE_NUM_CLASSES];
        load_input(last_features);
        print_hex("probe input", tte_input_buffer(), TTE_INPUT_BYTES);
        tte_infer(NULL, out);
        print_hex(" output", out, TTE_OUTPUT_BYTES);
        printf("\n");
    }
    tte_checkpoint_print(uart_write);
    return 0;
}
