/* Tracepoint backend: raw sys_enter/sys_exit dispatch on the syscall number (64-bit and i386), ext4 unlink and io_uring rename tracepoints. */
#ifndef CW_TRACEPOINT_BPF_H
#define CW_TRACEPOINT_BPF_H

/* An unlink by path: resolved from the string at sys_exit unless a file
 * system tracepoint handles it first. */
static __always_inline void unlink_sys_enter(int dfd, const char *path)
{
	struct inflight in = { .kind = IF_UNLINK_SYS, .dfd = dfd, .path = (__u64)path };

	inflight_put(&in);
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
	unlink_exit_fs(ret);
	return 0;
}

/* What a watched syscall does, whichever table its number came from. */
enum sys_op {
	SYS_OTHER,
	SYS_WRITE,    /* write, pwrite64, writev, pwritev, pwritev2: fd first */
	SYS_UNLINK,   /* path */
	SYS_UNLINKAT, /* dfd, path, flags */
	SYS_RENAME,   /* rename, renameat, renameat2 */
};

static __always_inline enum sys_op native_op(long nr)
{
	switch (nr) {
	case NR_write:
	case NR_pwrite64:
	case NR_writev:
	case NR_pwritev:
	case NR_pwritev2:
		return SYS_WRITE;
	case NR_unlink:
		return SYS_UNLINK;
	case NR_unlinkat:
		return SYS_UNLINKAT;
	case NR_rename:
	case NR_renameat:
	case NR_renameat2:
		return SYS_RENAME;
	}
	return SYS_OTHER;
}

#if defined(__TARGET_ARCH_x86)
static __always_inline enum sys_op ia32_op(long nr)
{
	switch (nr) {
	case NR_ia32_write:
	case NR_ia32_pwrite64:
	case NR_ia32_writev:
	case NR_ia32_pwritev:
	case NR_ia32_pwritev2:
		return SYS_WRITE;
	case NR_ia32_unlink:
		return SYS_UNLINK;
	case NR_ia32_unlinkat:
		return SYS_UNLINKAT;
	case NR_ia32_rename:
	case NR_ia32_renameat:
	case NR_ia32_renameat2:
		return SYS_RENAME;
	}
	return SYS_OTHER;
}

/* TS_COMPAT (arch/x86/include/asm/thread_info.h) is set on entry of every
 * 32-bit syscall (int 0x80, sysenter, 32-bit syscall; from 32- or 64-bit code)
 * and cleared on the return to user mode, after sys_exit: in_ia32_syscall()
 * tests it. A kernel whose thread_info has no status word cannot tell; then
 * every call whose number is in both tables is ignored, never misread. */
#define X86_TS_COMPAT 0x0002

/* 1: 32-bit call, 0: 64-bit, -1: cannot tell. */
static __always_inline int in_ia32_syscall(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if (!bpf_core_field_exists(t->thread_info.status))
		return -1;
	/* a trusted BTF pointer: a plain load, no probe-read helper on the hot path */
	return (t->thread_info.status & X86_TS_COMPAT) != 0;
}

/* Numbers outside both tables return before reading any task state: that is
 * every unrelated syscall. *ia32 says which argument registers apply. */
static __always_inline enum sys_op decode_syscall(long nr, int *ia32)
{
	enum sys_op native = native_op(nr), compat = ia32_op(nr);

	*ia32 = 0;
	if (native == SYS_OTHER && compat == SYS_OTHER)
		return SYS_OTHER;
	*ia32 = in_ia32_syscall();
	if (*ia32 < 0)
		return SYS_OTHER;
	return *ia32 ? compat : native;
}

/* Argument i (0..2) of the current syscall. 32-bit calls pass them in
 * ebx, ecx, edx; only the low 32 bits are the call's (the kernel truncates
 * them the same way, e.g. compat_ptr()). regs is the raw tracepoint's BTF
 * pointer: plain loads, no probe-read helper (x86-64 passes di, si, dx). */
static __always_inline unsigned long syscall_arg(struct pt_regs *regs, int ia32, int i)
{
	if (ia32) {
		switch (i) {
		case 0: return (__u32)regs->bx;
		case 1: return (__u32)regs->cx;
		default: return (__u32)regs->dx;
		}
	}
	switch (i) {
	case 0: return regs->di;
	case 1: return regs->si;
	default: return regs->dx;
	}
}

/* The syscall number as sys_exit sees it (sys_enter gets it as an argument);
 * a plain load, as every unrelated syscall's exit pays for it. */
static __always_inline long syscall_nr(struct pt_regs *regs)
{
	return regs->orig_ax;
}
#else
#error "32-bit syscall detection and argument registers for this architecture are missing (bpf/tracepoint.bpf.h)"
#endif

/* unlinkat's flag for "remove a directory" (include/uapi/linux/fcntl.h). */
#define AT_REMOVEDIR 0x200

/* The raw sys_enter/sys_exit tracepoints (tp_btf) run for every syscall and
 * dispatch on its number: measured cheaper than the per-syscall tracepoints,
 * whose perf-buffer path costs more on both the watched and the unrelated
 * syscalls (bench/overhead.sh; docs/backends.md). */
SEC("tp_btf/sys_enter")
int BPF_PROG(tp_sys_enter, struct pt_regs *regs, long id)
{
	int ia32;

	if (!regs) /* typed "or NULL" by some verifiers */
		return 0;
	switch (decode_syscall(id, &ia32)) {
	case SYS_WRITE:
		write_enter(fd_file(bpf_get_current_task_btf(), (int)syscall_arg(regs, ia32, 0)),
			    SLOT_WRITE);
		break;
	case SYS_UNLINK:
		unlink_sys_enter(AT_FDCWD, (const char *)syscall_arg(regs, ia32, 0));
		break;
	case SYS_UNLINKAT:
		/* a directory: nothing to count */
		if (!(syscall_arg(regs, ia32, 2) & AT_REMOVEDIR))
			unlink_sys_enter((int)syscall_arg(regs, ia32, 0),
					 (const char *)syscall_arg(regs, ia32, 1));
		break;
	default:
		break;
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tp_sys_exit, struct pt_regs *regs, long ret)
{
	int ia32;

	if (!regs)
		return 0;
	switch (decode_syscall(syscall_nr(regs), &ia32)) {
	case SYS_WRITE:
		write_exit(ret);
		break;
	case SYS_UNLINK:
	case SYS_UNLINKAT:
		unlink_sys_exit(ret);
		break;
	case SYS_RENAME:
		bump_gen(ret);
		break;
	default:
		break;
	}
	return 0;
}

/* io_uring renames (IORING_OP_RENAMEAT) reach the VFS without any syscall the
 * programs above see: invalidate cached decisions when one completes. arg 1 is
 * the request in every version of this tracepoint; the result's place moved
 * (5.x passed it by value, 6.3 a cqe pointer), so any completed rename bumps. */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(tpb_io_uring_complete, void *ring, void *req)
{
	struct io_kiocb *r = req;

	if (BPF_CORE_READ(r, opcode) == bpf_core_enum_value(enum io_uring_op, IORING_OP_RENAMEAT))
		bump_gen(0);
	return 0;
}

#endif
