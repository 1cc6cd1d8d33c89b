/* fentry/fexit backend: vfs_write, vfs_writev, vfs_unlink, vfs_rename through BPF trampolines. */
#ifndef CW_FENTRY_BPF_H
#define CW_FENTRY_BPF_H

SEC("fentry/vfs_write")
int BPF_PROG(fe_vfs_write, struct file *file)
{
	write_enter(file, SLOT_WRITE);
	return 0;
}

SEC("fexit/vfs_write")
int BPF_PROG(fx_vfs_write, struct file *file, const char *buf, size_t count, loff_t *pos, ssize_t ret)
{
	write_exit(ret);
	return 0;
}

SEC("fentry/vfs_writev")
int BPF_PROG(fe_vfs_writev, struct file *file)
{
	write_enter(file, SLOT_WRITEV);
	return 0;
}

SEC("fexit/vfs_writev")
int BPF_PROG(fx_vfs_writev, struct file *file, const void *vec, unsigned long vlen, loff_t *pos,
	     int flags, ssize_t ret)
{
	write_exit(ret);
	return 0;
}

/* vfs_unlink's argument list changed across kernels (5.12 added a user
 * namespace first, 6.3 made it an idmap). One entry and one exit program per
 * prototype: the verifier refuses to load an argument slot whose type it does
 * not allow (5.10's 3rd and 6.1's 4th, struct inode **), even unused. The
 * loader reads the prototype from BTF and keeps the pair of that arity. */
SEC("fentry/vfs_unlink")
int BPF_PROG(fe_vfs_unlink3, void *dir, struct dentry *dentry)
{
	unlink_enter_dentry(dentry);
	return 0;
}

SEC("fentry/vfs_unlink")
int BPF_PROG(fe_vfs_unlink4, void *ns, void *dir, struct dentry *dentry)
{
	unlink_enter_dentry(dentry);
	return 0;
}

SEC("fexit/vfs_unlink")
int BPF_PROG(fx_vfs_unlink3, void *dir, struct dentry *dentry, void *delegated, int ret)
{
	unlink_exit_vfs(ret);
	return 0;
}

SEC("fexit/vfs_unlink")
int BPF_PROG(fx_vfs_unlink4, void *ns, void *dir, struct dentry *dentry, void *delegated, int ret)
{
	unlink_exit_vfs(ret);
	return 0;
}

/* Every open returns its file here: open, openat, openat2, creat (64-bit and
 * compat), io_uring's OPENAT/OPENAT2, exec and in-kernel opens. The function
 * is do_filp_open until 7.x renamed it do_file_open (same arguments); the
 * loader keeps the one the kernel has. */
SEC("fexit/do_filp_open")
int BPF_PROG(fx_do_filp_open, int dfd, void *pathname, const void *op, struct file *ret)
{
	if (!IS_ERR_VALUE(ret))
		access_open(ret, SLOT_OPEN);
	return 0;
}

SEC("fexit/do_file_open")
int BPF_PROG(fx_do_file_open, int dfd, void *pathname, const void *op, struct file *ret)
{
	if (!IS_ERR_VALUE(ret))
		access_open(ret, SLOT_OPEN);
	return 0;
}

SEC("fexit/vfs_rename")
int BPF_PROG(fx_vfs_rename, void *rd, int ret)
{
	bump_gen(ret);
	return 0;
}

#endif
