// Part 7's round-trip floor (bench/parts/limits.ts): a bare node:http server that reads each
// request body and answers 512 bytes, as small as a receipt. Plain JavaScript, no framework,
// so what it measures is the kernel's loopback and Node's own HTTP, nothing of ours.
import { createServer } from 'node:http';

const answer = Buffer.alloc(512, 0x61);
const server = createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/cbor', 'content-length': answer.length });
    res.end(answer);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
