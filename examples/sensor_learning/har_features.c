/* Workstation side: the features of a simulated recording, as CSV (f0..f11, label), to train
 * and quantize the starting model (make_model.py, `tte quantize --calibration`).
 *   har_features <windows> <mount 0|1> <seed> */
#include <stdio.h>
#include <stdlib.h>

#include "accel_sim.h"
#include "features.h"

int main(int argc, char **argv)
{
    const long windows = argc > 1 ? strtol(argv[1], NULL, 10) : 600;
    const int mount = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 0;
    const unsigned long seed = argc > 3 ? strtoul(argv[3], NULL, 10) : 1u;
    static ring_t ring;
    static window_t win;
    long done = 0;
    int f;

    ring_init(&ring);
    window_init(&win);
    accel_sim_init((uint32_t)seed, mount);
    for (f = 0; f < FEATURE_COUNT; f++) {
        printf("f%d,", f);
    }
    printf("label\n");
    while (done < windows) {
        const int activity = (int)(accel_sim_rand() % ACCEL_ACTIVITIES);
        const uint32_t samples = ACCEL_HZ * (4u + accel_sim_rand() % 5u);
        uint32_t k;
        accel_sim_set_activity(activity);
        window_init(&win); /* a window never mixes two activities in the recording */
        for (k = 0; k < samples && done < windows; k++) {
            sample_t s;
            accel_sim_isr(&ring);
            while (ring_pop(&ring, &s)) {
                if (window_add(&win, s)) {
                    float feat[FEATURE_COUNT];
                    features_compute(&win, feat);
                    for (f = 0; f < FEATURE_COUNT; f++) {
                        printf("%.5f,", (double)feat[f]);
                    }
                    printf("%d\n", activity);
                    done++;
                }
            }
        }
    }
    return 0;
}
