/* Data paths beyond write/writev: reads, in-kernel copies (copy_file_range, sendfile, splice), clones, io_uring; shared by every backend. */
#ifndef CW_PATHS_BPF_H
#define CW_PATHS_BPF_H

/* A read seen with its file and result in one place (fexit, raw sys_exit,
 * io_uring completion): no state between entry and exit. */
static __always_inline void read_file(struct file *f, __s64 ret, __u32 slot)
{
	struct cw_stats_key key;

	/* no cache tracks reads: one load, no attribution */
	if (!read_slots)
		return;
	if (f && attribute_file(f, &key, slot) && reads_tracked(&key))
		commit_read(&key, ret);
}

/* copy_file_range tries a clone first when both files are on one file system
 * whose file operations can remap ranges and that has no copy_file_range of
 * its own (vfs_copy_file_range: xfs, btrfs, ocfs2 ...). */
static __always_inline int copy_may_clone(struct file *in, struct file *out)
{
	if (!in || !out)
		return 0;
	if (BPF_CORE_READ(in, f_inode, i_sb) != BPF_CORE_READ(out, f_inode, i_sb))
		return 0;
	if (BPF_CORE_READ(out, f_op, copy_file_range))
		return 0;
	return BPF_CORE_READ(in, f_op, remap_file_range) != NULL;
}

enum copy_kind {
	COPY_DATA,  /* the bytes were read from one file and written into the other */
	COPY_RANGE, /* copy_file_range: a clone unless the data went through splice */
	COPY_CLONE, /* vfs_clone_file_range (FICLONE, FICLONERANGE) */
};

/* An in-kernel copy (or, on kprobe, a read) between its entry and exit hooks,
 * per thread. Copy hooks nest (copy_file_range's fallback calls
 * do_splice_direct before 6.7, splice_file_range after): the outermost counts
 * the call, inner ones only say that data was spliced. */
struct copy_op {
	__u64 start_ns;
	struct cw_stats_key rkey; /* the source, when it is watched */
	struct cw_stats_key wkey; /* the destination, when it is watched */
	__u32 rwatched;
	__u32 wwatched;
	__u32 depth;    /* inner copy hooks entered and not yet left */
	__u32 spliced;  /* data moved through splice inside this call */
	__u32 kind;     /* enum copy_kind */
	__u32 may_clone;
	__u64 inode;    /* the destination's inode and its i_size at entry (size.bpf.h) */
	__u64 size0;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct copy_op);
} copies SEC(".maps");

static __always_inline void copy_enter(struct file *in, struct file *out, enum copy_kind kind)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct copy_op *c = bpf_map_lookup_elem(&copies, &tid);
	struct copy_op op = { .kind = kind };

	if (c) {
		c->depth++;
		c->spliced = 1;
		return;
	}
	op.rwatched = in && attribute_file(in, &op.rkey, SLOT_COPY) > 0;
	op.wwatched = out && attribute_file(out, &op.wkey, SLOT_COPY) > 0;
	if (!op.rwatched && !op.wwatched)
		return;
	if (op.wwatched) {
		access_on_write(out, &op.wkey);
		size_write_note(out, &op.inode, &op.size0);
	}
	op.may_clone = kind == COPY_RANGE && copy_may_clone(in, out);
	op.start_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&copies, &tid, &op, BPF_ANY))
		drop(CW_DROP_INFLIGHT_FULL);
}

/* splice_file_range (6.7+): only marks the copy_file_range around it. */
static __always_inline void copy_spliced(void)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct copy_op *c = bpf_map_lookup_elem(&copies, &tid);

	if (c)
		c->spliced = 1;
}

static __always_inline void copy_exit(__s64 ret)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct copy_op *c = bpf_map_lookup_elem(&copies, &tid);

	if (!c)
		return;
	if (c->depth) {
		c->depth--;
		return;
	}
	struct copy_op op = *c;
	__u64 lat = bpf_ktime_get_ns() - op.start_ns;
	bpf_map_delete_elem(&copies, &tid);
	if (op.wwatched && ret > 0)
		size_write_exit(&op.wkey, (struct inode *)op.inode, op.size0);
	if (op.kind == COPY_CLONE || (op.may_clone && !op.spliced && ret > 0)) {
		if (op.wwatched)
			commit_clone(&op.wkey, ret);
		return;
	}
	if (op.wwatched)
		commit_write(&op.wkey, ret, lat);
	if (op.rwatched && reads_tracked(&op.rkey))
		commit_read(&op.rkey, ret);
}

/* An io_uring request completed: reads and writes are counted here, with the
 * request's file and result (no syscall and no vfs_read/vfs_write carries
 * them), renames invalidate cached decisions. */
static __always_inline void uring_done(struct io_kiocb *req, __s64 res)
{
	__u8 op;
	int write;

	if (!req)
		return;
	op = BPF_CORE_READ(req, opcode);
	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_RENAMEAT)) {
		bump_gen(0);
		return;
	}
	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_OPENAT) ||
	    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_OPENAT2)) {
		if (uring_opens)
			uring_open_complete(req, res);
		return;
	}
	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITE) ||
	    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITEV) ||
	    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITE_FIXED))
		write = 1;
	else if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READ) ||
		 op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READV) ||
		 op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READ_FIXED))
		write = 0;
	else
		return;
	struct file *f = BPF_CORE_READ(req, file);
	struct cw_stats_key key;
	if (!f || !attribute_file(f, &key, SLOT_URING))
		return;
	if (write) {
		access_on_write(f, &key);
		commit_write_untimed(&key, res);
		size_write_completed(&key, BPF_CORE_READ(f, f_inode), res);
	}
	else if (reads_tracked(&key))
		commit_read(&key, res);
}

/* The io_uring_complete tracepoint, in the two forms that carry the request
 * (5.17 added it): 6.3 passes a pointer to the CQE, 5.17 to 6.2 the result by
 * value. The loader keeps the one that matches this kernel's prototype; before
 * 5.17 there is no request (docs/backends.md). Every backend uses it. */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(tpb_uring_complete_cqe, void *ring, struct io_kiocb *req, struct io_uring_cqe *cqe)
{
	if (cqe)
		uring_done(req, BPF_CORE_READ(cqe, res));
	return 0;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(tpb_uring_complete_res, void *ring, struct io_kiocb *req, __u64 user_data, int res)
{
	uring_done(req, res);
	return 0;
}

#endif
