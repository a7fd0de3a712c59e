#!/usr/bin/env python3
"""tshark_ws.py - wstap's WebSocket frames, messages and control frames against tshark's
WebSocket dissector and against the peers' expected outputs (Zeek, Suricata, Arkime, ...).

Usage: tshark_ws.py [--jobs N] CAPTURE...
Environment: WSTAP_BIN (default ./wstap), WSTAP_WRAP (prefix, e.g. valgrind), WSTAP_TIMEOUT
(seconds per wstap run, default 300), TSHARK (default tshark), WSTAP_CORPUS_LABEL_ROOT (prefix
cut from printed paths; captures under it are "corpus" captures, whose peer files sit beside
them as CAPTURE.<peer-test>.<file>), WSTAP_CORPUS_MANIFEST (default LABEL_ROOT/MANIFEST.md).

wstap runs once per capture (--json --payload-max 0). Its ws.frame events (one per frame, at the
packet that completed the frame *header*), ws.message events (at the packet that completed the
message) and ws.control events (at the packet that completed the control frame) are grouped per
connection and direction.

1. tshark (one check per WebSocket connection). tshark runs with
   `-o tcp.reassemble_out_of_order:TRUE` and `-d tcp.port==P,http` for every server port
   P != 80 on which wstap saw HTTP or a WebSocket handshake, every port the corpus oracle
   (CAPTURE.tshark.txt "[decode-as]") or the capture's NAME.meta.json (http_port, http_ports)
   names; a connection where wstap found WebSocket frames without any handshake (a capture that
   starts mid-stream) is decoded with `-d tcp.port==P,websocket`. WIRESHARK_CONFIG_DIR is a
   fresh empty directory. Out-of-order reassembly is on because a receiver reassembles the
   stream around a lost and retransmitted segment (RFC 9293 3.10.7.4) and so does wstap; with
   tshark 4.0's default (off) the segments after a hole reach the WebSocket dissector as if
   they were contiguous and tshark mis-frames (pcaps/lossy-ws-recv: 226 server "frames" with
   random opcodes and RSV bits instead of 55; lossy-ws-deflate-recv: 210 instead of 215),
   which says nothing about wstap. From `-Y websocket -T json -e ...` every WebSocket frame is
   taken with fin, rsv (3 bits), opcode, mask, payload length (7/16/64-bit), close status code
   and reason, the packet number and the packets of its reassembled PDU (tcp.segment), and what
   tshark decoded (the length of websocket.payload.text in UTF-8, or data.len, or its
   "Decompression failed" expert info) where the packet holds one data frame; frames are mapped
   to wstap's connection by their two endpoints (and packet range, for reused ports).
   Per direction, in order:
   - frames: same count; equal fin, rsv, opcode, masked and payload length (wire bytes); wstap's
     ws.frame packet lies between the first packet of tshark's PDU and the packet that completed
     it (wstap reports the frame when its header is complete, tshark when the whole frame is).
   - messages (data frames from a text/binary frame to the frame with FIN, control frames in
     between do not count): same count; equal opcode, number of fragments, compressed (RSV1 of
     the first frame), wire length (sum of the frames) and completing packet; the decoded
     length equals what tshark decoded for the final frame, where tshark reports something; for
     an uncompressed message wstap's decoded length must equal the wire length.
   - control frames: same count; equal opcode, payload length, close code (null when the close
     frame has no body) and reason, and packet.
   The decoded payloads themselves are checked byte for byte against the generators' records
   by tests/ws_sidecar.py, and here against the peers where they state them.

2. Peers (one check per peer file that states frame or message facts; corpus captures only):
   - Zeek events baselines (*.events.out, *.out-coalesced, *.out-separate): websocket_frame
     (is_orig, fin, rsv, opcode, payload_len) per direction and in order equal to wstap's
     ws.frame; websocket_message opcodes (data messages and control frames) equal to wstap's
     ws.message/ws.control opcodes; websocket_close (status, reason) equal to wstap's close
     frames (Zeek prints status 0 for a close frame without a body, wstap null).
   - Zeek weird logs: websocket_control_frame_size_exceeded "N > 125" = a wstap ws.error
     control_too_long on a control frame of N bytes;
     protocol_data_with_HTTP_upgrade_reply N = wstap's first server frame (N header + payload
     bytes) completed in the packet of the 101 response.
   - Zeek close-too-large outputs ("Close length: N"): the close reason length, N = payload
     length - 2 uncapped, min(that, 123) capped (Zeek's default cap; wstap keeps 123 too).
   - Zeek fragmented-http-reply.out: the HTTP header lines Zeek parsed inside WebSocket
     messages equal the header lines of wstap's decoded messages (per direction).
   - Zeek PR #5646 output.txt: websocket_frame_data (is_orig, len) lines against wstap's frames.
   - Zeek http-upgrade-to-tcp.out ("Connection upgraded to tcp"): wstap reports no WebSocket.
   - Suricata test.yaml + test.rules (the websocket ones): every rule is evaluated over wstap's
     frames, one Suricata transaction per frame (flow to_server/to_client, websocket.opcode
     [!]X, websocket.mask:>0, websocket.flags:fin, frame:websocket.header/pdu/data and
     websocket.payload with content/startswith/endswith; the frame that ends a fragmented
     message carries the whole decoded message, as in Suricata's parser), and each filter's
     count (alerts per signature, with websocket.opcode and pcap_cnt where given, and
     event_type websocket per opcode) must equal the yaml's. Filters on the masking key are
     listed as not checkable (wstap does not report masking keys).
   - Arkime *.arkime.test (sessions with a websocket object): frameCnt, maskedFromClient,
     payloadBytes (wire), the opcode set (Arkime leaves out continuation), closeCode,
     closeReason, and textSample (the first websocketTextSampleCnt=4 text frames, <= 256 bytes).
   - ndn-tools README: the packets where the interest and the data are dissected = the packets
     that complete wstap's client and server messages.
   - evsetool (no expected-output file in the corpus; MANIFEST.md quotes test_evsetool.py): the
     inflated payloads of the messages completed in the packets it names.
   Other peer files (conn.log, websocket.log, http.log, ...) hold no frame facts and are left to
   other suites.

A difference is a failure unless the EXPLAINED table below lists it for that capture,
connection and check: every difference must match the pattern of one of the entries for that
check, each entry must take exactly its count of differences, and each entry's verification
(which re-checks the explanation on the capture, e.g. that wstap's decoded length is what the
sending application recorded and the message is a compressed fragmented one) must pass. Those
checks are printed as "explained ..." and counted as explained; the table says which side is
right and why, by RFC 6455 / 7692.

Prints "ok ..." / "FAIL ..." / "explained ..." per check and ends with
"wsframes: N passed, N failed, N explained".
"""
import base64
import collections
import concurrent.futures
import glob
import ipaddress
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

OPNAME = {0: 'cont', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong'}
OPNUM = {v: k for k, v in OPNAME.items()}
TSHARK_FIELDS = ['frame.number', 'tcp.stream', 'ip.src', 'ipv6.src', 'tcp.srcport', 'ip.dst',
                 'ipv6.dst', 'tcp.dstport', 'tcp.segment', 'websocket.fin', 'websocket.rsv',
                 'websocket.opcode', 'websocket.mask', 'websocket.payload_length',
                 'websocket.payload_length_ext_16', 'websocket.payload_length_ext_64',
                 'websocket.payload.close.status_code', 'websocket.payload.close.reason',
                 'websocket.payload.text', 'data.len', 'websocket.decompression.failed.expert']
TSHARK_PREFS = ['-o', 'tcp.reassemble_out_of_order:TRUE']
ARKIME_TEXT_SAMPLES = 4  # websocketTextSampleCnt default
ARKIME_TEXT_MAX = 256    # WEBSOCKET_TEXT_SAMPLE_MAX
ZEEK_CLOSE_REASON_CAP = 123


# ---- explained disagreements ------------------------------------------------------------------
# Each entry: capture (label: path under the corpus root, or pcaps/NAME), conn (wstap connection;
# None for a file-level peer check), check ('tshark' or 'peer:<peer file name>'), pattern (a
# difference line is this entry's when it matches, re.fullmatch), count (how many difference
# lines the entry must take), verify (function(ctx, conn, lines) -> None, or the text of what
# does not hold: it re-checks the explanation on this capture), what / right / why (for people).
# A check with differences is "explained" when every difference line is taken by one of the
# entries for that capture, connection and check, every such entry takes exactly its count and
# every verification passes; otherwise it fails.

MSG_DIFF = re.compile(r'(c2s|s2c) message #(\d+): decoded len: wstap (\d+), tshark (.+)')


def sidecar_data_lens(ctx, d):
    """Decoded lengths of the data messages one direction of a pcaps/ capture was sent with, in
    order, from its NAME.sent.jsonl (written by the generator), or None without a sidecar."""
    stem = re.sub(r'\.pcap(ng)?$', '', ctx.path)
    sc = stem + '.sent.jsonl'
    if not os.path.exists(sc):
        return None
    out = []
    for line in open(sc, encoding='utf-8'):
        if line.strip():
            r = json.loads(line)
            if r.get('dir') == d and r.get('opcode') in ('text', 'binary') and not r.get('lost'):
                out.append((r['opcode'], r['len'], len(r.get('fragments') or [0])))
    return out


def verify_tshark_inflate(ctx, conn, lines, need):
    """Common part of the tshark decompression entries: each line names a message that wstap
    decoded to exactly the length the sending application recorded (sidecar), and that has the
    property need(message, conn) -> None or a reason why it does not."""
    c = ctx.w.conns.get(conn)
    if c is None:
        return 'no conn %s' % conn
    for ln in lines:
        m = MSG_DIFF.fullmatch(ln)
        if not m:
            return 'not a decoded-length line: %s' % ln
        d, i, wl = m.group(1), int(m.group(2)), int(m.group(3))
        msg = c.msgs[d][i - 1]
        sc = sidecar_data_lens(ctx, d)
        if sc is None or i > len(sc):
            return '%s message #%d: no sidecar record to confirm wstap' % (d, i)
        if sc[i - 1][1] != wl or msg.get('len') != wl or sc[i - 1][0] != msg.get('opcode'):
            return '%s message #%d: sidecar says %s %d bytes, wstap %s %s' % (
                d, i, sc[i - 1][0], sc[i - 1][1], msg.get('opcode'), msg.get('len'))
        why = need(msg, c, d, m.group(4))
        if why:
            return '%s message #%d: %s' % (d, i, why)
    return None


def need_fragmented(msg, c, d, tval):
    if not msg.get('compressed') or (msg.get('fragments') or 0) < 2:
        return 'not a compressed fragmented message'
    return None


def need_empty(msg, c, d, tval):
    if not (msg.get('compressed') and msg.get('len') == 0 and msg.get('wire_len') == 1 and
            tval == '1'):
        return 'not an empty message compressed to 1 byte that tshark shows as 1 byte'
    return None


def need_swapped(msg, c, d, tval):
    """tshark inflates a direction with the other direction's parameters: the failure can only
    come from that when this direction keeps its context and the other does not."""
    params = (c.ws_open or {}).get('params') or {}
    own = 'server' if d == 's2c' else 'client'
    other = 'client' if d == 's2c' else 'server'
    if tval != 'decompression failed':
        return 'tshark did not report a decompression failure'
    if not msg.get('compressed') or msg.get('fragments') != 1:
        return 'not a compressed single-frame message'
    if params.get(own + '_no_context_takeover') or not params.get(other + '_no_context_takeover'):
        return 'params %s do not make the swap matter' % params
    return None


def verify_frag(ctx, conn, lines):
    return verify_tshark_inflate(ctx, conn, lines, need_fragmented)


def need_nul(msg, c, d, tval):
    """tshark's length is that of the text up to its first NUL byte."""
    text = msg.get('text')
    if text is None or '\x00' not in text:
        return 'not a text message with a NUL byte'
    if tval != str(len(text.split('\x00', 1)[0].encode('utf-8'))):
        return 'tshark length %s is not the length before the NUL' % tval
    return None


def verify_nul(ctx, conn, lines):
    return verify_tshark_inflate(ctx, conn, lines, need_nul)


def verify_empty(ctx, conn, lines):
    return verify_tshark_inflate(ctx, conn, lines, need_empty)


def verify_swapped(ctx, conn, lines):
    return verify_tshark_inflate(ctx, conn, lines, need_swapped)


def verify_pr5646(ctx, conn, lines):
    """wstap's inflated messages equal the generator's payloads quoted in MANIFEST.md."""
    want = {'c2s': 'Hello_Zeek_Analyzer_' * 50, 's2c': 'Zeek_WebSocket_Test_String_' * 50}
    for d, text in want.items():
        msgs = [m for c in ctx.w.conns.values() for m in c.msgs[d]]
        got = [m.get('text') for m in msgs]
        if got != [text]:
            return '%s messages %r, generator sent 1 text of %d chars' % (
                d, [len(g or '') for g in got], len(text))
        if not msgs[0].get('compressed'):
            return '%s message not compressed' % d
    return None


def verify_midstream(ctx, conn, lines):
    """The capture starts mid-connection (no SYN, no handshake): wstap's tcp.open says so and
    the connection has no ws.open; only packet numbers differ (the pattern), and none is
    earlier in wstap than in tshark."""
    c = ctx.w.conns.get(conn)
    if c is None or c.handshake != 'midstream' or c.ws_open is not None:
        return 'conn %s is not a mid-stream WebSocket connection' % conn
    for ln in lines:
        m = re.search(r'wstap (\d+), tshark (\d+)(?:-(\d+))?$', ln)
        if not m or int(m.group(1)) < int(m.group(3) or m.group(2)):
            return 'wstap reports a frame before tshark: %s' % ln
    return None


def need_unnegotiated(msg, c, d, tval):
    """No handshake in the capture: tshark was not told of permessage-deflate and shows the
    compressed bytes (as text whose invalid UTF-8 becomes U+FFFD, or as data)."""
    if c.handshake != 'midstream' or c.ws_open is not None:
        return 'the handshake is in the capture'
    if not msg.get('compressed') or not tval.isdigit():
        return 'not a compressed message that tshark shows undecoded (%s)' % tval
    return None


def verify_unnegotiated(ctx, conn, lines):
    return verify_tshark_inflate(ctx, conn, lines, need_unnegotiated)


def verify_close_only(ctx, conn, lines):
    """A connection picked up at its close handshake: one masked close from the client, one
    unmasked from the server, the same code, and nothing else."""
    c = ctx.w.conns.get(conn)
    if c is None or c.handshake != 'midstream' or c.ws_open is not None:
        return 'conn %s is not a mid-stream connection' % conn
    codes = set()
    for d, masked in (('c2s', True), ('s2c', False)):
        fr, ct = c.frames[d], c.ctrls[d]
        if c.msgs[d] or len(fr) != 1 or len(ct) != 1 or ct[0].get('opcode') != 'close':
            return '%s: not exactly one close frame' % d
        if fr[0].get('masked') is not masked:
            return '%s: the close frame is %smasked' % (d, '' if fr[0].get('masked') else 'not ')
        codes.add(ct[0].get('code'))
    if len(codes) != 1 or None in codes:
        return 'the close codes differ: %s' % sorted(codes)
    return None


FRAG_WHY = ('RFC 7692 7.2.1 / 6455 5.4: a compressed message is compressed as a whole and then '
            'split into fragments; only the first carries RSV1, and the payloads of all '
            'fragments are joined before inflating. tshark 4.0 reassembles the fragments but '
            'does not inflate the result: it shows the compressed bytes (text "Trailing stray '
            'characters", or data.len = the wire length). wstap\'s decoded length equals what '
            'the sending application recorded (the sidecar), which the verification checks.')
EXPLAINED = [
    {
        'capture': 'pcaps/ws-midstream-deflate.pcap', 'conn': 1, 'check': 'tshark',
        'pattern': r'(c2s|s2c) message #\d+: decoded len: wstap \d+, tshark \d+',
        'count': 24, 'verify': verify_unnegotiated,
        'what': 'every compressed message (12 per direction): tshark reports the compressed '
                'bytes (as text, each invalid UTF-8 byte counted as a 3-byte U+FFFD, or as data)',
        'right': 'wstap',
        'why': 'the capture starts after the upgrade, so the Sec-WebSocket-Extensions that '
               'negotiated permessage-deflate is not in it. tshark, told only that the port is '
               'WebSocket (-d ...,websocket), does not inflate RSV1 frames and shows the '
               'compressed bytes. wstap reads RSV1 as permessage-deflate (the one extension '
               'that uses it, RFC 7692) and its decoded lengths equal what the applications '
               'recorded sending (sidecar), which the verification checks; the payloads are '
               'checked byte for byte by the wsmsg and midstream suites.',
    },
    {
        'capture': 'other/ndn-tools/ipv4-websocket-segmented.pcap', 'conn': 1,
        'check': 'tshark',
        'pattern': r'(c2s|s2c) (frames|controls): wstap 1, tshark 0',
        'count': 4, 'verify': verify_close_only,
        'what': 'the extra short connection (MANIFEST.md), picked up without its handshake: '
                'wstap finds one close frame each way (1001), tshark none',
        'right': 'wstap',
        'why': 'its 8 client bytes are exactly one masked close frame (code 1001) and its 4 '
               'server bytes exactly one unmasked close frame (1001): the close handshake of '
               'a WebSocket connection upgraded before the capture started, on the same '
               'server port as conn 2. tshark decodes that port as HTTP (conn 2 has its '
               'upgrade), finds no request in conn 1 and shows no frame. wstap recognizes the '
               'framing mid-stream (each stream ends exactly after its frame, which is '
               'masked on the client side only); the verification re-checks exactly that.',
    },
    {
        'capture': 'pcaps/ws-node-deflate.pcap', 'conn': 1, 'check': 'tshark',
        'pattern': r's2c message #[3-6]: decoded len: wstap 74, tshark decompression failed',
        'count': 4, 'verify': verify_swapped,
        'what': 'server messages 3-6 (74-byte JSON texts, 8 bytes on the wire): tshark reports '
                '"Decompression failed"',
        'right': 'wstap',
        'why': 'negotiated "permessage-deflate; client_no_context_takeover; '
               'server_max_window_bits=10". RFC 7692 7.1.1: client_no_context_takeover binds '
               'the client\'s compressor only; the server keeps its context, so its later '
               'messages refer back to earlier ones (8 bytes on the wire). tshark 4.0 '
               '(packet-websocket.c) inflates frames sent to the server port with the server_* '
               'parameters and frames from the server with the client_* ones, i.e. reversed: it '
               'inflates each server message with a fresh context and fails. wstap uses the '
               'server_* parameters for server frames (RFC 7692 7.1.1/7.1.2) and its decoded '
               'texts equal the sidecar.',
    },
    {
        'capture': 'pcaps/ws-node-deflate.pcap', 'conn': 1, 'check': 'tshark',
        'pattern': r'(c2s message #(9|10)|s2c message #9): decoded len: wstap \d+, tshark \d+',
        'count': 3, 'verify': verify_frag,
        'what': 'the 3 compressed fragmented messages (text 3 fragments both ways, binary 2 '
                'fragments c2s): tshark reports the length of the still-compressed bytes',
        'right': 'wstap', 'why': FRAG_WHY,
    },
    {
        'capture': 'pcaps/ws-nocontext.pcap', 'conn': 1, 'check': 'tshark',
        'pattern': r'(c2s|s2c) message #22: decoded len: wstap 288, tshark \d+',
        'count': 2, 'verify': verify_frag,
        'what': 'the compressed text in 3 fragments (288 bytes decoded), both directions: tshark '
                'reports the length of the still-compressed bytes',
        'right': 'wstap', 'why': FRAG_WHY,
    },
    {
        'capture': 'pcaps/ws-big64.pcap', 'conn': 1, 'check': 'tshark',
        'pattern': r'(c2s|s2c) message #5: decoded len: wstap 90000, tshark \d+',
        'count': 2, 'verify': verify_frag,
        'what': 'the 90000-byte compressed text in 3 fragments, both directions: tshark reports '
                'the length of the still-compressed bytes',
        'right': 'wstap', 'why': FRAG_WHY,
    },
    {
        'capture': 'pcaps/ws-big64.pcap', 'conn': 1, 'check': 'tshark',
        'pattern': r'(c2s|s2c) message #7: decoded len: wstap 0, tshark 1',
        'count': 2, 'verify': verify_empty,
        'what': 'the empty binary message, compressed to the single byte 0x00: tshark reports '
                '1 byte of data',
        'right': 'wstap',
        'why': 'RFC 7692 7.2.3.6: an empty message is compressed to the single byte 0x00 (an '
               'empty stored block after the 00 00 ff ff tail is removed); inflated, it is 0 '
               'bytes. tshark 4.0 inflates it to nothing and then, having no decompressed '
               'buffer, dissects the compressed byte itself as the payload. node-ws delivered '
               'an empty Buffer (the sidecar), as wstap reports.',
    },
    {
        'capture': 'pcaps/ws-hostile.pcap', 'conn': 1, 'check': 'tshark',
        'pattern': r'(c2s|s2c) message #3: decoded len: wstap 32, tshark 3',
        'count': 2, 'verify': verify_nul,
        'what': 'the text "nul\\x00 bs..." (32 bytes, a NUL at byte 3), both directions: '
                'tshark reports 3 bytes of text',
        'right': 'wstap',
        'why': 'RFC 6455 5.6: a text message is any valid UTF-8, and U+0000 is valid UTF-8. '
               'tshark 4.0 takes the length of websocket.payload.text as a C string, up to the '
               'NUL; python3-websockets sent (sidecar) and echoed all 32 bytes, as wstap '
               'decodes them.',
    },
    {
        'capture': 'zeek/websocket_compressed.pcap', 'conn': None,
        'check': 'peer:websocket_compressed.pcap.PR5646-permessage-deflate.output.txt',
        'pattern': r'(c2s|s2c) frame_data: wstap has a frame of \d+ bytes \(rsv 4, text\), '
                   r'Zeek printed none',
        'count': 2, 'verify': verify_pr5646,
        'what': 'the unmerged Zeek PR #5646 baseline prints websocket_frame_data only for the '
                'two 2-byte close frames; wstap also has the two compressed text frames '
                '(32 B c2s, 42 B s2c, RSV1)',
        'right': 'wstap',
        'why': 'RFC 7692 7.2.1: a permessage-deflate message is a normal data frame with RSV1 '
               'set; it is there on the wire (tshark shows it too) and inflates to exactly '
               'the generator\'s payloads ("Hello_Zeek_Analyzer_" x 50 and '
               '"Zeek_WebSocket_Test_String_" x 50, quoted in MANIFEST.md), which the '
               'verification checks. The PR analyzer emitted no event for compressed frames '
               '(MANIFEST.md: "the baseline is unreliable").',
    },
]


def find_explained(label, conn, check):
    return [e for e in EXPLAINED
            if e['capture'] == label and e['conn'] == conn and e['check'] == check]


# ---- helpers ----------------------------------------------------------------------------------


def env_c():
    env = dict(os.environ)
    env['TZ'] = 'UTC'
    env['LC_ALL'] = 'C'
    return env


def ep_str(addr, port):
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return '%s:%s' % (addr, port)
    if ip.version == 6:
        return '[%s]:%s' % (ip.compressed, port)
    return '%s:%s' % (ip, port)


def norm_ep(s):
    if not isinstance(s, str):
        return s
    try:
        if s.startswith('['):
            addr, port = s[1:].rsplit(']:', 1)
        else:
            addr, port = s.rsplit(':', 1)
        return ep_str(addr, int(port))
    except ValueError:
        return s


def port_of(ep):
    try:
        return int(ep.rsplit(':', 1)[1])
    except (AttributeError, IndexError, ValueError):
        return None


def payload_of(ev):
    """Decoded bytes of a ws.message / ws.control event."""
    if ev.get('text') is not None:
        return ev['text'].encode('utf-8')
    if ev.get('data_b64') is not None:
        return base64.b64decode(ev['data_b64'])
    if ev.get('opcode') == 'close' and ev.get('code') is not None:
        return bytes([ev['code'] >> 8, ev['code'] & 255]) + (ev.get('reason') or '').encode()
    return b''


# ---- wstap side -------------------------------------------------------------------------------


class Conn:
    def __init__(self, conn):
        self.conn = conn
        self.client = self.server = None
        self.handshake = None
        self.open_frame = None
        self.close_frame = None
        self.ws_open = None        # the ws.open event
        self.resp101 = None        # packet of the first 101 response
        self.http = False
        self.frames = {'c2s': [], 's2c': []}    # ws.frame events
        self.msgs = {'c2s': [], 's2c': []}      # ws.message events
        self.ctrls = {'c2s': [], 's2c': []}     # ws.control events
        self.errors = []                         # ws.error events

    def has_ws(self):
        return bool(self.ws_open is not None or any(self.frames.values()) or
                    any(self.msgs.values()) or any(self.ctrls.values()))


class Wstap:
    def __init__(self):
        self.conns = collections.OrderedDict()
        self.events = []


def run_wstap(path):
    cmd = (shlex.split(os.environ.get('WSTAP_WRAP', '')) +
           [os.environ.get('WSTAP_BIN', './wstap'), '-r', path, '--json', '--payload-max', '0'])
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env_c(),
                           timeout=float(os.environ.get('WSTAP_TIMEOUT', '300')))
    except subprocess.TimeoutExpired:
        raise RuntimeError('wstap timed out') from None
    if p.returncode != 0:
        err = p.stderr.decode('utf-8', 'replace').strip().splitlines()
        raise RuntimeError('wstap exit %d%s' % (p.returncode, ': ' + err[-1] if err else ''))
    w = Wstap()
    for line in p.stdout.decode('utf-8', 'replace').splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if not isinstance(ev, dict) or 'conn' not in ev:
            continue
        ev['_seq'] = len(w.events)  # position in wstap's output
        w.events.append(ev)
        n = ev['conn']
        c = w.conns.get(n)
        if c is None:
            c = w.conns[n] = Conn(n)
        name, d = ev.get('ev'), ev.get('dir')
        if name == 'tcp.open':
            c.client, c.server = norm_ep(ev.get('client')), norm_ep(ev.get('server'))
            c.handshake = ev.get('handshake')
            c.open_frame = ev.get('frame')
        elif name == 'tcp.close':
            c.close_frame = ev.get('frame')
        elif name in ('http.request', 'http.response'):
            c.http = True
            if name == 'http.response' and ev.get('status') == 101 and c.resp101 is None:
                c.resp101 = ev.get('frame')
        elif name == 'ws.open':
            c.ws_open = ev
        elif name == 'ws.frame' and d in c.frames:
            c.frames[d].append(ev)
        elif name == 'ws.message' and d in c.msgs:
            c.msgs[d].append(ev)
        elif name == 'ws.control' and d in c.ctrls:
            c.ctrls[d].append(ev)
        elif name == 'ws.error':
            c.errors.append(ev)
    return w


def frame_records(c, d):
    """wstap's frames of one direction with what Suricata/Arkime-style checks need: header
    fields, the completing packet and the frame's payload where it is known (the whole decoded
    message on the frame that ends a message, the slice of an uncompressed message on the other
    fragments, the control payload on control frames)."""
    out = []
    msgs = list(c.msgs[d])
    ctrls = list(c.ctrls[d])
    pending = []  # data frames of the message being assembled
    for f in c.frames[d]:
        r = {'fin': bool(f.get('fin')), 'rsv': f.get('rsv'), 'opcode': f.get('opcode'),
             'masked': bool(f.get('masked')), 'len': f.get('len'), 'hdr_frame': f.get('frame'),
             'end_frame': f.get('frame'), 'payload': None, 'eff_opcode': f.get('opcode')}
        op = f.get('opcode')
        if op in ('close', 'ping', 'pong'):
            if ctrls:
                ev = ctrls.pop(0)
                r['end_frame'] = ev.get('frame')
                r['payload'] = payload_of(ev)
        elif op in ('text', 'binary', 'cont'):
            if op != 'cont':
                pending = []
            elif pending:
                r['eff_opcode'] = pending[0]['opcode']
            pending.append(r)
            if r['fin'] and msgs:
                ev = msgs.pop(0)
                r['end_frame'] = ev.get('frame')
                data = payload_of(ev)
                r['payload'] = data
                if len(pending) > 1 and not ev.get('compressed'):
                    pos = 0
                    for p in pending:
                        p['frag_payload'] = data[pos:pos + (p['len'] or 0)]
                        pos += p['len'] or 0
                    for p in pending[:-1]:
                        p['payload'] = p['frag_payload']
                elif len(pending) == 1:
                    r['frag_payload'] = data if not ev.get('compressed') else None
                pending = []
        out.append(r)
    return out


# ---- tshark side ------------------------------------------------------------------------------


class TFrame:
    __slots__ = ('frame', 'stream', 'src', 'dst', 'fin', 'rsv', 'opcode', 'masked', 'len',
                 'code', 'reason', 'first_seg', 'dir', 'conn', 'decoded')


def run_tshark(path, http_ports, ws_ports, confdir):
    cmd = [os.environ.get('TSHARK', 'tshark'), '-n', '-r', path] + TSHARK_PREFS
    for p in sorted(http_ports):
        if p != 80:
            cmd += ['-d', 'tcp.port==%d,http' % p]
    for p in sorted(ws_ports):
        cmd += ['-d', 'tcp.port==%d,websocket' % p]
    cmd += ['-Y', 'websocket', '-T', 'json']
    for f in TSHARK_FIELDS:
        cmd += ['-e', f]
    env = env_c()
    env['WIRESHARK_CONFIG_DIR'] = confdir
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                           timeout=300)
    except subprocess.TimeoutExpired:
        raise RuntimeError('tshark timed out') from None
    if p.returncode != 0:
        err = p.stderr.decode('utf-8', 'replace').strip().splitlines()
        raise RuntimeError('tshark exit %d: %s' % (p.returncode, err[-1] if err else ''))
    text = p.stdout.decode('utf-8', 'replace').strip()
    pkts = json.loads(text) if text else []
    frames = []
    for pkt in pkts:
        lay = pkt.get('_source', {}).get('layers', {})

        def vals(k):
            v = lay.get(k)
            return list(v) if isinstance(v, list) else ([] if v is None else [v])

        def last(k):
            v = vals(k)
            return v[-1] if v else None
        num = int(last('frame.number'))
        src = ep_str(last('ipv6.src') or last('ip.src'), last('tcp.srcport'))
        dst = ep_str(last('ipv6.dst') or last('ip.dst'), last('tcp.dstport'))
        stream = int(last('tcp.stream'))
        segs = [int(x) for x in vals('tcp.segment')]
        e16, e64 = vals('websocket.payload_length_ext_16'), vals('websocket.payload_length_ext_64')
        codes, reasons = vals('websocket.payload.close.status_code'), \
            vals('websocket.payload.close.reason')
        fins, rsvs, ops = vals('websocket.fin'), vals('websocket.rsv'), vals('websocket.opcode')
        masks, lens = vals('websocket.mask'), vals('websocket.payload_length')
        # what tshark decoded (inflated) for the data frame of this packet: only where the
        # packet holds exactly one data frame, since the fields cannot be told apart otherwise
        decoded = None
        if sum(1 for o in ops if int(o) < 8) == 1:
            if vals('websocket.decompression.failed.expert'):
                decoded = 'failed'
            elif vals('websocket.payload.text'):
                decoded = len(vals('websocket.payload.text')[0].encode('utf-8'))
            elif vals('data.len'):
                decoded = int(vals('data.len')[0])
        for i in range(len(ops)):
            t = TFrame()
            t.frame, t.stream, t.src, t.dst = num, stream, src, dst
            t.fin = fins[i] in ('1', 'True', 'true')
            t.rsv = int(rsvs[i], 0)
            t.opcode = int(ops[i])
            t.masked = masks[i] in ('1', 'True', 'true')
            n = int(lens[i])
            if n == 126:
                n = int(e16.pop(0)) if e16 else None
            elif n == 127:
                n = int(e64.pop(0)) if e64 else None
            t.len = n
            t.code = t.reason = None
            if t.opcode == 8 and n is not None and n >= 2:
                t.code = int(codes.pop(0)) if codes else None
                t.reason = (reasons.pop(0) if reasons else '') if n > 2 else ''
            # the PDU tshark reassembled in this packet is the first frame of the packet
            t.first_seg = min(segs) if (i == 0 and segs) else num
            t.dir = t.conn = None
            t.decoded = decoded if t.opcode < 8 else None
            frames.append(t)
    return frames


def map_streams(w, tframes):
    """Assign each tshark frame to a wstap connection and direction. Returns the tshark stream
    ids that could not be mapped."""
    by_stream = collections.OrderedDict()
    for t in tframes:
        by_stream.setdefault(t.stream, []).append(t)
    unmapped = []
    for s, fl in by_stream.items():
        a, b = fl[0].src, fl[0].dst
        cands = [c for c in w.conns.values() if c.client and {c.client, c.server} == {a, b}]
        if len(cands) > 1:
            first = fl[0].frame
            cands = [c for c in cands if (c.open_frame or 0) <= first <=
                     (c.close_frame if c.close_frame is not None else 1 << 62)] or cands[-1:]
        if not cands:
            unmapped.append(s)
            continue
        c = cands[0]
        for t in fl:
            t.conn = c.conn
            t.dir = 'c2s' if t.src == c.client else 's2c'
    return unmapped


def tshark_messages(tfs):
    """Data messages from tshark's frames of one direction: (frames of the message)."""
    msgs, cur = [], None
    for t in tfs:
        if t.opcode >= 8:
            continue
        if t.opcode != 0:
            cur = [t]
        elif cur is None:
            continue  # continuation without a start: no message
        else:
            cur.append(t)
        if t.fin:
            msgs.append(cur)
            cur = None
    return msgs


# ---- comparison with tshark ---------------------------------------------------------------------


def compare_tshark(c, tfs):
    """Differences between wstap's connection c and tshark's frames tfs (of that connection)."""
    diffs = []
    for d in ('c2s', 's2c'):
        wf = c.frames[d] if c else []
        tf = [t for t in tfs if t.dir == d]
        if len(wf) != len(tf):
            diffs.append('%s frames: wstap %d, tshark %d' % (d, len(wf), len(tf)))
        for i, (a, t) in enumerate(zip(wf, tf)):
            for k, x, y in (('fin', bool(a.get('fin')), t.fin), ('rsv', a.get('rsv'), t.rsv),
                            ('opcode', a.get('opcode'), OPNAME.get(t.opcode, t.opcode)),
                            ('masked', bool(a.get('masked')), t.masked),
                            ('len', a.get('len'), t.len)):
                if x != y:
                    diffs.append('%s frame #%d: %s: wstap %s, tshark %s' % (d, i + 1, k, x, y))
            fr = a.get('frame')
            if not (t.first_seg <= fr <= t.frame):
                rng = '%d' % t.frame if t.first_seg == t.frame else '%d-%d' % (t.first_seg,
                                                                               t.frame)
                diffs.append('%s frame #%d: packet: wstap %s, tshark %s' % (d, i + 1, fr, rng))
        # messages
        wm = c.msgs[d] if c else []
        tm = tshark_messages(tf)
        if len(wm) != len(tm):
            diffs.append('%s messages: wstap %d, tshark %d' % (d, len(wm), len(tm)))
        for i, (m, ts) in enumerate(zip(wm, tm)):
            want = (('opcode', OPNAME.get(ts[0].opcode, ts[0].opcode)),
                    ('fragments', len(ts)), ('compressed', bool(ts[0].rsv & 4)),
                    ('wire_len', sum(t.len or 0 for t in ts)), ('packet', ts[-1].frame))
            got = {'opcode': m.get('opcode'), 'fragments': m.get('fragments'),
                   'compressed': bool(m.get('compressed')), 'wire_len': m.get('wire_len'),
                   'packet': m.get('frame')}
            for k, y in want:
                if got[k] != y:
                    diffs.append('%s message #%d: %s: wstap %s, tshark %s' % (d, i + 1, k,
                                                                              got[k], y))
            dec = ts[-1].decoded
            if dec is not None and dec != m.get('len'):
                diffs.append('%s message #%d: decoded len: wstap %s, tshark %s' % (
                    d, i + 1, m.get('len'), 'decompression failed' if dec == 'failed' else dec))
            if not m.get('compressed') and m.get('len') != m.get('wire_len') and \
                    not m.get('truncated'):
                diffs.append('%s message #%d: uncompressed, decoded len %s != wire len %s' % (
                    d, i + 1, m.get('len'), m.get('wire_len')))
        # control frames
        wc = c.ctrls[d] if c else []
        tc = [t for t in tf if t.opcode >= 8]
        if len(wc) != len(tc):
            diffs.append('%s controls: wstap %d, tshark %d' % (d, len(wc), len(tc)))
        for i, (e, t) in enumerate(zip(wc, tc)):
            want = (('opcode', OPNAME.get(t.opcode, t.opcode)), ('len', t.len),
                    ('code', t.code), ('packet', t.frame))
            got = {'opcode': e.get('opcode'), 'len': e.get('len'), 'code': e.get('code'),
                   'packet': e.get('frame')}
            for k, y in want:
                if got[k] != y:
                    diffs.append('%s control #%d: %s: wstap %s, tshark %s' % (d, i + 1, k,
                                                                              got[k], y))
            if t.opcode == 8 and t.reason is not None and t.len is not None and t.len <= 125 \
                    and (e.get('reason') or '') != t.reason:
                diffs.append('%s control #%d: reason: wstap %r, tshark %r' % (
                    d, i + 1, e.get('reason'), t.reason))
    return diffs


def summary(c):
    parts = []
    for d in ('c2s', 's2c'):
        parts.append('%s %d frames/%d msgs/%d ctrl' % (d, len(c.frames[d]), len(c.msgs[d]),
                                                      len(c.ctrls[d])))
    return ', '.join(parts)


# ---- peers ------------------------------------------------------------------------------------


class Ctx:
    """What a peer check gets: the capture, wstap's view, tshark's frames."""

    def __init__(self, path, label, w, tframes):
        self.path, self.label, self.w, self.tframes = path, label, w, tframes

    def ws_conns(self):
        return [c for c in self.w.conns.values() if c.has_ws()]


ZEEK_OPS = {'continuation': 'cont', 'text': 'text', 'binary': 'binary', 'close': 'close',
            'ping': 'ping', 'pong': 'pong'}


def split_zeek(line):
    return [x.strip() for x in line.split(', ')]


def peer_zeek_events(ctx, fpath):
    """websocket_frame / websocket_message / websocket_close lines."""
    uids = []
    frames, msgs, closes = {}, {}, {}
    for line in open(fpath, encoding='utf-8', errors='replace'):
        line = line.rstrip('\n')
        if not line.startswith('websocket_'):
            continue
        f = split_zeek(line)
        ev, uid = f[0], f[1] if len(f) > 1 else None
        if ev == 'websocket_established':
            if uid not in uids:
                uids.append(uid)
            continue
        if uid not in uids:
            uids.append(uid)
        d = 'c2s' if f[2] == 'T' else 's2c'
        key = (uid, d)
        if ev == 'websocket_frame':
            kv = dict(zip(f[3::2], f[4::2]))
            frames.setdefault(key, []).append((kv['fin'] == 'T', int(kv['rsv']),
                                               ZEEK_OPS.get(kv['opcode'], kv['opcode']),
                                               int(kv['payload_len'])))
        elif ev == 'websocket_message':
            msgs.setdefault(key, []).append(ZEEK_OPS.get(f[4], f[4]))
        elif ev == 'websocket_close':
            status = int(f[4])
            reason = ', '.join(f[6:]) if len(f) > 6 else ''
            closes.setdefault(key, []).append((status, reason))
    conns = ctx.ws_conns()
    if len(conns) < len(uids):
        return ['Zeek has %d WebSocket connections, wstap %d' % (len(uids), len(conns))], ''
    diffs = []
    nfr = 0
    has_msgs = bool(msgs)
    for uid, c in zip(uids, conns):
        for d in ('c2s', 's2c'):
            zf = frames.get((uid, d), [])
            wf = [(bool(e.get('fin')), e.get('rsv'), e.get('opcode'), e.get('len'))
                  for e in c.frames[d]]
            nfr += len(zf)
            if zf != wf:
                i = next((i for i in range(max(len(zf), len(wf)))
                          if i >= len(zf) or i >= len(wf) or zf[i] != wf[i]), 0)
                diffs.append('conn %d %s frames (fin, rsv, opcode, len): Zeek %d, wstap %d; '
                             'first difference #%d: Zeek %s, wstap %s' % (
                                 c.conn, d, len(zf), len(wf), i + 1,
                                 zf[i] if i < len(zf) else None,
                                 wf[i] if i < len(wf) else None))
            if has_msgs:
                zm = msgs.get((uid, d), [])
                evs = sorted(c.msgs[d] + c.ctrls[d], key=lambda e: e['_seq'])
                wm = [e.get('opcode') for e in evs]
                if zm != wm:
                    diffs.append('conn %d %s messages: Zeek %s, wstap %s' % (c.conn, d, zm, wm))
            zc = closes.get((uid, d), [])
            wc = [(e.get('code') if e.get('code') is not None else 0, e.get('reason') or '')
                  for e in c.ctrls[d] if e.get('opcode') == 'close']
            if zc != wc:
                diffs.append('conn %d %s close (status, reason): Zeek %s, wstap %s' % (
                    c.conn, d, zc, wc))
    return diffs, '%d frames%s' % (nfr, ', messages and closes' if has_msgs else ', closes')


def peer_zeek_weird(ctx, fpath):
    """weird.log columns: ts uid orig_h orig_p resp_h resp_p name addl notice peer source."""
    diffs, n = [], 0
    for line in open(fpath, encoding='utf-8', errors='replace'):
        f = line.rstrip('\n').split('\t')
        if line.startswith('#') or len(f) < 8 or not f[3].isdigit() or not f[5].isdigit():
            continue
        name, addl = f[6], f[7]
        conn = next((c for c in ctx.ws_conns() if port_of(c.client) == int(f[3]) and
                     port_of(c.server) == int(f[5])), None)
        if name == 'websocket_control_frame_size_exceeded':
            n += 1
            m = re.match(r'(\d+) > 125', addl)
            size = int(m.group(1)) if m else None
            ok = conn is not None and any(
                e.get('kind') == 'control_too_long' and
                any(f2.get('len') == size and f2.get('opcode') in ('close', 'ping', 'pong') and
                    f2.get('frame') == e.get('frame') and f2.get('dir') == e.get('dir')
                    for f2 in conn.frames['c2s'] + conn.frames['s2c'])
                for e in conn.errors)
            if not ok:
                diffs.append('%s (%s): no wstap ws.error control_too_long on a %s-byte control '
                             'frame' % (name, addl, size))
        elif name == 'protocol_data_with_HTTP_upgrade_reply':
            # WebSocket bytes in the segment that carries the 101 reply: the server's first
            # frame, header + payload = addl bytes
            n += 1
            want = int(addl)
            f0 = conn.frames['s2c'][0] if conn and conn.frames['s2c'] else None
            if f0 is None or conn.resp101 is None:
                diffs.append('%s: wstap has no server frame or no 101 response' % name)
                continue
            ln = f0.get('len') or 0
            hdr = 2 + (2 if ln >= 126 else 0) + (6 if ln > 65535 else 0) + \
                (4 if f0.get('masked') else 0)
            if f0.get('frame') != conn.resp101 or hdr + ln != want:
                diffs.append('%s %d: wstap\'s first server frame is %d bytes in packet %s, the '
                             '101 response in packet %s' % (name, want, hdr + ln, f0.get('frame'),
                                                           conn.resp101))
    if n == 0:
        return None, None  # no weird about frames (e.g. websocket_wrong_accept_header)
    return diffs, '%d frame weird(s)' % n


def peer_zeek_close_len(ctx, fpath):
    m = re.search(r'Close length: (\d+)', open(fpath, encoding='utf-8').read())
    if not m:
        return ['no "Close length" line'], ''
    want = int(m.group(1))
    capped = 'uncapped' not in os.path.basename(fpath)
    closes = [e for c in ctx.ws_conns() for d in ('c2s', 's2c') for e in c.ctrls[d]
              if e.get('opcode') == 'close']
    if len(closes) != 1:
        return ['wstap has %d close frames' % len(closes)], ''
    e = closes[0]
    rlen = (e.get('len') or 0) - 2
    got = min(rlen, ZEEK_CLOSE_REASON_CAP) if capped else rlen
    diffs = []
    if got != want:
        diffs.append('close reason length: Zeek %d, wstap %d (payload %s)' % (want, got,
                                                                             e.get('len')))
    if capped and len((e.get('reason') or '').encode()) != want:
        diffs.append('capped reason: Zeek %d bytes, wstap\'s reason field %d' % (
            want, len((e.get('reason') or '').encode())))
    return diffs, 'close reason %d bytes (%s)' % (want, 'capped at 123' if capped else
                                                  'payload - 2')


def peer_zeek_frame_data(ctx, fpath):
    """websocket_frame_data: is_orig=T len=N lines (one per frame with data)."""
    want = {'c2s': [], 's2c': []}
    for line in open(fpath, encoding='utf-8'):
        m = re.match(r'websocket_frame_data: is_orig=([TF]) len=(\d+)', line)
        if m:
            want['c2s' if m.group(1) == 'T' else 's2c'].append(int(m.group(2)))
    diffs = []
    for d in ('c2s', 's2c'):
        wf = [f for c in ctx.ws_conns() for f in c.frames[d]]
        zl = list(want[d])
        for f in wf:
            if zl and zl[0] == f.get('len'):
                zl.pop(0)
            else:
                diffs.append('%s frame_data: wstap has a frame of %d bytes (rsv %d, %s), Zeek '
                             'printed none' % (d, f.get('len'), f.get('rsv'), f.get('opcode')))
        for n in zl:
            diffs.append('%s frame_data: Zeek printed len=%d, wstap has no such frame' % (d, n))
    return diffs, '%d frame_data lines' % (len(want['c2s']) + len(want['s2c']))


def http_header_lines(data):
    head = data.split(b'\r\n\r\n', 1)[0].decode('latin-1')
    lines = head.split('\r\n')[1:]
    out = []
    for ln in lines:
        if ':' in ln:
            k, v = ln.split(':', 1)
            out.append((k.strip().upper(), v.strip()))
    return out


def peer_zeek_http_in_ws(ctx, fpath):
    want = {'c2s': [], 's2c': []}
    for line in open(fpath, encoding='utf-8'):
        f = split_zeek(line.rstrip('\n'))
        if f[0] == 'http_header' and len(f) >= 4:
            want['c2s' if f[1] == 'T' else 's2c'].append((f[2], ', '.join(f[3:])))
    diffs = []
    for d in ('c2s', 's2c'):
        got = []
        for c in ctx.ws_conns():
            for m in c.msgs[d]:
                data = payload_of(m)
                if re.match(rb'^([A-Z]+ \S+ HTTP/1\.[01]|HTTP/1\.[01] \d{3})', data):
                    got += http_header_lines(data)
        if got != want[d]:
            diffs.append('%s HTTP header lines inside WebSocket messages: Zeek %s, wstap %s' % (
                d, want[d], got))
    frags = [m.get('fragments') for c in ctx.ws_conns() for m in c.msgs['s2c']
             if re.match(rb'^HTTP/1\.[01] \d{3}', payload_of(m))]
    return diffs, '%d header lines (reply rebuilt from %s fragments)' % (
        len(want['c2s']) + len(want['s2c']), frags[0] if frags else '?')


def peer_zeek_no_ws(ctx, fpath):
    text = open(fpath, encoding='utf-8').read()
    if 'Connection upgraded to tcp' not in text:
        return [], None
    ws = [c.conn for c in ctx.ws_conns()]
    return (['wstap reports WebSocket on conn(s) %s' % ws] if ws else []), \
        'upgraded to tcp, no WebSocket'


def suricata_rules(fpath):
    rules = {}
    for line in open(fpath, encoding='utf-8'):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        m = re.search(r'\((.*)\)\s*$', line)
        if not m:
            continue
        opts = [o.strip() for o in re.findall(r'((?:[^;"\\]|\\.|"(?:[^"\\]|\\.)*")*);',
                                              m.group(1))]
        sid = None
        conds = []
        buf = None
        for o in opts:
            k, _, v = o.partition(':')
            k, v = k.strip(), v.strip()
            if k == 'sid':
                sid = int(v)
            elif k == 'flow':
                for x in v.split(','):
                    if x in ('to_server', 'to_client'):
                        conds.append(('dir', 'c2s' if x == 'to_server' else 's2c'))
            elif k == 'frame':
                buf = v.split('.', 1)[1]
            elif k == 'websocket.payload':
                buf = 'payload'
            elif k == 'websocket.opcode':
                neg = v.startswith('!')
                conds.append(('opcode', v.lstrip('!'), neg))
            elif k == 'websocket.mask':
                conds.append(('mask', v))
            elif k == 'websocket.flags':
                conds.append(('flags', v))
            elif k == 'content':
                conds.append(('content', buf, suricata_content(v)))
            elif k in ('startswith', 'endswith'):
                conds.append((k, buf))
        if sid is not None:
            rules[sid] = conds
    return rules


def suricata_content(v):
    v = v.strip().strip('"')
    out = bytearray()
    i = 0
    while i < len(v):
        if v[i] == '|':
            j = v.index('|', i + 1)
            out += bytes.fromhex(v[i + 1:j].replace(' ', ''))
            i = j + 1
        elif v[i] == '\\' and i + 1 < len(v):
            out.append(ord(v[i + 1]))
            i += 2
        else:
            out += v[i].encode()
            i += 1
    return bytes(out)


def suricata_buffers(r):
    """The sticky buffers of one frame record (None where not known from wstap)."""
    b0 = (0x80 if r['fin'] else 0) | ((r['rsv'] or 0) << 4) | OPNUM.get(r['opcode'], 0)
    ln = r['len'] or 0
    b1 = (0x80 if r['masked'] else 0) | (ln if ln < 126 else 126 if ln < 65536 else 127)
    ext = ln.to_bytes(2, 'big') if 126 <= ln < 65536 else \
        ln.to_bytes(8, 'big') if ln >= 65536 else b''
    hdr = bytes([b0, b1]) + ext
    own = r.get('frag_payload') if r['opcode'] not in ('close', 'ping', 'pong') \
        else r['payload']
    return {
        # the masking key (4 bytes) is not reported by wstap: only the bytes before it
        'header': hdr if not r['masked'] else hdr + b'\0\0\0\0',
        'header_known': len(hdr),
        'pdu': hdr + own if (own is not None and not r['masked']) else None,
        'data': own,
        'payload': r['payload'],
    }


def suricata_match(r, conds):
    bufs = None
    for cond in conds:
        k = cond[0]
        if k == 'dir':
            if r['dir'] != cond[1]:
                return False
        elif k == 'opcode':
            hit = r['opcode'] == cond[1]
            if hit == cond[2]:
                return False
        elif k == 'mask':
            if cond[1] != '>0' or not r['masked']:
                return False  # a masked frame has a (non-zero, by chance) key
        elif k == 'flags':
            if cond[1] != 'fin' or not r['fin']:
                return False
        elif k == 'content':
            bufs = bufs or suricata_buffers(r)
            b = bufs.get(cond[1])
            if b is None or cond[2] not in b:
                return False
            if cond[1] == 'header' and b.find(cond[2]) + len(cond[2]) > bufs['header_known']:
                return False
            last = (cond[1], cond[2])
        elif k == 'startswith':
            if not bufs[cond[1]].startswith(last[1]):
                return False
        elif k == 'endswith':
            if not bufs[cond[1]].endswith(last[1]):
                return False
    return True


def peer_suricata(ctx, fpath):
    try:
        import yaml
    except ImportError:
        return ['PyYAML (python3-yaml) is not installed'], ''
    base = fpath[:-len('.test.yaml')]
    rules = {}
    for rf in glob.glob(base + '.*rules'):
        rules.update(suricata_rules(rf))
    if not any('websocket' in open(rf).read() for rf in glob.glob(base + '.*rules')):
        return None, None  # not a WebSocket test
    spec = yaml.safe_load(open(fpath, encoding='utf-8'))
    recs = []
    for c in ctx.ws_conns():
        for d in ('c2s', 's2c'):
            for r in frame_records(c, d):
                r['dir'] = d
                recs.append(r)
    diffs, notes, n = [], [], 0
    for chk in spec.get('checks', []):
        flt = chk.get('filter') if isinstance(chk, dict) else None
        if not flt:
            continue
        want = flt.get('count')
        match = flt.get('match', {})
        et = match.get('event_type')
        sel = list(recs)
        what = []
        if et == 'alert':
            sid = match.get('alert.signature_id')
            if sid not in rules:
                diffs.append('sid %s: no such rule' % sid)
                continue
            sel = [r for r in sel if suricata_match(r, rules[sid])]
            what.append('sid %d' % sid)
        elif et != 'websocket':
            continue
        if 'websocket.mask' in match:
            notes.append('%s websocket.mask %s not checkable' % (et, match['websocket.mask']))
            continue
        if 'websocket.opcode' in match:
            sel = [r for r in sel if r['opcode'] == match['websocket.opcode']]
            what.append('opcode %s' % match['websocket.opcode'])
        if 'pcap_cnt' in match:
            sel = [r for r in sel if r['end_frame'] == match['pcap_cnt']]
            what.append('packet %s' % match['pcap_cnt'])
        n += 1
        if want is not None and len(sel) != want:
            diffs.append('%s %s: Suricata count %d, wstap frames %d' % (
                et, ' '.join(what), want, len(sel)))
    return diffs, '%d filter(s)%s' % (n, ('; ' + '; '.join(notes)) if notes else '')


def peer_arkime(ctx, fpath):
    data = json.load(open(fpath, encoding='utf-8'))
    sessions = [s.get('body', s) for s in data.get('sessions3', [])]
    sessions = [s for s in sessions if isinstance(s, dict) and 'websocket' in s]
    if not sessions:
        return None, None
    diffs = []
    for s in sessions:
        ws = s['websocket']
        src = ep_str(s['source']['ip'], s['source']['port'])
        dst = ep_str(s['destination']['ip'], s['destination']['port'])
        c = next((c for c in ctx.w.conns.values() if c.client and
                  {c.client, c.server} == {src, dst}), None)
        if c is None:
            diffs.append('session %s -> %s: wstap has no such connection' % (src, dst))
            continue
        allf = sorted(c.frames['c2s'] + c.frames['s2c'], key=lambda e: e['_seq'])
        got = {
            'frameCnt': len(allf),
            'maskedFromClient': sum(1 for f in allf if f.get('masked')),
            'payloadBytes': sum(f.get('len') or 0 for f in allf),
            'opcode': sorted({ {'text': 'Text', 'binary': 'Binary', 'close': 'Close',
                                'ping': 'Ping', 'pong': 'Pong'}.get(f.get('opcode'),
                                                                     str(f.get('opcode')))
                              for f in allf if f.get('opcode') != 'cont'}),
        }
        closes = [e for d in ('c2s', 's2c') for e in c.ctrls[d] if e.get('opcode') == 'close']
        if 'closeCode' in ws or closes:
            got['closeCode'] = sorted({e['code'] for e in closes if e.get('code') is not None})
        if 'closeReason' in ws or any(e.get('reason') for e in closes):
            got['closeReason'] = sorted({e['reason'][:ZEEK_CLOSE_REASON_CAP] for e in closes
                                         if e.get('reason')})
        # text samples: the first 4 text frames (continuations of a text message included)
        recs = []
        for d in ('c2s', 's2c'):
            for r in frame_records(c, d):
                recs.append((r['hdr_frame'], d, r))
        order = sorted(recs, key=lambda x: x[0])
        samples = []
        for _, _, r in order:
            if r['eff_opcode'] == 'text' and r['opcode'] in ('text', 'cont') and (r['len'] or 0):
                own = r.get('frag_payload') if r.get('frag_payload') is not None else r['payload']
                if own is None:
                    continue
                s2 = bytes(b if b >= 0x20 or b in (9, 10, 13) else 0x2e
                           for b in own[:ARKIME_TEXT_MAX])
                samples.append(s2.decode('utf-8', 'replace'))
                if len(samples) == ARKIME_TEXT_SAMPLES:
                    break
        got['textSample'] = sorted(set(samples))
        for k, v in got.items():
            want = ws.get(k)
            if k in ('opcode', 'closeCode', 'closeReason', 'textSample'):
                want = sorted(want or [])
            if want != v:
                diffs.append('session %s -> %s %s: Arkime %s, wstap %s' % (src, dst, k, want, v))
    return diffs, '%d session(s): frameCnt, maskedFromClient, payloadBytes, opcode, ' \
                  'close, textSample' % len(sessions)


def peer_ndn_readme(ctx, fpath):
    text = open(fpath, encoding='utf-8').read()
    name = os.path.basename(ctx.path)
    sec = re.search(r'Trace file: `%s`(.*?)(?:\n### |\Z)' % re.escape(name), text, re.S)
    if not sec or 'WebSocket' not in text[:sec.start()].rsplit('###', 1)[-1]:
        return None, None
    m1 = re.search(r'interest packet is dissected.*?at\s+packet (\d+)', sec.group(1), re.S)
    m2 = re.search(r'data packet is properly dissected.*?at\s+packet (\d+)', sec.group(1), re.S)
    if not m1 or not m2:
        return ['README section without interest/data packet numbers'], ''
    want = [('c2s', int(m1.group(1))), ('s2c', int(m2.group(1)))]
    got = [(m.get('dir'), m.get('frame')) for c in ctx.ws_conns()
           for m in sorted(c.msgs['c2s'] + c.msgs['s2c'], key=lambda e: e['_seq'])]
    diffs = [] if got == want else ['messages completed at (dir, packet): README %s, wstap %s' % (
        want, got)]
    return diffs, 'interest at packet %d, data at packet %d' % (want[0][1], want[1][1])


def peer_manifest_evsetool(ctx, manifest):
    """MANIFEST.md's row for other/evsetool/cap.pcapng quotes test_evsetool.py's assertions."""
    text = open(manifest, encoding='utf-8').read()
    row = next((ln for ln in text.splitlines() if ln.startswith('| `other/evsetool/cap.pcapng`')),
               None)
    if row is None:
        return ['no MANIFEST.md row'], ''
    asserts = re.findall(r'\(frame (\d+)\) inflates to (\[.*?\])(?:;|\s*\("|\s*\|)', row)
    if len(asserts) < 2:
        return ['could not read the assertions from MANIFEST.md'], ''
    diffs = []
    for fr, want in asserts:
        fr = int(fr)
        msgs = [m for c in ctx.ws_conns() for d in ('c2s', 's2c') for m in c.msgs[d]
                if m.get('frame') == fr]
        if len(msgs) != 1:
            diffs.append('packet %d: wstap completed %d messages there' % (fr, len(msgs)))
            continue
        got = msgs[0].get('text') or ''
        if '\u2026' in want:  # "…" elides the middle: compare both ends
            head, tail = want.split('\u2026', 1)
            ok = got.startswith(head) and got.endswith(tail)
        else:
            ok = got == want
        if not ok or not msgs[0].get('compressed'):
            diffs.append('packet %d: test_evsetool.py %s, wstap %r (compressed %s)' % (
                fr, want, got, msgs[0].get('compressed')))
    return diffs, 'inflated payloads at packets %s' % ', '.join(a[0] for a in asserts)


def peer_checks(ctx, corpus_root):
    """[(check name, function returning (diffs, summary) or (None, None) to skip)]."""
    out = []
    base = os.path.basename(ctx.path)
    for fp in sorted(glob.glob(glob.escape(ctx.path) + '.*')):
        fn = os.path.basename(fp)
        rest = fn[len(base) + 1:]
        if rest.endswith('events.out') or re.search(r'\.out-(coalesced|separate)$', rest):
            out.append((fn, lambda fp=fp: peer_zeek_events(ctx, fp)))
        elif rest.endswith('weird.log') or re.search(r'weird-\w+\.log$', rest):
            out.append((fn, lambda fp=fp: peer_zeek_weird(ctx, fp)))
        elif re.search(r'close-too-large\.out-', rest):
            out.append((fn, lambda fp=fp: peer_zeek_close_len(ctx, fp)))
        elif rest.endswith('permessage-deflate.output.txt'):
            out.append((fn, lambda fp=fp: peer_zeek_frame_data(ctx, fp)))
        elif rest == 'fragmented-http-reply.out':
            out.append((fn, lambda fp=fp: peer_zeek_http_in_ws(ctx, fp)))
        elif rest.endswith('upgrade-to-tcp.out'):
            out.append((fn, lambda fp=fp: peer_zeek_no_ws(ctx, fp)))
        elif rest == 'test.yaml':
            out.append((fn, lambda fp=fp: peer_suricata(ctx, fp)))
        elif rest == 'arkime.test':
            out.append((fn, lambda fp=fp: peer_arkime(ctx, fp)))
        elif rest == 'README.md' and '/ndn-tools/' in fp:
            out.append((fn, lambda fp=fp: peer_ndn_readme(ctx, fp)))
    manifest = os.environ.get('WSTAP_CORPUS_MANIFEST') or \
        (os.path.join(corpus_root, 'MANIFEST.md') if corpus_root else None)
    if ctx.label == 'other/evsetool/cap.pcapng' and manifest and os.path.exists(manifest):
        out.append(('MANIFEST.md (test_evsetool.py)',
                    lambda: peer_manifest_evsetool(ctx, manifest)))
    return out


# ---- one capture ------------------------------------------------------------------------------


def decode_as_ports(path):
    """Ports to decode as HTTP named by the corpus oracle file or the capture's meta.json."""
    ports = set()
    tx = path + '.tshark.txt'
    if os.path.exists(tx):
        for line in open(tx, encoding='utf-8', errors='replace'):
            if line.startswith('[decode-as]'):
                ports.update(int(p) for p in re.findall(r'tcp\.port==(\d+),http', line))
    stem = re.sub(r'\.pcap(ng)?$', '', path)
    meta = stem + '.meta.json'
    if os.path.exists(meta):
        try:
            m = json.load(open(meta, encoding='utf-8'))
        except ValueError:
            m = {}
        for k in ('http_port', 'http_ports'):
            v = m.get(k)
            for p in (v if isinstance(v, list) else [v]):
                if isinstance(p, int):
                    ports.add(p)
    return ports


def result_line(status, label, text):
    return '%-9s %s: %s' % (status, label, text)


def judge(label, conn, check, diffs, ctx, okmsg):
    """-> (passed, failed, explained, lines)"""
    if not diffs:
        return 1, 0, 0, [result_line('ok', label, okmsg)]
    entries = find_explained(label, conn, check)
    if entries:
        taken = {id(e): [] for e in entries}
        loose = []
        for d in diffs:
            e = next((e for e in entries if re.fullmatch(e['pattern'], d)), None)
            (taken[id(e)] if e else loose).append(d)
        problems = []
        if loose:
            problems.append('%d difference(s) not in the EXPLAINED table' % len(loose))
        for e in entries:
            got = taken[id(e)]
            if e.get('count') is not None and len(got) != e['count']:
                problems.append('entry "%s..." takes %d difference(s), expected %d' % (
                    e['what'][:40], len(got), e['count']))
            elif got and e.get('verify'):
                v = e['verify'](ctx, conn, got)
                if v:
                    problems.append('entry "%s..." does not verify: %s' % (e['what'][:40], v))
        if not problems:
            return 0, 0, 1, [result_line('explained', label, '%d difference(s): %s' % (
                len(diffs), ' | '.join('%s (right: %s)' % (e['what'], e['right'])
                                       for e in entries)))]
        lines = [result_line('FAIL', label, '; '.join(problems))]
    else:
        lines = [result_line('FAIL', label, '%d difference(s)' % len(diffs))]
    lines += ['    ' + d for d in diffs[:12]]
    if len(diffs) > 12:
        lines.append('    ... %d more' % (len(diffs) - 12))
    return 0, 1, 0, lines


def check_file(path, label, confdir, corpus_root):
    P = F = X = 0
    lines = []
    try:
        w = run_wstap(path)
    except Exception as ex:  # noqa: BLE001 - reported as a failure
        return 0, 1, 0, [result_line('FAIL', label, str(ex))]
    http_ports = decode_as_ports(path)
    ws_ports = set()
    for c in w.conns.values():
        p = port_of(c.server)
        if p is None:
            continue
        if c.http or c.ws_open is not None:
            http_ports.add(p)
    for c in w.conns.values():
        p = port_of(c.server)
        if p is not None and any(c.frames.values()) and c.ws_open is None and \
                c.resp101 is None and not c.http and p not in http_ports:
            ws_ports.add(p)
    try:
        tframes = run_tshark(path, http_ports, ws_ports, confdir)
    except Exception as ex:  # noqa: BLE001
        return 0, 1, 0, [result_line('FAIL', label, str(ex))]
    unmapped = map_streams(w, tframes)
    ctx = Ctx(path, label, w, tframes)
    for s in unmapped:
        F += 1
        lines.append(result_line('FAIL', label, 'tshark stream %d has %d WebSocket frame(s); '
                                 'wstap has no such connection' % (
                                     s, sum(1 for t in tframes if t.stream == s))))
    conns = sorted({c.conn for c in w.conns.values() if c.has_ws()} |
                   {t.conn for t in tframes if t.conn is not None})
    for n in conns:
        c = w.conns[n]
        tfs = [t for t in tframes if t.conn == n]
        diffs = compare_tshark(c, tfs)
        p, f, x, ls = judge(label, n, 'tshark', diffs, ctx,
                            'conn %d vs tshark: %s' % (n, summary(c)))
        if diffs:
            ls[0] = ls[0].replace(label + ': ', label + ': conn %d vs tshark: ' % n, 1)
        P, F, X = P + p, F + f, X + x
        lines += ls
    if corpus_root and path.startswith(corpus_root):
        for name, fn in peer_checks(ctx, corpus_root):
            try:
                diffs, what = fn()
            except Exception as ex:  # noqa: BLE001
                diffs, what = ['peer check crashed: %r' % ex], ''
            if diffs is None:
                continue
            p, f, x, ls = judge(label, None, 'peer:' + name, diffs, ctx,
                                'peer %s: %s' % (name, what))
            if diffs:
                ls[0] = ls[0].replace(label + ': ', label + ': peer %s: ' % name, 1)
            P, F, X = P + p, F + f, X + x
            lines += ls
    return P, F, X, lines


def main(argv):
    jobs = min(4, os.cpu_count() or 2)
    files = []
    i = 0
    while i < len(argv):
        if argv[i] == '--jobs' and i + 1 < len(argv):
            jobs = max(1, int(argv[i + 1]))
            i += 2
            continue
        files.append(argv[i])
        i += 1
    root = os.environ.get('WSTAP_CORPUS_LABEL_ROOT', '')
    P = F = X = 0
    with tempfile.TemporaryDirectory(prefix='wstap-tshark-ws-') as confdir:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            def one(path):
                if root and path.startswith(root):
                    label = path[len(root):].lstrip('/')
                elif os.path.basename(os.path.dirname(os.path.abspath(path))) == 'pcaps':
                    label = 'pcaps/' + os.path.basename(path)  # as EXPLAINED names them
                else:
                    label = path
                return check_file(path, label, confdir, root or None)
            for p, f, x, lines in pool.map(one, files):
                P, F, X = P + p, F + f, X + x
                for line in lines:
                    print(line)
                sys.stdout.flush()
    print('wsframes: %d passed, %d failed, %d explained' % (P, F, X))
    return 1 if F else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
