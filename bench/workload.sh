# A build-like workload (sourced by bench/macro.sh and bench/mix.sh): compiles through
# ccache with its cache in the watched root, a tar extraction into it, and an rm -rf of it.

# cw_workload_prepare DIR: sources and a tarball in DIR (outside any watched root)
cw_workload_prepare() {
	mkdir -p "$1/src"
	for i in $(seq -w 1 "${CW_WORKLOAD_FILES:-16}"); do
		{
			printf '#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n'
			for j in $(seq 1 40); do
				printf 'int f%s_%d(const char *s) { char b[64]; snprintf(b, sizeof(b), "%%s-%d", s); return (int)strlen(b) + atoi(s); }\n' "$i" "$j" "$j"
			done
		} >"$1/src/u$i.c"
	done
	# ~1,000 files in ~100 directories, as a restored dependency or toolchain cache
	tar -C /usr/include -cf "$1/tree.tar" linux asm-generic
}

# cw_workload_run DIR ROOT: one pass into ROOT (a watched directory), from what DIR holds
cw_workload_run() {
	CCACHE_DIR=$2/ccache CCACHE_CONFIGPATH=/dev/null
	export CCACHE_DIR CCACHE_CONFIGPATH
	mkdir -p "$2/obj" "$2/extract"
	# first pass misses (compile and store), the second hits (read back)
	for pass in miss hit; do
		for f in "$1"/src/*.c; do
			ccache gcc -O1 -c "$f" -o "$2/obj/$(basename "$f" .c).$pass.o"
		done
	done
	tar -C "$2/extract" -xf "$1/tree.tar"
	rm -rf "$2/ccache" "$2/obj" "$2/extract"
}
