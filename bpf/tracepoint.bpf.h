/* Tracepoint backend: raw sys_enter/sys_exit dispatch on the syscall number (64-bit and i386) for writes, reads, copies, clones, unlinks and renames; ext4 unlink tracepoints. */
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
	SYS_RENAME,   /* rename: old, new */
	SYS_RENAMEAT, /* renameat, renameat2: olddfd, old, newdfd, new */
	SYS_SIZE_FD,  /* ftruncate, fallocate: fd first */
	SYS_TRUNCATE, /* truncate: path */
	SYS_OPEN,     /* open: path, flags */
	SYS_OPENAT,   /* openat: dfd, path, flags */
	SYS_CREAT,    /* creat: path (always truncates) */
	SYS_OPENAT2,  /* openat2: dfd, path, struct open_how * */
	SYS_READ,     /* read, pread64, readv, preadv, preadv2: fd first */
	SYS_SENDFILE, /* out_fd, in_fd */
	SYS_SPLICE,   /* fd_in, off_in, fd_out */
	SYS_COPY,     /* copy_file_range: fd_in, off_in, fd_out */
	SYS_IOCTL,    /* fd, cmd, arg: FICLONE and FICLONERANGE */
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
		return SYS_RENAME;
	case NR_renameat:
	case NR_renameat2:
		return SYS_RENAMEAT;
	case NR_ftruncate:
	case NR_fallocate:
		return SYS_SIZE_FD;
	case NR_truncate:
		return SYS_TRUNCATE;
	case NR_open:
		return SYS_OPEN;
	case NR_openat:
		return SYS_OPENAT;
	case NR_creat:
		return SYS_CREAT;
	case NR_openat2:
		return SYS_OPENAT2;
	case NR_read:
	case NR_pread64:
	case NR_readv:
	case NR_preadv:
	case NR_preadv2:
		return SYS_READ;
	case NR_sendfile:
		return SYS_SENDFILE;
	case NR_splice:
		return SYS_SPLICE;
	case NR_copy_file_range:
		return SYS_COPY;
	case NR_ioctl:
		return SYS_IOCTL;
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
		return SYS_RENAME;
	case NR_ia32_renameat:
	case NR_ia32_renameat2:
		return SYS_RENAMEAT;
	case NR_ia32_ftruncate:
	case NR_ia32_ftruncate64:
	case NR_ia32_fallocate:
		return SYS_SIZE_FD;
	case NR_ia32_truncate:
	case NR_ia32_truncate64:
		return SYS_TRUNCATE;
	case NR_ia32_open:
		return SYS_OPEN;
	case NR_ia32_openat:
		return SYS_OPENAT;
	case NR_ia32_creat:
		return SYS_CREAT;
	case NR_ia32_openat2:
		return SYS_OPENAT2;
	case NR_ia32_read:
	case NR_ia32_pread64:
	case NR_ia32_readv:
	case NR_ia32_preadv:
	case NR_ia32_preadv2:
		return SYS_READ;
	case NR_ia32_sendfile:
	case NR_ia32_sendfile64:
		return SYS_SENDFILE;
	case NR_ia32_splice:
		return SYS_SPLICE;
	case NR_ia32_copy_file_range:
		return SYS_COPY;
	case NR_ia32_ioctl:
		return SYS_IOCTL;
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

/* Argument i (0..3) of the current syscall. 32-bit calls pass them in
 * ebx, ecx, edx, esi; only the low 32 bits are the call's (the kernel truncates
 * them the same way, e.g. compat_ptr()). regs is the raw tracepoint's BTF
 * pointer: plain loads, no probe-read helper (x86-64 passes di, si, dx, r10). */
static __always_inline unsigned long syscall_arg(struct pt_regs *regs, int ia32, int i)
{
	if (ia32) {
		switch (i) {
		case 0: return (__u32)regs->bx;
		case 1: return (__u32)regs->cx;
		case 2: return (__u32)regs->dx;
		default: return (__u32)regs->si;
		}
	}
	switch (i) {
	case 0: return regs->di;
	case 1: return regs->si;
	case 2: return regs->dx;
	default: return regs->r10; /* the syscall ABI's 4th register (rcx holds the return address) */
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

/* The file behind argument i of the current syscall, NULL if none. */
static __always_inline struct file *arg_file(struct pt_regs *regs, int ia32, int i)
{
	return fd_file(bpf_get_current_task_btf(), (int)syscall_arg(regs, ia32, i));
}

/* copy_file_range: the call is timed as a write into fd_out unless the file
 * system may serve it by a clone (same superblock, remap_file_range), which
 * is then counted as cloned bytes at sys_exit. */
static __always_inline void copy_sys_enter(struct pt_regs *regs, int ia32)
{
	struct file *out = arg_file(regs, ia32, 2);

	if (!copy_may_clone(arg_file(regs, ia32, 0), out))
		write_enter(out, SLOT_WRITE);
}

static __always_inline void copy_sys_exit(struct pt_regs *regs, int ia32, long ret)
{
	struct file *in = arg_file(regs, ia32, 0), *out = arg_file(regs, ia32, 2);
	struct cw_stats_key key;

	if (!copy_may_clone(in, out)) {
		write_exit(ret);
		read_file(in, ret, SLOT_READ);
		return;
	}
	if (ret > 0) {
		if (out && attribute_file(out, &key, SLOT_COPY)) {
			commit_clone(&key, ret);
			size_write_completed(&key, BPF_CORE_READ(out, f_inode), ret);
		}
		return;
	}
	/* nothing cloned (an error, or the end of the source): a copy call that
	 * moved nothing, counted on both sides as fentry and kprobe do; untimed,
	 * since sys_enter did not start a write */
	if (out && attribute_file(out, &key, SLOT_COPY))
		commit_write_untimed(&key, ret);
	read_file(in, ret, SLOT_READ);
}

/* include/uapi/linux/fs.h: _IOW(0x94, 9, int) and _IOW(0x94, 13, struct
 * file_clone_range), the same numbers in both ABIs. */
#define CW_FICLONE 0x40049409
#define CW_FICLONERANGE 0x4020940d

struct cw_file_clone_range {
	__s64 src_fd;
	__u64 src_offset;
	__u64 src_length; /* 0: to the end of the source */
	__u64 dest_offset;
};

/* A successful clone ioctl returns 0: the bytes are the range asked for, or
 * the source from its offset to its end (the kernel refuses ranges past it). */
static __always_inline void ioctl_sys_exit(struct pt_regs *regs, int ia32, long ret)
{
	__u32 cmd = syscall_arg(regs, ia32, 1);
	struct cw_file_clone_range r = {};
	struct cw_stats_key key;
	struct file *src, *out;

	if ((cmd != CW_FICLONE && cmd != CW_FICLONERANGE) || ret != 0)
		return;
	out = arg_file(regs, ia32, 0);
	if (!out || !attribute_file(out, &key, SLOT_COPY))
		return;
	if (cmd == CW_FICLONE)
		r.src_fd = (int)syscall_arg(regs, ia32, 2);
	else if (bpf_probe_read_user(&r, sizeof(r), (void *)syscall_arg(regs, ia32, 2)))
		return;
	if (!r.src_length) {
		src = fd_file(bpf_get_current_task_btf(), (int)r.src_fd);
		__s64 size = src ? BPF_CORE_READ(src, f_inode, i_size) : 0;
		r.src_length = size > (__s64)r.src_offset ? size - r.src_offset : 0;
	}
	commit_clone(&key, r.src_length);
	size_write_completed(&key, BPF_CORE_READ(out, f_inode), r.src_length);
}

/* An open syscall returned: the new fd's file says how it was opened
 * (f_mode: for reading, created), so the flags need no sys_enter. */
static __always_inline void open_sys_exit(long ret)
{
	if (ret >= 0)
		access_open(fd_file(bpf_get_current_task_btf(), (int)ret), SLOT_OPEN);
}

/* Size-changing calls (size.bpf.h, size_path.bpf.h), the rest of sys_enter's
 * switch: global functions, verified on their own, so the raw programs stay
 * within the verifier's budget. a0..a3 are the call's arguments. */
__noinline int cw_size_sys_enter(__u32 op, __u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	__u64 flags;

	switch (op) {
	case SYS_SIZE_FD:
		size_file_enter(fd_file(bpf_get_current_task_btf(), (int)a0));
		return 0;
	case SYS_TRUNCATE:
	case SYS_CREAT:
		size_path_enter(CW_O_TRUNC);
		return 0;
	case SYS_OPEN:
		flags = a1;
		break;
	case SYS_OPENAT:
		flags = a2;
		break;
	case SYS_OPENAT2:
		flags = 0; /* struct open_how starts with the flags */
		bpf_probe_read_user(&flags, sizeof(flags), (const void *)a2);
		break;
	case SYS_RENAME:
		size_rename_sys_enter(AT_FDCWD, (const char *)a0, AT_FDCWD, (const char *)a1);
		return 0;
	case SYS_RENAMEAT:
		size_rename_sys_enter((int)a0, (const char *)a1, (int)a2, (const char *)a3);
		return 0;
	default:
		return 0;
	}
	if (flags & CW_O_TRUNC)
		size_path_enter((__u32)flags);
	return 0;
}

/* Most opens do not truncate: leave before any call or map operation. The
 * saved argument registers are still the call's at sys_exit. */
static __always_inline int open_without_trunc(enum sys_op op, struct pt_regs *regs, int ia32)
{
	if (op == SYS_OPEN)
		return !(syscall_arg(regs, ia32, 1) & CW_O_TRUNC);
	if (op == SYS_OPENAT)
		return !(syscall_arg(regs, ia32, 2) & CW_O_TRUNC);
	return 0;
}

static __always_inline void size_sys_enter(enum sys_op op, struct pt_regs *regs, int ia32)
{
	if (op == SYS_OTHER || open_without_trunc(op, regs, ia32))
		return;
	cw_size_sys_enter(op, syscall_arg(regs, ia32, 0), syscall_arg(regs, ia32, 1),
			  syscall_arg(regs, ia32, 2), syscall_arg(regs, ia32, 3));
}

__noinline int cw_size_sys_exit(__u32 op, long ret)
{
	switch (op) {
	case SYS_SIZE_FD:
		size_change_exit(ret);
		break;
	case SYS_TRUNCATE:
		size_path_exit(ret, 0);
		break;
	case SYS_OPEN:
	case SYS_OPENAT:
	case SYS_CREAT:
	case SYS_OPENAT2:
		size_path_exit(ret, 1);
		break;
	case SYS_RENAME:
	case SYS_RENAMEAT:
		size_rename_sys_exit(ret);
		break;
	default:
		break;
	}
	return 0;
}

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
	enum sys_op op = decode_syscall(id, &ia32);

	switch (op) {
	case SYS_WRITE:
	case SYS_SENDFILE:
		write_enter(arg_file(regs, ia32, 0), SLOT_WRITE);
		break;
	case SYS_SPLICE:
		write_enter(arg_file(regs, ia32, 2), SLOT_WRITE);
		break;
	case SYS_COPY:
		copy_sys_enter(regs, ia32);
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
	case SYS_SIZE_FD:
	case SYS_TRUNCATE:
	case SYS_OPEN:
	case SYS_OPENAT:
	case SYS_CREAT:
	case SYS_OPENAT2:
	case SYS_RENAME:
	case SYS_RENAMEAT:
		size_sys_enter(op, regs, ia32);
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
	enum sys_op op = decode_syscall(syscall_nr(regs), &ia32);

	switch (op) {
	case SYS_WRITE:
		write_exit(ret);
		break;
	/* reads are counted at exit only: the file and the result, no entry state */
	case SYS_READ:
		/* read_file checks read_slots too, after the fd lookup this skips */
		if (read_slots)
			read_file(arg_file(regs, ia32, 0), ret, SLOT_READ);
		break;
	case SYS_SENDFILE:
		write_exit(ret);
		read_file(arg_file(regs, ia32, 1), ret, SLOT_READ);
		break;
	case SYS_SPLICE:
		write_exit(ret);
		read_file(arg_file(regs, ia32, 0), ret, SLOT_READ);
		break;
	case SYS_COPY:
		copy_sys_exit(regs, ia32, ret);
		break;
	case SYS_IOCTL:
		ioctl_sys_exit(regs, ia32, ret);
		break;
	case SYS_UNLINK:
	case SYS_UNLINKAT:
		unlink_sys_exit(ret);
		break;
	case SYS_RENAME:
	case SYS_RENAMEAT:
		bump_gen(ret);
		cw_size_sys_exit(op, ret);
		break;
	case SYS_OPEN:
	case SYS_OPENAT:
	case SYS_CREAT:
	case SYS_OPENAT2:
		open_sys_exit(ret);
		if (!open_without_trunc(op, regs, ia32))
			cw_size_sys_exit(op, ret);
		break;
	case SYS_SIZE_FD:
	case SYS_TRUNCATE:
		cw_size_sys_exit(op, ret);
		break;
	default:
		break;
	}
	return 0;
}

#endif
