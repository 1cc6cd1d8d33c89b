/* Calls in flight: what an entry program hands to its exit program, per thread; shared by every backend. */
#ifndef CW_INFLIGHT_BPF_H
#define CW_INFLIGHT_BPF_H

enum inflight_kind {
	IF_WRITE = 1,
	IF_UNLINK_SYS,  /* tracepoint: resolve the path string at exit */
	IF_UNLINK_FS,   /* dentry seen (vfs_unlink or a fs tracepoint); commit at its exit */
	IF_UNLINK_DONE, /* already committed by the fs tracepoint */
};

struct inflight {
	__u64 start_ns;
	__u64 bytes;
	__u64 path;      /* user pointer (IF_UNLINK_SYS) */
	struct cw_stats_key key;
	__u32 kind;
	__s32 dfd;
	__u32 watched;
	__u32 in_syscall; /* IF_UNLINK_FS: an unlink syscall's exit will remove the entry */
	__u64 inode;      /* struct inode * of the file written or unlinked (size.bpf.h) */
	__u64 size0;      /* IF_WRITE: its i_size at entry */
};

/* Two stores, one used: task-local storage where the kernel lets these programs
 * use it (the loader probes, and sets inflight_in_task), else a hash by thread
 * id (5.10). The task's own slot costs a pointer chase where the hash costs a
 * locked bucket update and delete per call, and it cannot fill up: it is
 * allocated with the task's first watched call and freed with the task. The
 * unused one is shrunk to one entry (or, for task storage on 5.10, created as
 * a one-entry hash the programs never reach). */
const volatile bool inflight_in_task = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_INFLIGHT_HASH);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct inflight);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct inflight);
} inflight_task SEC(".maps");

/* The only accessors of the store, so that how calls in flight are kept can
 * change without touching the programs: the current thread's entry or NULL,
 * store one (0, or an error the caller counts as a drop), forget it. In task
 * storage an entry stays allocated and kind 0 means none. */
static __always_inline struct inflight *inflight_get(void)
{
	if (inflight_in_task) {
		struct inflight *in = bpf_task_storage_get(&inflight_task, bpf_get_current_task_btf(), NULL, 0);
		return in && in->kind ? in : NULL;
	}
	__u64 tid = bpf_get_current_pid_tgid();
	return bpf_map_lookup_elem(&inflight, &tid);
}

static __always_inline long inflight_put(const struct inflight *in)
{
	if (inflight_in_task) {
		struct inflight *slot = bpf_task_storage_get(&inflight_task, bpf_get_current_task_btf(), NULL,
							     BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!slot)
			return -1; /* no memory, or the storage busy on this CPU */
		*slot = *in;
		return 0;
	}
	__u64 tid = bpf_get_current_pid_tgid();
	return bpf_map_update_elem(&inflight, &tid, in, BPF_ANY);
}

/* Forgets the entry inflight_get returned, without looking it up again. */
static __always_inline void inflight_clear(struct inflight *in)
{
	if (inflight_in_task) {
		in->kind = 0;
		return;
	}
	__u64 tid = bpf_get_current_pid_tgid();
	bpf_map_delete_elem(&inflight, &tid);
}

static __always_inline void inflight_del(void)
{
	if (inflight_in_task) {
		struct inflight *in = bpf_task_storage_get(&inflight_task, bpf_get_current_task_btf(), NULL, 0);
		if (in)
			in->kind = 0;
		return;
	}
	__u64 tid = bpf_get_current_pid_tgid();
	bpf_map_delete_elem(&inflight, &tid);
}

static __always_inline void write_enter(struct file *f, __u32 slot)
{
	struct inflight in = { .kind = IF_WRITE };

	if (!f || !attribute_file(f, &in.key, slot))
		return;
	access_on_write(f, &in.key);
	in.start_ns = bpf_ktime_get_ns();
	size_write_note(f, &in.inode, &in.size0);
	if (inflight_put(&in))
		drop(CW_DROP_INFLIGHT_FULL);
}

static __always_inline void write_exit(__s64 ret)
{
	struct inflight *in = inflight_get();

	if (!in || in->kind != IF_WRITE)
		return;
	struct cw_stats_key key = in->key;
	__u64 lat = bpf_ktime_get_ns() - in->start_ns;
	struct inode *inode = (struct inode *)in->inode;
	__u64 size0 = in->size0;
	inflight_clear(in);
	commit_write(&key, ret, lat);
	if (ret > 0)
		size_write_exit(&key, inode, size0);
}

/* Unlink seen with its dentry: attribute and take the size if the last link goes. */
static __always_inline void unlink_enter_dentry(struct dentry *d)
{
	struct inflight in = { .kind = IF_UNLINK_FS };
	struct inode *inode = BPF_CORE_READ(d, d_inode);
	struct inflight *sys = inflight_get();

	in.in_syscall = sys && sys->kind == IF_UNLINK_SYS;
	in.watched = inode && attribute_dir(BPF_CORE_READ(d, d_parent), &in.key, SLOT_UNLINK) > 0;
	if (in.watched && is_regular(inode) && BPF_CORE_READ(inode, i_nlink) == 1) {
		in.bytes = BPF_CORE_READ(inode, i_size);
		access_forget(inode);
	}
	in.inode = (__u64)inode;
	if (inflight_put(&in) && in.watched)
		drop(CW_DROP_INFLIGHT_FULL);
}

/* Counts a successful unlink seen with its dentry; the entry stays for the caller. */
static __always_inline struct inflight *unlink_exit_dentry(int ret)
{
	struct inflight *in = inflight_get();

	if (!in || in->kind != IF_UNLINK_FS)
		return NULL;
	if (ret == 0 && in->watched) {
		commit_unlink(&in->key, in->bytes);
		size_unlinked(&in->key, (struct inode *)in->inode, in->bytes);
	}
	return in;
}

/* vfs_unlink's exit (fentry, kprobe): count, then forget the call. */
static __always_inline void unlink_exit_vfs(int ret)
{
	unlink_exit_dentry(ret);
	inflight_del();
}

/* A file system's unlink tracepoint exit (tracepoint backend). Inside an
 * unlink syscall a marker stays so its sys_exit does not count the call again
 * from the path, and removes it; anywhere else (io_uring, nfsd, overlayfs
 * copy-up) no sys_exit will, so the entry goes now. */
static __always_inline void unlink_exit_fs(int ret)
{
	struct inflight *in = unlink_exit_dentry(ret);

	if (!in)
		return;
	if (in->in_syscall)
		in->kind = IF_UNLINK_DONE;
	else
		inflight_clear(in);
}

static __always_inline void bump_gen(long ret)
{
	if (ret == 0)
		__sync_fetch_and_add(&watch_gen, 1);
}

/* Keeps clang from turning "load a or load b" into a load at a computed context
 * offset, which the verifier refuses. */
#define opaque(v) asm volatile("" : "+r"(v))

static __always_inline struct dentry *pick_arg(__u64 a1, __u64 a2)
{
	opaque(a1);
	opaque(a2);
	return (struct dentry *)(unlink_dentry_arg == 1 ? a1 : a2);
}

#endif
