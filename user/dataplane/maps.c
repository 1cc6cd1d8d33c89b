/* Every userspace read and write of the BPF maps: counters, group names, drops, roots, slots. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dataplane/maps.h"

#define BATCH 1024      /* entries per batch lookup */
#define ENOTSUPP 524    /* the kernel's internal "not supported", seen by userspace */

struct cw_maps {
	struct cw_loader *loader;
	struct cw_loader_maps fd;
	unsigned ncpus;
	char *keys, *vals;  /* batch buffers, reused from poll to poll */
	__u64 *percpu;      /* one drops value per possible CPU */
	uint64_t deletes;   /* calls that deleted entries: part of the activity sum */
};

typedef void (*entry_fn)(void *ctx, const void *key, const void *val);

int cw_maps_new(struct cw_loader *l, struct cw_maps **out)
{
	struct cw_maps *m = calloc(1, sizeof(*m));
	int n = libbpf_num_possible_cpus();

	if (!m || n <= 0)
		goto fail;
	m->loader = l;
	m->ncpus = (unsigned)n;
	cw_loader_maps(l, &m->fd);
	m->keys = malloc(BATCH * sizeof(struct cw_writer_key));
	m->vals = malloc(BATCH * sizeof(struct cw_stats));
	m->percpu = calloc(m->ncpus, sizeof(*m->percpu));
	if (!m->keys || !m->vals || !m->percpu)
		goto fail;
	*out = m;
	return 0;
fail:
	cw_maps_free(m);
	return -ENOMEM;
}

void cw_maps_free(struct cw_maps *m)
{
	if (!m)
		return;
	free(m->keys);
	free(m->vals);
	free(m->percpu);
	free(m);
}

/* Kernels before 5.6 have no batch lookups on hash maps. */
static int read_one_by_one(int fd, size_t ksz, void *val, entry_fn fn, void *ctx)
{
	char cur[64], next[64];
	void *prev = NULL;
	int err;

	while ((err = bpf_map_get_next_key(fd, prev, next)) == 0) {
		if (bpf_map_lookup_elem(fd, next, val) == 0)
			fn(ctx, next, val);
		memcpy(cur, next, ksz);
		prev = cur;
	}
	return err == -ENOENT ? 0 : err;
}

/* Reads a whole hash map whose keys are at most 64 bytes. */
static int read_hash(struct cw_maps *m, int fd, size_t ksz, size_t vsz, entry_fn fn, void *ctx)
{
	char in[64], out[64];
	void *inp = NULL;
	int err;

	for (;;) {
		__u32 count = BATCH;
		err = bpf_map_lookup_batch(fd, inp, out, m->keys, m->vals, &count, NULL);
		if (err && err != -ENOENT)
			break;
		for (__u32 i = 0; i < count; i++)
			fn(ctx, m->keys + i * ksz, m->vals + i * vsz);
		if (err == -ENOENT) /* that was the last batch */
			return 0;
		memcpy(in, out, sizeof(in));
		inp = in;
	}
	/* no batch ops here (or a bucket larger than a batch, ENOSPC, before the
	 * first batch): the slow way. Past the first batch, restarting would pass
	 * entries twice, so that is an error. */
	if (inp || (err != -EINVAL && err != -ENOTSUPP && err != -EOPNOTSUPP && err != -ENOSPC))
		return err;
	return read_one_by_one(fd, ksz, m->vals, fn, ctx);
}

struct stats_thunk {
	cw_maps_stats_fn fn;
	void *ctx;
};

static void stats_entry(void *ctx, const void *key, const void *val)
{
	struct stats_thunk *t = ctx;
	t->fn(t->ctx, key, val);
}

int cw_maps_read_stats(struct cw_maps *m, cw_maps_stats_fn fn, void *ctx)
{
	struct stats_thunk t = { fn, ctx };

	return read_hash(m, m->fd.stats, sizeof(struct cw_stats_key), sizeof(struct cw_stats),
			 stats_entry, &t);
}

void cw_maps_count_writers(struct cw_maps *m)
{
	__atomic_store_n(m->fd.count_writers, 1, __ATOMIC_RELAXED);
}

uint64_t cw_maps_activity(struct cw_maps *m)
{
	uint64_t sum = __atomic_load_n(&m->deletes, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < CW_ACTIVITY_SLOTS; i++)
		sum += __atomic_load_n(&m->fd.activity[i].commits, __ATOMIC_ACQUIRE);
	return sum;
}

uint64_t cw_maps_size_unresolved(struct cw_maps *m)
{
	return m->fd.size_unresolved ? __atomic_load_n(m->fd.size_unresolved, __ATOMIC_RELAXED) : 0;
}

/* A read that skips on an unchanged sum must not keep a deleted entry's view. */
static void count_delete(struct cw_maps *m)
{
	__atomic_fetch_add(&m->deletes, 1, __ATOMIC_RELEASE);
}

struct writer_thunk {
	cw_maps_writer_fn fn;
	void *ctx;
};

static void writer_entry(void *ctx, const void *key, const void *val)
{
	struct writer_thunk *t = ctx;
	t->fn(t->ctx, key, val);
}

int cw_maps_read_writers(struct cw_maps *m, cw_maps_writer_fn fn, void *ctx)
{
	struct writer_thunk t = { fn, ctx };

	return read_hash(m, m->fd.writers, sizeof(struct cw_writer_key), sizeof(struct cw_writer_val),
			 writer_entry, &t);
}

int cw_maps_read_drops(struct cw_maps *m, uint64_t out[CW_DROP_MAX])
{
	int ret = 0;

	for (__u32 d = 0; d < CW_DROP_MAX; d++) {
		out[d] = 0;
		if (d == CW_DROP_RECURSION) {
			out[d] = cw_loader_recursion_misses(m->loader);
			continue;
		}
		int err = bpf_map_lookup_elem(m->fd.drops, &d, m->percpu);
		if (err) {
			ret = ret ?: err;
			continue;
		}
		for (unsigned i = 0; i < m->ncpus; i++)
			out[d] += m->percpu[i];
	}
	return ret;
}

int cw_maps_group_name(struct cw_maps *m, unsigned slot, uint64_t group, char name[CW_GROUP_NAME_MAX])
{
	struct cw_stats_key key = { .group = group, .root = slot };
	struct cw_group_val gv;
	int err = bpf_map_lookup_elem(m->fd.groups, &key, &gv);

	if (err)
		return err;
	memcpy(name, gv.name, CW_GROUP_NAME_MAX);
	name[CW_GROUP_NAME_MAX - 1] = 0;
	return 0;
}

static void bump_gen(struct cw_maps *m)
{
	__atomic_fetch_add(m->fd.watch_gen, 1, __ATOMIC_SEQ_CST);
}

/* The slots whose files' opens are tracked (bpf/access.bpf.h, read_slots). */
static void set_read_slot(struct cw_maps *m, unsigned slot, bool on)
{
	__u64 bit = 1ULL << slot;

	if (on)
		__atomic_fetch_or(m->fd.read_slots, bit, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(m->fd.read_slots, ~bit, __ATOMIC_SEQ_CST);
}

int cw_maps_arm_root(struct cw_maps *m, const struct cw_root_arm *r)
{
	struct cw_root_key k = { .ino = r->ino, .dev = cw_kernel_dev(r->st_dev) };
	struct cw_root_val v = { .id = r->slot, .group_depth = r->group_depth,
				 .max_groups = r->max_groups };
	int err;

	if (r->slot >= CW_MAX_ROOTS || r->group_depth > CW_MAX_GROUP_DEPTH)
		return -EINVAL;
	err = bpf_map_update_elem(m->fd.roots, &k, &v, BPF_ANY);
	if (err)
		return err;
	set_read_slot(m, r->slot, r->track_reads);
	bump_gen(m);
	return 0;
}

int cw_maps_disarm_root(struct cw_maps *m, uint64_t st_dev, uint64_t ino)
{
	struct cw_root_key k = { .ino = ino, .dev = cw_kernel_dev(st_dev) };
	int err = bpf_map_delete_elem(m->fd.roots, &k);

	bump_gen(m);
	return err == -ENOENT ? 0 : err;
}

/* Keys of one slot, collected before any is deleted: deleting while iterating
 * a hash map restarts or skips entries. */
struct slot_keys {
	unsigned slot;
	size_t key_size, slot_off;
	char *keys;
	size_t n, cap;
	int err;
};

static void collect_key(void *ctx, const void *key, const void *val)
{
	struct slot_keys *sk = ctx;
	__u32 s;

	(void)val;
	memcpy(&s, (const char *)key + sk->slot_off, sizeof(s));
	if (s != sk->slot || sk->err)
		return;
	if (sk->n == sk->cap) {
		size_t cap = sk->cap ? 2 * sk->cap : 256;
		char *k = realloc(sk->keys, cap * sk->key_size);
		if (!k) {
			sk->err = -ENOMEM;
			return;
		}
		sk->keys = k;
		sk->cap = cap;
	}
	memcpy(sk->keys + sk->n++ * sk->key_size, key, sk->key_size);
}

static int clear_map(struct cw_maps *m, int fd, size_t ksz, size_t vsz, size_t slot_off, unsigned slot)
{
	struct slot_keys sk = { .slot = slot, .key_size = ksz, .slot_off = slot_off };
	int err = read_hash(m, fd, ksz, vsz, collect_key, &sk);

	err = err ?: sk.err;
	for (size_t i = 0; !err && i < sk.n; i++) {
		int e = bpf_map_delete_elem(fd, sk.keys + i * ksz);
		if (e && e != -ENOENT)
			err = e;
	}
	free(sk.keys);
	return err;
}

int cw_maps_clear_slot(struct cw_maps *m, unsigned slot)
{
	int err;

	if (slot >= CW_MAX_ROOTS)
		return -EINVAL;
	err = clear_map(m, m->fd.stats, sizeof(struct cw_stats_key), sizeof(struct cw_stats),
			offsetof(struct cw_stats_key, root), slot);
	err = err ?: clear_map(m, m->fd.groups, sizeof(struct cw_stats_key), sizeof(struct cw_group_val),
			       offsetof(struct cw_stats_key, root), slot);
	err = err ?: clear_map(m, m->fd.writers, sizeof(struct cw_writer_key), sizeof(struct cw_writer_val),
			       offsetof(struct cw_writer_key, root), slot);
	count_delete(m);
	if (!err)
		__atomic_store_n(&m->fd.group_count[slot], 0, __ATOMIC_SEQ_CST);
	set_read_slot(m, slot, false);
	return err;
}

int cw_maps_forget_writer(struct cw_maps *m, unsigned slot, uint64_t group, const char comm[CW_COMM_LEN],
			  struct cw_writer_val *last_raw)
{
	struct cw_writer_key k = { .group = group, .root = slot };
	int err;

	if (slot >= CW_MAX_ROOTS)
		return -EINVAL;
	memcpy(k.comm, comm, CW_COMM_LEN);
	err = bpf_map_lookup_elem(m->fd.writers, &k, last_raw);
	if (err)
		memset(last_raw, 0, sizeof(*last_raw));
	if (err && err != -ENOENT)
		return err;
	err = bpf_map_delete_elem(m->fd.writers, &k);
	return err == -ENOENT ? 0 : err;
}

int cw_maps_forget_group(struct cw_maps *m, unsigned slot, uint64_t group, struct cw_stats *last_raw)
{
	struct cw_stats_key k = { .group = group, .root = slot };
	int err;

	if (slot >= CW_MAX_ROOTS)
		return -EINVAL;
	err = bpf_map_lookup_elem(m->fd.stats, &k, last_raw);
	if (err)
		memset(last_raw, 0, sizeof(*last_raw));
	if (err && err != -ENOENT)
		return err;
	if (bpf_map_delete_elem(m->fd.groups, &k) == 0)
		__atomic_fetch_sub(&m->fd.group_count[slot], 1, __ATOMIC_SEQ_CST);
	err = bpf_map_delete_elem(m->fd.stats, &k);
	count_delete(m);
	bump_gen(m);
	return err == -ENOENT ? 0 : err;
}
