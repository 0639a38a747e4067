/* The one clock of the native host: monotonic wall seconds (vDSO: tens of ns a read). */
#define _POSIX_C_SOURCE 199309L
#include <time.h>
#include "zynpu_native.h"

double zn_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
