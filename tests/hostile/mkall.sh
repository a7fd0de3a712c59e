#!/bin/sh
# mkall.sh - build tests/hostile/mkhostile and write every hostile capture into DIR.
# Usage: tests/hostile/mkall.sh DIR
# The packets are HAND-BUILT (see mkhostile.c), except snap64.pcap, which is the real capture
# pcaps/ws-python-deflate.pcap cut to 64 bytes a packet, and truncated.pcap, a capture cut off
# in the middle of a packet record. Together they take about 400 MB; tests/hostile.sh removes
# the big ones when it is done.
set -eu
cd "$(dirname "$0")/../.."
dir=${1:?usage: tests/hostile/mkall.sh DIR}
mkdir -p "$dir"
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror -o "$dir/mkhostile" \
    tests/hostile/mkhostile.c $($PKG_CONFIG --cflags --libs libpcap zlib)
${CC:-cc} -std=c11 -O2 -Wall -Wextra -Werror -o "$dir/runrss" tests/hostile/runrss.c
m=$dir/mkhostile
$m synflood "$dir/synflood.pcap" 1000000          # 1,000,000 half-open connections
$m oooflood "$dir/oooflood.pcap" 134217728        # 128 MiB behind one missing segment
$m oooconns "$dir/oooconns.pcap" 2000             # 2000 connections x 64 KiB out of order
$m bomb "$dir/bomb.pcap" 1024                     # 1 KB -> 1 MiB, then 1 MB -> 1 GiB
$m len64 "$dir/len64.pcap"
$m overlap "$dir/overlap.pcap"
$m splitgap "$dir/splitgap.pcap"
$m snap64 "$dir/snap64.pcap" pcaps/ws-python-deflate.pcap
$m garbage "$dir/garbage.pcap"
$m badrecord "$dir/badrecord.pcap"
$m pcapng-unknown "$dir/pcapng-unknown.pcapng"
$m tlsbig "$dir/tlsbig.pcap" 64                  # TLS: 65535-byte record headers; 64 MiB of records no key opens
$m tlshs "$dir/tlshs.pcap" 64                    # TLS: one handshake message of 2^24 - 1 bytes, 64 MiB of it
$m tlshellos "$dir/tlshellos.pcap" 100000        # 100000 ClientHellos on one connection, 10000 connections
$m wsopen "$dir/wsopen.pcap"
size=$(wc -c <"$dir/wsopen.pcap")
head -c $((size * 55 / 100)) "$dir/wsopen.pcap" >"$dir/truncated.pcap"
rm -f "$dir/wsopen.pcap"
