#!/bin/sh
# tests/lint.sh - what `make lint` runs: clang-format (dry run), cppcheck and clang-tidy over
# every tracked C file of the project. Exits non-zero on the first tool that objects.
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' | grep -v -e '^bpf/' -e '^tests/' || true)
[ -n "$files" ] || { echo "lint: no files"; exit 0; }
flags="-std=gnu11 -D_GNU_SOURCE -DONGRID_BPF=1 -I. -Ibuild/bpf
$(pkg-config --cflags libcjson libconfig libbpf libcurl sqlite3 libpcre2-8 2>/dev/null)"

echo "lint: clang-format"
clang-format --dry-run -Werror $files $(git ls-files 'tests/*.c' 'bpf/*.c' 'bpf/*.h' | grep -v vmlinux.h || true)

echo "lint: cppcheck"
# shellcheck disable=SC2086
cppcheck --quiet --std=c11 --enable=warning,performance,portability --inline-suppr \
	--error-exitcode=1 -D_GNU_SOURCE -DONGRID_BPF=1 -I. \
	--suppress=missingIncludeSystem --suppress=unmatchedSuppression \
	$(echo "$files" | grep '\.c$')

echo "lint: clang-tidy"
cfiles=$(echo "$files" | grep '\.c$')
n=$(echo "$cfiles" | wc -l)
# shellcheck disable=SC2086
echo "$cfiles" | xargs -P 2 -n 8 sh -c 'clang-tidy --quiet "$@" -- '"$(echo $flags)"' 2>/dev/null' sh
echo "lint: $n C files clean"
