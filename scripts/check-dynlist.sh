#!/bin/sh
#
# Check a backend module against the relocd that loads it (run by the
# Makefile after linking the module).  The module's symbols that no library
# of its own provides are the ones it calls back in relocd: they must be
# exactly the dynamic list relocd is linked with, and relocd must export
# them all.  A symbol missing from the list would make dlopen (RTLD_NOW)
# fail at run time, on a Xen host; here it fails the build.
#
# Usage: sh scripts/check-dynlist.sh MODULE RELOCD DYNLIST
#
# "Provides" is what the libraries ldd lists for the module define, so
# the check holds whatever they version and in a sanitized build too (its
# runtime defines the libc functions it intercepts).

set -eu

mod=$1 relocd=$2 list=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sed 's,/\*.*\*/,,; /\/\*/,/\*\//d' "$list" |
    sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);.*/\1/p' |
    sort -u > "$tmp/list"
for lib in $(ldd "$mod" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
	nm -D --defined-only "$lib"
done | awk '{ print $3 }' | sed 's/@.*//' | sort -u > "$tmp/libs"
nm -D --undefined-only "$mod" | awk '$1 == "U" { print $2 }' |
    sed 's/@.*//' | sort -u | comm -23 - "$tmp/libs" > "$tmp/needs"
nm -D --defined-only "$relocd" | awk '{ print $3 }' | sed 's/@.*//' |
    sort -u > "$tmp/exports"

bad=0
for s in $(comm -23 "$tmp/needs" "$tmp/list"); do
	echo "$mod calls $s, which is not in $list" >&2
	bad=1
done
for s in $(comm -13 "$tmp/needs" "$tmp/list"); do
	echo "$list exports $s, which $mod no longer calls" >&2
	bad=1
done
for s in $(comm -23 "$tmp/list" "$tmp/exports"); do
	echo "$relocd does not export $s (in $list): is it linked in?" >&2
	bad=1
done
exit $bad
