#!/bin/sh
# tools/layers.sh -- owns the layering rule's check (docs/internals.md,
# "Source layout"): the library's folders are floors, and a floor uses
# only the floors below it.
#
#   sh tools/layers.sh [ROOT]      (ROOT: the source tree, default .)
#
# Floors, lowest first: base, alloc, barrier = gc (one floor: the barrier
# is the collector's annex), prof, runtime, preload. Two things are
# violations:
#   include  a file's #include "..." of a header in a higher floor;
#   call     a call of a public tri_ function (TRI_API in
#            include/tricolor.h) from a file below runtime/ (the top
#            floor implements them; lower floors call each other's
#            internal functions). A file's own definition of a tri_
#            function is not a call; comments and strings are skipped.
# Each violation is a line "include FILE HEADER" or "call FILE FUNCTION".
# tools/layers.allow lists the violations not yet removed, one per line;
# the check fails on a violation missing from it (a new upward use) and
# on a line of it that no longer occurs (the list must shrink as the
# code does). Prints "ok: ..." and exits 0, or the differences and 1.
# POSIX sh and awk.
set -eu

ROOT=${1:-.}
ALLOW=$ROOT/tools/layers.allow
[ -f "$ROOT/include/tricolor.h" ] || {
	echo "layers: $ROOT/include/tricolor.h not found" >&2
	exit 2
}

# Public functions: "TRI_API <type> tri_name(" in the public header.
api=$(sed -n 's/^TRI_API[^(]*[ *]\(tri_[a-z0-9_]*\)(.*/\1/p' \
	"$ROOT/include/tricolor.h" | sort -u | tr '\n' ' ')

found=$(mktemp)
trap 'rm -f "$found" "$found.raw"' EXIT
: >"$found.raw"

for dir in base alloc barrier gc prof runtime preload; do
	[ -d "$ROOT/$dir" ] || continue
	for f in "$ROOT/$dir"/*.c "$ROOT/$dir"/*.h; do
		[ -f "$f" ] || continue
		awk -v file="$dir/${f##*/}" -v api="$api" '
		function floor(d) {
			if (d == "base") return 0
			if (d == "alloc") return 1
			if (d == "barrier" || d == "gc") return 2
			if (d == "prof") return 3
			if (d == "runtime") return 4
			if (d == "preload") return 5
			return -1
		}
		BEGIN {
			split(file, p, "/"); here = p[1]
			n = split(api, a, " ")
			for (i = 1; i <= n; i++) public[a[i]] = 1
			incomment = 0
		}
		# strip comments and string literals, keeping the code
		{
			line = $0; out = ""
			while (line != "") {
				if (incomment) {
					e = index(line, "*/")
					if (!e) { line = ""; break }
					line = substr(line, e + 2); incomment = 0
					continue
				}
				c = index(line, "/*"); d = index(line, "//")
				q = index(line, "\"")
				m = 0
				if (c && (!m || c < m)) m = c
				if (d && (!m || d < m)) m = d
				if (q && (!m || q < m)) m = q
				if (!m) { out = out line; break }
				out = out substr(line, 1, m - 1)
				if (m == c) { line = substr(line, m + 2); incomment = 1 }
				else if (m == d) { line = "" }
				else {
					if ($0 ~ /^[ \t]*#[ \t]*include/) {
						out = out substr(line, m); line = ""
						break
					}
					rest = substr(line, m + 1)
					while (match(rest, /^([^"\\]|\\.)*"/) == 0) {
						rest = ""; break
					}
					line = rest == "" ? "" : substr(rest, RLENGTH + 1)
				}
			}
			code = out
		}
		code ~ /^[ \t]*#[ \t]*include[ \t]*"/ {
			inc = code
			sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
			n = split(inc, part, "/")
			there = n == 1 ? here : part[n - 1]
			if (there == "..") there = here
			if (floor(there) > floor(here))
				print "include " file " " there "/" part[n]
			next
		}
		floor(here) < floor("runtime") {
			s = code
			while (match(s, /(^|[^A-Za-z0-9_])tri_[a-z0-9_]+[ \t]*\(/)) {
				name = substr(s, RSTART, RLENGTH)
				sub(/^[^t]*/, "", name); sub(/[ \t]*\($/, "", name)
				s = substr(s, RSTART + RLENGTH)
				if (!(name in public)) continue
				# a definition: the name at the start of a
				# declarator, after TRI_API and a type
				if (code ~ /^TRI_API/ || code ~ ("^[a-z_ *]+[ *]" name "\\(")) continue
				print "call " file " " name
			}
		}
		' "$f" >>"$found.raw" || exit 2
	done
done
sort -u "$found.raw" >"$found"
rm -f "$found.raw"

allowed=$(mktemp)
trap 'rm -f "$found" "$found.raw" "$allowed"' EXIT
if [ -f "$ALLOW" ]; then
	grep -v '^#' "$ALLOW" | grep -v '^[ \t]*$' | sort -u >"$allowed"
else
	: >"$allowed"
fi

new=$(comm -23 "$found" "$allowed")
gone=$(comm -13 "$found" "$allowed")
status=0
if [ -n "$new" ]; then
	echo "layers: upward uses not in tools/layers.allow:"
	echo "$new" | sed 's/^/  /'
	status=1
fi
if [ -n "$gone" ]; then
	echo "layers: tools/layers.allow lists uses that are gone (delete them):"
	echo "$gone" | sed 's/^/  /'
	status=1
fi
if [ $status = 0 ]; then
	echo "ok: layers: no upward use beyond the $(wc -l <"$allowed") listed in tools/layers.allow"
fi
exit $status
