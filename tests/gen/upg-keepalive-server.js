// upg-keepalive-server.js PORT RESULT
// node's http server + node-ws (noServer mode) on one port: plain GETs are
// answered by http (keep-alive), an Upgrade request on the same connection
// is handed to ws.handleUpgrade().  /a: body with Content-Length, /b: body
// without a length (node sends it chunked).  The WebSocket echoes every
// message; after the first WebSocket closes the server exits.  Bounded by a
// 20 s timer.  NODE_PATH=/usr/share/nodejs (Debian node-ws).
'use strict';
const http = require('http');
const fs = require('fs');
const { WebSocketServer } = require('ws');

const port = +process.argv[2];
const resultFile = process.argv[3];
const result = { requests: [], upgrade: null, connections: new Set() };
const killer = setTimeout(() => { console.error('timeout'); process.exit(2); }, 20000);

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const server = http.createServer((req, res) => {
  result.connections.add(`${req.socket.remoteAddress}:${req.socket.remotePort}`);
  result.requests.push({ method: req.method, url: req.url, httpVersion: req.httpVersion });
  if (req.url === '/a') {
    const body = 'first response, fixed length\n';
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  } else if (req.url === '/b') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });  // no length -> chunked
    res.write('second response, ');
    setTimeout(() => res.end('sent chunked\n'), 20);
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 10 });
    res.end('not found\n');
  }
});
server.keepAliveTimeout = 10000;

server.on('upgrade', (req, socket, head) => {
  result.connections.add(`${socket.remoteAddress}:${socket.remotePort}`);
  result.upgrade = { url: req.url, headers: req.headers };
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('close', (code, reason) => {
      // emitted by node-ws once the TCP connection is closed as well
      result.close = { code, reason: reason.toString() };
      server.close();
      result.connections = [...result.connections];
      fs.writeFileSync(resultFile, JSON.stringify(result, null, 2) + '\n');
      clearTimeout(killer);
      setTimeout(() => process.exit(0), 50);
    });
  });
});

server.listen(port, '127.0.0.1', () => console.log('listening'));
