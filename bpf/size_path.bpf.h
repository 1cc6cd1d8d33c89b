/* Tracepoint backend: size changes made by path (truncate, O_TRUNC opens, renames), where no dentry is at hand. */
#ifndef CW_SIZE_PATH_BPF_H
#define CW_SIZE_PATH_BPF_H

#define CW_EXT4_SUPER_MAGIC 0xEF53

/* Set by the loader when tp_btf/ext4_begin_ordered_truncate is attached: then
 * an O_TRUNC open of an ext4 file that fired no tracepoint shrank nothing. */
const volatile __u32 ext4_truncate_tp = 0;

/* truncate(path) or an open with O_TRUNC: the path is all the syscall shows;
 * ext4's tracepoint may fill in the inode before the size changes. */
static __always_inline void size_path_enter(__u32 open_flags)
{
	struct size_call sc = { .kind = SC_PATH, .flags = open_flags };

	size_call_put(&sc);
}

/* ext4 calls this before it shrinks i_size (data=ordered, the default), on
 * every path: truncate, ftruncate, O_TRUNC. Only a path call lacks the inode. */
SEC("tp_btf/ext4_begin_ordered_truncate")
int BPF_PROG(tpb_ext4_begin_ordered_truncate, struct inode *inode, loff_t new_size)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct size_call *sc = bpf_map_lookup_elem(&size_calls, &tid);

	if (!inode || !sc || sc->kind != SC_PATH || sc->inode)
		return 0;
	sc->inode = (__u64)inode;
	sc->size0 = inode_size(inode);
	return 0;
}

#define CW_EXT4_MOUNT_DATA_FLAGS 0x00C00 /* fs/ext4/ext4.h */
#define CW_EXT4_MOUNT_ORDERED_DATA 0x00800

/* ext4 calls the tracepoint above only with a journal in data=ordered mode
 * (ext4_should_order_data): the default, but not for file systems made without
 * a journal or mounted data=writeback or data=journal. */
static __always_inline int ext4_orders_data(struct inode *inode)
{
	struct super_block *sb = BPF_CORE_READ(inode, i_sb);
	struct ext4_sb_info *sbi;

	if (BPF_CORE_READ(sb, s_magic) != CW_EXT4_SUPER_MAGIC)
		return 0;
	sbi = BPF_CORE_READ(sb, s_fs_info);
	return BPF_CORE_READ(sbi, s_journal) &&
	       (BPF_CORE_READ(sbi, s_mount_opt) & CW_EXT4_MOUNT_DATA_FLAGS) == CW_EXT4_MOUNT_ORDERED_DATA;
}

/* Kernels after 6.18 (7.3 in the matrix) keep d_alias in an anonymous union: no d_u. */
struct dentry___anon_u {
	struct hlist_node d_alias;
} __attribute__((preserve_access_index));

/* Where a dentry's link in its inode's alias list lies, on kernels with and without d_u. */
static __always_inline __u32 dentry_alias_offset(void)
{
	if (bpf_core_field_exists(struct dentry, d_u.d_alias))
		return bpf_core_field_offset(struct dentry, d_u.d_alias);
	return bpf_core_field_offset(struct dentry___anon_u, d_alias);
}

/* The first dentry of an inode (its i_dentry alias list): good enough to
 * attribute a regular file, whose hard links a cache rarely spreads over series. */
static __always_inline struct dentry *inode_dentry(struct inode *inode)
{
	struct hlist_node *first = BPF_CORE_READ(inode, i_dentry.first);

	if (!first)
		return NULL;
	return (struct dentry *)((void *)first - dentry_alias_offset());
}

/* An inode the fs tracepoint saw shrink: commit size0 -> i_size. */
static __always_inline void size_path_inode(struct size_call *sc, struct file *f)
{
	struct inode *inode = (struct inode *)sc->inode;
	struct cw_stats_key key;
	__u64 now = inode_size(inode);
	int watched;

	if (f)
		watched = attribute_file(f, &key, SLOT_SIZE);
	else {
		struct dentry *d = inode_dentry(inode);
		watched = d && attribute_dir(BPF_CORE_READ(d, d_parent), &key, SLOT_SIZE) > 0;
	}
	if (!watched)
		return;
	commit_size(&key, sc->size0, now, inode_bits(inode));
	known_set(inode, now);
}

/* An O_TRUNC open that returned fd without the fs tracepoint firing. */
static __always_inline void size_open_trunc(struct file *f)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	struct cw_stats_key key;
	struct size_key k;
	__u64 *v;

	/* a file the open created had no size to lose */
	if (!inode || (BPF_CORE_READ(f, f_mode) & CW_FMODE_CREATED))
		return;
	if (!attribute_file(f, &key, SLOT_SIZE))
		return;
	size_key_of(inode, &k);
	v = bpf_map_lookup_elem(&known_size, &k);
	if (v) {
		__u64 now = inode_size(inode), old = *v;
		commit_size(&key, old, now, inode_bits(inode));
		*(volatile __u64 *)v = now;
		return;
	}
	if (ext4_truncate_tp && ext4_orders_data(inode))
		return; /* ext4 would have said: it was empty already */
	commit_size_unknown(&key);
}

/* sys_exit of truncate(path) or of an open with O_TRUNC (fd = its result). */
static __always_inline void size_path_exit(long ret, int is_open)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct size_call *sc = bpf_map_lookup_elem(&size_calls, &tid);
	struct file *f = NULL;

	if (!sc)
		return;
	if (sc->kind != SC_PATH || ret < 0)
		goto out;
	if (is_open) {
		f = fd_file(bpf_get_current_task_btf(), (int)ret);
		if (!f || !is_regular(BPF_CORE_READ(f, f_inode)))
			goto out;
	}
	if (sc->inode)
		size_path_inode(sc, f);
	else if (f)
		size_open_trunc(f);
	else
		size_unresolved_bump(); /* truncate(path) off ext4: no inode anywhere */
out:
	bpf_map_delete_elem(&size_calls, &tid);
}

/* ---- renames by path ---- */

struct rename_paths {
	char a[CW_PATH_MAX];
	char b[CW_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rename_paths);
} rename_bufs SEC(".maps");

static __always_inline void size_rename_sys_enter(int dfd, const char *old, int dfd2, const char *new)
{
	struct size_call sc = { .kind = SC_RENAME_SYS, .dfd = dfd, .path = (__u64)old,
				.dfd2 = dfd2, .path2 = (__u64)new };

	size_call_put(&sc);
}

/* bpf_loop steps over this CPU's rename buffer (the tracepoint backend has
 * bpf_loop: plain loops whose state changes each step make the verifier walk
 * every combination). */
struct dir_scan {
	__u32 len;
	int last;  /* offset of the last '/', -1 if none */
	int which; /* 0: a, 1: b */
	int same;  /* prefix compare: still equal */
};

static long last_slash_step(__u32 i, void *data)
{
	struct dir_scan *d = data;
	__u32 zero = 0;
	struct rename_paths *p = bpf_map_lookup_elem(&rename_bufs, &zero);

	if (!p || i >= d->len || i >= CW_PATH_MAX)
		return 1;
	if ((d->which ? p->b[i] : p->a[i]) == '/')
		d->last = i;
	return 0;
}

static long prefix_step(__u32 i, void *data)
{
	struct dir_scan *d = data;
	__u32 zero = 0;
	struct rename_paths *p = bpf_map_lookup_elem(&rename_bufs, &zero);

	if (!p || i >= d->len || i >= CW_PATH_MAX)
		return 1;
	if (p->a[i] != p->b[i]) {
		d->same = 0;
		return 1;
	}
	return 0;
}

/* Compares the directory parts (up to the last '/') of the two paths in this
 * CPU's rename buffer: 2 both are plain names, 1 same directory text, 0 not. */
static __always_inline int rename_dirs(__u32 la, __u32 lb)
{
	struct dir_scan a = { .len = la, .last = -1 }, b = { .len = lb, .last = -1, .which = 1 };

	bpf_loop(CW_PATH_MAX, last_slash_step, &a, 0);
	bpf_loop(CW_PATH_MAX, last_slash_step, &b, 0);
	if (a.last != b.last)
		return 0;
	if (a.last < 0)
		return 2;
	a.len = a.last;
	a.same = 1;
	bpf_loop(CW_PATH_MAX, prefix_step, &a, 0);
	return a.same;
}

/* The series of a plain name's base directory (dirfd or cwd), 1 when watched. */
static __always_inline int base_series(int dfd, struct cw_stats_key *key, __u64 *dentry)
{
	struct dentry *base = unlink_base(bpf_get_current_task_btf(), dfd, 0);

	*dentry = (__u64)base;
	return base && attribute_dir(base, key, SLOT_SIZE) > 0;
}

/* A successful rename by paths. Within one directory (same dirfd, same text
 * before the last '/': Go's and ccache's temp-then-rename) nothing moves. Plain
 * names in two watched directories: the size moved but is unknown here. Any
 * other path could lead anywhere: size_unresolved. */
static __always_inline void size_rename_sys(struct size_call *sc)
{
	__u32 zero = 0;
	struct rename_paths *p = bpf_map_lookup_elem(&rename_bufs, &zero);
	struct cw_stats_key k1, k2;
	__u64 d1, d2;

	if (!p)
		return;
	long la = bpf_probe_read_user_str(p->a, sizeof(p->a), (const void *)sc->path);
	long lb = bpf_probe_read_user_str(p->b, sizeof(p->b), (const void *)sc->path2);
	if (la <= 1 || lb <= 1 || la >= CW_PATH_MAX || lb >= CW_PATH_MAX) {
		size_unresolved_bump();
		return;
	}
	int r = rename_dirs((__u32)la - 1, (__u32)lb - 1);
	if (r && sc->dfd == sc->dfd2)
		return;
	if (r != 2) {
		size_unresolved_bump();
		return;
	}
	int w1 = base_series(sc->dfd, &k1, &d1), w2 = base_series(sc->dfd2, &k2, &d2);
	if (d1 == d2 || (w1 && w2 && k1.root == k2.root && k1.group == k2.group))
		return;
	if (w1)
		commit_size_unknown(&k1);
	if (w2)
		commit_size_unknown(&k2);
}

static __always_inline void size_rename_sys_exit(long ret)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct size_call *sc = bpf_map_lookup_elem(&size_calls, &tid);

	if (!sc)
		return;
	if (sc->kind == SC_RENAME_SYS && ret == 0)
		size_rename_sys(sc);
	bpf_map_delete_elem(&size_calls, &tid);
}

#endif
