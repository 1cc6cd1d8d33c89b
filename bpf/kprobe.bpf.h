/* kprobe/kretprobe backend: the same VFS functions as fentry, for kernels that refuse trampolines. */
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

SEC("kretprobe/vfs_rename")
int BPF_KRETPROBE(krp_vfs_rename, long ret)
{
	bump_gen(ret);
	return 0;
}

#endif
