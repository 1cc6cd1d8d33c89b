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

static const char *backend_names[] = { "auto", "fentry", "kprobe", "tracepoint" };

int cw_backend_parse(const char *s, enum cw_backend *out)
{
	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, backend_names[i])) {
			*out = (enum cw_backend)i;
			return 0;
		}
	}
	return -1;
}

const char *cw_backend_name(enum cw_backend b)
{
	return (unsigned)b < 4 ? backend_names[b] : "unknown";
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

static const char *prefix_of(enum cw_backend b)
{
	switch (b) {
	case CW_BACKEND_FENTRY: return "f";   /* fe_, fx_ */
	case CW_BACKEND_KPROBE: return "k";   /* kp_, krp_ */
	default: return "tp";                 /* tp_, tpb_ */
	}
}

static int btf_has_func(const struct btf *btf, const char *name)
{
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
}

/* Is there a BTF-typed tracepoint of that name in vmlinux or a loaded module? */
static int has_btf_tracepoint(const struct btf *vmlinux, const char *tp, const char *module)
{
	char name[128], path[128];
	int found = 0;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	if (vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) > 0)
		return 1;
	snprintf(path, sizeof(path), "/sys/kernel/btf/%s", module);
	struct btf *mod = btf__parse_split(path, (struct btf *)vmlinux);
	if (!libbpf_get_error(mod)) {
		found = btf__find_by_name_kind(mod, name, BTF_KIND_TYPEDEF) > 0;
		btf__free(mod);
	}
	return found;
}

/* vfs_unlink(dir, dentry, delegated) before 5.12; (ns/idmap, dir, dentry, delegated) after. */
static unsigned unlink_nargs(const struct btf *btf)
{
	int id = btf ? btf__find_by_name_kind(btf, "vfs_unlink", BTF_KIND_FUNC) : -1;
	const struct btf_type *proto = id > 0 ? btf__type_by_id(btf, btf__type_by_id(btf, id)->type) : NULL;

	return proto ? btf_vlen(proto) : 4;
}

static void set_agent_identity(struct cachewatch_bpf *skel)
{
	struct stat st;

	if (stat("/", &st) == 0) {
		skel->rodata->agent_root_dev = cw_kernel_dev(st.st_dev);
		skel->rodata->agent_root_ino = st.st_ino;
	}
	if (stat("/proc/self/ns/mnt", &st) == 0)
		skel->rodata->agent_mntns = (__u32)st.st_ino;
}

static void select_programs(struct cachewatch_bpf *skel, enum cw_backend b, const struct btf *btf,
			    unsigned nargs)
{
	const char *pfx = prefix_of(b);
	int ext4_tp = b == CW_BACKEND_TRACEPOINT &&
		      has_btf_tracepoint(btf, "ext4_unlink_enter", "ext4") &&
		      has_btf_tracepoint(btf, "ext4_unlink_exit", "ext4");
	/* vfs_writev may be inlined away; then writev is not seen by the VFS backends. */
	int writev = b == CW_BACKEND_TRACEPOINT || !btf || btf_has_func(btf, "vfs_writev");
	struct bpf_program *p;

	if (!writev)
		cw_warn("vfs_writev is not in this kernel's BTF; writev/pwritev are not counted",
			"backend", cw_backend_name(b));
	bpf_object__for_each_program(p, skel->obj) {
		const char *name = bpf_program__name(p);
		int on = !strncmp(name, pfx, strlen(pfx));
		if (on && !strncmp(name, "tpb_ext4_", 9))
			on = ext4_tp;
		if (on && !strncmp(name, "fx_vfs_unlink", 13))
			on = name[13] - '0' == (int)nargs;
		if (on && strstr(name, "vfs_writev"))
			on = writev;
		bpf_program__set_autoload(p, on);
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
	unsigned nargs = unlink_nargs(btf);
	skel->rodata->max_walk = max_walk;
	skel->rodata->unlink_dentry_arg = nargs == 3 ? 1 : 2;
	set_agent_identity(skel);
	select_programs(skel, b, btf, nargs);
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

void cw_loader_maps(const struct cw_loader *l, struct cw_loader_maps *out)
{
	*out = (struct cw_loader_maps){
		.stats = bpf_map__fd(l->skel->maps.stats),
		.groups = bpf_map__fd(l->skel->maps.groups),
		.writers = bpf_map__fd(l->skel->maps.writers),
		.drops = bpf_map__fd(l->skel->maps.drops),
		.roots = bpf_map__fd(l->skel->maps.roots),
		.root_paths = bpf_map__fd(l->skel->maps.root_paths),
		.watch_gen = &l->skel->bss->watch_gen,
		.group_count = l->skel->bss->group_count,
	};
}
