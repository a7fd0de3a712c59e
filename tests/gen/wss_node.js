#!/usr/bin/node
// wss_node.js - node-ws over https/tls for the wstap TLS capture generators
// (Debian's node-ws; run with NODE_PATH=/usr/share/nodejs).
//
//   node [--tls-keylog=FILE] wss_node.js server OPTS_JSON
//   node [--tls-keylog=FILE] wss_node.js client OPTS_JSON
//
// OPTS_JSON: {"port", "log", "cert", "key" (server), "ca" (client), "conns",
//   "minVersion", "maxVersion", "ciphers" (TLS 1.3 suites by IANA name, as node takes
//   them), "ecdhCurve", "alpn" (one protocol), "deflate" (bool), "scenario", "meta" (client)}
// The server echoes every message and exits after `conns` connections have closed; the
// client runs the scenario `conns` times, one connection after the other, lock-step.
// Frames sent are logged as JSON lines like wss_py.py (t in ns, conn, dir, opcode, ...), so
// `wss_py.py merge` makes the sidecar.  node's --tls-keylog writes the NSS key log of every
// TLS socket of the process (the generators give it to the server process only).
'use strict';
const fs = require('fs');
const https = require('https');
const { WebSocketServer, WebSocket } = require('ws');

const [role, optsJson] = process.argv.slice(2);
const o = JSON.parse(optsJson || '{}');
setTimeout(() => { console.error('timeout'); process.exit(3); }, 30000).unref();
const logFd = fs.openSync(o.log, 'w');
let seq = 0;
function rec(conn, dir, opcode, payload, extra = {}) {
  // wall-clock ns (ms resolution) plus a counter: merged with the other process's log
  const r = { t: Date.now() * 1e6 + (seq++ % 1000), conn, dir, opcode };
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
  if (extra.auto) r.auto = true;
  fs.writeSync(logFd, JSON.stringify(r) + '\n');
}
function detBytes(n, seed) {
  let x = seed >>> 0 || 1;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
function scenario(name, conn) {
  const tag = `conn ${conn}`;
  if (name === 'tls') {
    return [['text', `hello from node-ws over TLS, ${tag}`],
      ['binary', detBytes(1024, 31 + conn)],
      ['text', 'y'.repeat(130)],
      ['binary', detBytes(20000, 77 + conn)], // more than one TLS record
      ['ping', Buffer.from(`node-ping-${conn}`)],
      ['text', `ünïcödé ✓ 🚀 ${tag}`]];
  }
  if (name === 'deflate') {
    const items = [['text', 'hello from node-ws with permessage-deflate over TLS']];
    for (let i = 0; i < 10; i++) {
      items.push(['text', JSON.stringify({ event: 'update', seq: i, conn, value: 'same-ish payload ' + 'z'.repeat(20) })]);
    }
    items.push(['binary', Buffer.from('binary-compressible-'.repeat(300))]);
    items.push(['binary', detBytes(500, 11)]);
    items.push(['text', 'ünïcödé ✓ over deflate and TLS']);
    return items;
  }
  throw new Error('unknown scenario ' + name);
}
const tlsOpts = {};
for (const k of ['minVersion', 'maxVersion', 'ciphers', 'ecdhCurve']) if (o[k]) tlsOpts[k] = o[k];
if (o.alpn) tlsOpts.ALPNProtocols = [o.alpn];
const pmd = o.deflate ? { threshold: 0 } : false;

if (role === 'server') {
  const server = https.createServer(Object.assign({
    cert: fs.readFileSync(o.cert), key: fs.readFileSync(o.key),
  }, tlsOpts));
  const wss = new WebSocketServer({ server, perMessageDeflate: pmd });
  let accepted = 0; let closed = 0;
  wss.on('connection', (sws) => {
    const conn = ++accepted;
    sws.on('ping', (data) => rec(conn, 's2c', 'pong', data, { auto: true }));
    sws.on('message', (data, isBinary) => {
      if (isBinary) rec(conn, 's2c', 'binary', data); else rec(conn, 's2c', 'text', data.toString('utf8'));
      sws.send(data, { binary: isBinary });
    });
    sws.on('close', (code, reason) => {
      rec(conn, 's2c', 'close', null, { code, reason: reason.toString(), auto: true });
      if (++closed >= (o.conns || 1)) setTimeout(() => { wss.close(); server.close(); fs.closeSync(logFd); }, 300);
    });
  });
  server.listen(o.port, '127.0.0.1', () => console.log('listening'));
} else {
  const meta = { connections: [] };
  const runOne = (conn) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://localhost:${o.port}/node`, Object.assign({
      ca: fs.readFileSync(o.ca), perMessageDeflate: pmd, servername: 'localhost',
    }, tlsOpts));
    const inbox = []; let waiter = null;
    ws.on('upgrade', (res) => {
      const s = res.socket;
      meta.connections.push({
        conn, tls_version: s.getProtocol(), cipher: s.getCipher().standardName,
        alpn: s.alpnProtocol || null,
        request_extensions: null,
        response_extensions: res.headers['sec-websocket-extensions'] || null,
        server_header: res.headers.server || null,
      });
    });
    ws.on('message', (data, isBinary) => { inbox.push({ data, isBinary }); if (waiter) { const w = waiter; waiter = null; w(); } });
    const next = () => new Promise((r) => { if (inbox.length) return r(inbox.shift()); waiter = () => r(inbox.shift()); });
    ws.on('error', reject);
    ws.on('close', () => setTimeout(resolve, 200));
    ws.on('open', async () => {
      try {
        for (const [kind, payload] of scenario(o.scenario, conn)) {
          if (kind === 'ping') {
            rec(conn, 'c2s', 'ping', payload);
            const got = new Promise((r) => ws.once('pong', r));
            ws.ping(payload);
            await got; // the server's library answered (it logs the pong)
            continue;
          }
          rec(conn, 'c2s', kind, payload);
          ws.send(payload, { binary: kind === 'binary' });
          const echo = await next();
          if (!Buffer.from(echo.data).equals(Buffer.from(payload))) throw new Error('echo mismatch');
        }
        rec(conn, 'c2s', 'close', null, { code: 1000, reason: 'node wss done' });
        ws.close(1000, 'node wss done');
      } catch (e) { reject(e); }
    });
  });
  (async () => {
    for (let c = 1; c <= (o.conns || 1); c++) await runOne(c);
    fs.closeSync(logFd);
    if (o.meta) fs.writeFileSync(o.meta, JSON.stringify(meta));
  })().catch((e) => { console.error(e); process.exit(1); });
}
