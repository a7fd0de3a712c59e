#!/usr/bin/node
// ws_node.js - WebSocket traffic helper for the wstap loopback capture
// generators, using Debian's node-ws (run with NODE_PATH=/usr/share/nodejs).
//
//   node ws_node.js deflate|plain PORT SIDECAR META
//
// Runs an echo server and a client in one process on 127.0.0.1:PORT.
//   deflate: perMessageDeflate on both sides, threshold 0, the client offers
//            client_no_context_takeover and server_max_window_bits=10; text
//            and binary messages, a fragmented text message from the client
//            with a ping between its fragments, a fragmented echo from the
//            server with a ping between its fragments; the client closes
//            with 1001 + reason.
//   plain:   no compression; text/binary messages, a fragmented binary
//            message; the *server* initiates the close (1000 + reason).
// Writes SIDECAR (frames sent, JSON lines, in send order) and META (the
// negotiated Sec-WebSocket-Extensions).  Exits on its own (hard limit 20 s).
'use strict';
const fs = require('fs');
const { WebSocketServer, WebSocket } = require('ws');

const [mode, portStr, sidecar, metaFile] = process.argv.slice(2);
const port = Number(portStr);
if (!['deflate', 'plain'].includes(mode) || !port || !sidecar || !metaFile) {
  console.error('usage: ws_node.js deflate|plain PORT SIDECAR META');
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
    const s = Buffer.isBuffer(payload) ? payload.toString('utf8') : payload;
    r.len = Buffer.byteLength(s, 'utf8');
    r.text = s;
  } else {
    r.len = payload.length;
    r.data_b64 = Buffer.from(payload).toString('base64');
  }
  for (const [k, v] of Object.entries(extra)) {
    if (k !== 'code' && k !== 'reason') r[k] = v;
  }
  records.push(r);
}

function detBytes(n, seed) {
  // small deterministic PRNG (xorshift32)
  let x = seed >>> 0 || 1;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

const deflate = mode === 'deflate';
const serverPmd = deflate
  ? { threshold: 0, serverMaxWindowBits: 10, clientNoContextTakeover: true }
  : false;
const clientPmd = deflate
  ? { threshold: 0, serverMaxWindowBits: 10, clientNoContextTakeover: true }
  : false;

const meta = { mode };
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: serverPmd });
wss.on('headers', (headers) => {
  meta.response_headers = headers;
});

wss.on('connection', (sws, req) => {
  meta.request_extensions = req.headers['sec-websocket-extensions'] || null;
  sws.on('ping', (data) => rec('s2c', 'pong', data, { auto: true }));
  sws.on('message', (data, isBinary) => {
    const s = isBinary ? null : data.toString('utf8');
    if (!isBinary && s.startsWith('frag')) {
      // echo in three fragments, with a ping between the first two
      const parts = [s.slice(0, 5), s.slice(5, 12), s.slice(12)];
      rec('s2c', 'ping', Buffer.from('srv-between'));
      rec('s2c', 'text', s, { fragments: parts.map((p) => Buffer.byteLength(p)) });
      sws.send(parts[0], { fin: false, binary: false });
      sws.ping(Buffer.from('srv-between'));
      sws.send(parts[1], { fin: false, binary: false });
      sws.send(parts[2], { fin: true, binary: false });
      return;
    }
    if (isBinary) rec('s2c', 'binary', data); else rec('s2c', 'text', s);
    sws.send(data, { binary: isBinary });
    if (!deflate && !isBinary && s === 'please close') {
      rec('s2c', 'text', 'server closing now');
      sws.send('server closing now');
      rec('s2c', 'close', null, { code: 1000, reason: 'server done' });
      sws.close(1000, 'server done');
    }
  });
  sws.on('close', (code, reason) => {
    if (deflate) rec('s2c', 'close', null, { code, reason: reason.toString(), auto: true });
  });
});

wss.on('listening', () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/node`, { perMessageDeflate: clientPmd });
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
  const next = () => new Promise((resolve) => {
    if (inbox.length) return resolve(inbox.shift());
    waiter = () => resolve(inbox.shift());
  });
  const sendMsg = async (payload, binary) => {
    rec('c2s', binary ? 'binary' : 'text', payload);
    ws.send(payload, { binary });
    const echo = await next();
    const want = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    if (!Buffer.from(echo.data).equals(want) || echo.isBinary !== binary) {
      throw new Error('echo mismatch');
    }
  };

  ws.on('close', (code, reason) => {
    if (!deflate) rec('c2s', 'close', null, { code, reason: reason.toString(), auto: true });
  });

  ws.on('open', async () => {
    try {
      if (deflate) {
        await sendMsg('hello from node-ws with permessage-deflate', false);
        for (let i = 0; i < 5; i++) {
          await sendMsg(JSON.stringify({ event: 'update', seq: i, value: 'same-ish payload ' + 'z'.repeat(20) }), false);
        }
        await sendMsg(Buffer.from('binary-compressible-'.repeat(100)), true);
        await sendMsg(detBytes(500, 11), true);
        // fragmented text message with a ping between its fragments
        const f = ['frag-A: ', 'the middle part, ', 'and the end.'];
        rec('c2s', 'ping', Buffer.from('between-frags'));
        rec('c2s', 'text', f.join(''), { fragments: f.map((p) => Buffer.byteLength(p)) });
        ws.send(f[0], { fin: false, binary: false });
        ws.ping(Buffer.from('between-frags'));
        ws.send(f[1], { fin: false, binary: false });
        ws.send(f[2], { fin: true, binary: false });
        const echo = await next(); // the server echoes it fragmented
        if (echo.data.toString() !== f.join('')) throw new Error('frag echo mismatch');
        // fragmented binary message
        const b = [detBytes(100, 21), detBytes(200, 22)];
        rec('c2s', 'binary', Buffer.concat(b), { fragments: b.map((p) => p.length) });
        ws.send(b[0], { fin: false, binary: true });
        ws.send(b[1], { fin: true, binary: true });
        const echo2 = await next();
        if (!Buffer.from(echo2.data).equals(Buffer.concat(b))) throw new Error('frag echo mismatch');
        await sendMsg('ünïcödé ✓ over deflate', false);
        rec('c2s', 'close', null, { code: 1001, reason: 'client going away' });
        ws.close(1001, 'client going away');
      } else {
        await sendMsg('hello from node-ws, no compression', false);
        await sendMsg(detBytes(1024, 31), true);
        await sendMsg('y'.repeat(130), false);
        const b = [detBytes(10, 41), detBytes(20, 42), detBytes(30, 43)];
        rec('c2s', 'binary', Buffer.concat(b), { fragments: b.map((p) => p.length) });
        ws.send(b[0], { fin: false, binary: true });
        ws.send(b[1], { fin: false, binary: true });
        ws.send(b[2], { fin: true, binary: true });
        const echo = await next();
        if (!Buffer.from(echo.data).equals(Buffer.concat(b))) throw new Error('frag echo mismatch');
        rec('c2s', 'text', 'please close');
        ws.send('please close');
        await next(); // echo
        await next(); // "server closing now"; then the server's close frame
      }
    } catch (e) {
      console.error(e);
      process.exit(1);
    }
  });

  ws.on('close', () => {
    // wait for the server side to finish, then stop the server
    setTimeout(() => {
      wss.close();
      for (const c of wss.clients) c.terminate();
      fs.writeFileSync(sidecar, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      fs.writeFileSync(metaFile, JSON.stringify(meta, null, 2));
    }, 300);
  });
});
