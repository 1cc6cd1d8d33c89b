/* Tracepoint backend: attributing unlink(path) from the path string, for file systems without a dentry tracepoint. */
#ifndef CW_UNLINK_PATH_BPF_H
#define CW_UNLINK_PATH_BPF_H

/* Only a name directly in a directory the program holds by dentry (the cwd,
 * the dirfd, or "/" for "/name") is attributed: its parent is that directory,
 * exactly. A path with directories in it may cross a symlink (root/link/f
 * removes a file wherever link points), and a program cannot look path
 * components up, so such unlinks are not counted; from a base directory
 * inside a root they are an unlink_path drop (docs/backends.md). "." and
 * empty components ("./f", ".//f") name the base itself and are fine. */
struct name_scan {
	__u32 comp_start; /* offset of the component being read */
	int dirs;         /* a component other than "." or "" precedes a '/' */
};

static long name_scan_step(__u32 i, void *data)
{
	struct name_scan *n = data;
	struct scratch *s = get_scratch(SLOT_UNLINK_PATH);

	if (!s || i >= CW_PATH_MAX)
		return 1;
	char ch = s->path[i];
	if (ch == 0)
		return 1;
	if (ch != '/')
		return 0;
	__u32 len = i - n->comp_start;
	if (len > 1 || (len == 1 && s->path[n->comp_start & (CW_PATH_MAX - 1)] != '.')) {
		n->dirs = 1;
		return 1;
	}
	n->comp_start = i + 1;
	return 0;
}

/* The directory a relative name starts from: the cwd, or the dirfd's file. */
static __always_inline struct dentry *unlink_base(struct task_struct *t, int dfd, int absolute)
{
	if (absolute)
		return BPF_CORE_READ(t, fs, root.dentry);
	if (dfd == AT_FDCWD)
		return BPF_CORE_READ(t, fs, pwd.dentry);
	struct file *f = fd_file(t, dfd);
	return f ? BPF_CORE_READ(f, f_path.dentry) : NULL;
}

/* Attributes unlink(path)/unlinkat(dfd, path) whose path names a file directly
 * in its base directory. 1: watched, key set. */
static __always_inline int resolve_unlink_path(struct inflight *in, struct cw_stats_key *key)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct scratch *s = claim_scratch(SLOT_UNLINK_PATH);
	struct name_scan n = {};

	if (!s)
		return 0;
	long len = bpf_probe_read_user_str(s->path, sizeof(s->path), (const void *)in->path);
	/* empty, unreadable, or longer than we read: the rest could hold a '/' */
	if (len <= 1 || len >= (long)sizeof(s->path))
		return 0;
	bpf_loop(CW_PATH_MAX, name_scan_step, &n, 0);
	if (scratch_lost(s))
		return 0;
	struct dentry *base = unlink_base(t, in->dfd, s->path[0] == '/');
	if (!base)
		return 0;
	if (n.dirs) {
		struct cw_root_val rv;
		__u32 level;
		/* from inside a root the file was likely the root's: say it was lost */
		if (find_root(s, base, &rv, &level) > 0)
			drop(CW_DROP_UNLINK_PATH);
		size_unresolved_bump(); /* the size freed could be any cache's */
		return 0;
	}
	return attribute_dir(base, key, SLOT_UNLINK_PATH) > 0;
}

static __always_inline void unlink_sys_exit(long ret)
{
	struct inflight *in = inflight_get();
	struct cw_stats_key key;

	if (!in)
		return;
	if (in->kind == IF_UNLINK_SYS && ret == 0 && resolve_unlink_path(in, &key)) {
		commit_unlink(&key, 0);
		commit_size_unknown(&key); /* no inode here: the size freed is unknown */
	}
	inflight_clear(in);
}

#endif
