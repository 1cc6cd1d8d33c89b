/* Log2 latency histograms: quantiles and conversions shared by top and metrics. */
#ifndef CW_HIST_H
#define CW_HIST_H

#include <stdint.h>
#include "dataplane/snapshot.h"

/* Upper bound in nanoseconds of slot i (2^(i+1)); the last slot is open. */
uint64_t cw_hist_slot_upper_ns(unsigned slot);
/* Slot a latency lands in; mirrors the BPF side. */
unsigned cw_hist_slot_of(uint64_t ns);
/* Estimated q-quantile (0..1) in nanoseconds, interpolating inside the slot as
 * Prometheus' histogram_quantile does; 0 for an empty histogram. */
double cw_hist_quantile_ns(const struct cw_hist *h, double q);
/* Cumulative count of observations <= 2^(slot+1) ns. */
uint64_t cw_hist_cumulative(const struct cw_hist *h, unsigned slot);

#endif
