/* Attribution: watched roots, the d_parent walk to a root, groups, the per-file decision cache. */
#ifndef CW_ATTRIBUTION_BPF_H
#define CW_ATTRIBUTION_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_MAX_ROOTS);
	__type(key, struct cw_root_key);
	__type(value, struct cw_root_val);
} roots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_MAX_SERIES);
	__type(key, struct cw_stats_key);
	__type(value, struct cw_group_val);
} groups SEC(".maps");

struct decision {
	__u64 dentry;
	__u64 gen;
	struct cw_stats_key key;
	__u32 watched;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct file * */
	__type(value, struct decision);
} decisions SEC(".maps");

/* Per-CPU work space, one slot per program that may run at the same time as
 * another on one CPU. Programs run with migration disabled but, on some
 * kernels (PREEMPT_RT, faultable syscall tracepoints), not with preemption
 * disabled, so a preempting task may run a different program on the same CPU;
 * the kernel keeps a second task out of the same program (recursion guard),
 * so a slot per program is never shared. The owner stamp stays as a check:
 * a changed stamp means the result may be torn, and it is dropped. */
enum scratch_slot {
	SLOT_WRITE,       /* vfs_write, or the raw sys_enter of every write call */
	SLOT_WRITEV,      /* vfs_writev */
	SLOT_UNLINK,      /* vfs_unlink, ext4_unlink_enter */
	SLOT_UNLINK_PATH, /* raw sys_exit: unlink path strings */
	SLOT_READ,        /* vfs_read, vfs_readv, or the raw sys_exit of every read call */
	SLOT_COPY,        /* copy_file_range, sendfile, splice, clones (both files, one after the other) */
	SLOT_URING,       /* io_uring_complete */
	SLOT_OPEN,        /* opens: raw sys_exit, fexit/kretprobe of do_filp_open */
	SLOT_URING_OPEN,  /* io_uring_complete of an open */
	SLOT_SIZE,        /* truncate, fallocate, rename, O_TRUNC opens (size.bpf.h) */
	SLOT_MAX,
};

struct scratch {
	__u64 owner;
	__u32 slot;             /* its own index, for the global functions below */
	__u32 pad;
	struct cw_root_val rv;  /* the root cw_find_root found */
	struct dentry *chain[CW_MAX_WALK];
	char name[CW_GROUP_NAME_MAX * 2]; /* group name under construction */
	char path[CW_PATH_MAX];            /* unlink path string */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLOT_MAX);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

static __always_inline __u64 fnv_byte(__u64 h, unsigned char c)
{
	return (h ^ c) * CW_FNV_PRIME;
}

/* How far past the walk bound to look for a root before calling a drop: the
 * deepest path (PATH_MAX, one-letter names) has 2048 components, but trees
 * deeper than this beside a watched root are not worth the verifier's time. */
#define CW_ROOT_SEARCH 224

/* The walk bound hit at d: could d or one of its ancestors be a watched root?
 * Walks on without keeping the chain. 0 only when the file system's root is
 * reached with no root on the way, so the data was no root's and nothing was
 * lost; a bound here too means it cannot tell, and counts as could. */
static __always_inline int root_above(struct dentry *d, struct cw_root_key *k)
{
	for (__u32 i = 0; i < CW_ROOT_SEARCH; i++) {
		k->ino = BPF_CORE_READ(d, d_inode, i_ino);
		if (bpf_map_lookup_elem(&roots, k))
			return 1;
		struct dentry *p = BPF_CORE_READ(d, d_parent);
		if (!p || p == d)
			return 0;
		d = p;
	}
	return 1;
}

/* The loops of attribution are global functions: the verifier checks each once,
 * on its own, instead of once per path of every caller (the walk's depth times
 * the group name's length made tp_sys_exit pass 1,000,000 verified instructions
 * on 7.x). Global functions take scalars only: the scratch slot is passed by index. */
static __always_inline struct scratch *scratch_at(__u32 slot)
{
	return bpf_map_lookup_elem(&scratch_map, &slot);
}

/* Walks d_parent from dir until a watched root matches. Never crosses mounts:
 * d_parent stops at the file system's own root. level+1 when found (level = how
 * many directories below the root dir is; the root in s->rv), 0: not watched,
 * -1: walk bound hit below a watched root (the caller counts a drop). */
__noinline int cw_find_root(__u32 slot, __u64 dir_addr)
{
	struct scratch *s = scratch_at(slot);
	struct dentry *d = (struct dentry *)dir_addr;
	struct cw_root_key k = {};

	if (!s)
		return 0;
	k.dev = BPF_CORE_READ(d, d_sb, s_dev);
	for (__u32 i = 0; i < CW_MAX_WALK; i++) {
		if (i >= max_walk)
			return root_above(d, &k) ? -1 : 0;
		s->chain[i] = d;
		k.ino = BPF_CORE_READ(d, d_inode, i_ino);
		struct cw_root_val *v = bpf_map_lookup_elem(&roots, &k);
		if (v) {
			s->rv = *v;
			return i + 1;
		}
		struct dentry *p = BPF_CORE_READ(d, d_parent);
		if (!p || p == d)
			return 0;
		d = p;
	}
	return root_above(d, &k) ? -1 : 0;
}

/* 1: found (rv, level set), 0: not watched, -1: walk bound hit. */
static __always_inline int find_root(struct scratch *s, struct dentry *dir,
				     struct cw_root_val *rv, __u32 *level)
{
	int r = cw_find_root(s->slot, (__u64)dir);

	if (r <= 0)
		return r;
	*rv = s->rv;
	*level = r - 1;
	return 1;
}

/* Appends the names of the first `want` directories below the root (taken from
 * the walk's chain) to s->name, separated by '/'. Returns the new length. */
__noinline __u32 cw_name_from_chain(__u32 slot, __u32 level, __u32 want)
{
	struct scratch *s = scratch_at(slot);
	__u32 off = 0;

	if (!s)
		return 0;

	for (__u32 j = 0; j < CW_MAX_GROUP_DEPTH; j++) {
		if (j >= want || j >= level)
			break;
		__u32 idx = level - 1 - j;
		if (idx >= CW_MAX_WALK)
			break;
		struct dentry *d = s->chain[idx];
		const unsigned char *nm = BPF_CORE_READ(d, d_name.name);
		if (off) {
			s->name[off & (CW_GROUP_NAME_MAX - 1)] = '/';
			off++;
		}
		off &= CW_GROUP_NAME_MAX - 1;
		long n = bpf_probe_read_kernel_str(&s->name[off], CW_GROUP_NAME_MAX, nm);
		if (n <= 1)
			break;
		off += n - 1;
		if (off >= CW_GROUP_NAME_MAX - 1) {
			off = CW_GROUP_NAME_MAX - 1;
			break;
		}
	}
	return off;
}

static __always_inline __u32 name_from_chain(struct scratch *s, __u32 level, __u32 want)
{
	return cw_name_from_chain(s->slot, level, want);
}

__noinline __u64 cw_hash_name(__u32 slot, __u32 len)
{
	struct scratch *s = scratch_at(slot);
	__u64 h = CW_FNV_OFFSET;

	if (!s)
		return h;

	for (__u32 i = 0; i < CW_GROUP_NAME_MAX; i++) {
		if (i >= len)
			break;
		h = fnv_byte(h, s->name[i]);
	}
	return h;
}

/* Turns the group name in s->name into a stats key, admitting a new group if the
 * root is under max_groups and folding into _other otherwise. */
static __always_inline void admit_group(struct scratch *s, __u32 len,
					const struct cw_root_val *rv, struct cw_stats_key *key)
{
	key->root = rv->id;
	key->pad = 0;
	if (len == 0) {
		key->group = CW_GROUP_ROOT;
		return;
	}
	s->name[len & (CW_GROUP_NAME_MAX - 1)] = 0;
	key->group = cw_hash_name(s->slot, len);
	if (bpf_map_lookup_elem(&groups, key))
		return;
	__u32 slot = rv->id & (CW_MAX_ROOTS - 1);
	/* Reserve, then look: atomics that return a value (BPF_FETCH) need 5.12, a
	 * plain atomic add works from 5.10. The count never passes max_groups; two
	 * new groups racing for the last place may both fold into _other. */
	__sync_fetch_and_add(&group_count[slot], 1);
	__u64 now = *(volatile __u64 *)&group_count[slot];
	if (rv->max_groups && now > rv->max_groups) {
		__sync_fetch_and_add(&group_count[slot], -1);
		key->group = CW_GROUP_OTHER;
		return;
	}
	long err = bpf_map_update_elem(&groups, key, s->name, BPF_NOEXIST);
	if (err == 0)
		return;
	__sync_fetch_and_add(&group_count[slot], -1);
	if (err != -EEXIST) {
		drop(CW_DROP_GROUPS_FULL);
		key->group = CW_GROUP_OTHER;
	}
}

static __always_inline struct scratch *get_scratch(__u32 slot)
{
	return scratch_at(slot);
}

/* Takes this CPU's scratch slot for the current task. */
static __always_inline struct scratch *claim_scratch(__u32 slot)
{
	struct scratch *s = get_scratch(slot);

	if (s) {
		s->owner = bpf_get_current_pid_tgid();
		s->slot = slot;
	}
	return s;
}

/* Did another task use the scratch since we claimed it? Then drop, visibly. */
static __always_inline int scratch_lost(struct scratch *s)
{
	if (s->owner == bpf_get_current_pid_tgid())
		return 0;
	drop(CW_DROP_SCRATCH_BUSY);
	return 1;
}

/* Attributes a directory (the parent of the file written or unlinked).
 * 1: watched, key set; 0: not watched; -1: unknown (scratch taken meanwhile),
 * not to be cached. */
static __always_inline int attribute_dir(struct dentry *dir, struct cw_stats_key *key,
					 __u32 slot)
{
	struct scratch *s = claim_scratch(slot);
	struct cw_root_val rv;
	__u32 level = 0;

	if (!s)
		return -1;
	int r = find_root(s, dir, &rv, &level);
	if (r < 0)
		drop(CW_DROP_WALK_DEPTH);
	if (r <= 0)
		return scratch_lost(s) ? -1 : 0;
	__u32 len = name_from_chain(s, level, rv.group_depth);
	if (scratch_lost(s))
		return -1;
	admit_group(s, len, &rv, key);
	return 1;
}

static __always_inline int is_regular(struct inode *inode)
{
	return (BPF_CORE_READ(inode, i_mode) & S_IFMT) == S_IFREG;
}

/* A file's inode and dentry. Every write reads both, and each probe read is a
 * helper call that costs more than the copy: when the two fields lie within 64
 * bytes of each other (every kernel of the matrix: 16 bytes apart on 5.10 and 6.1,
 * 48 on 6.18) they come in one read. Offsets are CO-RE relocated, so constant
 * for the verifier. 0, or -1 if the read failed. */
#define FILE_SPAN 64
static __always_inline int file_inode_dentry(struct file *f, struct inode **inode, struct dentry **d)
{
	__u32 oi = bpf_core_field_offset(struct file, f_inode);
	__u32 od = bpf_core_field_offset(struct file, f_path.dentry);
	__u32 lo = oi < od ? oi : od, hi = oi < od ? od : oi;
	__u64 buf[FILE_SPAN / 8] = {};

	if (hi - lo + 8 > FILE_SPAN) {
		*inode = BPF_CORE_READ(f, f_inode);
		*d = BPF_CORE_READ(f, f_path.dentry);
		return 0;
	}
	if (bpf_probe_read_kernel(buf, hi - lo + 8, (char *)f + lo))
		return -1;
	*inode = (struct inode *)buf[((oi - lo) / 8) & (FILE_SPAN / 8 - 1)];
	*d = (struct dentry *)buf[((od - lo) / 8) & (FILE_SPAN / 8 - 1)];
	return 0;
}

/* Decision per open file, re-walked when its dentry or the generation changed. */
static __always_inline int attribute_file(struct file *f, struct cw_stats_key *key, __u32 slot)
{
	__u64 fk = (__u64)f;
	struct inode *inode;
	struct dentry *d;

	/* pipes, sockets and ttys take most write calls: leave before any map lookup */
	if (file_inode_dentry(f, &inode, &d) || !is_regular(inode))
		return 0;
	__u64 gen = watch_gen;
	struct decision *dc = bpf_map_lookup_elem(&decisions, &fk);

	if (dc && dc->dentry == (__u64)d && dc->gen == gen) {
		if (dc->watched)
			*key = dc->key;
		return dc->watched;
	}
	struct decision nd = { .dentry = (__u64)d, .gen = gen };
	int r = attribute_dir(BPF_CORE_READ(d, d_parent), &nd.key, slot);
	if (r < 0)
		return 0;
	nd.watched = r;
	bpf_map_update_elem(&decisions, &fk, &nd, BPF_ANY);
	if (nd.watched)
		*key = nd.key;
	return nd.watched;
}

/* The open file behind a task's descriptor, NULL if there is none. t must be
 * a BTF pointer (bpf_get_current_task_btf()): the walk to the fd array is plain
 * loads, which the verifier allows through it, instead of one probe-read helper
 * call per step (the raw sys_enter runs this on every write). Only the array
 * slot, a pointer to a pointer the verifier does not type, is probe-read. */
static __always_inline struct file *fd_file(struct task_struct *t, int fd)
{
	struct files_struct *files = t->files;
	struct fdtable *fdt;
	struct file *f = NULL;

	if (!files || fd < 0)
		return NULL;
	fdt = files->fdt;
	if (!fdt || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd]);
	return f;
}

#endif
