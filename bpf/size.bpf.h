/* Size tracking between scans: apparent (i_size) and allocation (i_size rounded up to the block) changes per series. */
#ifndef CW_SIZE_BPF_H
#define CW_SIZE_BPF_H

/* BPF_FETCH atomics (cmpxchg, Linux 5.12): the loader probes them. Without
 * them (the loader then patches the cmpxchg out of the object) the per-inode
 * accounted size is updated under a try-lock (docs/backends.md). */
const volatile __u32 size_atomics = 0;
/* Prototypes probed from BTF by the loader (kprobe reads registers by position). */
const volatile __u32 truncate_dentry_arg = 2; /* do_truncate's dentry: 1 before 5.12 */
const volatile __u32 rename_has_rd = 1;       /* vfs_rename(struct renamedata *) since 5.12 */

/* Bits of struct file's f_mode (include/linux/fs.h). */
#define CW_FMODE_CREATED 0x100000
#define CW_O_TRUNC 01000

/* The size last accounted per inode, so that two calls growing one file at
 * once (two O_APPEND writers both see the old size at entry) count the
 * growth once. Keyed by identity, not by the struct inode address, so a
 * reused inode number with another generation starts over. */
struct size_key {
	__u64 ino;
	__u32 dev;
	__u32 gen;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct size_key);
	__type(value, __u64);
} known_size SEC(".maps");

/* A size-changing call other than a write (truncate, fallocate, rename, an
 * O_TRUNC open) between its entry and its exit, per thread. */
enum size_call_kind {
	SC_INODE = 1,  /* inode and size at entry known: commit size0 -> i_size at exit */
	SC_PATH,       /* tracepoint: only a path or an open is known so far */
	SC_RENAME,     /* fentry/kprobe: rename with both dentries */
	SC_RENAME_SYS, /* tracepoint: rename by path strings */
};

struct size_call {
	__u64 inode;      /* struct inode * */
	__u64 size0;      /* its i_size at entry */
	__u64 path;       /* user pointers (SC_PATH, SC_RENAME_SYS) */
	__u64 path2;
	struct cw_stats_key key;  /* SC_INODE, SC_RENAME: the source side */
	struct cw_stats_key key2; /* SC_RENAME: the target side */
	__u64 size2;      /* SC_RENAME: size of the file replaced at the target (last link), or 0 */
	__u32 kind;
	__u32 watched;    /* bit 0: key, bit 1: key2 */
	__s32 dfd, dfd2;
	__u32 flags;      /* SC_PATH: open flags; SC_RENAME: 1 = unknown size (a directory) */
	__u32 bits;       /* i_blkbits of the inode (SC_RENAME) */
};

struct {
	/* LRU: an entry whose exit was never seen (a skipped run) ages out
	 * instead of filling the map */
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct size_call);
} size_calls SEC(".maps");

/* Renames, truncates and unlinks by a path that could not be attributed (the
 * size may have changed in any cache): not a drop, since most happen outside
 * every root, but userspace asks every cache for an early rescan when it moves. */
__u64 size_unresolved;

static __always_inline void size_unresolved_bump(void)
{
	__sync_fetch_and_add(&size_unresolved, 1);
}

static __always_inline __u64 alloc_of(__u64 size, __u32 bits)
{
	__u64 blk = 1ULL << (bits & 31);

	return (size + blk - 1) & ~(blk - 1);
}

static __always_inline __u32 inode_bits(struct inode *inode)
{
	return BPF_CORE_READ(inode, i_blkbits);
}

static __always_inline __u64 inode_size(struct inode *inode)
{
	return BPF_CORE_READ(inode, i_size);
}

/* Adds a file's size change from `from` to `to` bytes to the series. A global
 * function (scalars only, verified once): it is called from many places. */
__noinline int cw_commit_size(__u64 group, __u32 root, __u64 from, __u64 to, __u32 bits)
{
	struct cw_stats_key key = { .group = group, .root = root };
	__u64 af = alloc_of(from, bits), at = alloc_of(to, bits);
	struct cw_stats *st;

	if (from == to)
		return 0;
	st = stats_get(&key);
	if (!st)
		return 0;
	if (to > from)
		__sync_fetch_and_add(&st->size_added, to - from);
	else
		__sync_fetch_and_add(&st->size_removed, from - to);
	if (at > af)
		__sync_fetch_and_add(&st->alloc_added, at - af);
	else if (af > at)
		__sync_fetch_and_add(&st->alloc_removed, af - at);
	activity_bump();
	return 1;
}

static __always_inline void commit_size(const struct cw_stats_key *key, __u64 from, __u64 to,
					__u32 bits)
{
	if (from != to)
		cw_commit_size(key->group, key->root, from, to, bits);
}

/* A change the backend saw but cannot size: the next scan is asked for early. */
static __always_inline void commit_size_unknown(const struct cw_stats_key *key)
{
	struct cw_stats *st = stats_get(key);

	if (!st)
		return;
	__sync_fetch_and_add(&st->size_unknown, 1);
	activity_bump();
}

static __always_inline void size_key_of(struct inode *inode, struct size_key *k)
{
	k->ino = BPF_CORE_READ(inode, i_ino);
	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->gen = BPF_CORE_READ(inode, i_generation);
}

/* The accounted size from which a write that took the file from size0 to now
 * grew it: the accounted size itself when it is not above now, even below
 * size0 (a concurrent write grew the file before this one entered and has not
 * exited yet: its exit will find nothing left to count). Above now it is stale
 * (the file shrank unseen, e.g. a truncate by path on tmpfs under the
 * tracepoint backend, which asks for a rescan): then from size0. */
static __always_inline __u64 growth_base(__u64 known, __u64 size0, __u64 now)
{
	return known <= now ? known : size0;
}

/* Sets the accounted size to now if it is still old; 1 when it was. */
static __always_inline int known_swap(__u64 *v, __u64 old, __u64 now)
{
	if (size_atomics)
		return __sync_val_compare_and_swap(v, old, now) == old;
	*v = now;
	return 1;
}

/* A write's entry: the file's inode and its size now, for size_write_exit. */
static __always_inline void size_write_note(struct file *f, __u64 *inode, __u64 *size0)
{
	struct inode *i = BPF_CORE_READ(f, f_inode);

	*inode = (__u64)i;
	*size0 = inode_size(i);
}

/* Without BPF_FETCH atomics (5.10) the accounted size of an inode is read and
 * written under a try-lock: inserting its key here with BPF_NOEXIST succeeds
 * for one caller at a time (the map's bucket lock). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct size_key);
	__type(value, __u32);
} size_locks SEC(".maps");

#define CW_SIZE_LOCK_TRIES 64

/* 1 when taken. A holder runs a few dozen instructions with preemption (kprobe)
 * or migration (fentry) disabled, but its CPU may still stall (a virtual CPU
 * the host deschedules): after the tries the caller gives up. */
static __always_inline int size_lock(const struct size_key *k)
{
	__u32 one = 1;

	for (int i = 0; i < CW_SIZE_LOCK_TRIES; i++) {
		long err = bpf_map_update_elem(&size_locks, k, &one, BPF_NOEXIST);
		if (!err)
			return 1;
		if (err != -EEXIST)
			return 0;
	}
	return 0;
}

/* The growth from size0 to now not yet counted, with the accounted size of the
 * inode k (cmpxchg where the kernel has it, else under size_lock): 1 and the
 * range to commit in *from, *to, or 0. */
static __always_inline int size_grow_known(struct inode *inode, struct size_key *k, __u64 size0,
					   __u64 now, __u64 *from, __u64 *to)
{
	__u64 *v = bpf_map_lookup_elem(&known_size, k);

	*to = now;
	if (!v) {
		if (!bpf_map_update_elem(&known_size, k, &now, BPF_NOEXIST)) {
			*from = size0;
			return 1;
		}
		v = bpf_map_lookup_elem(&known_size, k); /* a concurrent call inserted it */
		if (!v)
			return 0;
	}
	for (int i = 0; i < 4; i++) {
		__u64 old = *(volatile __u64 *)v;
		if (old > now) {
			/* read i_size again: a concurrent write may have grown it since */
			now = inode_size(inode);
			*to = now;
			if (old > now) {
				*from = size0;
				return known_swap(v, old, now);
			}
		}
		if (old == now)
			return 0;
		if (known_swap(v, old, now)) {
			*from = growth_base(old, size0, now);
			return 1;
		}
	}
	return 0;
}

/* A write's exit: the file grew from size0 (its i_size at entry) to its size
 * now; counts the growth not yet counted by a concurrent call. */
__noinline int cw_size_grow(__u64 group, __u32 root, __u64 inode_addr, __u64 size0)
{
	struct cw_stats_key key = { .group = group, .root = root };
	struct inode *inode = (struct inode *)inode_addr;
	struct size_key k;
	__u64 from = 0, to = 0;
	int locked = 0, grew;

	size_key_of(inode, &k);
	if (!size_atomics) {
		locked = size_lock(&k);
		if (!locked) {
			/* Leave the accounted size alone: the file's next growing write
			 * counts this growth too; should none come, the rescan does. */
			commit_size_unknown(&key);
			return 0;
		}
	}
	grew = size_grow_known(inode, &k, size0, inode_size(inode), &from, &to);
	if (locked)
		bpf_map_delete_elem(&size_locks, &k);
	if (grew)
		commit_size(&key, from, to, inode_bits(inode));
	return 0;
}

/* Overwrites within the file's size leave i_size alone and cost no map operation. */
static __always_inline void size_write_exit(const struct cw_stats_key *key, struct inode *inode,
					    __u64 size0)
{
	if (inode && inode_size(inode) > size0)
		cw_size_grow(key->group, key->root, (__u64)inode, size0);
}

/* A write seen only at its completion (io_uring, a clone into the file): no
 * size at entry. The accounted size of the inode, when there is one, makes the
 * growth exact; without one the write is taken to have ended at the file's end
 * (an append, the usual case), so an overwrite of a file no call was seen
 * growing since the agent started may count as growth until the next scan. */
static __always_inline void size_write_completed(const struct cw_stats_key *key,
						 struct inode *inode, __s64 res)
{
	__u64 now;

	if (!inode || res <= 0)
		return;
	now = inode_size(inode);
	cw_size_grow(key->group, key->root, (__u64)inode, now > (__u64)res ? now - res : 0);
}

/* Remembers a size the file was set to (truncate, fallocate): a plain store. */
static __always_inline void known_set(struct inode *inode, __u64 now)
{
	struct size_key k;
	__u64 *v;

	size_key_of(inode, &k);
	v = bpf_map_lookup_elem(&known_size, &k);
	if (v)
		*(volatile __u64 *)v = now;
}

static __always_inline void known_forget(struct inode *inode)
{
	struct size_key k;

	size_key_of(inode, &k);
	bpf_map_delete_elem(&known_size, &k);
}

/* An unlink of the last link: the file's size leaves the series. */
static __always_inline void size_unlinked(const struct cw_stats_key *key, struct inode *inode,
					  __u64 bytes)
{
	if (!inode || !bytes)
		return;
	commit_size(key, bytes, 0, inode_bits(inode));
	known_forget(inode);
}

/* ---- calls that set a size: entry and exit ---- */

static __always_inline void size_call_put(struct size_call *sc)
{
	__u64 tid = bpf_get_current_pid_tgid();

	if (bpf_map_update_elem(&size_calls, &tid, sc, BPF_ANY))
		drop(CW_DROP_INFLIGHT_FULL);
}

/* A call about to change the size of the file at dentry d (do_truncate,
 * vfs_fallocate, ftruncate/fallocate by fd): remembers its size now. */
static __always_inline void size_change_enter(struct dentry *d)
{
	struct size_call sc = { .kind = SC_INODE };
	struct inode *inode = BPF_CORE_READ(d, d_inode);

	if (!inode || !is_regular(inode))
		return;
	if (attribute_dir(BPF_CORE_READ(d, d_parent), &sc.key, SLOT_SIZE) <= 0)
		return;
	sc.watched = 1;
	sc.inode = (__u64)inode;
	sc.size0 = inode_size(inode);
	size_call_put(&sc);
}

static __always_inline void size_file_enter(struct file *f)
{
	if (f && is_regular(BPF_CORE_READ(f, f_inode)))
		size_change_enter(BPF_CORE_READ(f, f_path.dentry));
}

/* The exit of a size-changing call: commits size0 -> i_size, then forgets the call. */
static __always_inline void size_change_exit(long ret)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct size_call *sc = bpf_map_lookup_elem(&size_calls, &tid);

	if (!sc)
		return;
	if (sc->kind == SC_INODE && ret >= 0 && sc->watched) {
		struct inode *inode = (struct inode *)sc->inode;
		__u64 now = inode_size(inode);
		commit_size(&sc->key, sc->size0, now, inode_bits(inode));
		known_set(inode, now);
	}
	bpf_map_delete_elem(&size_calls, &tid);
}

/* ---- renames with dentries (fentry, kprobe) ---- */

/* Before vfs_rename moves old to new: where each side is, the size moving,
 * and what a replaced target frees. */
#define CW_RENAME_EXCHANGE 2 /* include/uapi/linux/fs.h */

static __always_inline void size_rename_enter(struct dentry *old, struct dentry *new,
					      unsigned int flags)
{
	struct size_call sc = { .kind = SC_RENAME };
	struct inode *inode = BPF_CORE_READ(old, d_inode);
	struct inode *target = BPF_CORE_READ(new, d_inode);

	if (!inode)
		return;
	if (attribute_dir(BPF_CORE_READ(old, d_parent), &sc.key, SLOT_SIZE) > 0)
		sc.watched |= 1;
	if (attribute_dir(BPF_CORE_READ(new, d_parent), &sc.key2, SLOT_SIZE) > 0)
		sc.watched |= 2;
	if (!sc.watched)
		return;
	sc.inode = (__u64)inode;
	sc.bits = inode_bits(inode);
	if (is_regular(inode))
		sc.size0 = inode_size(inode);
	else if (sc.watched != 3 || sc.key.root != sc.key2.root || sc.key.group != sc.key2.group)
		sc.flags = 1; /* a directory (or a special file) changes series: its tree is unknown here */
	/* two files swap places: sized only when both stay in one series */
	if ((flags & CW_RENAME_EXCHANGE) &&
	    (sc.watched != 3 || sc.key.root != sc.key2.root || sc.key.group != sc.key2.group))
		sc.flags = 1;
	if (target && is_regular(target) && BPF_CORE_READ(target, i_nlink) == 1 && (sc.watched & 2) &&
	    !(flags & CW_RENAME_EXCHANGE))
		sc.size2 = inode_size(target);
	size_call_put(&sc);
}

static __always_inline void size_rename_exit(long ret)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct size_call *sc = bpf_map_lookup_elem(&size_calls, &tid);

	if (!sc || sc->kind != SC_RENAME) {
		if (sc)
			bpf_map_delete_elem(&size_calls, &tid);
		return;
	}
	if (ret == 0) {
		int same = sc->watched == 3 && sc->key.root == sc->key2.root &&
			   sc->key.group == sc->key2.group;
		if (sc->size2)
			commit_size(&sc->key2, sc->size2, 0, sc->bits);
		if (sc->flags) {
			if (sc->watched & 1)
				commit_size_unknown(&sc->key);
			if (sc->watched & 2)
				commit_size_unknown(&sc->key2);
		} else if (!same) {
			if (sc->watched & 1)
				commit_size(&sc->key, sc->size0, 0, sc->bits);
			if (sc->watched & 2)
				commit_size(&sc->key2, 0, sc->size0, sc->bits);
		}
	}
	bpf_map_delete_elem(&size_calls, &tid);
}

#endif
