# shellcheck shell=sh
# lib.sh -- owns what the benchmark scripts share (bench/run.sh,
# bench/malloc.sh, bench/throughput.sh; each sources it first): the
# default locations, the argument check, picking a word, medians, and the
# fields of a program's RESULT line. POSIX sh, sourced: no `set`, no
# output.

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CC=${CC:-cc}
TRI_LIB=${TRI_LIB:-$ROOT/build/libtricolor.a}
TRI_INC=${TRI_INC:-$ROOT/include}
TRI_LDLIBS=${TRI_LDLIBS:--latomic_ops -lpthread}
OUT=${OUT:-$ROOT/build/bench}

die() {
	echo "bench/$(basename "$0"): $*" >&2
	exit 1
}

check_count() { # NAME VALUE: VALUE must be a positive integer
	case $2 in
	'' | *[!0-9]* | 0) die "$1 must be a positive integer, got '$2'" ;;
	esac
}

pick() { # INDEX WORD...: the word at INDEX (0-based)
	shift $(($1 + 1))
	echo "$1"
}

count_words() { # WORD...: how many
	echo $#
}

# The order in which a round runs the allocators: all the words, starting
# at word ROUND modulo their count, so the start rotates from round to
# round and no allocator always runs first. One word per line.
rotated() { # ROUND WORD...
	_rot_r=$1
	shift
	_rot_k=0
	while [ "$_rot_k" -lt $# ]; do
		pick $(((_rot_k + _rot_r) % $#)) "$@"
		_rot_k=$((_rot_k + 1))
	done
}

median() { # FILE COLUMN: median of that column (mean of the middle two)
	awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR % 2) print v[(NR + 1) / 2]
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# FIELD < a program's output: the value of FIELD in its RESULT line.
result_field() {
	awk -v f="$1" '/^RESULT / {
		for (i = 2; i <= NF; i++)
			if (index($i, f "=") == 1) v = substr($i, length(f) + 2)
	} END { print v }'
}
