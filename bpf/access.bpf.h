/* Observed use: opens for reading per series, the per-file access records, and the written/read-back state behind the reuse counters. */
#ifndef CW_ACCESS_BPF_H
#define CW_ACCESS_BPF_H

/* f_mode bits (include/linux/fs.h). FMODE_READ is bit 0 and FMODE_CREATED
 * bit 20 in every kernel since 4.19 (6.12 renumbered other bits around them);
 * tests/integration/test_access.c checks both on every kernel of the matrix. */
#define CW_FMODE_READ 0x1
#define CW_FMODE_CREATED 0x100000

/* Sized by the loader from bpf.access_records before load. A plain hash,
 * preallocated, not an LRU: an LRU would evict records silently, while a full
 * hash refuses the insert and the miss is counted (access_map_full). Records
 * go when their file's last link is unlinked (where the backend sees the
 * dentry) and when userspace forgets them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_ACCESS_RECORDS_DEFAULT);
	__type(key, struct cw_access_key);
	__type(value, struct cw_access_val);
} access SEC(".maps");

/* Records made and deleted (by BPF; userspace adds its own deletes to
 * access_deleted): their difference is the records in use, without a walk of
 * the map. */
__u64 access_inserted;
__u64 access_deleted;
/* CLOCK_REALTIME minus CLOCK_BOOTTIME in ns, kept current by userspace:
 * records hold wall-clock times, which survive a reboot in the state file
 * and compare with atime and mtime, while BPF only reads the boot clock
 * before 6.1 (bpf_ktime_get_tai_ns). */
__u64 realtime_offset_ns;
/* Root slots whose files' opens and reads are tracked (per cache `track_reads`,
 * set by userspace at arming): bit n for slot n. 0, when no cache tracks reads,
 * turns every open and read away before it costs more than this load. */
__u64 read_slots;

static __always_inline int reads_tracked(const struct cw_stats_key *key)
{
	return (read_slots >> (key->root & (CW_MAX_ROOTS - 1))) & 1;
}

/* Where a dentry was attributed to, for the next open of it: a compile opens
 * the same headers thousands of times, each a new struct file, so the file
 * decision cache never hits on opens. Valid while the dentry still has the
 * parent and inode it had and the generation is the same; a freed dentry
 * reused at the same address in the same directory for the same inode would
 * be attributed the same way anyway. */
struct open_decision {
	__u64 parent;
	__u64 inode;
	__u64 gen;
	struct cw_stats_key key;
	__u32 watched;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct dentry * */
	__type(value, struct open_decision);
} open_decisions SEC(".maps");

/* An ERR_PTR: the last page of the address space holds the errno values. */
#define IS_ERR_VALUE(p) ((unsigned long)(p) >= (unsigned long)-4095)

static __always_inline __u64 realtime_ns(void)
{
	return bpf_ktime_get_boot_ns() + realtime_offset_ns;
}

static __always_inline void access_key_of(struct inode *inode, struct cw_access_key *k)
{
	k->ino = BPF_CORE_READ(inode, i_ino);
	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->pad = 0;
}

/* The record of inode, made if it has none; NULL (and a drop) when the map is
 * full. A record of an older inode with the same number (deleted, number
 * reused: i_generation differs) starts over. */
static __always_inline struct cw_access_val *access_record(struct inode *inode)
{
	struct cw_access_key k;
	__u32 gen = BPF_CORE_READ(inode, i_generation);
	struct cw_access_val *v;

	access_key_of(inode, &k);
	v = bpf_map_lookup_elem(&access, &k);
	if (v) {
		if (v->flags & CW_ACCESS_SEEDED) {
			v->gen = gen;
			v->flags &= ~CW_ACCESS_SEEDED;
		} else if (v->gen != gen) {
			struct cw_access_val fresh = { .gen = gen };
			*v = fresh;
		}
		return v;
	}
	struct cw_access_val nv = { .gen = gen };
	long err = bpf_map_update_elem(&access, &k, &nv, BPF_NOEXIST);
	if (err == 0)
		__sync_fetch_and_add(&access_inserted, 1);
	v = bpf_map_lookup_elem(&access, &k);
	if (!v)
		drop(CW_DROP_ACCESS_FULL);
	return v;
}

/* The file's last link goes: its number may be reused by an unrelated file. */
static __always_inline void access_forget(struct inode *inode)
{
	struct cw_access_key k;

	access_key_of(inode, &k);
	if (bpf_map_delete_elem(&access, &k) == 0)
		__sync_fetch_and_add(&access_deleted, 1);
}

/* Set the written state; entries_written counts the change from read (or no
 * record) to written. Plain stores: the state of two CPUs racing on one file
 * may count one transition twice, never a missed write. */
static __always_inline void access_mark_written(struct cw_access_val *v, const struct cw_stats_key *key)
{
	if (v->flags & CW_ACCESS_WRITTEN)
		return;
	v->flags |= CW_ACCESS_WRITTEN;
	struct cw_stats *st = stats_get(key);
	if (st)
		__sync_fetch_and_add(&st->entries_written, 1);
}

/* A write into a watched file (key: its series): refreshes last_ns, since a
 * file being written is in use, but is not an access (count, recent_ns). */
static __always_inline void access_on_write(struct file *f, const struct cw_stats_key *key)
{
	if (!reads_tracked(key))
		return;
	struct cw_access_val *v = access_record(BPF_CORE_READ(f, f_inode));

	if (!v)
		return;
	v->last_ns = realtime_ns();
	access_mark_written(v, key);
}

/* An open for reading of an existing watched file. */
static __always_inline void access_on_read_open(struct inode *inode, const struct cw_stats_key *key)
{
	struct cw_stats *st = stats_get(key);
	struct cw_access_val *v;
	__u64 now = realtime_ns();

	if (st)
		__sync_fetch_and_add(&st->read_opens, 1);
	v = access_record(inode);
	if (!v)
		return;
	if ((v->flags & CW_ACCESS_WRITTEN) && st) {
		v->flags &= ~CW_ACCESS_WRITTEN;
		__sync_fetch_and_add(&st->entries_reused, 1);
	}
	__sync_fetch_and_add(&v->count, 1);
	v->last_ns = now;
	/* newest first; opens of one file at the same instant may reorder them */
	for (int i = CW_ACCESS_RECENT - 1; i > 0; i--)
		v->recent_ns[i] = v->recent_ns[i - 1];
	v->recent_ns[0] = now;
}

/* Attribution of an opened file by its dentry (see struct open_decision). */
static __always_inline int open_attribute(struct dentry *d, struct inode *inode,
					  struct cw_stats_key *key, __u32 slot)
{
	__u64 dk = (__u64)d;
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	__u64 gen = watch_gen;
	struct open_decision *dc = bpf_map_lookup_elem(&open_decisions, &dk);

	if (dc && dc->parent == (__u64)parent && dc->inode == (__u64)inode && dc->gen == gen) {
		if (dc->watched)
			*key = dc->key;
		return dc->watched;
	}
	struct open_decision nd = { .parent = (__u64)parent, .inode = (__u64)inode, .gen = gen };
	int r = attribute_dir(parent, &nd.key, slot);
	if (r < 0)
		return 0;
	nd.watched = r;
	bpf_map_update_elem(&open_decisions, &dk, &nd, BPF_ANY);
	if (r)
		*key = nd.key;
	return r;
}

/* A watched file was just opened: its later reads and writes find the
 * attribution in the file decision cache instead of walking again. */
static __always_inline void remember_file(struct file *f, struct dentry *d, const struct cw_stats_key *key)
{
	__u64 fk = (__u64)f;
	struct decision nd = { .dentry = (__u64)d, .gen = watch_gen, .key = *key, .watched = 1 };

	bpf_map_update_elem(&decisions, &fk, &nd, BPF_ANY);
}

/* A successful open, from any backend: an access when an existing regular
 * file under a root was opened for reading (O_RDONLY, O_RDWR), a new entry
 * when the open created it. O_PATH and write-only opens of existing files are
 * neither (a rewrite counts at its first write). */
static __always_inline void access_open(struct file *f, __u32 slot)
{
	struct cw_stats_key key;

	if (!f || !read_slots)
		return;
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	if (!inode || !is_regular(inode))
		return;
	__u32 mode = BPF_CORE_READ(f, f_mode);
	if (!(mode & (CW_FMODE_READ | CW_FMODE_CREATED)))
		return;
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	if (!open_attribute(d, inode, &key, slot))
		return;
	remember_file(f, d, &key);
	if (!reads_tracked(&key))
		return;
	if (mode & CW_FMODE_CREATED) {
		struct cw_access_val *v = access_record(inode);
		if (v) {
			v->last_ns = realtime_ns();
			access_mark_written(v, &key);
		}
	} else {
		access_on_read_open(inode, &key);
	}
	activity_bump();
}

/* The open request's own part of the io_kiocb (io_uring/openclose.c). */
struct io_open___cw {
	struct file *file;
	int dfd;
	__u32 file_slot;
} __attribute__((preserve_access_index));

/* An io_uring OPENAT/OPENAT2 completed: res is the new fd in the table of
 * the ring's task (io-wq workers share it). An open into a fixed-file slot
 * (file_slot set) installs no fd and is not seen. Needs the 6.0+ layout
 * (req->cmd); older kernels keep their io_uring opens unseen on
 * this backend (docs/backends.md). */
static __always_inline void uring_open_complete(struct io_kiocb *r, __s64 res)
{
	if (!bpf_core_type_exists(struct io_open___cw) || !bpf_core_field_exists(r->cmd))
		return;
	struct io_open___cw *o = (void *)r + bpf_core_field_offset(r->cmd);
	if (BPF_CORE_READ(o, file_slot))
		return;
	if (res >= 0)
		access_open(fd_file(bpf_get_current_task_btf(), res), SLOT_URING_OPEN);
}

#endif
