#!/bin/sh
# test/tools/install.sh BUILD_DIR -- run by test/tools/run.sh (make
# tools-check, part of make check). Installs into a temporary PREFIX and
# links a program against it the ways README.md and docs/api.md say:
#   shared:  cc prog.c $(pkg-config --cflags --libs tricolor), run with
#            -Wl,-rpath and with LD_LIBRARY_PATH
#   static:  cc prog.c $(pkg-config --cflags --libs tricolor-static),
#            and with --static too: needs no libtricolor.so (ldd)
# and checks that DESTDIR stages the same files with the final paths in
# the .pc files, and that uninstall removes what install put there.
set -u
B=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
n=0
fail() { echo "FAIL: install: $*"; exit 1; }
ok() { n=$((n + 1)); echo "ok install $n - $*"; }
CC=${CC:-cc}
# Called from make: keep the parent's flags and jobserver out of this make.
unset MAKEFLAGS MFLAGS MAKELEVEL
mk() { make --no-print-directory B="$B" "$@" >"$W/make.log" 2>&1 ||
	fail "make $*: $(tail -5 "$W/make.log")"; }

P=$W/prefix
mk install PREFIX="$P"
for f in include/tricolor.h lib/libtricolor.a lib/libtricolor.so \
         lib/libtricolor.so.0 lib/libtricolor-malloc.so \
         lib/pkgconfig/tricolor.pc lib/pkgconfig/tricolor-static.pc \
         bin/tricolor-dump; do
	[ -e "$P/$f" ] || fail "make install PREFIX=$P did not install $f"
done
ok "make install PREFIX= installs the header, three libraries, two .pc files and tricolor-dump"

cat >"$W/prog.c" <<'EOF'
#include <stdio.h>
#include <tricolor.h>
struct node { struct node *next; long value; };
static struct node *keep;
int main(void)
{
	for (int i = 0; i < 200000; i++) {
		struct node *x = tri_malloc(sizeof *x);
		x->value = i;
		if (i % 1000 == 0)
			x->next = keep, keep = x;
	}
	tri_collect();
	tri_stats_t st;
	tri_read_stats(&st);
	printf("kept %ld, %llu cycles\n", keep->value,
	       (unsigned long long)st.num_gc);
	return 0;
}
EOF
pc() { PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config "$@" ||
	fail "pkg-config $*"; }
runs() { # BINARY WHAT [ENV...]
	bin=$1 what=$2; shift 2
	out=$(env "$@" "$bin" 2>&1) || fail "$what: exited $?: $out"
	echo "$out" | grep -q '^kept 199000, [1-9][0-9]* cycles$' ||
		fail "$what: $out"
}
uses_so() { ldd "$1" 2>/dev/null | grep -q 'libtricolor\.so'; }

# shared, with the library directory in the binary (rpath)
libdir=$(pc --variable=libdir tricolor)
[ "$libdir" = "$P/lib" ] || fail "libdir is $libdir, not $P/lib"
$CC "$W/prog.c" $(pc --cflags --libs tricolor) -Wl,-rpath,"$libdir" \
	-o "$W/shared" || fail "shared link with rpath"
ldd "$W/shared" | grep -q "libtricolor\.so\.0 => $P/lib/libtricolor\.so\.0" ||
	fail "shared binary does not load $P/lib/libtricolor.so.0: $(ldd "$W/shared")"
runs "$W/shared" "shared (rpath)"
# shared, found through LD_LIBRARY_PATH
$CC "$W/prog.c" $(pc --cflags --libs tricolor) -o "$W/shared2" ||
	fail "shared link"
uses_so "$W/shared2" || fail "shared link did not use libtricolor.so"
runs "$W/shared2" "shared (LD_LIBRARY_PATH)" LD_LIBRARY_PATH="$P/lib"
ok "shared link lines run (rpath, LD_LIBRARY_PATH)"

# static archive, dynamic C library
for flags in "--cflags --libs" "--cflags --static --libs"; do
	$CC "$W/prog.c" $(pc $flags tricolor-static) -o "$W/static" ||
		fail "link with pkg-config $flags tricolor-static"
	! uses_so "$W/static" ||
		fail "pkg-config $flags tricolor-static: needs libtricolor.so: $(ldd "$W/static")"
	runs "$W/static" "static ($flags)"
done
ok "tricolor-static links the archive (no libtricolor.so in ldd), with or without --static"

# DESTDIR stages under DESTDIR with the final paths in the .pc files
D=$W/dest
mk install PREFIX=/opt/tri DESTDIR="$D"
[ -e "$D/opt/tri/lib/libtricolor.so.0" ] || fail "DESTDIR: no library"
grep -qx 'libdir=/opt/tri/lib' "$D/opt/tri/lib/pkgconfig/tricolor.pc" ||
	fail "DESTDIR: tricolor.pc names $(grep libdir= "$D/opt/tri/lib/pkgconfig/tricolor.pc")"
grep -qx 'libdir=/opt/tri/lib' "$D/opt/tri/lib/pkgconfig/tricolor-static.pc" ||
	fail "DESTDIR: tricolor-static.pc has the wrong libdir"
ok "DESTDIR stages the files; the .pc files name PREFIX"

mk uninstall PREFIX="$P"
left=$(cd "$P" && find . ! -type d)
[ -z "$left" ] || fail "uninstall left: $left"
ok "uninstall removes every installed file"
