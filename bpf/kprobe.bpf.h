/* kprobe/kretprobe backend: the same VFS functions as fentry (writes, reads, copies, clones, unlinks, renames), for kernels that refuse trampolines. */
#ifndef CW_KPROBE_BPF_H
#define CW_KPROBE_BPF_H

SEC("kprobe/vfs_write")
int BPF_KPROBE(kp_vfs_write, struct file *file)
{
	write_enter(file, SLOT_WRITE);
	return 0;
}

SEC("kretprobe/vfs_write")
int BPF_KRETPROBE(krp_vfs_write, long ret)
{
	write_exit(ret);
	return 0;
}

SEC("kprobe/vfs_writev")
int BPF_KPROBE(kp_vfs_writev, struct file *file)
{
	write_enter(file, SLOT_WRITEV);
	return 0;
}

SEC("kretprobe/vfs_writev")
int BPF_KRETPROBE(krp_vfs_writev, long ret)
{
	write_exit(ret);
	return 0;
}

/* Reads and in-kernel copies keep their files between entry and return in the
 * copies map (paths.bpf.h): a kretprobe has only the result. */
SEC("kprobe/vfs_read")
int BPF_KPROBE(kp_vfs_read, struct file *file)
{
	if (read_slots) /* else no cache tracks reads; the return finds no entry */
		copy_enter(file, NULL, COPY_DATA);
	return 0;
}

SEC("kretprobe/vfs_read")
int BPF_KRETPROBE(krp_vfs_read, long ret)
{
	copy_exit(ret);
	return 0;
}

SEC("kprobe/vfs_readv")
int BPF_KPROBE(kp_vfs_readv, struct file *file)
{
	if (read_slots)
		copy_enter(file, NULL, COPY_DATA);
	return 0;
}

SEC("kretprobe/vfs_readv")
int BPF_KRETPROBE(krp_vfs_readv, long ret)
{
	copy_exit(ret);
	return 0;
}

SEC("kprobe/vfs_copy_file_range")
int BPF_KPROBE(kp_vfs_copy_file_range, struct file *in, loff_t pos_in, struct file *out)
{
	copy_enter(in, out, COPY_RANGE);
	return 0;
}

SEC("kretprobe/vfs_copy_file_range")
int BPF_KRETPROBE(krp_vfs_copy_file_range, long ret)
{
	copy_exit(ret);
	return 0;
}

SEC("kprobe/do_splice_direct")
int BPF_KPROBE(kp_do_splice_direct, struct file *in, loff_t *ppos, struct file *out)
{
	copy_enter(in, out, COPY_DATA);
	return 0;
}

SEC("kretprobe/do_splice_direct")
int BPF_KRETPROBE(krp_do_splice_direct, long ret)
{
	copy_exit(ret);
	return 0;
}

SEC("kprobe/splice_file_range")
int BPF_KPROBE(kp_splice_file_range)
{
	copy_spliced();
	return 0;
}

SEC("kprobe/do_splice")
int BPF_KPROBE(kp_do_splice, struct file *in, loff_t *off_in, struct file *out)
{
	copy_enter(in, out, COPY_DATA);
	return 0;
}

SEC("kretprobe/do_splice")
int BPF_KRETPROBE(krp_do_splice, long ret)
{
	copy_exit(ret);
	return 0;
}

SEC("kprobe/vfs_clone_file_range")
int BPF_KPROBE(kp_vfs_clone_file_range, struct file *in, loff_t pos_in, struct file *out)
{
	copy_enter(NULL, out, COPY_CLONE);
	return 0;
}

SEC("kretprobe/vfs_clone_file_range")
int BPF_KRETPROBE(krp_vfs_clone_file_range, long ret)
{
	copy_exit(ret);
	return 0;
}

SEC("kprobe/vfs_unlink")
int BPF_KPROBE(kp_vfs_unlink)
{
	__u64 a1 = PT_REGS_PARM2(ctx), a2 = PT_REGS_PARM3(ctx);

	unlink_enter_dentry(pick_arg(a1, a2));
	return 0;
}

SEC("kretprobe/vfs_unlink")
int BPF_KRETPROBE(krp_vfs_unlink, long ret)
{
	unlink_exit_vfs(ret);
	return 0;
}

SEC("kretprobe/do_filp_open")
int BPF_KRETPROBE(krp_do_filp_open, struct file *ret)
{
	if (!IS_ERR_VALUE(ret))
		access_open(ret, SLOT_OPEN);
	return 0;
}

/* 7.x: do_filp_open's new name */
SEC("kretprobe/do_file_open")
int BPF_KRETPROBE(krp_do_file_open, struct file *ret)
{
	if (!IS_ERR_VALUE(ret))
		access_open(ret, SLOT_OPEN);
	return 0;
}

/* vfs_rename's 6th argument before 5.12 (libbpf 1.1 has no PT_REGS_PARM6). */
static __always_inline unsigned int rename_flags_arg6(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	return (unsigned int)ctx->r9;
#else
	return 0; /* RENAME_EXCHANGE then looks like a plain rename */
#endif
}

SEC("kprobe/vfs_rename")
int BPF_KPROBE(kp_vfs_rename)
{
	if (rename_has_rd) {
		struct renamedata *rd = (struct renamedata *)PT_REGS_PARM1(ctx);
		size_rename_enter(BPF_CORE_READ(rd, old_dentry), BPF_CORE_READ(rd, new_dentry),
				  BPF_CORE_READ(rd, flags));
	} else {
		size_rename_enter((struct dentry *)PT_REGS_PARM2(ctx), (struct dentry *)PT_REGS_PARM4(ctx),
				  rename_flags_arg6(ctx));
	}
	return 0;
}

SEC("kretprobe/vfs_rename")
int BPF_KRETPROBE(krp_vfs_rename, long ret)
{
	bump_gen(ret);
	size_rename_exit((int)ret);
	return 0;
}

SEC("kprobe/do_truncate")
int BPF_KPROBE(kp_do_truncate)
{
	__u64 a1 = PT_REGS_PARM1(ctx), a2 = PT_REGS_PARM2(ctx);

	opaque(a1);
	opaque(a2);
	size_change_enter((struct dentry *)(truncate_dentry_arg == 1 ? a1 : a2));
	return 0;
}

SEC("kretprobe/do_truncate")
int BPF_KRETPROBE(krp_do_truncate, long ret)
{
	size_change_exit((int)ret);
	return 0;
}

SEC("kprobe/vfs_fallocate")
int BPF_KPROBE(kp_vfs_fallocate, struct file *file)
{
	size_file_enter(file);
	return 0;
}

SEC("kretprobe/vfs_fallocate")
int BPF_KRETPROBE(krp_vfs_fallocate, long ret)
{
	size_change_exit((int)ret);
	return 0;
}

#endif
