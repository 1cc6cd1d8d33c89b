/* Per-file access records: the one userspace reader and writer of the BPF access map. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include "dataplane/access.h"

#define BATCH 1024

static struct cw_access_key key_of(uint64_t st_dev, uint64_t ino)
{
	return (struct cw_access_key){ .ino = ino, .dev = cw_kernel_dev(st_dev) };
}

static uint64_t st_dev_of(__u32 kdev)
{
	return makedev(kdev >> 20, kdev & 0xfffff);
}

void cw_access_from_val(const struct cw_access_val *v, struct cw_access_rec *out)
{
	memset(out, 0, sizeof(*out));
	out->last_ns = v->last_ns;
	out->count = v->count;
	for (int i = 0; i < CW_ACCESS_RECENT && v->recent_ns[i]; i++)
		out->recent_ns[out->nrecent++] = v->recent_ns[i];
}

/* Merges two newest-first lists into out (newest first, no repeats, at most CW_ACCESS_RECENT). */
static void merge_recent(const uint64_t *a, size_t na, const uint64_t *b, size_t nb, __u64 *out)
{
	size_t i = 0, j = 0, n = 0;
	uint64_t prev = 0;

	while (n < CW_ACCESS_RECENT && (i < na || j < nb)) {
		uint64_t x = j >= nb || (i < na && a[i] >= b[j]) ? a[i++] : b[j++];
		if (!x || (n && x == prev))
			continue;
		out[n++] = prev = x;
	}
	for (; n < CW_ACCESS_RECENT; n++)
		out[n] = 0;
}

void cw_access_merge(struct cw_access_val *into, const struct cw_access_rec *seed)
{
	uint64_t mine[CW_ACCESS_RECENT];
	size_t nmine = 0, nseed = seed->nrecent < CW_ACCESS_RECENT ? seed->nrecent : CW_ACCESS_RECENT;

	for (int i = 0; i < CW_ACCESS_RECENT && into->recent_ns[i]; i++)
		mine[nmine++] = into->recent_ns[i];
	merge_recent(mine, nmine, seed->recent_ns, nseed, into->recent_ns);
	if (seed->last_ns > into->last_ns)
		into->last_ns = seed->last_ns;
	uint64_t count = (uint64_t)into->count + seed->count;
	into->count = count > UINT32_MAX ? UINT32_MAX : (__u32)count;
}

int cw_access_lookup(struct cw_loader *l, uint64_t st_dev, uint64_t ino, struct cw_access_rec *out)
{
	struct cw_loader_maps m;
	struct cw_access_key k = key_of(st_dev, ino);
	struct cw_access_val v;

	cw_loader_maps(l, &m);
	if (bpf_map_lookup_elem(m.access, &k, &v))
		return -errno;
	cw_access_from_val(&v, out);
	return 0;
}

/* One pass with batch lookups; -EINVAL/-ENOTSUPP from kernels without them
 * fall back to key by key. */
static int foreach_batch(int fd, int (*fn)(void *, uint64_t, uint64_t, const struct cw_access_rec *),
			 void *ctx, int *ret)
{
	struct cw_access_key *keys = calloc(BATCH, sizeof(*keys));
	struct cw_access_val *vals = calloc(BATCH, sizeof(*vals));
	__u64 in = 0, out = 0;
	void *inp = NULL;
	int err = 0;

	*ret = 0;
	if (!keys || !vals) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		__u32 n = BATCH;
		int r = bpf_map_lookup_batch(fd, inp, &out, keys, vals, &n, NULL);
		if (r && errno != ENOENT) {
			err = -errno;
			goto cleanup;
		}
		for (__u32 i = 0; i < n && !*ret; i++) {
			struct cw_access_rec rec;
			cw_access_from_val(&vals[i], &rec);
			*ret = fn(ctx, st_dev_of(keys[i].dev), keys[i].ino, &rec);
		}
		if (r || *ret)
			break;
		in = out;
		inp = &in;
	}
cleanup:
	free(keys);
	free(vals);
	return err;
}

static int foreach_keys(int fd, int (*fn)(void *, uint64_t, uint64_t, const struct cw_access_rec *),
			void *ctx)
{
	struct cw_access_key k, cur, *prev = NULL;
	struct cw_access_val v;
	int ret = 0;

	while (!ret && bpf_map_get_next_key(fd, prev, &k) == 0) {
		cur = k;
		prev = &cur;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue; /* deleted meanwhile */
		struct cw_access_rec rec;
		cw_access_from_val(&v, &rec);
		ret = fn(ctx, st_dev_of(k.dev), k.ino, &rec);
	}
	return ret;
}

int cw_access_foreach(struct cw_loader *l,
		      int (*fn)(void *ctx, uint64_t st_dev, uint64_t ino, const struct cw_access_rec *r),
		      void *ctx)
{
	struct cw_loader_maps m;
	int ret, err;

	cw_loader_maps(l, &m);
	err = foreach_batch(m.access, fn, ctx, &ret);
	if (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */)
		return foreach_keys(m.access, fn, ctx);
	return err ?: ret;
}

int cw_access_seed(struct cw_loader *l, uint64_t st_dev, uint64_t ino, const struct cw_access_rec *r)
{
	struct cw_loader_maps m;
	struct cw_access_key k = key_of(st_dev, ino);
	struct cw_access_val v = { .flags = CW_ACCESS_SEEDED };

	cw_loader_maps(l, &m);
	/* Made new when absent; BPF may make it meanwhile, then merge into that. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (bpf_map_lookup_elem(m.access, &k, &v) == 0) {
			cw_access_merge(&v, r);
			return bpf_map_update_elem(m.access, &k, &v, BPF_EXIST) ? -errno : 0;
		}
		if (errno != ENOENT)
			return -errno;
		v = (struct cw_access_val){ .flags = CW_ACCESS_SEEDED };
		cw_access_merge(&v, r);
		if (bpf_map_update_elem(m.access, &k, &v, BPF_NOEXIST) == 0) {
			__atomic_fetch_add(m.access_inserted, 1, __ATOMIC_RELAXED);
			return 0;
		}
		if (errno != EEXIST)
			return -errno; /* E2BIG: the map is full */
	}
	return -EAGAIN;
}

int cw_access_forget(struct cw_loader *l, uint64_t st_dev, uint64_t ino)
{
	struct cw_loader_maps m;
	struct cw_access_key k = key_of(st_dev, ino);

	cw_loader_maps(l, &m);
	if (bpf_map_delete_elem(m.access, &k))
		return -errno;
	__atomic_fetch_add(m.access_deleted, 1, __ATOMIC_RELAXED);
	return 0;
}

void cw_access_usage(struct cw_loader *l, struct cw_access_usage *out)
{
	struct cw_loader_maps m;

	cw_loader_maps(l, &m);
	uint64_t made = __atomic_load_n(m.access_inserted, __ATOMIC_RELAXED);
	uint64_t gone = __atomic_load_n(m.access_deleted, __ATOMIC_RELAXED);
	out->records = made > gone ? made - gone : 0;
	out->max_records = m.access_max;
	out->map_bytes = m.access_map_bytes;
}

uint64_t cw_access_clock_offset(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	int64_t d = ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
	return d > 0 ? (uint64_t)d : 0;
}

void cw_access_clock_sync(struct cw_loader *l)
{
	struct cw_loader_maps m;

	cw_loader_maps(l, &m);
	__atomic_store_n(m.realtime_offset_ns, cw_access_clock_offset(), __ATOMIC_RELAXED);
}
