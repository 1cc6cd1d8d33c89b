/* Attaches empty BPF programs to the hooks named on the command line (cachewatch's section names) and waits: the benchmarks' floor. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "empty_hooks.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Which pool a section's hook comes from: the name prefix of its programs. */
static const char *pool_of(const char *kind)
{
	static const struct { const char *kind, *prefix; } pools[] = {
		{ "tp_btf", "tpb" }, { "fentry", "fe" }, { "fexit", "fx" },
		{ "kprobe", "kp" }, { "kretprobe", "kp" }, { "tracepoint", "tp" },
	};

	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++)
		if (!strcmp(kind, pools[i].kind))
			return pools[i].prefix;
	return NULL;
}

/* The next unused program of the pool, NULL when it is exhausted. */
static struct bpf_program *take(struct empty_hooks_bpf *skel, const char *prefix, char *used)
{
	struct bpf_program *p;
	int i = 0;

	bpf_object__for_each_program(p, skel->obj) {
		const char *n = bpf_program__name(p);
		size_t len = strlen(prefix);
		i++;
		if (strncmp(n, prefix, len) || n[len] < '0' || n[len] > '9' || used[i])
			continue;
		used[i] = 1;
		return p;
	}
	return NULL;
}

struct hook {
	char kind[32];
	char target[96];
	struct bpf_program *prog;
	struct bpf_link *link;
};

static int attach(struct hook *h)
{
	struct bpf_link *link;

	if (!strcmp(h->kind, "kprobe") || !strcmp(h->kind, "kretprobe")) {
		link = bpf_program__attach_kprobe(h->prog, h->kind[1] == 'r', h->target);
	} else if (!strcmp(h->kind, "tracepoint")) {
		char cat[96], *name;
		snprintf(cat, sizeof(cat), "%s", h->target);
		name = strchr(cat, '/');
		if (!name)
			return -EINVAL;
		*name++ = 0;
		link = bpf_program__attach_tracepoint(h->prog, cat, name);
	} else {
		link = bpf_program__attach(h->prog);
	}
	h->link = link;
	return link ? 0 : -errno;
}

int main(int argc, char **argv)
{
	struct empty_hooks_bpf *skel;
	struct hook *hooks;
	char used[1024] = {};
	struct bpf_program *p;
	int n = argc - 1, err = 0;

	if (n < 1) {
		fprintf(stderr, "usage: empty_hooks SECTION...  (e.g. tp_btf/sys_enter kretprobe/vfs_write "
				"tracepoint/syscalls/sys_enter_write)\n       empty_hooks --stats\n");
		return 2;
	}
	/* --stats: BPF run-time statistics on while this process lives. Held by a
	 * descriptor (BPF_ENABLE_STATS), so another process writing 0 to the
	 * kernel.bpf_stats_enabled sysctl meanwhile does not turn them off. */
	if (!strcmp(argv[1], "--stats")) {
		int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (fd < 0) {
			fprintf(stderr, "empty_hooks: cannot enable BPF stats: %s\n", strerror(-fd));
			return 1;
		}
		signal(SIGTERM, on_signal);
		signal(SIGINT, on_signal);
		printf("attached stats\n");
		fflush(stdout);
		while (!stop)
			pause();
		close(fd);
		return 0;
	}
	hooks = calloc((size_t)n, sizeof(*hooks));
	skel = empty_hooks_bpf__open();
	if (!hooks || !skel) {
		fprintf(stderr, "empty_hooks: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, false);
	for (int i = 0; i < n; i++) {
		struct hook *h = &hooks[i];
		const char *slash = strchr(argv[i + 1], '/');
		const char *prefix;
		if (!slash || (size_t)(slash - argv[i + 1]) >= sizeof(h->kind)) {
			fprintf(stderr, "empty_hooks: what is '%s'? expected KIND/TARGET\n", argv[i + 1]);
			return 2;
		}
		snprintf(h->kind, sizeof(h->kind), "%.*s", (int)(slash - argv[i + 1]), argv[i + 1]);
		snprintf(h->target, sizeof(h->target), "%s", slash + 1);
		prefix = pool_of(h->kind);
		if (!prefix) {
			fprintf(stderr, "empty_hooks: what is '%s'? expected tp_btf, fentry, fexit, kprobe, "
					"kretprobe or tracepoint\n", h->kind);
			return 2;
		}
		h->prog = take(skel, prefix, used);
		if (!h->prog) {
			fprintf(stderr, "empty_hooks: more than 32 %s hooks\n", h->kind);
			return 2;
		}
		bpf_program__set_autoload(h->prog, true);
		if (!strcmp(h->kind, "tp_btf") || !strcmp(h->kind, "fentry") || !strcmp(h->kind, "fexit"))
			err = err ?: bpf_program__set_attach_target(h->prog, 0, h->target);
	}
	err = err ?: empty_hooks_bpf__load(skel);
	if (err) {
		fprintf(stderr, "empty_hooks: load failed: %s\n", strerror(-err));
		goto cleanup;
	}
	for (int i = 0; i < n && !err; i++) {
		err = attach(&hooks[i]);
		if (err)
			fprintf(stderr, "empty_hooks: cannot attach %s/%s: %s\n", hooks[i].kind,
				hooks[i].target, strerror(-err));
	}
	if (err)
		goto cleanup;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("attached %d\n", n);
	for (int i = 0; i < n; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		bpf_obj_get_info_by_fd(bpf_program__fd(hooks[i].prog), &info, &len);
		printf("prog %u %s/%s\n", info.id, hooks[i].kind, hooks[i].target);
	}
	fflush(stdout);
	while (!stop)
		pause();
cleanup:
	for (int i = 0; i < n; i++)
		bpf_link__destroy(hooks[i].link);
	empty_hooks_bpf__destroy(skel);
	free(hooks);
	return err ? 1 : 0;
}
