/* Time for deadlines and measurements: never the wall clock, which an
 * administrator or NTP may step in the middle of a migration. */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds. */
uint64_t	clock_mono_us(void);

#endif
