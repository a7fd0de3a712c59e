#!/usr/bin/node
// traffic.js - loopback traffic for the wstap benchmark captures (bench/gen.sh), with Debian's
// node-ws (NODE_PATH=/usr/share/nodejs) and node's http module. Server and client are separate
// processes so the capture sees real kernel TCP between two programs:
//
//   node traffic.js server MODE PORT
//   node traffic.js client MODE PORT TARGET_BYTES
//
// MODE
//   many-small  WebSocket, permessage-deflate with context takeover (node-ws defaults, threshold
//               0), 200 concurrent connections; small JSON texts (50-500 bytes) both ways, the
//               client sending with a window of 4, the server answering every message; about
//               one message in 16 is sent in 2-3 fragments.
//   bulk        WebSocket without compression, 8 connections, binary messages of 64 KiB-1 MiB
//               (random bytes) both ways: the server echoes every message.
//   mixed       one node http server: keep-alive HTTP/1.1 (Content-Length, chunked and gzip
//               responses, uploads with Content-Length or chunked) from 24 concurrent keep-alive
//               sockets, and WebSocket sessions (upgrade on the same port, compressed and not)
//               started along the way.
// The client stops once TARGET_BYTES of payload went over the wire (both directions counted),
// closes everything cleanly (WebSocket close 1000, then TCP FIN) and exits 0; the server exits
// when told (SIGTERM) or after its hard limit. Every process has a hard time limit.
// Content is pseudo-random from a fixed seed, so runs differ only in timing.
'use strict';
const http = require('http');
const https = require('https');
const fs = require('fs');
const zlib = require('zlib');
const { WebSocketServer, WebSocket } = require('ws');

const [role, mode, portStr, targetStr, partStr] = process.argv.slice(2);
const port = Number(portStr);
// A client can be one of several processes sharing the load: PART is "I/K" (0-based).
const [partI, partK] = (partStr || '0/1').split('/').map(Number);
const target = Math.ceil(Number(targetStr || 0) / partK);
const MODES = ['many-small', 'bulk', 'mixed'];
if (!['server', 'client'].includes(role) || !MODES.includes(mode) || !port ||
    (role === 'client' && !target)) {
  console.error('usage: traffic.js server MODE PORT | client MODE PORT TARGET_BYTES [I/K]');
  process.exit(2);
}
// BENCH_TLS_DIR (many-small only, bench/gen.sh many-small-tls): the same traffic over TLS
// (wss://, node's https server with DIR/cert.pem and DIR/key.pem; the clients trust
// DIR/cert.pem). The key log is written by node itself (--tls-keylog=FILE on the clients).
const TLS_DIR = process.env.BENCH_TLS_DIR || '';
const HARD_LIMIT_MS = Number(process.env.BENCH_GEN_LIMIT_S || 480) * 1000;
setTimeout(() => { console.error(`${role}: hard time limit reached`); process.exit(3); },
  role === 'server' ? HARD_LIMIT_MS + 20000 : HARD_LIMIT_MS).unref();

// ---- deterministic content -------------------------------------------------------------------
let rng = (0x2545F491 + 0x9E3779B9 * partI) >>> 0;
function rnd() { // xorshift32
  rng ^= rng << 13; rng >>>= 0; rng ^= rng >>> 17; rng ^= rng << 5; rng >>>= 0;
  return rng;
}
function rint(lo, hi) { return lo + (rnd() % (hi - lo + 1)); }
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function rstr(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += ALNUM[rnd() % ALNUM.length];
  return s;
}
const WORDS = ['price', 'quote', 'order', 'fill', 'cancel', 'tick', 'book', 'trade', 'status',
  'heartbeat', 'subscribe', 'update', 'snapshot', 'delta'];
const SYMS = ['WSTAP', 'ACME', 'GLOBX', 'INITECH', 'UMBRL', 'HOOLI', 'VANDL', 'STARK'];
// A JSON text of exactly n bytes (50 <= n <= 500): a realistic head, random filler to size.
function jsonMsg(n, seq, who) {
  const head = { type: WORDS[rnd() % WORDS.length], seq, from: who,
    sym: SYMS[rnd() % SYMS.length], px: (rnd() % 100000) / 100, qty: rnd() % 5000,
    id: rstr(12) };
  let s = JSON.stringify(head);
  while (s.length > n - 12) { delete head[Object.keys(head).pop()]; s = JSON.stringify(head); }
  const pad = n - s.length - 10; // ,"pad":"" is 10 bytes
  if (pad >= 0) s = s.slice(0, -1) + ',"pad":"' + rstr(pad) + '"}';
  return s;
}
const RANDOM_POOL = Buffer.alloc(4 << 20);
for (let i = 0; i < RANDOM_POOL.length; i += 4) RANDOM_POOL.writeUInt32LE(rnd(), i);
function randomBytes(n) { // a slice of the pool at a random offset (n <= 2 MiB)
  const off = rnd() % (RANDOM_POOL.length - n);
  return RANDOM_POOL.subarray(off, off + n);
}
function textBody(n) { // compressible text, as logs or HTML are
  const parts = [];
  let len = 0;
  while (len < n) {
    const line = `${len} ${WORDS[rnd() % WORDS.length]} ${SYMS[rnd() % SYMS.length]} ` +
      `${rnd() % 100000} ${rstr(8)}\n`;
    parts.push(line);
    len += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}
function logUniform(lo, hi) {
  return Math.round(Math.exp(Math.log(lo) + (rnd() / 4294967296) * (Math.log(hi) - Math.log(lo))));
}

// permessage-deflate as node-ws offers it by default (context takeover both ways, 15-bit
// windows), compressing every message; more zlib jobs in flight than ws's default 10.
const PMD = { threshold: 0, concurrencyLimit: 64 };

// Send a text either whole or (fragment=true) in 2-3 fragments.
function sendText(ws, s, fragment) {
  if (!fragment) { ws.send(s); return; }
  const b = Buffer.from(s);
  const k = b.length >= 120 ? 3 : 2;
  const step = Math.ceil(b.length / k);
  for (let i = 0; i < k; i++) {
    ws.send(b.subarray(i * step, Math.min(b.length, (i + 1) * step)),
      { binary: false, fin: i === k - 1 });
  }
}

// ---- servers -----------------------------------------------------------------------------------
function wsServerHandlers(wss, kind) {
  wss.on('connection', (ws) => {
    let seq = 0;
    ws.on('message', (data, isBinary) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (kind === 'bulk' || isBinary) { ws.send(data, { binary: true }); return; }
      sendText(ws, jsonMsg(rint(50, 500), seq++, 'server'), rnd() % 16 === 0);
    });
    ws.on('error', () => {});
  });
}

function runServer() {
  // many-small: node's cluster module, BENCH_GEN_WORKERS processes (default 2) sharing the
  // listening socket (the primary hands out connections round-robin), as production node
  // servers run; each worker is a node-ws server.
  const cluster = require('cluster');
  const workers = Number(process.env.BENCH_GEN_WORKERS || 2);
  if (mode === 'many-small' && workers > 1 && cluster.isPrimary) {
    let up = 0;
    for (let i = 0; i < workers; i++) {
      cluster.fork().on('listening', () => { if (++up === workers) console.log('listening'); });
    }
    process.on('SIGTERM', () => {
      for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
      setTimeout(() => process.exit(0), 200);
    });
    return;
  }
  if (mode === 'many-small' && TLS_DIR) {
    const srv = https.createServer({ cert: fs.readFileSync(`${TLS_DIR}/cert.pem`),
      key: fs.readFileSync(`${TLS_DIR}/key.pem`) });
    const wss = new WebSocketServer({ server: srv, maxPayload: 4 << 20, perMessageDeflate: PMD });
    wsServerHandlers(wss, mode);
    srv.listen(port, '127.0.0.1', () => console.log('listening'));
  } else if (mode === 'many-small' || mode === 'bulk') {
    const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 4 << 20,
      perMessageDeflate: mode === 'many-small' ? PMD : false });
    wsServerHandlers(wss, mode);
    wss.on('listening', () => console.log('listening'));
  } else {
    const gz = new Map();
    const wssPlain = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    const wssPmd = new WebSocketServer({ noServer: true, perMessageDeflate: { threshold: 0 } });
    wsServerHandlers(wssPlain, 'mixed');
    wsServerHandlers(wssPmd, 'mixed');
    const srv = http.createServer({ keepAliveTimeout: 30000 }, (req, res) => {
      const u = new URL(req.url, 'http://x');
      const n = Number(u.searchParams.get('n') || 0);
      if (req.method === 'POST') {
        let got = 0;
        req.on('data', (c) => { got += c.length; });
        req.on('end', () => {
          const body = JSON.stringify({ ok: true, received: got });
          res.writeHead(201, { 'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body) });
          res.end(body);
        });
        return;
      }
      if (u.pathname === '/cl') {
        const body = rnd() % 2 ? textBody(n) : randomBytes(n);
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': n });
        res.end(body);
      } else if (u.pathname === '/chunked') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }); // no length: chunked
        const body = textBody(n);
        let off = 0;
        const more = () => {
          while (off < body.length) {
            const k = Math.min(body.length - off, rint(512, 16384));
            const ok = res.write(body.subarray(off, off + k));
            off += k;
            if (!ok) { res.once('drain', more); return; }
          }
          res.end();
        };
        more();
      } else if (u.pathname === '/gzip') {
        const bucket = Math.min(20, Math.round(Math.log2(Math.max(n, 256))));
        let z = gz.get(bucket);
        if (!z) { z = zlib.gzipSync(textBody(1 << bucket)); gz.set(bucket, z); }
        const headers = { 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip',
          Vary: 'Accept-Encoding' };
        if (rnd() % 2) { // Content-Length
          headers['Content-Length'] = z.length;
          res.writeHead(200, headers);
          res.end(z);
        } else { // chunked, in two writes
          res.writeHead(200, headers);
          res.write(z.subarray(0, z.length >> 1));
          res.end(z.subarray(z.length >> 1));
        }
      } else {
        res.writeHead(404, { 'Content-Length': 0 });
        res.end();
      }
    });
    srv.on('upgrade', (req, sock, head) => {
      const w = req.url.startsWith('/ws-deflate') ? wssPmd : wssPlain;
      w.handleUpgrade(req, sock, head, (ws) => w.emit('connection', ws, req));
    });
    srv.listen(port, '127.0.0.1', () => console.log('listening'));
  }
  process.on('SIGTERM', () => process.exit(0));
}

// ---- clients -----------------------------------------------------------------------------------
let sent = 0; // payload bytes both ways (messages or bodies), for the target
let done = false;
function progress() {
  if (!done && sent >= target) {
    done = true;
    return true;
  }
  return false;
}

function manySmallClient() {
  const N = Math.round(200 / partK); // 200 connections over all client processes
  const WINDOW = 4;
  let open = 0;
  const socks = [];
  for (let i = 0; i < N; i++) {
    const ws = TLS_DIR
      ? new WebSocket(`wss://127.0.0.1:${port}/feed/${partI}-${i}`,
        { perMessageDeflate: PMD, ca: fs.readFileSync(`${TLS_DIR}/cert.pem`) })
      : new WebSocket(`ws://127.0.0.1:${port}/feed/${partI}-${i}`, { perMessageDeflate: PMD });
    socks.push(ws);
    let seq = 0;
    const pump = () => {
      if (done || ws.readyState !== WebSocket.OPEN) return;
      const s = jsonMsg(rint(50, 500), seq++, `c${partI}-${i}`);
      sent += s.length;
      sendText(ws, s, rnd() % 16 === 0);
    };
    ws.on('open', () => {
      open++;
      for (let k = 0; k < WINDOW; k++) pump();
    });
    ws.on('message', (data) => {
      sent += data.length;
      if (progress()) finish();
      pump();
    });
    ws.on('close', () => { if (--open === 0) process.exit(0); });
    ws.on('error', (e) => { console.error(`conn ${i}: ${e.message}`); process.exit(1); });
  }
  function finish() {
    // Let the replies in flight arrive, then close every connection (1000).
    setTimeout(() => socks.forEach((ws) => ws.close(1000, 'bench done')), 300);
  }
}

function bulkClient() {
  const N = 8;
  let open = 0;
  for (let i = 0; i < N; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/bulk/${i}`,
      { perMessageDeflate: false, maxPayload: 4 << 20 });
    const next = () => {
      if (done) { ws.close(1000, 'bench done'); return; }
      const b = randomBytes(logUniform(64 << 10, 1 << 20));
      sent += b.length;
      ws.send(b, { binary: true });
    };
    ws.on('open', () => { open++; next(); });
    ws.on('message', (data) => { sent += data.length; progress(); next(); });
    ws.on('close', () => { if (--open === 0) process.exit(0); });
    ws.on('error', (e) => { console.error(`conn ${i}: ${e.message}`); process.exit(1); });
  }
}

function mixedClient() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 24 });
  const CONCURRENCY = 24;
  let inflight = 0;
  let reqs = 0;
  let wsOpen = 0;
  let wsStarted = 0;
  const WS_SESSIONS = 12;
  const maybeExit = () => {
    if (done && inflight === 0 && wsOpen === 0) {
      agent.destroy(); // FIN on every idle keep-alive socket
      setTimeout(() => process.exit(0), 500);
    }
  };
  const one = () => {
    if (done) { maybeExit(); return; }
    inflight++;
    reqs++;
    const kind = rnd() % 8;
    const n = logUniform(200, 256 << 10);
    let opts, body = null, chunkedUpload = false;
    if (kind < 2) opts = { path: `/cl?n=${n}` };
    else if (kind < 4) opts = { path: `/chunked?n=${n}` };
    else if (kind < 6) opts = { path: `/gzip?n=${n}`, headers: { 'Accept-Encoding': 'gzip' } };
    else {
      body = rnd() % 2 ? textBody(n) : randomBytes(n);
      chunkedUpload = kind === 7;
      opts = { path: '/upload', method: 'POST',
        headers: chunkedUpload ? { 'Content-Type': 'application/octet-stream' }
          : { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length } };
    }
    const req = http.request({ host: '127.0.0.1', port, agent, method: 'GET', ...opts }, (res) => {
      res.on('data', (c) => { sent += c.length; });
      res.on('end', () => { inflight--; progress(); one(); });
    });
    req.on('error', (e) => { console.error(`request: ${e.message}`); process.exit(1); });
    if (body) {
      sent += body.length;
      if (chunkedUpload) {
        const k = body.length >> 1;
        req.write(body.subarray(0, k));
        req.end(body.subarray(k));
      } else {
        req.end(body);
      }
    } else {
      req.end();
    }
    if (wsStarted < WS_SESSIONS && reqs % 400 === 0) wsSession(wsStarted++);
  };
  const wsSession = (i) => {
    const deflate = i % 2 === 0;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/${deflate ? 'ws-deflate' : 'ws'}/${i}`,
      { perMessageDeflate: deflate ? { threshold: 0 } : false });
    wsOpen++;
    let left = 300;
    const next = () => {
      if (left-- <= 0) { ws.close(1000, 'session done'); return; }
      if (rnd() % 4 === 0) {
        const b = randomBytes(logUniform(64, 64 << 10));
        sent += b.length;
        ws.send(b, { binary: true });
      } else {
        const s = jsonMsg(rint(50, 500), 300 - left, `w${i}`);
        sent += s.length;
        sendText(ws, s, rnd() % 16 === 0);
      }
    };
    ws.on('open', next);
    ws.on('message', (d) => { sent += d.length; next(); });
    ws.on('close', () => { wsOpen--; maybeExit(); });
    ws.on('error', (e) => { console.error(`ws ${i}: ${e.message}`); process.exit(1); });
  };
  for (let k = 0; k < CONCURRENCY; k++) one();
}

if (role === 'server') runServer();
else if (mode === 'many-small') manySmallClient();
else if (mode === 'bulk') bulkClient();
else mixedClient();
