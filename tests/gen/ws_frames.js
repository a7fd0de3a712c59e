#!/usr/bin/node
// ws_frames.js - WebSocket framing edge cases between a node-ws server and a
// node-ws client in one process, for tests/gen/ws-frames.sh (run with
// NODE_PATH=/usr/share/nodejs).
//
//   node ws_frames.js frag|nocontext|big64 PORT SIDECAR META
//
//   frag:      no compression.  Payload lengths 0, 125 (largest 7-bit),
//              126 (smallest 16-bit); a text message in 3 fragments whose
//              boundaries cut UTF-8 characters in half, with a ping between
//              fragments 1 and 2 and an unsolicited pong between 2 and 3; the
//              server echoes it in 3 fragments cut elsewhere, with its own
//              ping between them; a binary message of an empty first
//              fragment, a 300-byte (16-bit) fragment and an empty final
//              continuation, with a ping between; pings of 0 and 125 bytes;
//              the client closes with 4001 and a UTF-8 reason.
//   nocontext: permessage-deflate with server_no_context_takeover,
//              client_no_context_takeover, server_max_window_bits=9 and
//              client_max_window_bits=9, threshold 32 (shorter messages go
//              out uncompressed, RSV1 clear, in the same connection); 12
//              identical and 6 similar JSON texts each way (each compressed
//              on its own, so identical messages have identical frames); a
//              text with 600-byte repeats (farther than the 512-byte window);
//              a compressed binary; a compressed text in 3 fragments with a
//              ping between, echoed in 3 compressed fragments with a ping
//              between; the *server* closes with 1001 + reason.
//   big64:     permessage-deflate with context takeover both ways,
//              client_max_window_bits=11 (server 15), threshold 0;
//              uncompressed (compress: false) binaries of 65535 bytes
//              (largest 16-bit length) and 65536 bytes (smallest 64-bit
//              length), acknowledged by a short text instead of an echo; a
//              70000-byte random binary compressed (64-bit length on the
//              wire too, acknowledged); a 100000-byte JSON-lines text
//              (decoded > 64 KiB, a few KB on the wire) echoed; a 90000-byte
//              compressed text in 3 fragments with a ping between, echoed;
//              an empty text and an empty binary, compressed (1 byte on
//              the wire); 10 similar texts (context takeover: later ones
//              are a few bytes on the wire); the client closes 1000 +
//              reason.
//
// Lock-step: the client waits for each answer before it sends the next
// message, so the order of records per direction is the wire order.
// Writes SIDECAR (one JSON line per message / control frame sent, see
// tests/gen/README.md) and META (handshake headers).  Exits on its own
// (hard limit 20 s).
'use strict';
const fs = require('fs');
const { WebSocketServer, WebSocket } = require('ws');

const [mode, portStr, sidecar, metaFile] = process.argv.slice(2);
const port = Number(portStr);
if (!['frag', 'nocontext', 'big64'].includes(mode) || !port || !sidecar || !metaFile) {
  console.error('usage: ws_frames.js frag|nocontext|big64 PORT SIDECAR META');
  process.exit(2);
}
setTimeout(() => { console.error('timeout'); process.exit(3); }, 20000).unref();

const records = [];
function rec(dir, opcode, payload, extra = {}) {
  const r = { conn: 1, dir, opcode };
  if (opcode === 'close') {
    const rb = Buffer.from(extra.reason || '', 'utf8');
    r.len = extra.code === undefined ? 0 : 2 + rb.length;
    r.code = extra.code;
    r.reason = extra.reason || '';
  } else if (opcode === 'text') {
    const b = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
    r.len = b.length;
    r.text = b.toString('utf8');
    if (!Buffer.from(r.text, 'utf8').equals(b)) throw new Error('text record is not UTF-8');
  } else {
    r.len = payload.length;
    r.data_b64 = Buffer.from(payload).toString('base64');
  }
  for (const [k, v] of Object.entries(extra)) {
    if (k !== 'code' && k !== 'reason') r[k] = v;
  }
  records.push(r);
}

function detBytes(n, seed) { // deterministic, incompressible (xorshift32)
  let x = seed >>> 0 || 1;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

function jsonLines(nbytes, tag) { // compressible text of exactly nbytes bytes
  let s = '';
  for (let i = 0; s.length < nbytes; i++) {
    s += JSON.stringify({ tag, seq: i, kind: ['tick', 'trade', 'quote'][i % 3],
      price: 100 + (i * 37) % 500, qty: (i * 13) % 97 }) + '\n';
  }
  return s.slice(0, nbytes);
}

// split a Buffer at byte offsets
function cut(buf, offs) {
  const parts = [];
  let p = 0;
  for (const o of offs) { parts.push(buf.subarray(p, o)); p = o; }
  parts.push(buf.subarray(p));
  return parts;
}

const PMD = {
  frag: false,
  nocontext: { threshold: 32, serverNoContextTakeover: true, clientNoContextTakeover: true,
    serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
  big64: { threshold: 0, clientMaxWindowBits: 11 },
}[mode];

const meta = { mode };
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: PMD });
wss.on('headers', (headers) => { meta.response_headers = headers; });

wss.on('connection', (sws, req) => {
  meta.request_extensions = req.headers['sec-websocket-extensions'] || null;
  sws.on('ping', (data) => rec('s2c', 'pong', data, { auto: true }));
  sws.on('message', (data, isBinary) => {
    const s = isBinary ? null : data.toString('utf8');
    if (!isBinary && s.startsWith('frag')) {
      // echo in three fragments cut at other byte offsets, ping between 1 and 2
      // (frag: inside the 4-byte and the 3-byte character, at other bytes than the client)
      const offs = mode === 'frag'
        ? [data.indexOf(Buffer.from('\u{1F680}', 'utf8')) + 1, data.indexOf(Buffer.from('\u2713', 'utf8')) + 2]
        : [Math.floor(data.length / 3), Math.floor(2 * data.length / 3)];
      const parts = cut(data, offs);
      const ping = Buffer.from('srv-ping-between');
      rec('s2c', 'ping', ping);
      rec('s2c', 'text', data, { fragments: parts.map((p) => p.length) });
      sws.send(parts[0], { fin: false, binary: false });
      sws.ping(ping);
      sws.send(parts[1], { fin: false, binary: false });
      sws.send(parts[2], { fin: true, binary: false });
      return;
    }
    if (mode === 'big64' && isBinary && data.length >= 65535) {
      const ack = `ack ${data.length} bytes`;
      rec('s2c', 'text', ack);
      sws.send(ack);
      return;
    }
    if (mode === 'nocontext' && !isBinary && s === 'please close') {
      rec('s2c', 'text', 'bye from server');
      sws.send('bye from server');
      rec('s2c', 'close', null, { code: 1001, reason: 'server going down' });
      sws.close(1001, 'server going down');
      return;
    }
    if (isBinary) rec('s2c', 'binary', data); else rec('s2c', 'text', data);
    sws.send(data, { binary: isBinary });
  });
  sws.on('close', (code, reason) => {
    if (mode !== 'nocontext') rec('s2c', 'close', null, { code, reason: reason.toString(), auto: true });
  });
});

wss.on('listening', () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/${mode}`, { perMessageDeflate: PMD });
  const inbox = [];
  let waiter = null;
  ws.on('upgrade', (res) => {
    meta.extensions_negotiated = res.headers['sec-websocket-extensions'] || null;
  });
  ws.on('message', (data, isBinary) => {
    inbox.push({ data, isBinary });
    if (waiter) { const w = waiter; waiter = null; w(); }
  });
  ws.on('ping', (data) => rec('c2s', 'pong', data, { auto: true }));
  let pongs = 0;
  ws.on('pong', () => { pongs++; });
  const next = () => new Promise((resolve) => {
    if (inbox.length) return resolve(inbox.shift());
    waiter = () => resolve(inbox.shift());
  });
  const expectEcho = async (want, binary) => {
    const echo = await next();
    if (!Buffer.from(echo.data).equals(want) || echo.isBinary !== binary) {
      throw new Error(`echo mismatch (${echo.data.length} vs ${want.length} bytes)`);
    }
  };
  const sendMsg = async (payload, binary, opts = {}) => {
    const b = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
    rec('c2s', binary ? 'binary' : 'text', b);
    ws.send(b, { binary, ...opts });
    if (opts.ack) {
      const a = await next();
      if (a.data.toString() !== `ack ${b.length} bytes`) throw new Error('bad ack');
    } else {
      await expectEcho(b, binary);
    }
  };
  // parts: Buffers; between[i]: function run after part i is sent
  const sendFrag = async (parts, binary, between = {}, opts = {}) => {
    const all = Buffer.concat(parts);
    const pre = []; // control records go before the message record
    for (const i of Object.keys(between)) pre.push(...between[i].records);
    for (const r of pre) rec('c2s', r.opcode, r.data);
    rec('c2s', binary ? 'binary' : 'text', all, { fragments: parts.map((p) => p.length) });
    parts.forEach((p, i) => {
      ws.send(p, { binary, fin: i === parts.length - 1, ...opts });
      if (between[i]) between[i].run();
    });
    await expectEcho(all, binary);
  };
  const ping = (data) => ({ records: [{ opcode: 'ping', data }], run: () => ws.ping(data) });
  const pong = (data) => ({ records: [{ opcode: 'pong', data }], run: () => ws.pong(data) });
  const pingAndWait = async (data) => {
    const before = pongs;
    rec('c2s', 'ping', data);
    ws.ping(data);
    for (let i = 0; i < 100 && pongs === before; i++) await new Promise((r) => setTimeout(r, 10));
    if (pongs === before) throw new Error('no pong');
  };

  ws.on('close', (code, reason) => {
    if (mode === 'nocontext') rec('c2s', 'close', null, { code, reason: reason.toString(), auto: true });
    // wait for the server side to finish, then stop the server
    setTimeout(() => {
      wss.close();
      for (const c of wss.clients) c.terminate();
      fs.writeFileSync(sidecar, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      fs.writeFileSync(metaFile, JSON.stringify(meta, null, 2));
    }, 300);
  });

  ws.on('open', async () => {
    try {
      if (mode === 'frag') {
        await sendMsg('plain text before the fragments', false);
        await sendMsg('', false); // empty text
        await sendMsg(Buffer.alloc(0), true); // empty binary
        await sendMsg('7'.repeat(125), false); // largest 7-bit length
        await sendMsg('6'.repeat(126), false); // smallest 16-bit length
        // text in 3 fragments; the cuts fall inside a 4-byte and a 3-byte character
        const t = Buffer.from('frag: split \u{1F680} rocket \u2713 done', 'utf8');
        const r = t.indexOf(Buffer.from('\u{1F680}', 'utf8'));
        const c = t.indexOf(Buffer.from('\u2713', 'utf8'));
        await sendFrag(cut(t, [r + 2, c + 1]), false,
          { 0: ping(Buffer.from('cli-ping-between')), 1: pong(Buffer.from('unsolicited-pong')) });
        // binary: empty first fragment, 300 bytes, empty final continuation
        await sendFrag([Buffer.alloc(0), detBytes(300, 7), Buffer.alloc(0)], true,
          { 1: ping(Buffer.from('ping-before-empty-fin')) });
        await pingAndWait(Buffer.alloc(0));
        await pingAndWait(Buffer.from('p'.repeat(125)));
        await sendMsg('last text before the close', false);
        rec('c2s', 'close', null, { code: 4001, reason: 'app-defined close \u2713' });
        ws.close(4001, 'app-defined close \u2713');
      } else if (mode === 'nocontext') {
        const same = JSON.stringify({ type: 'status', node: 'edge-7', ok: true,
          detail: 'the same message again and again, compressed on its own each time' });
        for (let i = 0; i < 12; i++) await sendMsg(same, false);
        for (let i = 0; i < 6; i++) {
          await sendMsg(JSON.stringify({ type: 'update', seq: i, value: 'similar payload '.repeat(4) }), false);
        }
        await sendMsg('tiny', false); // under the threshold: RSV1 clear
        const block = detBytes(300, 99).toString('hex'); // 600 bytes of hex
        await sendMsg(`A:${block}|B:${block}|C:${block}`, false);
        await sendMsg(Buffer.from('compressible binary '.repeat(40)), true);
        const f = Buffer.from('frag: ' + 'compressed fragment text, no context takeover. '.repeat(6));
        await sendFrag(cut(f, [100, 200]), false, { 0: ping(Buffer.from('ping-in-compressed')) });
        rec('c2s', 'text', 'please close');
        ws.send('please close');
        const bye = await next();
        if (bye.data.toString() !== 'bye from server') throw new Error('no bye');
      } else {
        await sendMsg(detBytes(65535, 1), true, { compress: false, ack: true });
        await sendMsg(detBytes(65536, 2), true, { compress: false, ack: true });
        await sendMsg(detBytes(70000, 3), true, { ack: true });
        await sendMsg(jsonLines(100000, 'big'), false);
        const f = Buffer.from(jsonLines(90000, 'frag'));
        const parts = cut(f, [30000, 60000]);
        parts[0] = Buffer.concat([Buffer.from('frag'), parts[0].subarray(4)]);
        await sendFrag(parts, false, { 0: ping(Buffer.from('ping-in-big-fragments')) });
        await sendMsg('', false); // empty messages, compressed (RFC 7692 7.2.3.6)
        await sendMsg(Buffer.alloc(0), true);
        for (let i = 0; i < 10; i++) {
          await sendMsg(JSON.stringify({ event: 'tick', seq: i, note: 'context takeover keeps these small' }), false);
        }
        rec('c2s', 'close', null, { code: 1000, reason: 'big64 done' });
        ws.close(1000, 'big64 done');
      }
    } catch (e) {
      console.error(e);
      process.exit(1);
    }
  });
});
