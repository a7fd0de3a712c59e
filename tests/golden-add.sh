#!/bin/sh
# golden-add.sh - append the two default golden cases of a new capture to tests/TESTLIST.
# Usage: tests/golden-add.sh pcaps/NAME.pcap...
# Adds "NAME pcaps/NAME.pcap NAME.out" (timeline) and "NAME-json pcaps/NAME.pcap NAME.json --json"
# unless the capture already has them, then prints the command that writes the expected files.
cd "$(dirname "$0")/.." || exit 2
TESTLIST=tests/TESTLIST

if [ $# -eq 0 ]; then
    echo "usage: tests/golden-add.sh pcaps/NAME.pcap..." >&2
    exit 2
fi
[ -f "$TESTLIST" ] || printf '%s\n' "# name pcap-path expected-file(tests/golden/) options... (see tests/README.md)" >"$TESTLIST"

status=0
names=
for p in "$@"; do
    p=${p#./}
    case "$p" in
    pcaps/*.pcap | pcaps/*.pcapng) ;;
    *)
        echo "golden-add: $p: want a capture under pcaps/ (*.pcap or *.pcapng)" >&2
        status=1
        continue
        ;;
    esac
    if [ ! -f "$p" ]; then
        echo "golden-add: $p: no such file" >&2
        status=1
        continue
    fi
    base=${p#pcaps/}
    case "$base" in
    *.pcapng) name=${base%.pcapng} ;;
    *) name=${base%.pcap} ;;
    esac
    case "$name" in
    *[!A-Za-z0-9._-]* | '')
        echo "golden-add: $p: use only letters, digits, '.', '_' and '-' in capture names" >&2
        status=1
        continue
        ;;
    esac
    body=$(grep -v '^[[:space:]]*#' "$TESTLIST")
    # the same name taken by another capture (NAME.pcap beside NAME.pcapng)?
    other=$(printf '%s\n' "$body" | awk -v n="$name" -v p="$p" '($1 == n || $1 == n "-json") && $2 != p { print $2; exit }')
    if [ -n "$other" ]; then
        echo "golden-add: $p: case name $name is already used for $other; add its lines by hand" >&2
        status=1
        continue
    fi
    has_d=$(printf '%s\n' "$body" | awk -v p="$p" '$2 == p && NF == 3 { f = 1 } END { print f + 0 }')
    has_j=$(printf '%s\n' "$body" | awk -v p="$p" '$2 == p && NF == 4 && $4 == "--json" { f = 1 } END { print f + 0 }')
    if [ "$has_d" = 1 ] && [ "$has_j" = 1 ]; then
        echo "golden-add: $p already has its default cases"
        continue
    fi
    if [ "$has_d" = 0 ]; then
        printf '%-36s %-44s %s\n' "$name" "$p" "$name.out" >>"$TESTLIST"
        echo "added $name"
        names="$names $name"
    fi
    if [ "$has_j" = 0 ]; then
        printf '%-36s %-44s %s --json\n' "$name-json" "$p" "$name.json" >>"$TESTLIST"
        echo "added $name-json"
        names="$names $name-json"
    fi
done
if [ -n "$names" ]; then
    echo "now write and read the expected files: tests/run-golden.sh --update$names"
fi
exit $status
