/* A simulated 3-axis accelerometer driver (50 Hz, milli-g), standing in for a real one (an
 * LIS3DH or the nRF52840 Sense's LSM9DS1): accel_sim_isr() is what its data-ready interrupt
 * would do, read one sample and push it into the ring buffer.
 *
 * Activities: 0 still, 1 walking, 2 shaking. `mount` says how the sensor is worn: 0 as the
 * workstation data was recorded (gravity on z), 1 turned on its side (gravity on x, the
 * motion axes swapped): the same activities look different, which the device must learn. */
#ifndef ACCEL_SIM_H
#define ACCEL_SIM_H
#include <stdint.h>

#include "ring.h"

#define ACCEL_HZ 50u
#define ACCEL_ACTIVITIES 3

void accel_sim_init(uint32_t seed, int mount);
void accel_sim_set_activity(int activity);
/* The data-ready interrupt: one sample into the ring. */
void accel_sim_isr(ring_t *ring);
/* A pseudo-random number (xorshift32), for the simulation's schedule. */
uint32_t accel_sim_rand(void);

#endif
