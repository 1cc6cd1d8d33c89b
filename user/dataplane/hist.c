/* Log2 latency histogram arithmetic. */
#include "dataplane/hist.h"

uint64_t cw_hist_slot_upper_ns(unsigned slot)
{
	return slot >= 63 ? UINT64_MAX : (uint64_t)1 << (slot + 1);
}

unsigned cw_hist_slot_of(uint64_t ns)
{
	unsigned s = 0;

	while (ns >>= 1)
		s++;
	return s >= CW_HIST_SLOTS ? CW_HIST_SLOTS - 1 : s;
}

uint64_t cw_hist_cumulative(const struct cw_hist *h, unsigned slot)
{
	uint64_t n = 0;

	for (unsigned i = 0; i <= slot && i < CW_HIST_SLOTS; i++)
		n += h->slots[i];
	return n;
}

double cw_hist_quantile_ns(const struct cw_hist *h, double q)
{
	uint64_t total = 0, seen = 0;

	for (unsigned i = 0; i < CW_HIST_SLOTS; i++)
		total += h->slots[i];
	if (!total)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	double rank = q * (double)total;
	for (unsigned i = 0; i < CW_HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		if ((double)(seen + h->slots[i]) >= rank) {
			double lo = i == 0 ? 0 : (double)((uint64_t)1 << i);
			double hi = (double)cw_hist_slot_upper_ns(i);
			if (i == CW_HIST_SLOTS - 1)
				return lo; /* open-ended: the lower bound is all we know */
			return lo + (hi - lo) * (rank - (double)seen) / (double)h->slots[i];
		}
		seen += h->slots[i];
	}
	return (double)((uint64_t)1 << (CW_HIST_SLOTS - 1));
}
