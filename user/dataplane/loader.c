/* Opens the BPF object, keeps the programs of one backend, loads and attaches them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "cachewatch.skel.h"
#include "dataplane/loader.h"
#include "lib/log.h"

struct cw_loader {
	struct cachewatch_bpf *skel;
	enum cw_backend backend;
};

static const char *const backend_names[] = CW_BACKEND_NAMES;

int cw_backend_parse(const char *s, enum cw_backend *out)
{
	for (size_t i = 0; i < CW_BACKEND_COUNT; i++) {
		if (!strcmp(s, backend_names[i])) {
			*out = (enum cw_backend)i;
			return 0;
		}
	}
	return -1;
}

const char *cw_backend_name(enum cw_backend b)
{
	return (unsigned)b < CW_BACKEND_COUNT ? backend_names[b] : "unknown";
}

__u32 cw_kernel_dev(uint64_t st_dev)
{
	/* The kernel's sb->s_dev packs major<<20|minor; glibc's dev_t does not. */
	return (__u32)((major(st_dev) << 20) | (minor(st_dev) & 0xfffff));
}

uint64_t cw_fnv1a(const char *s, size_t len)
{
	uint64_t h = CW_FNV_OFFSET;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * CW_FNV_PRIME;
	return h;
}

/* libbpf's own messages are kept, so a failure can be explained in one sentence
 * without dumping verifier logs on a person; debug level shows them all. */
static char libbpf_last[512];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[8192];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		/* the first warning names the program and the cause; later ones only repeat it */
		if (level == LIBBPF_WARN && !libbpf_last[0])
			snprintf(libbpf_last, sizeof(libbpf_last), "%s",
				 strncmp(line, "libbpf: ", 8) ? line : line + 8);
		if (level != LIBBPF_DEBUG)
			cw_debug("libbpf", "detail", line);
	}
	return 0;
}

static int has_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return 0;
	return (data[cap / 32].effective >> (cap % 32)) & 1;
}

static int check_privileges(char *err, size_t errlen)
{
	if (has_cap(CAP_SYS_ADMIN) || (has_cap(CAP_BPF) && has_cap(CAP_PERFMON)))
		return 0;
	snprintf(err, errlen,
		 "loading BPF programs needs root, or the capabilities CAP_BPF and CAP_PERFMON "
		 "(CAP_SYS_ADMIN on kernels before 5.8); run as root or grant them");
	return -EPERM;
}

static int btf_has_func(const struct btf *btf, const char *name)
{
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
}

/* Is there a BTF-typed tracepoint of that name in vmlinux or the named loaded
 * module (NULL: vmlinux only)? */
static int has_btf_tracepoint(const struct btf *vmlinux, const char *tp, const char *module)
{
	char name[128], path[128];
	int found = 0;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	if (vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) > 0)
		return 1;
	if (!module)
		return 0;
	snprintf(path, sizeof(path), "/sys/kernel/btf/%s", module);
	struct btf *mod = btf__parse_split(path, (struct btf *)vmlinux);
	if (!libbpf_get_error(mod)) {
		found = btf__find_by_name_kind(mod, name, BTF_KIND_TYPEDEF) > 0;
		btf__free(mod);
	}
	return found;
}

/* What differs between kernels, probed once per attempt from BTF and named
 * after what changed. */
struct kernel_features {
	bool vfs_writev;           /* vfs_writev exists (some builds inline it away) */
	bool vfs_unlink_has_ns;    /* 5.12: vfs_unlink() takes a user namespace (6.3: idmap) first */
	bool ext4_unlink_tp;       /* ext4_unlink_enter/exit tracepoints (ext4 loaded) */
	bool io_uring_complete_tp; /* io_uring_complete tracepoint (io_uring built in) */
};

/* vfs_unlink(dir, dentry, delegated) before 5.12; (ns/idmap, dir, dentry, delegated) after.
 * Without BTF, assume the newer form. */
static bool vfs_unlink_has_ns(const struct btf *btf)
{
	int id = btf ? btf__find_by_name_kind(btf, "vfs_unlink", BTF_KIND_FUNC) : -1;
	const struct btf_type *proto = id > 0 ? btf__type_by_id(btf, btf__type_by_id(btf, id)->type) : NULL;

	return proto ? btf_vlen(proto) == 4 : true;
}

static void probe_features(const struct btf *btf, struct kernel_features *kf)
{
	kf->vfs_writev = !btf || btf_has_func(btf, "vfs_writev");
	kf->vfs_unlink_has_ns = vfs_unlink_has_ns(btf);
	kf->ext4_unlink_tp = has_btf_tracepoint(btf, "ext4_unlink_enter", "ext4") &&
			     has_btf_tracepoint(btf, "ext4_unlink_exit", "ext4");
	kf->io_uring_complete_tp = has_btf_tracepoint(btf, "io_uring_complete", NULL);
}

/* When a program is wanted, beyond its backend being chosen. */
enum prog_need {
	NEED_NOTHING,
	NEED_VFS_WRITEV,
	NEED_UNLINK_3ARGS, /* vfs_unlink before 5.12 */
	NEED_UNLINK_4ARGS, /* vfs_unlink from 5.12 */
	NEED_EXT4_UNLINK_TP,
	NEED_IO_URING_COMPLETE_TP,
};

static bool need_met(enum prog_need n, const struct kernel_features *kf)
{
	switch (n) {
	case NEED_NOTHING: return true;
	case NEED_VFS_WRITEV: return kf->vfs_writev;
	case NEED_UNLINK_3ARGS: return !kf->vfs_unlink_has_ns;
	case NEED_UNLINK_4ARGS: return kf->vfs_unlink_has_ns;
	case NEED_EXT4_UNLINK_TP: return kf->ext4_unlink_tp;
	case NEED_IO_URING_COMPLETE_TP: return kf->io_uring_complete_tp;
	}
	return false;
}

/* Every program of the object, the backend it belongs to and what it needs. */
struct backend_prog {
	enum cw_backend backend;
	size_t off; /* of its struct bpf_program * in the skeleton */
	enum prog_need need;
};

#define PROG(b, name, n) { CW_BACKEND_##b, offsetof(struct cachewatch_bpf, progs.name), NEED_##n }

static const struct backend_prog backend_progs[] = {
	PROG(FENTRY, fe_vfs_write, NOTHING),
	PROG(FENTRY, fx_vfs_write, NOTHING),
	PROG(FENTRY, fe_vfs_writev, VFS_WRITEV),
	PROG(FENTRY, fx_vfs_writev, VFS_WRITEV),
	PROG(FENTRY, fe_vfs_unlink, NOTHING),
	PROG(FENTRY, fx_vfs_unlink3, UNLINK_3ARGS),
	PROG(FENTRY, fx_vfs_unlink4, UNLINK_4ARGS),
	PROG(FENTRY, fx_vfs_rename, NOTHING),
	PROG(KPROBE, kp_vfs_write, NOTHING),
	PROG(KPROBE, krp_vfs_write, NOTHING),
	PROG(KPROBE, kp_vfs_writev, VFS_WRITEV),
	PROG(KPROBE, krp_vfs_writev, VFS_WRITEV),
	PROG(KPROBE, kp_vfs_unlink, NOTHING),
	PROG(KPROBE, krp_vfs_unlink, NOTHING),
	PROG(KPROBE, krp_vfs_rename, NOTHING),
	PROG(TRACEPOINT, tp_sys_enter, NOTHING),
	PROG(TRACEPOINT, tp_sys_exit, NOTHING),
	PROG(TRACEPOINT, tpb_ext4_unlink_enter, EXT4_UNLINK_TP),
	PROG(TRACEPOINT, tpb_ext4_unlink_exit, EXT4_UNLINK_TP),
	PROG(TRACEPOINT, tpb_io_uring_complete, IO_URING_COMPLETE_TP),
};

static struct bpf_program *prog_of(struct cachewatch_bpf *skel, const struct backend_prog *bp)
{
	return *(struct bpf_program **)((char *)skel + bp->off);
}

static const struct backend_prog *table_row(struct cachewatch_bpf *skel, const struct bpf_program *p)
{
	for (size_t i = 0; i < sizeof(backend_progs) / sizeof(backend_progs[0]); i++)
		if (prog_of(skel, &backend_progs[i]) == p)
			return &backend_progs[i];
	return NULL;
}

int cw_loader_programs_unlisted(void)
{
	struct cachewatch_bpf *skel = cachewatch_bpf__open();
	struct bpf_program *p;
	int n = 0;

	if (!skel)
		return -errno;
	bpf_object__for_each_program(p, skel->obj)
		n += !table_row(skel, p);
	cachewatch_bpf__destroy(skel);
	return n;
}

static void select_programs(struct cachewatch_bpf *skel, enum cw_backend b,
			    const struct kernel_features *kf)
{
	struct bpf_program *p;

	if (b != CW_BACKEND_TRACEPOINT && !kf->vfs_writev)
		cw_warn("vfs_writev is not in this kernel's BTF; writev/pwritev are not counted",
			"backend", cw_backend_name(b));
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, false);
	for (size_t i = 0; i < sizeof(backend_progs) / sizeof(backend_progs[0]); i++) {
		const struct backend_prog *bp = &backend_progs[i];
		if (bp->backend == b && need_met(bp->need, kf))
			bpf_program__set_autoload(prog_of(skel, bp), true);
	}
}

static void explain(enum cw_backend b, const char *stage, int err, char *buf, size_t len)
{
	const char *hint = b == CW_BACKEND_TRACEPOINT ? "" : "; try --bpf.attach=tracepoint";
	const char *why = "";

	if (b == CW_BACKEND_KPROBE && access("/sys/bus/event_source/devices/kprobe", F_OK) &&
	    access("/sys/kernel/tracing/kprobe_events", F_OK))
		why = " (this kernel has no kprobes)";
	else if (b == CW_BACKEND_FENTRY && err == -EPERM)
		why = " (BPF trampolines refused, e.g. by lockdown)";
	snprintf(buf, len, "%s unavailable on this kernel: %s failed (%s)%s%s%s%s%s",
		 cw_backend_name(b), stage, strerror(-err), why, hint,
		 libbpf_last[0] ? " [libbpf: " : "", libbpf_last, libbpf_last[0] ? "]" : "");
}

static int try_backend(enum cw_backend b, unsigned max_walk, const struct btf *btf,
		       struct cachewatch_bpf **out, char *err, size_t errlen)
{
	struct cachewatch_bpf *skel = cachewatch_bpf__open();
	int ret;

	libbpf_last[0] = 0;
	if (!skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return ret;
	}
	struct kernel_features kf;
	probe_features(btf, &kf);
	skel->rodata->max_walk = max_walk;
	skel->rodata->unlink_dentry_arg = kf.vfs_unlink_has_ns ? 2 : 1;
	select_programs(skel, b, &kf);
	ret = cachewatch_bpf__load(skel);
	if (ret) {
		explain(b, "program load", ret, err, errlen);
		goto cleanup;
	}
	ret = cachewatch_bpf__attach(skel);
	if (ret) {
		explain(b, "attach", ret, err, errlen);
		goto cleanup;
	}
	*out = skel;
	return 0;
cleanup:
	cachewatch_bpf__destroy(skel);
	return ret;
}

bool cw_kernel_is_preempt_rt(void)
{
	char buf[8] = "";
	FILE *f = fopen("/sys/kernel/realtime", "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] == '1';
}

int cw_loader_open(const struct cw_loader_opts *opts, struct cw_loader **out, char *err,
		   size_t errlen)
{
	static const enum cw_backend order_default[] = { CW_BACKEND_FENTRY, CW_BACKEND_KPROBE,
							 CW_BACKEND_TRACEPOINT };
	static const enum cw_backend order_rt[] = { CW_BACKEND_KPROBE, CW_BACKEND_FENTRY,
						    CW_BACKEND_TRACEPOINT };
	unsigned max_walk = opts->max_walk ? opts->max_walk : CW_MAX_WALK;
	struct cachewatch_bpf *skel = NULL;
	struct btf *btf = NULL;
	struct cw_loader *l = NULL;
	enum cw_backend chosen = opts->backend;
	int ret;

	if (max_walk > CW_MAX_WALK) {
		snprintf(err, errlen, "max_walk %u is above the limit %d", max_walk, CW_MAX_WALK);
		return -EINVAL;
	}
	ret = check_privileges(err, errlen);
	if (ret)
		return ret;
	libbpf_set_print(libbpf_print);
	btf = btf__load_vmlinux_btf();
	if (libbpf_get_error(btf)) {
		btf = NULL;
		cw_warn("kernel BTF not readable; CO-RE relocation will fail", "path",
			"/sys/kernel/btf/vmlinux");
	}
	if (opts->backend != CW_BACKEND_AUTO) {
		ret = try_backend(opts->backend, max_walk, btf, &skel, err, errlen);
	} else {
		const enum cw_backend *order = order_default;
		if (cw_kernel_is_preempt_rt()) {
			order = order_rt;
			cw_info("PREEMPT_RT kernel: trying kprobe before fentry, whose programs the kernel may skip when tasks preempt each other");
		}
		for (size_t i = 0; i < 3; i++) {
			chosen = order[i];
			ret = try_backend(chosen, max_walk, btf, &skel, err, errlen);
			if (!ret)
				break;
			cw_info("attach backend not usable, trying the next", "backend",
				cw_backend_name(chosen), "reason", err);
		}
	}
	if (ret)
		goto cleanup;
	l = calloc(1, sizeof(*l));
	if (!l) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	l->skel = skel;
	l->backend = chosen;
	skel = NULL;
	*out = l;
	cw_info("BPF attached", "backend", cw_backend_name(chosen));
cleanup:
	if (skel)
		cachewatch_bpf__destroy(skel);
	btf__free(btf);
	return ret;
}

void cw_loader_close(struct cw_loader *l)
{
	if (!l)
		return;
	cachewatch_bpf__destroy(l->skel);
	free(l);
}

enum cw_backend cw_loader_backend(const struct cw_loader *l)
{
	return l->backend;
}

uint64_t cw_loader_recursion_misses(const struct cw_loader *l)
{
	struct bpf_program *p;
	uint64_t n = 0;

	bpf_object__for_each_program(p, l->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			n += info.recursion_misses;
	}
	return n;
}

int cw_loader_stats_fd(const struct cw_loader *l) { return bpf_map__fd(l->skel->maps.stats); }
int cw_loader_groups_fd(const struct cw_loader *l) { return bpf_map__fd(l->skel->maps.groups); }
int cw_loader_writers_fd(const struct cw_loader *l) { return bpf_map__fd(l->skel->maps.writers); }
int cw_loader_drops_fd(const struct cw_loader *l) { return bpf_map__fd(l->skel->maps.drops); }
int cw_loader_inflight_fd(const struct cw_loader *l) { return bpf_map__fd(l->skel->maps.inflight); }

static void bump_gen(struct cw_loader *l)
{
	__atomic_fetch_add(&l->skel->bss->watch_gen, 1, __ATOMIC_SEQ_CST);
}

/* Deletes every key of a map whose slot matches. Keys are collected first and
 * deleted afterwards: deleting while iterating with get_next_key restarts or
 * skips entries. */
static int purge_slot(int fd, size_t key_size, size_t slot_off, unsigned slot)
{
	size_t cap = 1024, n = 0;
	char *keys = malloc(cap * key_size);
	char cur[64], next[64];
	void *prev = NULL;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		__u32 s;
		memcpy(&s, next + slot_off, sizeof(s));
		if (s == slot) {
			if (n == cap) {
				char *k2 = realloc(keys, 2 * cap * key_size);
				if (!k2) {
					err = -ENOMEM;
					goto cleanup;
				}
				keys = k2;
				cap *= 2;
			}
			memcpy(keys + n * key_size, next, key_size);
			n++;
		}
		memcpy(cur, next, key_size);
		prev = cur;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + i * key_size);
cleanup:
	free(keys);
	return err;
}

static void clear_slot(struct cw_loader *l, unsigned slot)
{
	purge_slot(cw_loader_stats_fd(l), sizeof(struct cw_stats_key),
		   offsetof(struct cw_stats_key, root), slot);
	purge_slot(cw_loader_groups_fd(l), sizeof(struct cw_stats_key),
		   offsetof(struct cw_stats_key, root), slot);
	purge_slot(cw_loader_writers_fd(l), sizeof(struct cw_writer_key),
		   offsetof(struct cw_writer_key, root), slot);
	__atomic_store_n(&l->skel->bss->group_count[slot], 0, __ATOMIC_SEQ_CST);
}

int cw_loader_arm_root(struct cw_loader *l, const struct cw_root_arm *r)
{
	struct cw_root_key k = { .ino = r->ino, .dev = cw_kernel_dev(r->st_dev) };
	struct cw_root_val v = { .id = r->slot, .group_depth = r->group_depth,
				 .max_groups = r->max_groups };

	if (r->slot >= CW_MAX_ROOTS || r->group_depth > CW_MAX_GROUP_DEPTH)
		return -EINVAL;
	/* A reused slot may still hold late entries of its previous root. */
	clear_slot(l, r->slot);
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.roots), &k, &v, BPF_ANY))
		return -errno;
	bump_gen(l);
	return 0;
}

int cw_loader_disarm_root(struct cw_loader *l, unsigned slot, uint64_t st_dev, uint64_t ino,
			  const char *path)
{
	struct cw_root_key k = { .ino = ino, .dev = cw_kernel_dev(st_dev) };

	(void)path; /* see cw_root_arm.path */
	if (slot >= CW_MAX_ROOTS)
		return -EINVAL;
	bpf_map_delete_elem(bpf_map__fd(l->skel->maps.roots), &k);
	bump_gen(l);
	clear_slot(l, slot);
	return 0;
}

int cw_loader_forget_group(struct cw_loader *l, unsigned slot, uint64_t group)
{
	struct cw_stats_key k = { .group = group, .root = slot };

	if (slot >= CW_MAX_ROOTS)
		return -EINVAL;
	if (bpf_map_delete_elem(cw_loader_groups_fd(l), &k) == 0)
		__atomic_fetch_sub(&l->skel->bss->group_count[slot], 1, __ATOMIC_SEQ_CST);
	bpf_map_delete_elem(cw_loader_stats_fd(l), &k);
	bump_gen(l);
	return 0;
}
