// SPDX-License-Identifier: GPL-2.0
/* Per-directory write/unlink accounting for watched cache roots; three attach backends. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cachewatch.h"
#include "syscall_nrs.h"

char LICENSE[] SEC("license") = "GPL";

#define S_IFMT 00170000
#define S_IFREG 0100000
#define AT_FDCWD -100
#define EEXIST 17

/* Knobs the loader sets before load. */
const volatile __u32 max_walk = CW_MAX_WALK;
const volatile __u32 unlink_dentry_arg = 2; /* index of vfs_unlink's dentry argument */
const volatile __u32 agent_root_dev;        /* the agent's "/" (kernel dev encoding) */
const volatile __u64 agent_root_ino;
const volatile __u32 agent_mntns;           /* the agent's mount namespace inode */

/* Bumped by userspace when the watched set changes and by successful renames:
 * cached per-file decisions older than this are walked again. */
__u64 watch_gen;
/* Groups admitted per root slot; userspace decrements when it forgets one. */
__u64 group_count[CW_MAX_ROOTS];

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_MAX_ROOTS);
	__type(key, struct cw_root_key);
	__type(value, struct cw_root_val);
} roots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_MAX_ROOTS);
	__type(key, struct cw_root_path_key);
	__type(value, struct cw_root_key);
} root_paths SEC(".maps");

struct {
	/* Shared counters with atomic adds, preallocated: an insert never has to
	 * allocate, so it cannot fail under a burst of new series (non-preallocated
	 * maps did on 6.1), and memory does not grow with the CPU count the way
	 * preallocated per-CPU values would (docs/backends.md). */
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_MAX_SERIES);
	__type(key, struct cw_stats_key);
	__type(value, struct cw_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_MAX_SERIES);
	__type(key, struct cw_stats_key);
	__type(value, struct cw_group_val);
} groups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct cw_writer_key);
	__type(value, struct cw_writer_val);
} writers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CW_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

struct decision {
	__u64 dentry;
	__u64 gen;
	struct cw_stats_key key;
	__u32 watched;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct file * */
	__type(value, struct decision);
} decisions SEC(".maps");

enum inflight_kind {
	IF_WRITE = 1,
	IF_UNLINK_SYS,  /* tracepoint: resolve the path string at exit */
	IF_UNLINK_FS,   /* dentry seen (vfs_unlink or a fs tracepoint); commit at its exit */
	IF_UNLINK_DONE, /* already committed by the fs tracepoint */
};

struct inflight {
	__u64 start_ns;
	__u64 bytes;
	__u64 path;      /* user pointer (IF_UNLINK_SYS) */
	struct cw_stats_key key;
	__u32 kind;
	__s32 dfd;
	__u32 watched;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct inflight);
} inflight SEC(".maps");

/* Per-CPU work space, one slot per program that may run at the same time as
 * another on one CPU. Programs run with migration disabled but, on some
 * kernels (PREEMPT_RT, faultable syscall tracepoints), not with preemption
 * disabled, so a preempting task may run a different program on the same CPU;
 * the kernel keeps a second task out of the same program (recursion guard),
 * so a slot per program is never shared. The owner stamp stays as a check:
 * a changed stamp means the result may be torn, and it is dropped. */
enum scratch_slot {
	SLOT_WRITE,       /* vfs_write, or the raw sys_enter of every write call */
	SLOT_WRITEV,      /* vfs_writev */
	SLOT_UNLINK,      /* vfs_unlink, ext4_unlink_enter */
	SLOT_UNLINK_PATH, /* raw sys_exit: unlink path strings */
	SLOT_MAX,
};

struct scratch {
	__u64 owner;
	struct dentry *chain[CW_MAX_WALK];
	char name[CW_GROUP_NAME_MAX * 2]; /* group name under construction */
	char path[CW_PATH_MAX];            /* unlink path string */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLOT_MAX);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

static const struct cw_stats zero_stats;
static const struct cw_writer_val zero_writer;

static __always_inline void drop(enum cw_drop d)
{
	__u32 k = d;
	__u64 *v = bpf_map_lookup_elem(&drops, &k);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

static __always_inline __u64 fnv_byte(__u64 h, unsigned char c)
{
	return (h ^ c) * CW_FNV_PRIME;
}

/* ---- attribution ------------------------------------------------------ */

/* Walks d_parent from dir until a watched root matches. Never crosses mounts:
 * d_parent stops at the file system's own root. 1: found (level = how many
 * directories below the root dir is), 0: not watched, -1: walk bound hit. */
static __always_inline int find_root(struct scratch *s, struct dentry *dir,
				     struct cw_root_val *rv, __u32 *level)
{
	struct cw_root_key k = {};
	struct dentry *d = dir;

	k.dev = BPF_CORE_READ(dir, d_sb, s_dev);
	for (__u32 i = 0; i < CW_MAX_WALK; i++) {
		if (i >= max_walk)
			return -1;
		s->chain[i] = d;
		k.ino = BPF_CORE_READ(d, d_inode, i_ino);
		struct cw_root_val *v = bpf_map_lookup_elem(&roots, &k);
		if (v) {
			*rv = *v;
			*level = i;
			return 1;
		}
		struct dentry *p = BPF_CORE_READ(d, d_parent);
		if (!p || p == d)
			return 0;
		d = p;
	}
	return -1;
}

/* Appends the names of the first `want` directories below the root (taken from
 * the walk's chain) to s->name, separated by '/'. Returns the new length. */
static __always_inline __u32 name_from_chain(struct scratch *s, __u32 level, __u32 want)
{
	__u32 off = 0;

	for (__u32 j = 0; j < CW_MAX_GROUP_DEPTH; j++) {
		if (j >= want || j >= level)
			break;
		__u32 idx = level - 1 - j;
		if (idx >= CW_MAX_WALK)
			break;
		struct dentry *d = s->chain[idx];
		const unsigned char *nm = BPF_CORE_READ(d, d_name.name);
		if (off) {
			s->name[off & (CW_GROUP_NAME_MAX - 1)] = '/';
			off++;
		}
		off &= CW_GROUP_NAME_MAX - 1;
		long n = bpf_probe_read_kernel_str(&s->name[off], CW_GROUP_NAME_MAX, nm);
		if (n <= 1)
			break;
		off += n - 1;
		if (off >= CW_GROUP_NAME_MAX - 1) {
			off = CW_GROUP_NAME_MAX - 1;
			break;
		}
	}
	return off;
}

static __always_inline __u64 hash_name(struct scratch *s, __u32 len)
{
	__u64 h = CW_FNV_OFFSET;

	for (__u32 i = 0; i < CW_GROUP_NAME_MAX; i++) {
		if (i >= len)
			break;
		h = fnv_byte(h, s->name[i]);
	}
	return h;
}

/* Turns the group name in s->name into a stats key, admitting a new group if the
 * root is under max_groups and folding into _other otherwise. */
static __always_inline void admit_group(struct scratch *s, __u32 len,
					const struct cw_root_val *rv, struct cw_stats_key *key)
{
	key->root = rv->id;
	key->pad = 0;
	if (len == 0) {
		key->group = CW_GROUP_ROOT;
		return;
	}
	s->name[len & (CW_GROUP_NAME_MAX - 1)] = 0;
	key->group = hash_name(s, len);
	if (bpf_map_lookup_elem(&groups, key))
		return;
	__u32 slot = rv->id & (CW_MAX_ROOTS - 1);
	__u64 old = __sync_fetch_and_add(&group_count[slot], 1);
	if (rv->max_groups && old >= rv->max_groups) {
		__sync_fetch_and_add(&group_count[slot], -1);
		key->group = CW_GROUP_OTHER;
		return;
	}
	long err = bpf_map_update_elem(&groups, key, s->name, BPF_NOEXIST);
	if (err == 0)
		return;
	__sync_fetch_and_add(&group_count[slot], -1);
	if (err != -EEXIST) {
		drop(CW_DROP_GROUPS_FULL);
		key->group = CW_GROUP_OTHER;
	}
}

static __always_inline struct scratch *get_scratch(__u32 slot)
{
	return bpf_map_lookup_elem(&scratch_map, &slot);
}

/* Takes this CPU's scratch slot for the current task. */
static __always_inline struct scratch *claim_scratch(__u32 slot)
{
	struct scratch *s = get_scratch(slot);

	if (s)
		s->owner = bpf_get_current_pid_tgid();
	return s;
}

/* Did another task use the scratch since we claimed it? Then drop, visibly. */
static __always_inline int scratch_lost(struct scratch *s)
{
	if (s->owner == bpf_get_current_pid_tgid())
		return 0;
	drop(CW_DROP_SCRATCH_BUSY);
	return 1;
}

/* Attributes a directory (the parent of the file written or unlinked).
 * 1: watched, key set; 0: not watched; -1: unknown (scratch taken meanwhile),
 * not to be cached. */
static __always_inline int attribute_dir(struct dentry *dir, struct cw_stats_key *key,
					 __u32 slot)
{
	struct scratch *s = claim_scratch(slot);
	struct cw_root_val rv;
	__u32 level = 0;

	if (!s)
		return -1;
	int r = find_root(s, dir, &rv, &level);
	if (r < 0)
		drop(CW_DROP_WALK_DEPTH);
	if (r <= 0)
		return scratch_lost(s) ? -1 : 0;
	__u32 len = name_from_chain(s, level, rv.group_depth);
	if (scratch_lost(s))
		return -1;
	admit_group(s, len, &rv, key);
	return 1;
}

static __always_inline int is_regular(struct inode *inode)
{
	return (BPF_CORE_READ(inode, i_mode) & S_IFMT) == S_IFREG;
}

/* Decision per open file, re-walked when its dentry or the generation changed. */
static __always_inline int attribute_file(struct file *f, struct cw_stats_key *key, __u32 slot)
{
	__u64 fk = (__u64)f;

	/* pipes, sockets and ttys take most write calls: leave before any map lookup */
	if (!is_regular(BPF_CORE_READ(f, f_inode)))
		return 0;
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	__u64 gen = watch_gen;
	struct decision *dc = bpf_map_lookup_elem(&decisions, &fk);

	if (dc && dc->dentry == (__u64)d && dc->gen == gen) {
		if (dc->watched)
			*key = dc->key;
		return dc->watched;
	}
	struct decision nd = { .dentry = (__u64)d, .gen = gen };
	int r = attribute_dir(BPF_CORE_READ(d, d_parent), &nd.key, slot);
	if (r < 0)
		return 0;
	nd.watched = r;
	bpf_map_update_elem(&decisions, &fk, &nd, BPF_ANY);
	if (nd.watched)
		*key = nd.key;
	return nd.watched;
}

/* ---- counting --------------------------------------------------------- */

/* The entry for key, created zeroed if absent; NULL (and a drop of the given
 * reason) only when the map is full. NOEXIST makes a concurrent creator win
 * harmlessly: the second lookup finds its entry. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *zero,
					    enum cw_drop full)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		drop(full);
	return v;
}

static __always_inline struct cw_stats *stats_get(const struct cw_stats_key *key)
{
	return lookup_or_init(&stats, key, &zero_stats, CW_DROP_STATS_FULL);
}

static __always_inline void count_writer(__u32 root, __s64 ret)
{
	struct cw_writer_key wk = { .root = root };
	struct cw_writer_val *wv;

	bpf_get_current_comm(wk.comm, sizeof(wk.comm));
	wv = lookup_or_init(&writers, &wk, &zero_writer, CW_DROP_WRITERS_FULL);
	if (!wv)
		return;
	__sync_fetch_and_add(&wv->writes, 1);
	if (ret > 0)
		__sync_fetch_and_add(&wv->bytes, ret);
}

static __always_inline void commit_write(const struct cw_stats_key *key, __s64 ret, __u64 lat)
{
	struct cw_stats *st = stats_get(key);

	if (!st)
		return;
	__sync_fetch_and_add(&st->writes, 1);
	if (ret < 0)
		__sync_fetch_and_add(&st->write_errors, 1);
	else
		__sync_fetch_and_add(&st->write_bytes, ret);
	__sync_fetch_and_add(&st->lat_sum_ns, lat);
	__u32 slot = lat ? log2_u64(lat) : 0;
	if (slot >= CW_HIST_SLOTS)
		slot = CW_HIST_SLOTS - 1;
	__sync_fetch_and_add(&st->lat_slots[slot], 1);
	count_writer(key->root, ret);
}

static __always_inline void commit_unlink(const struct cw_stats_key *key, __u64 bytes)
{
	struct cw_stats *st = stats_get(key);

	if (!st)
		return;
	__sync_fetch_and_add(&st->unlinks, 1);
	__sync_fetch_and_add(&st->unlinked_bytes, bytes);
}

static __always_inline void write_enter(struct file *f, __u32 slot)
{
	struct inflight in = { .kind = IF_WRITE };
	__u64 tid = bpf_get_current_pid_tgid();

	if (!f || !attribute_file(f, &in.key, slot))
		return;
	in.start_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&inflight, &tid, &in, BPF_ANY))
		drop(CW_DROP_INFLIGHT_FULL);
}

static __always_inline void write_exit(__s64 ret)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct inflight *in = bpf_map_lookup_elem(&inflight, &tid);

	if (!in || in->kind != IF_WRITE)
		return;
	struct cw_stats_key key = in->key;
	__u64 lat = bpf_ktime_get_ns() - in->start_ns;
	bpf_map_delete_elem(&inflight, &tid);
	commit_write(&key, ret, lat);
}

/* Unlink seen with its dentry: attribute and take the size if the last link goes. */
static __always_inline void unlink_enter_dentry(struct dentry *d)
{
	struct inflight in = { .kind = IF_UNLINK_FS };
	__u64 tid = bpf_get_current_pid_tgid();
	struct inode *inode = BPF_CORE_READ(d, d_inode);

	in.watched = inode && attribute_dir(BPF_CORE_READ(d, d_parent), &in.key, SLOT_UNLINK) > 0;
	if (in.watched && is_regular(inode) && BPF_CORE_READ(inode, i_nlink) == 1)
		in.bytes = BPF_CORE_READ(inode, i_size);
	if (bpf_map_update_elem(&inflight, &tid, &in, BPF_ANY) && in.watched)
		drop(CW_DROP_INFLIGHT_FULL);
}

static __always_inline void unlink_exit_dentry(int ret)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct inflight *in = bpf_map_lookup_elem(&inflight, &tid);

	if (!in || in->kind != IF_UNLINK_FS)
		return;
	if (ret == 0 && in->watched)
		commit_unlink(&in->key, in->bytes);
	/* Keep a marker so the syscall exit (tracepoint backend) does not count it again. */
	in->kind = IF_UNLINK_DONE;
}

/* vfs_unlink's exit (fentry, kprobe): count, then forget the call; only the fs
 * tracepoint keeps the marker unlink_exit_dentry leaves. */
static __always_inline void unlink_exit_vfs(int ret)
{
	unlink_exit_dentry(ret);
	bpf_map_delete_elem(&inflight, &(__u64){ bpf_get_current_pid_tgid() });
}

static __always_inline void bump_gen(long ret)
{
	if (ret == 0)
		__sync_fetch_and_add(&watch_gen, 1);
}

/* ---- fentry/fexit backend ---------------------------------------------- */

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

/* Keeps clang from turning "load a or load b" into a load at a computed context
 * offset, which the verifier refuses. */
#define opaque(v) asm volatile("" : "+r"(v))

static __always_inline struct dentry *pick_arg(__u64 a1, __u64 a2)
{
	opaque(a1);
	opaque(a2);
	return (struct dentry *)(unlink_dentry_arg == 1 ? a1 : a2);
}

/* vfs_unlink's argument list changed across kernels (5.12 added a user
 * namespace first, 6.3 made it an idmap); the loader reads the prototype from
 * BTF, sets where the dentry is, and keeps the exit program of that arity. */
SEC("fentry/vfs_unlink")
int BPF_PROG(fe_vfs_unlink)
{
	__u64 a1 = ctx[1], a2 = ctx[2];

	unlink_enter_dentry(pick_arg(a1, a2));
	return 0;
}

/* Two exit programs, one per prototype: the verifier refuses to load an argument
 * slot whose type it does not allow (6.1's 4th, struct inode **), even unused.
 * The loader keeps the one matching vfs_unlink's BTF. */
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

SEC("fexit/vfs_rename")
int BPF_PROG(fx_vfs_rename, void *rd, int ret)
{
	bump_gen(ret);
	return 0;
}

/* ---- kprobe/kretprobe backend ------------------------------------------ */

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

SEC("kretprobe/vfs_rename")
int BPF_KRETPROBE(krp_vfs_rename, long ret)
{
	bump_gen(ret);
	return 0;
}

/* ---- tracepoint backend ------------------------------------------------ */

/* The raw sys_enter/sys_exit tracepoints (tp_btf) run for every syscall and
 * dispatch on its number: measured cheaper than the per-syscall tracepoints,
 * whose perf-buffer path costs more on both the watched and the unrelated
 * syscalls (bench/overhead.sh; docs/backends.md). */
static __always_inline struct file *fd_file(struct task_struct *t, int fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **arr;
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	arr = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	return f;
}

static __always_inline void unlink_sys_enter(int dfd, const char *path)
{
	struct inflight in = { .kind = IF_UNLINK_SYS, .dfd = dfd, .path = (__u64)path };
	__u64 tid = bpf_get_current_pid_tgid();

	bpf_map_update_elem(&inflight, &tid, &in, BPF_ANY);
}

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

/* One character of the path. Run through bpf_loop so the verifier checks the
 * step once instead of once per character. */
static long walk_step(__u32 i, void *data)
{
	struct walk_ctx *c = data;
	struct path_walk *w = &c->w;
	struct scratch *s = get_scratch(SLOT_UNLINK_PATH);

	if (!s || i >= CW_PATH_MAX)
		return 1;
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
	bpf_loop(CW_PATH_MAX, walk_step, c, 0);
}

/* Attributes unlink(path)/unlinkat(dfd, path) from its path string: relative to
 * the base directory's root if the base is inside one, else by the absolute
 * path's prefix. Used for file systems without a dentry tracepoint. */
static __always_inline int resolve_unlink_path(struct inflight *in, struct cw_stats_key *key)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct scratch *s = claim_scratch(SLOT_UNLINK_PATH);
	struct walk_ctx c = { .w = { .h_commit = CW_FNV_OFFSET } };
	struct path_walk *w = &c.w;
	struct dentry *base;
	__u32 level = 0;

	if (!s)
		return 0;
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
	c.start = absolute ? 1 : 0;
	c.absolute = absolute;
	walk_path(s, &c);
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

/* ext4 tells us the dentry: exact attribution and bytes freed, like vfs_unlink. */
SEC("tp_btf/ext4_unlink_enter")
int BPF_PROG(tpb_ext4_unlink_enter, struct inode *parent, struct dentry *dentry)
{
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
		write_enter(fd_file(bpf_get_current_task_btf(), (int)PT_REGS_PARM1_CORE_SYSCALL(regs)),
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
