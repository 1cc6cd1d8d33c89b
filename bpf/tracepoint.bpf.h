/* Tracepoint backend: raw sys_enter/sys_exit dispatch on the syscall number, plus ext4 unlink tracepoints. */
#ifndef CW_TRACEPOINT_BPF_H
#define CW_TRACEPOINT_BPF_H

/* The raw sys_enter/sys_exit tracepoints (tp_btf) run for every syscall and
 * dispatch on its number: measured cheaper than the per-syscall tracepoints,
 * whose perf-buffer path costs more on both the watched and the unrelated
 * syscalls (bench/overhead.sh; docs/backends.md). */
static __always_inline void unlink_sys_enter(int dfd, const char *path)
{
	struct inflight in = { .kind = IF_UNLINK_SYS, .dfd = dfd, .path = (__u64)path };
	__u64 tid = bpf_get_current_pid_tgid();

	bpf_map_update_elem(&inflight, &tid, &in, BPF_ANY);
}

/* ext4 tells us the dentry: exact attribution and bytes freed, like vfs_unlink. */
SEC("tp_btf/ext4_unlink_enter")
int BPF_PROG(tpb_ext4_unlink_enter, struct inode *parent, struct dentry *dentry)
{
	/* From 6.12 the verifier types tracepoint pointers "or NULL": check first. */
	if (!dentry)
		return 0;
	unlink_enter_dentry(dentry);
	return 0;
}

SEC("tp_btf/ext4_unlink_exit")
int BPF_PROG(tpb_ext4_unlink_exit, struct dentry *dentry, int ret)
{
	unlink_exit_dentry(ret);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(tp_sys_enter, struct pt_regs *regs, long id)
{
	switch (id) {
	case NR_write:
	case NR_pwrite64:
	case NR_writev:
	case NR_pwritev:
	case NR_pwritev2:
		write_enter(fd_file((struct task_struct *)bpf_get_current_task(), (int)PT_REGS_PARM1_CORE_SYSCALL(regs)),
			    SLOT_WRITE);
		break;
	case NR_unlink:
		unlink_sys_enter(AT_FDCWD, (const char *)PT_REGS_PARM1_CORE_SYSCALL(regs));
		break;
	case NR_unlinkat:
		/* AT_REMOVEDIR: a directory, nothing to count */
		if (!(PT_REGS_PARM3_CORE_SYSCALL(regs) & 0x200))
			unlink_sys_enter((int)PT_REGS_PARM1_CORE_SYSCALL(regs),
					 (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs));
		break;
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tp_sys_exit, struct pt_regs *regs, long ret)
{
	switch (BPF_CORE_READ(regs, orig_ax)) {
	case NR_write:
	case NR_pwrite64:
	case NR_writev:
	case NR_pwritev:
	case NR_pwritev2:
		write_exit(ret);
		break;
	case NR_unlink:
	case NR_unlinkat:
		unlink_sys_exit(ret);
		break;
	case NR_rename:
	case NR_renameat:
	case NR_renameat2:
		bump_gen(ret);
		break;
	}
	return 0;
}

#endif
