/* fentry/fexit backend: vfs_write, vfs_writev, reads, in-kernel copies, clones, vfs_unlink, vfs_rename through BPF trampolines. */
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

/* Reads: fexit has the file and the result together, no entry program. */
SEC("fexit/vfs_read")
int BPF_PROG(fx_vfs_read, struct file *file, char *buf, size_t count, loff_t *pos, ssize_t ret)
{
	read_file(file, ret, SLOT_READ);
	return 0;
}

SEC("fexit/vfs_readv")
int BPF_PROG(fx_vfs_readv, struct file *file, const void *vec, unsigned long vlen, loff_t *pos,
	     int flags, ssize_t ret)
{
	read_file(file, ret, SLOT_READ);
	return 0;
}

/* In-kernel copies: both files are the 1st and 3rd arguments of each. */
SEC("fentry/vfs_copy_file_range")
int BPF_PROG(fe_vfs_copy_file_range, struct file *in, loff_t pos_in, struct file *out)
{
	copy_enter(in, out, COPY_RANGE);
	return 0;
}

SEC("fexit/vfs_copy_file_range")
int BPF_PROG(fx_vfs_copy_file_range, struct file *in, loff_t pos_in, struct file *out, loff_t pos_out,
	     size_t len, unsigned int flags, ssize_t ret)
{
	copy_exit(ret);
	return 0;
}

/* sendfile, and copy_file_range's fallback before 6.7 (then nested) */
SEC("fentry/do_splice_direct")
int BPF_PROG(fe_do_splice_direct, struct file *in, loff_t *ppos, struct file *out)
{
	copy_enter(in, out, COPY_DATA);
	return 0;
}

SEC("fexit/do_splice_direct")
int BPF_PROG(fx_do_splice_direct, struct file *in, loff_t *ppos, struct file *out, loff_t *opos,
	     size_t len, unsigned int flags, long ret)
{
	copy_exit(ret);
	return 0;
}

/* copy_file_range's fallback from 6.7 */
SEC("fentry/splice_file_range")
int BPF_PROG(fe_splice_file_range)
{
	copy_spliced();
	return 0;
}

/* splice(2) and IORING_OP_SPLICE: one side is a pipe, which attribution skips */
SEC("fentry/do_splice")
int BPF_PROG(fe_do_splice, struct file *in, loff_t *off_in, struct file *out)
{
	copy_enter(in, out, COPY_DATA);
	return 0;
}

SEC("fexit/do_splice")
int BPF_PROG(fx_do_splice, struct file *in, loff_t *off_in, struct file *out, loff_t *off_out,
	     size_t len, unsigned int flags, long ret)
{
	copy_exit(ret);
	return 0;
}

/* FICLONE, FICLONERANGE: returns the bytes remapped */
SEC("fexit/vfs_clone_file_range")
int BPF_PROG(fx_vfs_clone_file_range, struct file *in, loff_t pos_in, struct file *out, loff_t pos_out,
	     loff_t len, unsigned int flags, loff_t ret)
{
	struct cw_stats_key key;

	if (ret > 0 && attribute_file(out, &key, SLOT_COPY))
		commit_clone(&key, ret);
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

/* vfs_rename took its arguments one by one before 5.12, a struct renamedata
 * since: one pair per prototype, chosen like vfs_unlink's. */
SEC("fentry/vfs_rename")
int BPF_PROG(fe_vfs_rename, struct renamedata *rd)
{
	size_rename_enter(BPF_CORE_READ(rd, old_dentry), BPF_CORE_READ(rd, new_dentry),
			  BPF_CORE_READ(rd, flags));
	return 0;
}

SEC("fexit/vfs_rename")
int BPF_PROG(fx_vfs_rename, void *rd, int ret)
{
	bump_gen(ret);
	size_rename_exit(ret);
	return 0;
}

SEC("fentry/vfs_rename")
int BPF_PROG(fe_vfs_rename6, void *old_dir, struct dentry *old, void *new_dir, struct dentry *new,
	     void *delegated, unsigned int flags)
{
	size_rename_enter(old, new, flags);
	return 0;
}

SEC("fexit/vfs_rename")
int BPF_PROG(fx_vfs_rename6, void *old_dir, void *old, void *new_dir, void *new, void *delegated,
	     unsigned int flags, int ret)
{
	bump_gen(ret);
	size_rename_exit(ret);
	return 0;
}

/* Every truncate reaches do_truncate: truncate(2), ftruncate(2), O_TRUNC opens.
 * 5.12 added a user namespace first (6.3: an idmap). */
SEC("fentry/do_truncate")
int BPF_PROG(fe_do_truncate4, struct dentry *dentry)
{
	size_change_enter(dentry);
	return 0;
}

SEC("fexit/do_truncate")
int BPF_PROG(fx_do_truncate4, void *dentry, long long length, unsigned int attrs, void *filp, int ret)
{
	size_change_exit(ret);
	return 0;
}

SEC("fentry/do_truncate")
int BPF_PROG(fe_do_truncate5, void *ns, struct dentry *dentry)
{
	size_change_enter(dentry);
	return 0;
}

SEC("fexit/do_truncate")
int BPF_PROG(fx_do_truncate5, void *ns, void *dentry, long long length, unsigned int attrs,
	     void *filp, int ret)
{
	size_change_exit(ret);
	return 0;
}

SEC("fentry/vfs_fallocate")
int BPF_PROG(fe_vfs_fallocate, struct file *file)
{
	size_file_enter(file);
	return 0;
}

SEC("fexit/vfs_fallocate")
int BPF_PROG(fx_vfs_fallocate, struct file *file, int mode, long long offset, long long len, long ret)
{
	size_change_exit(ret);
	return 0;
}

#endif
