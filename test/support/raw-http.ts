import { connect } from 'node:net';

/** A response read off a raw socket. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: any;
}

/**
 * Sends an HTTP/1.1 request byte for byte: headers may repeat or be any size, and the source
 * address can be chosen (any 127.0.0.0/8 address reaches the loopback server), to play several
 * clients from one machine.
 */
export function rawRequest(options: {
  port: number;
  path: string;
  headers: [string, string][];
  body?: Buffer | string;
  localAddress?: string;
  method?: string;
}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
    const socket = connect({ port: options.port, host: '127.0.0.1', ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    let writeFailed: Error | undefined;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A server that refuses a body unread (413) answers and closes while the body is still
      // being written: the write fails with EPIPE or ECONNRESET, but the answer has arrived or
      // is about to. Wait for the socket to close and read it; fail only if nothing came back.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') writeFailed = err;
      else reject(err);
    });
    socket.on('close', () => {
      if (chunks.length === 0) {
        reject(writeFailed ?? new Error('the server closed the connection without an answer'));
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      let raw = rest.join('\r\n\r\n');
      if (headers['transfer-encoding'] === 'chunked') raw = dechunk(raw);
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: raw, json });
    });
    const head = [
      `${options.method ?? 'POST'} ${options.path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Connection: close',
      ...options.headers.map(([k, v]) => `${k}: ${v}`),
      `Content-Length: ${body.length}`,
      '',
      '',
    ].join('\r\n');
    socket.write(head);
    // No half-close: a server may drop a request whose client stopped sending before the answer.
    socket.write(body);
  });
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const line = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, line), 16);
    if (!size) return out;
    out += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}
