#!/usr/bin/env bash
# bench/results.sh GENERATED [RESULTS]: puts GENERATED (the part of
# bench/RESULTS.md that make bench writes) between the two marker lines of
# RESULTS (default bench/RESULTS.md) and keeps every other line as it is:
# the sections written by hand before or after the markers survive a new
# run. A RESULTS without the markers gets them, with GENERATED, at the top.
set -euo pipefail
BEGIN='<!-- make bench: begin (bench/run.sh rewrites everything up to the end marker) -->'
END='<!-- make bench: end (sections written by hand go below) -->'
gen=$1
res=${2:-$(dirname "$0")/RESULTS.md}
[ -f "$gen" ] || { echo "results: no file $gen" >&2; exit 1; }
tmp=$(mktemp "$res.XXXXXX")
trap 'rm -f "$tmp"' EXIT
if [ -f "$res" ] && [ "$(grep -cxF -e "$BEGIN" -e "$END" "$res")" = 2 ] &&
	[ "$(grep -nxF "$BEGIN" "$res" | cut -d: -f1)" -lt "$(grep -nxF "$END" "$res" | cut -d: -f1)" ]; then
	awk -v b="$BEGIN" -v e="$END" -v g="$gen" '
		$0 == b { print; while ((getline l < g) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip' "$res" >"$tmp"
else
	{
		echo "$BEGIN"
		cat "$gen"
		echo "$END"
		if [ -s "$res" ]; then echo; cat "$res"; fi
	} >"$tmp"
fi
chmod 644 "$tmp"
mv "$tmp" "$res"
