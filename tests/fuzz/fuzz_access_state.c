/* libFuzzer harness: the access state file parser must never crash, leak or
 * over-read, and what it accepts must encode into an image it reads back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "purge/access.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cw_access_table t, again;
	char err[256];
	void *buf;
	size_t len;

	if (cw_access_state_parse(data, size, &t, err, sizeof(err)) != 0) {
		if (!err[0] || t.e || t.n)
			abort(); /* a refusal explains itself and leaves nothing behind */
		return 0;
	}
	if (cw_access_state_encode(t.e, t.n, &buf, &len) != 0)
		abort();
	if (cw_access_state_parse(buf, len, &again, err, sizeof(err)) != 0 || again.n != t.n ||
	    (t.n && memcmp(again.e, t.e, t.n * sizeof(*t.e))))
		abort();
	for (size_t i = 0; i < t.n; i++)
		if (cw_access_table_find(&t, t.e[i].dev, t.e[i].ino) != &t.e[i])
			abort();
	cw_access_table_free(&again);
	cw_access_table_free(&t);
	free(buf);
	return 0;
}
