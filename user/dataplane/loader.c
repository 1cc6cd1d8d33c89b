/* Opens the BPF object, keeps the programs of one backend, loads and attaches them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gelf.h>
#include <libelf.h>
#include "cachewatch.h" /* before the skeleton: its .bss uses struct cw_activity */
#include "cachewatch.skel.h"
#include "dataplane/loader.h"
#include "dataplane/access.h"
#include "lib/log.h"

struct cw_loader {
	struct cachewatch_bpf *skel;
	enum cw_backend backend;
	uint64_t access_map_bytes;
};

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
	char *buf;

	/* a verifier log runs to megabytes and its reason is on the last lines: all of it */
	if (vasprintf(&buf, fmt, ap) < 0)
		return 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		/* the first warning names the program and the cause; later ones only repeat it */
		if (level == LIBBPF_WARN && !libbpf_last[0])
			snprintf(libbpf_last, sizeof(libbpf_last), "%s",
				 strncmp(line, "libbpf: ", 8) ? line : line + 8);
		if (level != LIBBPF_DEBUG)
			cw_debug("libbpf", "detail", line);
	}
	free(buf);
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
	bool vfs_readv;            /* the same for vfs_readv */
	bool vfs_unlink_has_ns;    /* 5.12: vfs_unlink() takes a user namespace (6.3: idmap) first */
	bool ext4_unlink_tp;       /* ext4_unlink_enter/exit tracepoints (ext4 loaded) */
	bool uring_complete_res;   /* io_uring_complete(ctx, req, user_data, res, ...): 5.17 to 6.2 */
	bool uring_complete_cqe;   /* io_uring_complete(ctx, req, cqe): 6.3 passes the CQE instead */
	bool splice_file_range;    /* 6.7: copy_file_range's fallback calls splice_file_range,
				    * no longer do_splice_direct */
	bool do_filp_open;         /* every open returns its file from do_filp_open ... */
	bool do_file_open;         /* ... which 7.x renamed do_file_open */
	bool task_storage_tracing; /* 5.11: task-local storage maps, usable by tracing programs */
	bool task_storage_kprobe;  /* task-local storage and the current task's BTF pointer in kprobes */
	bool do_truncate_has_ns;   /* 5.12: do_truncate() takes a user namespace (6.3: idmap) first */
	bool vfs_rename_has_rd;    /* 5.12: vfs_rename() takes one struct renamedata * */
	bool ext4_truncate_tp;     /* ext4_begin_ordered_truncate tracepoint (ext4 loaded) */
	bool atomic_fetch;         /* BPF_FETCH atomics (cmpxchg; 5.12) */
};

/* vfs_unlink(dir, dentry, delegated) before 5.12; (ns/idmap, dir, dentry, delegated) after.
 * Without BTF, assume the newer form. */
static bool vfs_unlink_has_ns(const struct btf *btf)
{
	int id = btf ? btf__find_by_name_kind(btf, "vfs_unlink", BTF_KIND_FUNC) : -1;
	const struct btf_type *proto = id > 0 ? btf__type_by_id(btf, btf__type_by_id(btf, id)->type) : NULL;

	return proto ? btf_vlen(proto) == 4 : true;
}

/* Parameter i of a tracepoint's BTF prototype (0 is the tracepoint's own data
 * pointer) is a pointer? -1 if the prototype has no such parameter. */
static int tp_param_is_ptr(const struct btf *btf, const char *tp, unsigned i, unsigned *vlen)
{
	char name[128];
	int id;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) : -1;
	if (id <= 0)
		return -1;
	const struct btf_type *t = btf__type_by_id(btf, btf__resolve_type(btf, id));
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t))
		return -1;
	*vlen = btf_vlen(t);
	if (i >= *vlen)
		return -1;
	id = btf__resolve_type(btf, btf_params(t)[i].type);
	t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	return t && btf_is_ptr(t);
}

/* io_uring_complete: (ctx, user_data, res) before 5.17, no request to read;
 * (ctx, req, user_data, res, cflags ...) from 5.17; (ctx, req, cqe) from 6.3. */
static void probe_uring_complete(const struct btf *btf, struct kernel_features *kf)
{
	unsigned vlen = 0;

	kf->uring_complete_res = kf->uring_complete_cqe = false;
	if (tp_param_is_ptr(btf, "io_uring_complete", 2, &vlen) != 1)
		return;
	kf->uring_complete_cqe = vlen == 4 && tp_param_is_ptr(btf, "io_uring_complete", 3, &vlen) == 1;
	kf->uring_complete_res = vlen >= 5;
}

/* Arguments of a kernel function's prototype in BTF; -1 when it is not there. */
static int func_arity(const struct btf *btf, const char *name)
{
	int id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) : -1;
	const struct btf_type *proto = id > 0 ? btf__type_by_id(btf, btf__type_by_id(btf, id)->type) : NULL;

	return proto ? btf_vlen(proto) : -1;
}

/* Does the kernel accept BPF_FETCH atomics (cmpxchg)? A three-instruction
 * program tells, which no kernel version number could. */
static bool probe_atomic_fetch(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_10, .off = -8, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1 },
		/* r0 = cmpxchg(*(u64 *)(r10 - 8), r0, r1) */
		{ .code = BPF_STX | BPF_ATOMIC | BPF_DW, .dst_reg = BPF_REG_10, .src_reg = BPF_REG_1,
		  .off = -8, .imm = BPF_CMPXCHG },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void probe_features(const struct btf *btf, struct kernel_features *kf)
{
	int n;

	kf->vfs_writev = !btf || btf_has_func(btf, "vfs_writev");
	kf->vfs_readv = !btf || btf_has_func(btf, "vfs_readv");
	kf->vfs_unlink_has_ns = vfs_unlink_has_ns(btf);
	kf->ext4_unlink_tp = has_btf_tracepoint(btf, "ext4_unlink_enter", "ext4") &&
			     has_btf_tracepoint(btf, "ext4_unlink_exit", "ext4");
	probe_uring_complete(btf, kf);
	kf->splice_file_range = btf_has_func(btf, "splice_file_range");
	kf->do_file_open = btf_has_func(btf, "do_file_open");
	kf->do_filp_open = !kf->do_file_open && (!btf || btf_has_func(btf, "do_filp_open"));
	/* Tracing programs (fentry, tp_btf) got task storage with the map type itself;
	 * the helper probe cannot load a program of that type, so the map type stands in. */
	kf->task_storage_tracing = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) > 0;
	kf->task_storage_kprobe = kf->task_storage_tracing &&
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_task_storage_get, NULL) > 0 &&
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_get_current_task_btf, NULL) > 0;
	kf->do_truncate_has_ns = func_arity(btf, "do_truncate") != 4; /* without BTF: the newer form */
	n = func_arity(btf, "vfs_rename");
	kf->vfs_rename_has_rd = n != 6;
	kf->ext4_truncate_tp = has_btf_tracepoint(btf, "ext4_begin_ordered_truncate", "ext4");
	kf->atomic_fetch = probe_atomic_fetch();
}

/* Calls in flight go to task-local storage where the backend's programs may use
 * it, else to the hash by thread id (bpf/inflight.bpf.h); the unused store is
 * cut to one entry, and a task storage map the kernel does not know is created
 * as a hash the programs never reach (inflight_in_task is constant at load).
 * Not for fentry on a preemptible kernel: task storage refuses a program that
 * finds it busy on its CPU (a preempted task inside it), which there turned
 * writes into inflight_map_full drops (6.12-rt: 183 of 1000); the hash waits
 * for its bucket lock instead. */
static int choose_inflight_store(struct cachewatch_bpf *skel, enum cw_backend b,
				 const struct kernel_features *kf, unsigned hash_entries,
				 bool preemptible)
{
	bool task = !hash_entries && !(b == CW_BACKEND_FENTRY && preemptible) &&
		    (b == CW_BACKEND_KPROBE ? kf->task_storage_kprobe : kf->task_storage_tracing);
	int err;

	skel->rodata->inflight_in_task = task;
	err = bpf_map__set_max_entries(skel->maps.inflight, task ? 1 : hash_entries ?: CW_INFLIGHT_HASH);
	if (err || task)
		return err;
	if (kf->task_storage_tracing)
		return 0; /* a task storage map takes no memory until used */
	err = bpf_map__set_type(skel->maps.inflight_task, BPF_MAP_TYPE_HASH);
	err = err ?: bpf_map__set_map_flags(skel->maps.inflight_task, 0);
	return err ?: bpf_map__set_max_entries(skel->maps.inflight_task, 1);
}

/* When a program is wanted, beyond its backend being chosen. */
enum prog_need {
	NEED_NOTHING,
	NEED_VFS_WRITEV,
	NEED_UNLINK_3ARGS, /* vfs_unlink before 5.12 */
	NEED_UNLINK_4ARGS, /* vfs_unlink from 5.12 */
	NEED_EXT4_UNLINK_TP,
	NEED_VFS_READV,
	NEED_URING_COMPLETE_RES,
	NEED_URING_COMPLETE_CQE,
	NEED_SPLICE_FILE_RANGE,
	NEED_DO_FILP_OPEN,
	NEED_DO_FILE_OPEN,
	NEED_TRUNCATE_4ARGS,  /* do_truncate before 5.12 */
	NEED_TRUNCATE_5ARGS,  /* do_truncate from 5.12 */
	NEED_RENAME_6ARGS,    /* vfs_rename before 5.12 */
	NEED_RENAME_RD,       /* vfs_rename(struct renamedata *) from 5.12 */
	NEED_EXT4_TRUNCATE_TP,
};

static bool need_met(enum prog_need n, const struct kernel_features *kf)
{
	switch (n) {
	case NEED_NOTHING: return true;
	case NEED_VFS_WRITEV: return kf->vfs_writev;
	case NEED_UNLINK_3ARGS: return !kf->vfs_unlink_has_ns;
	case NEED_UNLINK_4ARGS: return kf->vfs_unlink_has_ns;
	case NEED_EXT4_UNLINK_TP: return kf->ext4_unlink_tp;
	case NEED_VFS_READV: return kf->vfs_readv;
	case NEED_URING_COMPLETE_RES: return kf->uring_complete_res;
	case NEED_URING_COMPLETE_CQE: return kf->uring_complete_cqe;
	case NEED_SPLICE_FILE_RANGE: return kf->splice_file_range;
	case NEED_DO_FILP_OPEN: return kf->do_filp_open;
	case NEED_DO_FILE_OPEN: return kf->do_file_open;
	case NEED_TRUNCATE_4ARGS: return !kf->do_truncate_has_ns;
	case NEED_TRUNCATE_5ARGS: return kf->do_truncate_has_ns;
	case NEED_RENAME_6ARGS: return !kf->vfs_rename_has_rd;
	case NEED_RENAME_RD: return kf->vfs_rename_has_rd;
	case NEED_EXT4_TRUNCATE_TP: return kf->ext4_truncate_tp;
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
	PROG(FENTRY, fe_vfs_unlink3, UNLINK_3ARGS),
	PROG(FENTRY, fe_vfs_unlink4, UNLINK_4ARGS),
	PROG(FENTRY, fx_vfs_unlink3, UNLINK_3ARGS),
	PROG(FENTRY, fx_vfs_unlink4, UNLINK_4ARGS),
	PROG(FENTRY, fx_vfs_read, NOTHING),
	PROG(FENTRY, fx_vfs_readv, VFS_READV),
	PROG(FENTRY, fe_vfs_copy_file_range, NOTHING),
	PROG(FENTRY, fx_vfs_copy_file_range, NOTHING),
	PROG(FENTRY, fe_do_splice_direct, NOTHING),
	PROG(FENTRY, fx_do_splice_direct, NOTHING),
	PROG(FENTRY, fe_splice_file_range, SPLICE_FILE_RANGE),
	PROG(FENTRY, fe_do_splice, NOTHING),
	PROG(FENTRY, fx_do_splice, NOTHING),
	PROG(FENTRY, fx_vfs_clone_file_range, NOTHING),
	PROG(FENTRY, tpb_uring_complete_res, URING_COMPLETE_RES),
	PROG(FENTRY, tpb_uring_complete_cqe, URING_COMPLETE_CQE),
	PROG(FENTRY, fx_do_filp_open, DO_FILP_OPEN),
	PROG(FENTRY, fx_do_file_open, DO_FILE_OPEN),
	PROG(FENTRY, fe_vfs_rename, RENAME_RD),
	PROG(FENTRY, fx_vfs_rename, RENAME_RD),
	PROG(FENTRY, fe_vfs_rename6, RENAME_6ARGS),
	PROG(FENTRY, fx_vfs_rename6, RENAME_6ARGS),
	PROG(FENTRY, fe_do_truncate4, TRUNCATE_4ARGS),
	PROG(FENTRY, fx_do_truncate4, TRUNCATE_4ARGS),
	PROG(FENTRY, fe_do_truncate5, TRUNCATE_5ARGS),
	PROG(FENTRY, fx_do_truncate5, TRUNCATE_5ARGS),
	PROG(FENTRY, fe_vfs_fallocate, NOTHING),
	PROG(FENTRY, fx_vfs_fallocate, NOTHING),
	PROG(KPROBE, kp_vfs_write, NOTHING),
	PROG(KPROBE, krp_vfs_write, NOTHING),
	PROG(KPROBE, kp_vfs_writev, VFS_WRITEV),
	PROG(KPROBE, krp_vfs_writev, VFS_WRITEV),
	PROG(KPROBE, kp_vfs_unlink, NOTHING),
	PROG(KPROBE, krp_vfs_unlink, NOTHING),
	PROG(KPROBE, kp_vfs_rename, NOTHING),
	PROG(KPROBE, krp_vfs_rename, NOTHING),
	PROG(KPROBE, kp_vfs_read, NOTHING),
	PROG(KPROBE, krp_vfs_read, NOTHING),
	PROG(KPROBE, kp_vfs_readv, VFS_READV),
	PROG(KPROBE, krp_vfs_readv, VFS_READV),
	PROG(KPROBE, kp_vfs_copy_file_range, NOTHING),
	PROG(KPROBE, krp_vfs_copy_file_range, NOTHING),
	PROG(KPROBE, kp_do_splice_direct, NOTHING),
	PROG(KPROBE, krp_do_splice_direct, NOTHING),
	PROG(KPROBE, kp_splice_file_range, SPLICE_FILE_RANGE),
	PROG(KPROBE, kp_do_splice, NOTHING),
	PROG(KPROBE, krp_do_splice, NOTHING),
	PROG(KPROBE, kp_vfs_clone_file_range, NOTHING),
	PROG(KPROBE, krp_vfs_clone_file_range, NOTHING),
	PROG(KPROBE, tpb_uring_complete_res, URING_COMPLETE_RES),
	PROG(KPROBE, tpb_uring_complete_cqe, URING_COMPLETE_CQE),
	PROG(KPROBE, krp_do_filp_open, DO_FILP_OPEN),
	PROG(KPROBE, krp_do_file_open, DO_FILE_OPEN),
	PROG(KPROBE, kp_do_truncate, NOTHING),
	PROG(KPROBE, krp_do_truncate, NOTHING),
	PROG(KPROBE, kp_vfs_fallocate, NOTHING),
	PROG(KPROBE, krp_vfs_fallocate, NOTHING),
	PROG(TRACEPOINT, tp_sys_enter, NOTHING),
	PROG(TRACEPOINT, tp_sys_exit, NOTHING),
	PROG(TRACEPOINT, tpb_ext4_unlink_enter, EXT4_UNLINK_TP),
	PROG(TRACEPOINT, tpb_ext4_unlink_exit, EXT4_UNLINK_TP),
	PROG(TRACEPOINT, tpb_uring_complete_res, URING_COMPLETE_RES),
	PROG(TRACEPOINT, tpb_uring_complete_cqe, URING_COMPLETE_CQE),
	PROG(TRACEPOINT, tpb_ext4_begin_ordered_truncate, EXT4_TRUNCATE_TP),
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
	if (b != CW_BACKEND_TRACEPOINT && !kf->vfs_readv)
		cw_warn("vfs_readv is not in this kernel's BTF; readv/preadv are not counted",
			"backend", cw_backend_name(b));
	if (!kf->uring_complete_res && !kf->uring_complete_cqe)
		cw_warn("the io_uring_complete tracepoint carries no request on this kernel (before 5.17) "
			"or is missing; io_uring reads, writes and opens are not counted",
			"backend", cw_backend_name(b));
	if (b != CW_BACKEND_TRACEPOINT && !kf->do_filp_open && !kf->do_file_open)
		cw_warn("neither do_filp_open nor do_file_open is in this kernel's BTF; opens (read_opens, access records, reuse) are not seen",
			"backend", cw_backend_name(b));
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, false);
	for (size_t i = 0; i < sizeof(backend_progs) / sizeof(backend_progs[0]); i++) {
		const struct backend_prog *bp = &backend_progs[i];
		if (bp->backend == b && need_met(bp->need, kf))
			bpf_program__set_autoload(prog_of(skel, bp), true);
	}
}

/* explain() appends these to the one-sentence reason; auto cuts them off for
 * its info line (it tries the next backend itself) and logs the rest at debug. */
#define HINT_SEP "; try "
#define DETAIL_SEP " [libbpf: "

static void explain(enum cw_backend b, const char *stage, int err, char *buf, size_t len)
{
	const char *hint = b == CW_BACKEND_TRACEPOINT ? "" : HINT_SEP "--bpf.attach=tracepoint";
	const char *why = "";

	if (b == CW_BACKEND_KPROBE && access("/sys/bus/event_source/devices/kprobe", F_OK) &&
	    access("/sys/kernel/tracing/kprobe_events", F_OK))
		why = " (this kernel has no kprobes)";
	else if (b == CW_BACKEND_FENTRY && err == -EPERM)
		why = " (BPF trampolines refused, e.g. by lockdown)";
	snprintf(buf, len, "%s unavailable on this kernel: %s failed (%s)%s%s%s%s%s",
		 cw_backend_name(b), stage, strerror(-err), why, hint,
		 libbpf_last[0] ? DETAIL_SEP : "", libbpf_last, libbpf_last[0] ? "]" : "");
}

/* The reason without the hint and libbpf's text: one short line per backend auto
 * moves past; the whole text goes to the debug log. */
static void skip_backend_log(enum cw_backend b, const char *err)
{
	char brief[256];
	const char *hint = strstr(err, HINT_SEP), *detail = strstr(err, DETAIL_SEP);
	size_t n = strlen(err);

	if (hint && (size_t)(hint - err) < n)
		n = (size_t)(hint - err);
	if (detail && (size_t)(detail - err) < n)
		n = (size_t)(detail - err);
	snprintf(brief, sizeof(brief), "%.*s", (int)n, err);
	cw_info("attach backend not usable, trying the next", "backend", cw_backend_name(b), "reason", brief);
	if (n < strlen(err))
		cw_debug("attach backend not usable: details", "backend", cw_backend_name(b), "error", err);
}

/* Kernel features a backend needs beyond what loading shows clearly: probed, never
 * inferred from the version. 0 if usable, else -EOPNOTSUPP and the reason in err. */
static int check_features(enum cw_backend b, char *err, size_t errlen)
{
	if (b != CW_BACKEND_TRACEPOINT)
		return 0;
	/* the unlink path walk runs through bpf_loop (unlink_path.bpf.h) */
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_FUNC_loop, NULL) > 0)
		return 0;
	snprintf(err, errlen, "tracepoint backend refused: it needs Linux 5.17 or later (the "
		 "bpf_loop helper is missing on this kernel); use --bpf.attach=kprobe or fentry");
	return -EOPNOTSUPP;
}

/* Logs the verifier's work per program (verified_insns, Linux 5.16+) and the largest. */
static void log_verified_insns(const struct cachewatch_bpf *skel, enum cw_backend b)
{
	struct bpf_program *p;
	const char *largest = NULL;
	__u32 most = 0;

	bpf_object__for_each_program(p, skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		char n[16];
		int fd = bpf_program__fd(p);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		snprintf(n, sizeof(n), "%u", info.verified_insns);
		/* the section names the hook: bench/ attaches its empty floor programs to the same ones */
		cw_debug("BPF program verified", "backend", cw_backend_name(b), "prog", bpf_program__name(p),
			 "section", bpf_program__section_name(p), "verified_insns", n);
		if (!largest || info.verified_insns > most) {
			largest = bpf_program__name(p);
			most = info.verified_insns;
		}
	}
	if (!largest)
		return;
	char n[16];
	snprintf(n, sizeof(n), "%u", most);
	cw_info("BPF programs verified", "backend", cw_backend_name(b), "largest_prog", largest,
		"verified_insns", most ? n : "unknown (kernel before 5.16)");
}

/* kretprobes through tracefs events with our own instance count: the kernel's
 * default (the CPU count on 5.10 without full preemption, max(10, 2 x CPUs) later)
 * loses returns, silently, when more tasks are inside the function at once, e.g.
 * writers blocked on pipes. libbpf 1.1 cannot set it; tracefs takes "rN:". */
#define KRETPROBE_MAXACTIVE 4096 /* tracefs' upper limit */
#define KRETPROBE_GROUP "cachewatch"

static const char *tracefs(void)
{
	return access("/sys/kernel/tracing/kprobe_events", W_OK) ? "/sys/kernel/debug/tracing"
								  : "/sys/kernel/tracing";
}

static int tracefs_append(const char *file, const char *line)
{
	char path[256];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", tracefs(), file);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, line, strlen(line)) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Event names: cw<pid>_<instance>_<function>, one instance per skeleton attached. */
static void kretprobe_event(const struct bpf_program *p, unsigned inst, char *buf, size_t len)
{
	const char *sec = bpf_program__section_name(p), *func = strchr(sec, '/');

	snprintf(buf, len, "cw%d_%u_%s", (int)getpid(), inst, func ? func + 1 : sec);
}

/* Removes our events of instance inst, and those of agents that died without
 * cleaning up (SIGKILL). */
static void remove_kretprobes(unsigned inst)
{
	char path[256], line[512], cmd[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/kprobe_events", tracefs());
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *ev = strstr(line, ":" KRETPROBE_GROUP "/cw");
		int pid;
		unsigned n;
		if (!ev || sscanf(ev, ":" KRETPROBE_GROUP "/cw%d_%u_", &pid, &n) != 2)
			continue;
		if (pid == getpid() ? n != inst : !(kill(pid, 0) && errno == ESRCH))
			continue;
		ev[strcspn(ev, " \n")] = 0;
		snprintf(cmd, sizeof(cmd), "-%s", ev);
		tracefs_append("kprobe_events", cmd);
	}
	fclose(f);
}

/* The skeleton's link slot of program p, so that destroying the skeleton detaches it. */
static struct bpf_link **skel_link_slot(struct cachewatch_bpf *skel, const struct bpf_program *p)
{
	for (int i = 0; i < skel->skeleton->prog_cnt; i++)
		if (*skel->skeleton->progs[i].prog == p)
			return skel->skeleton->progs[i].link;
	return NULL;
}

static int attach_kretprobe(struct cachewatch_bpf *skel, struct bpf_program *p, unsigned inst)
{
	const char *sec = bpf_program__section_name(p);
	char name[128], def[256], path[300], idbuf[32] = "";
	struct perf_event_attr attr = { .size = sizeof(attr), .type = PERF_TYPE_TRACEPOINT,
					.sample_period = 1, .wakeup_events = 1 };
	struct bpf_link **slot = skel_link_slot(skel, p), *link;
	int err, pfd;
	FILE *f;

	kretprobe_event(p, inst, name, sizeof(name));
	snprintf(def, sizeof(def), "r%d:" KRETPROBE_GROUP "/%s %s", KRETPROBE_MAXACTIVE, name,
		 strchr(sec, '/') + 1);
	err = tracefs_append("kprobe_events", def);
	if (err) {
		snprintf(libbpf_last, sizeof(libbpf_last), "cannot add kretprobe event '%s': %s", def,
			 strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), "%s/events/" KRETPROBE_GROUP "/%s/id", tracefs(), name);
	f = fopen(path, "r");
	if (!f || !fgets(idbuf, sizeof(idbuf), f)) {
		err = -ENOENT;
		snprintf(libbpf_last, sizeof(libbpf_last), "cannot read %s", path);
		goto out;
	}
	attr.config = strtoull(idbuf, NULL, 10);
	pfd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0) {
		err = -errno;
		snprintf(libbpf_last, sizeof(libbpf_last), "perf_event_open of %s: %s", name, strerror(errno));
		goto out;
	}
	link = bpf_program__attach_perf_event(p, pfd);
	if (!link) {
		err = -errno;
		close(pfd);
		goto out;
	}
	*slot = link;
out:
	if (f)
		fclose(f);
	return err;
}

/* Attaches every program, kretprobes with KRETPROBE_MAXACTIVE instances. */
static int attach_all(struct cachewatch_bpf *skel, enum cw_backend b, unsigned inst)
{
	struct bpf_program *p;
	int err;

	if (b != CW_BACKEND_KPROBE)
		return cachewatch_bpf__attach(skel);
	remove_kretprobes(inst);
	bpf_object__for_each_program(p, skel->obj)
		if (!strncmp(bpf_program__name(p), "krp_", 4))
			bpf_program__set_autoattach(p, false);
	err = cachewatch_bpf__attach(skel);
	bpf_object__for_each_program(p, skel->obj) {
		if (err || !bpf_program__autoload(p) || strncmp(bpf_program__name(p), "krp_", 4))
			continue;
		err = attach_kretprobe(skel, p, inst);
	}
	return err;
}

/* Instance number of a skeleton's events: unique among the live skeletons of a
 * process (a descriptor of one of its maps). */
static unsigned skel_inst(const struct cachewatch_bpf *skel)
{
	return skel ? (unsigned)bpf_map__fd(skel->maps.stats) : 0;
}

/* Destroys the skeleton (detaching everything) and removes its kretprobe events. */
static void destroy_skel(struct cachewatch_bpf *skel, enum cw_backend b)
{
	unsigned inst = skel_inst(skel);

	if (!skel)
		return;
	cachewatch_bpf__destroy(skel);
	if (b == CW_BACKEND_KPROBE)
		remove_kretprobes(inst);
}

/* Kernels before 5.12 refuse an object holding a BPF_FETCH atomic (cmpxchg)
 * anywhere, even in code the knob size_atomics makes dead: the verifier's first
 * pass checks every instruction's fields ("BPF_STX uses reserved fields").
 * There, each such instruction in the executable sections of a copy of the
 * object becomes a plain store, which the verifier then proves dead. Returns
 * the copy (owned by the caller) or NULL. */
static void *object_without_fetch_atomics(const void *data, size_t sz, unsigned *patched)
{
	void *copy = malloc(sz);
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	*patched = 0;
	if (!copy || elf_version(EV_CURRENT) == EV_NONE)
		goto fail;
	memcpy(copy, data, sz);
	elf = elf_memory(copy, sz);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		goto fail;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR) ||
		    sh.sh_offset + sh.sh_size > sz)
			continue;
		struct bpf_insn *insn = (struct bpf_insn *)((char *)copy + sh.sh_offset);
		for (size_t i = 0; i < sh.sh_size / sizeof(*insn); i++) {
			if (BPF_CLASS(insn[i].code) != BPF_STX || BPF_MODE(insn[i].code) != BPF_ATOMIC ||
			    !(insn[i].imm & BPF_FETCH))
				continue;
			insn[i].code = BPF_STX | BPF_MEM | BPF_SIZE(insn[i].code);
			insn[i].imm = 0;
			(*patched)++;
		}
	}
	elf_end(elf);
	return copy;
fail:
	if (elf)
		elf_end(elf);
	free(copy);
	return NULL;
}

/* The skeleton opened from the embedded object, or, where the kernel refuses
 * BPF_FETCH atomics, from the process's one patched copy of it (made once,
 * kept for the process's life: libbpf reads it while a skeleton lives). */
static struct cachewatch_bpf *open_skel(bool atomic_fetch)
{
	static void *patched;
	struct cachewatch_bpf *obj = calloc(1, sizeof(*obj));
	int err;

	if (!obj)
		return NULL;
	err = cachewatch_bpf__create_skeleton(obj);
	if (!err && !atomic_fetch) {
		if (!patched) {
			unsigned n = 0;
			char buf[16];
			patched = object_without_fetch_atomics(obj->skeleton->data, obj->skeleton->data_sz, &n);
			snprintf(buf, sizeof(buf), "%u", n);
			cw_debug("BPF object: fetch atomics replaced by plain stores (dead code on this kernel)",
				 "instructions", buf);
		}
		if (patched)
			obj->skeleton->data = patched;
		else
			err = -ENOMEM;
	}
	err = err ?: bpf_object__open_skeleton(obj->skeleton, NULL);
	if (err) {
		cachewatch_bpf__destroy(obj);
		errno = -err;
		return NULL;
	}
	return obj;
}

static int try_backend(enum cw_backend b, const struct cw_loader_opts *opts, unsigned max_walk,
		       const struct btf *btf, struct cachewatch_bpf **out, char *err, size_t errlen)
{
	struct cachewatch_bpf *skel;
	int ret;

	libbpf_last[0] = 0;
	ret = check_features(b, err, errlen);
	if (ret)
		return ret;
	struct kernel_features kf;
	probe_features(btf, &kf);
	skel = open_skel(kf.atomic_fetch);
	if (!skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return ret;
	}
	skel->rodata->max_walk = max_walk;
	skel->rodata->unlink_dentry_arg = kf.vfs_unlink_has_ns ? 2 : 1;
	skel->rodata->uring_opens = b == CW_BACKEND_TRACEPOINT;
	ret = bpf_map__set_max_entries(skel->maps.access,
				       opts->access_records ? opts->access_records : CW_ACCESS_RECORDS_DEFAULT);
	if (ret) {
		snprintf(err, errlen, "cannot size the access record map: %s", strerror(-ret));
		goto cleanup;
	}
	skel->bss->realtime_offset_ns = cw_access_clock_offset();
	skel->rodata->truncate_dentry_arg = kf.do_truncate_has_ns ? 2 : 1;
	skel->rodata->rename_has_rd = kf.vfs_rename_has_rd;
	skel->rodata->size_atomics = kf.atomic_fetch;
	skel->rodata->ext4_truncate_tp = b == CW_BACKEND_TRACEPOINT && kf.ext4_truncate_tp;
	if (!kf.atomic_fetch)
		cw_info("BPF atomics with fetch (5.12) missing: two calls growing one file at once "
			"may both count the growth until the next scan", "backend", cw_backend_name(b));
	select_programs(skel, b, &kf);
	ret = choose_inflight_store(skel, b, &kf, opts->inflight_hash,
				    cw_fentry_may_skip(cw_preempt_model(btf)));
	if (ret) {
		snprintf(err, errlen, "cannot set up the store of calls in flight: %s", strerror(-ret));
		goto cleanup;
	}
	ret = cachewatch_bpf__load(skel);
	if (ret) {
		explain(b, "program load", ret, err, errlen);
		goto cleanup;
	}
	log_verified_insns(skel, b);
	ret = attach_all(skel, b, skel_inst(skel));
	if (ret) {
		explain(b, "attach", ret, err, errlen);
		goto cleanup;
	}
	*out = skel;
	return 0;
cleanup:
	destroy_skel(skel, b);
	return ret;
}

/* Reads up to len-1 bytes of a small file; 0 on success. */
static int read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return n ? 0 : -1;
}

const char *cw_parse_sched_preempt(const char *s)
{
	static const char *models[] = { "none", "voluntary", "full", "lazy" };
	const char *open = s ? strchr(s, '(') : NULL;

	for (size_t i = 0; open && i < sizeof(models) / sizeof(models[0]); i++) {
		size_t n = strlen(models[i]);
		if (!strncmp(open + 1, models[i], n) && open[1 + n] == ')')
			return models[i];
	}
	return NULL;
}

/* Is "NAME=y" a line of the kernel config text? */
static int config_has(const char *config, const char *name)
{
	char want[64];
	size_t n = (size_t)snprintf(want, sizeof(want), "%s=y", name);

	for (const char *p = config; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, want, n) && (p[n] == '\n' || p[n] == 0))
			return 1;
	return 0;
}

const char *cw_parse_preempt_config(const char *config, const char *cmdline)
{
	const char *arg = cmdline ? strstr(cmdline, "preempt=") : NULL;

	if (config_has(config, "CONFIG_PREEMPT_RT"))
		return "rt";
	if (arg && config_has(config, "CONFIG_PREEMPT_DYNAMIC")) {
		static char m[16];
		size_t n = strcspn(arg + 8, " \n");
		if (n && n < sizeof(m)) {
			memcpy(m, arg + 8, n);
			m[n] = 0;
			return m;
		}
	}
	if (config_has(config, "CONFIG_PREEMPT_LAZY"))
		return "lazy";
	if (config_has(config, "CONFIG_PREEMPT"))
		return "full";
	if (config_has(config, "CONFIG_PREEMPT_VOLUNTARY"))
		return "voluntary";
	if (config_has(config, "CONFIG_PREEMPT_NONE"))
		return "none";
	return NULL;
}

const char *cw_preempt_model(const struct btf *btf)
{
	static char config[1 << 18];
	char buf[128], cmdline[4096] = "", path[300];
	struct utsname u;
	const char *m;

	/* the model in force (PREEMPT_DYNAMIC kernels switch it at boot and at run time) */
	if (!read_small("/sys/kernel/debug/sched/preempt", buf, sizeof(buf)) &&
	    (m = cw_parse_sched_preempt(buf)))
		return m;
	if (!read_small("/sys/kernel/realtime", buf, sizeof(buf)) && buf[0] == '1')
		return "rt";
	snprintf(path, sizeof(path), "/boot/config-%s", uname(&u) ? "" : u.release);
	if (!read_small(path, config, sizeof(config))) {
		read_small("/proc/cmdline", cmdline, sizeof(cmdline));
		if ((m = cw_parse_preempt_config(config, cmdline)))
			return m;
	}
	/* No config file (containers, initramfs): a kernel built without CONFIG_PREEMPTION
	 * has no preempt_schedule and never preempts a task in kernel mode. */
	if (btf && btf__find_by_name_kind(btf, "preempt_schedule", BTF_KIND_FUNC) < 0 &&
	    btf__find_by_name_kind(btf, "schedule", BTF_KIND_FUNC) > 0)
		return "voluntary";
	return "unknown";
}

bool cw_fentry_may_skip(const char *model)
{
	/* Trampoline programs run with migration but not preemption disabled; only
	 * where the kernel never preempts a task in kernel mode on its own can a
	 * second task not enter the same program on that CPU (recursion guard). */
	return strcmp(model, "none") && strcmp(model, "voluntary");
}

/* A map's kernel memory as the kernel accounts it (fdinfo "memlock:"). */
static uint64_t map_memlock(int fd)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

int cw_loader_open(const struct cw_loader_opts *opts, struct cw_loader **out, char *err,
		   size_t errlen)
{
	static const enum cw_backend order_default[] = { CW_BACKEND_FENTRY, CW_BACKEND_KPROBE,
							 CW_BACKEND_TRACEPOINT };
	static const enum cw_backend order_preempt[] = { CW_BACKEND_KPROBE, CW_BACKEND_TRACEPOINT,
							 CW_BACKEND_FENTRY };
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
	if (opts->access_records &&
	    (opts->access_records < CW_ACCESS_RECORDS_MIN || opts->access_records > CW_ACCESS_RECORDS_MAX)) {
		snprintf(err, errlen, "access_records %u is out of range (%d to %d)", opts->access_records,
			 CW_ACCESS_RECORDS_MIN, CW_ACCESS_RECORDS_MAX);
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
	const char *preempt = cw_preempt_model(btf);
	bool may_skip = cw_fentry_may_skip(preempt);
	if (opts->backend == CW_BACKEND_FENTRY && may_skip)
		cw_warn("fentry on a preemptible kernel: the kernel may skip program runs when a task "
			"preempts another inside one (counted as recursion_miss); kprobe and tracepoint are exact",
			"preempt", preempt);
	/* Seen on 7.3 with lazy preemption: syscall tracepoints may fault, so their
	 * programs run preemptibly and the same recursion guard skips runs. */
	if (opts->backend == CW_BACKEND_TRACEPOINT && may_skip)
		cw_warn("tracepoint on a preemptible kernel: the kernel may skip program runs when a "
			"task preempts another inside one (counted as recursion_miss); kprobe is exact",
			"preempt", preempt);
	if (opts->backend != CW_BACKEND_AUTO) {
		ret = try_backend(opts->backend, opts, max_walk, btf, &skel, err, errlen);
	} else {
		const enum cw_backend *order = order_default;
		if (may_skip) {
			order = order_preempt;
			cw_info("preemptible kernel: trying kprobe and tracepoint before fentry, whose programs the kernel may skip when tasks preempt each other",
				"preempt", preempt);
		}
		for (size_t i = 0; i < 3; i++) {
			chosen = order[i];
			ret = try_backend(chosen, opts, max_walk, btf, &skel, err, errlen);
			if (!ret)
				break;
			skip_backend_log(chosen, err);
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
	l->access_map_bytes = map_memlock(bpf_map__fd(skel->maps.access));
	skel = NULL;
	*out = l;
	cw_info("BPF attached", "backend", cw_backend_name(chosen), "inflight_store",
		cw_loader_inflight_store(l));
cleanup:
	if (skel)
		destroy_skel(skel, chosen);
	btf__free(btf);
	return ret;
}

void cw_loader_close(struct cw_loader *l)
{
	if (!l)
		return;
	destroy_skel(l->skel, l->backend);
	free(l);
}

enum cw_backend cw_loader_backend(const struct cw_loader *l)
{
	return l->backend;
}

const char *cw_loader_inflight_store(const struct cw_loader *l)
{
	return l->skel->rodata->inflight_in_task ? "task" : "hash";
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

void cw_loader_maps(const struct cw_loader *l, struct cw_loader_maps *out)
{
	*out = (struct cw_loader_maps){
		.stats = bpf_map__fd(l->skel->maps.stats),
		.groups = bpf_map__fd(l->skel->maps.groups),
		.writers = bpf_map__fd(l->skel->maps.writers),
		.drops = bpf_map__fd(l->skel->maps.drops),
		.roots = bpf_map__fd(l->skel->maps.roots),
		.inflight = bpf_map__fd(l->skel->rodata->inflight_in_task ? l->skel->maps.inflight_task
									   : l->skel->maps.inflight),
		.access = bpf_map__fd(l->skel->maps.access),
		.access_max = bpf_map__max_entries(l->skel->maps.access),
		.access_inserted = &l->skel->bss->access_inserted,
		.access_deleted = &l->skel->bss->access_deleted,
		.realtime_offset_ns = &l->skel->bss->realtime_offset_ns,
		.access_map_bytes = l->access_map_bytes,
		.read_slots = &l->skel->bss->read_slots,
		.watch_gen = &l->skel->bss->watch_gen,
		.group_count = l->skel->bss->group_count,
		.activity = l->skel->bss->activity,
		.count_writers = &l->skel->bss->count_writers,
		.size_unresolved = &l->skel->bss->size_unresolved,
	};
}
