/* Tracepoint backend: attributing unlink(path) from the path string, for file systems without a dentry tracepoint. */
#ifndef CW_UNLINK_PATH_BPF_H
#define CW_UNLINK_PATH_BPF_H

/* True when absolute paths of this task mean what they mean to the agent. */
static __always_inline int same_root_as_agent(struct task_struct *t)
{
	struct dentry *r = BPF_CORE_READ(t, fs, root.dentry);

	return BPF_CORE_READ(r, d_inode, i_ino) == agent_root_ino &&
	       BPF_CORE_READ(r, d_sb, s_dev) == agent_root_dev &&
	       BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum) == agent_mntns;
}

struct path_walk {
	__u64 h_commit;   /* hash of the normalised absolute path up to the last component */
	__u64 h_cur;
	__u32 comp_start; /* offset in s->path of the component being read */
	__u32 name_len;   /* committed length of s->name */
	__u32 name_cur;   /* length of s->name including the component being read */
	__u32 groups;     /* group components taken so far */
	int found;        /* root known */
	int bad;          /* ".." after the root: cannot resolve */
	struct cw_root_val rv;
};

/* Ends the component that occupies s->path[w->comp_start, end) and is followed
 * by a '/': it names a directory. */
static __always_inline void end_dir_component(struct scratch *s, struct path_walk *w, __u32 end,
					      int absolute)
{
	__u32 len = end - w->comp_start;
	__u32 cs = w->comp_start & (CW_PATH_MAX - 1);

	if (len == 0 || (len == 1 && s->path[cs] == '.')) {
		w->h_cur = w->h_commit;
		w->name_cur = w->name_len;
		return;
	}
	if (len == 2 && s->path[cs] == '.' && s->path[(cs + 1) & (CW_PATH_MAX - 1)] == '.') {
		w->bad = 1;
		return;
	}
	w->h_commit = w->h_cur;
	if (w->found) {
		if (w->groups < w->rv.group_depth) {
			w->groups++;
			w->name_len = w->name_cur;
		} else {
			w->name_cur = w->name_len;
		}
		return;
	}
	if (!absolute)
		return;
	struct cw_root_path_key pk = { .hash = w->h_commit };
	struct cw_root_key *rk = bpf_map_lookup_elem(&root_paths, &pk);
	struct cw_root_val *rv = rk ? bpf_map_lookup_elem(&roots, rk) : NULL;
	if (rv) {
		w->found = 1;
		w->rv = *rv;
	}
}

struct walk_ctx {
	struct path_walk w;
	__u32 start;
	int absolute;
};

/* The walk's state lives in a map value, not on the stack: the verifier tracks
 * stack values exactly, and from 6.7 it checks a bpf_loop callback again for
 * every new state, which for the lengths and offsets of a path walk meant one
 * check per character. Map values it treats as unknown, so the step converges
 * after a check or two. Used by tp_sys_exit only (one task per CPU at a time,
 * like its scratch slot). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_ctx);
} walk_state SEC(".maps");

static __always_inline struct walk_ctx *get_walk(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&walk_state, &zero);
}

/* One character of the path. Run through bpf_loop so the verifier checks the
 * step once instead of once per character. */
static long walk_step(__u32 i, void *data)
{
	struct walk_ctx *c = get_walk();
	struct scratch *s = get_scratch(SLOT_UNLINK_PATH);

	if (!c || !s || i >= CW_PATH_MAX)
		return 1;
	struct path_walk *w = &c->w;
	if (i < c->start)
		return 0;
	char ch = s->path[i];
	if (ch == 0 || w->bad)
		return 1;
	if (ch == '/') {
		end_dir_component(s, w, i, c->absolute);
		w->comp_start = i + 1;
		w->h_cur = fnv_byte(w->h_commit, '/');
		if (w->found && w->groups < w->rv.group_depth && w->name_len) {
			w->name_cur = w->name_len;
			s->name[w->name_cur & (CW_GROUP_NAME_MAX - 1)] = '/';
			w->name_cur++;
		}
		return 0;
	}
	w->h_cur = fnv_byte(w->h_cur, ch);
	if (w->found && w->groups < w->rv.group_depth && w->name_cur < CW_GROUP_NAME_MAX - 1) {
		s->name[w->name_cur & (CW_GROUP_NAME_MAX - 1)] = ch;
		w->name_cur++;
	}
	return 0;
}

/* Single pass over the path: finds the root by hashed prefix (absolute paths) or
 * continues from a root already found for the base directory, and appends the
 * group's directory names to s->name. */
static __always_inline void walk_path(struct scratch *s, struct walk_ctx *c)
{
	struct path_walk *w = &c->w;

	w->comp_start = c->start;
	w->h_cur = fnv_byte(w->h_commit, '/');
	if (w->found && w->groups < w->rv.group_depth && w->name_len) {
		s->name[w->name_len & (CW_GROUP_NAME_MAX - 1)] = '/';
		w->name_cur = w->name_len + 1;
	}
	bpf_loop(CW_PATH_MAX, walk_step, NULL, 0);
}

/* Attributes unlink(path)/unlinkat(dfd, path) from its path string: relative to
 * the base directory's root if the base is inside one, else by the absolute
 * path's prefix. Used for file systems without a dentry tracepoint. */
static __always_inline int resolve_unlink_path(struct inflight *in, struct cw_stats_key *key)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct scratch *s = claim_scratch(SLOT_UNLINK_PATH);
	struct walk_ctx *c = get_walk();
	struct dentry *base;
	__u32 level = 0;

	if (!s || !c)
		return 0;
	__builtin_memset(c, 0, sizeof(*c));
	c->w.h_commit = CW_FNV_OFFSET;
	struct path_walk *w = &c->w;
	long n = bpf_probe_read_user_str(s->path, sizeof(s->path), (const void *)in->path);
	if (n <= 1)
		return 0;
	int absolute = s->path[0] == '/';
	if (absolute)
		base = BPF_CORE_READ(t, fs, root.dentry);
	else if (in->dfd == AT_FDCWD)
		base = BPF_CORE_READ(t, fs, pwd.dentry);
	else {
		struct file *f = fd_file(t, in->dfd);
		if (!f)
			return 0;
		base = BPF_CORE_READ(f, f_path.dentry);
	}
	int r = find_root(s, base, &w->rv, &level);
	if (r > 0) {
		w->found = 1;
		w->name_len = w->name_cur = name_from_chain(s, level, w->rv.group_depth);
		w->groups = level < w->rv.group_depth ? level : w->rv.group_depth;
		absolute = 0;
	} else if (!absolute || !same_root_as_agent(t)) {
		return 0;
	}
	c->start = absolute ? 1 : 0;
	c->absolute = absolute;
	walk_path(s, c);
	if (!w->found)
		return 0;
	if (w->bad) {
		drop(CW_DROP_UNLINK_PATH);
		return 0;
	}
	if (scratch_lost(s))
		return 0;
	admit_group(s, w->name_len, &w->rv, key);
	return 1;
}

static __always_inline void unlink_sys_exit(long ret)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct inflight *in = bpf_map_lookup_elem(&inflight, &tid);
	struct cw_stats_key key;

	if (!in)
		return;
	if (in->kind == IF_UNLINK_SYS && ret == 0 && resolve_unlink_path(in, &key))
		commit_unlink(&key, 0);
	bpf_map_delete_elem(&inflight, &tid);
}

#endif
