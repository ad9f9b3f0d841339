/**
 * A model endpoint that gives credentials back: the nastiest upstream a run can meet. It answers
 * arithmetic prompts, except that a third of them get a 401 whose JSON body quotes the request's
 * Authorization header word for word and a third a 500 whose text body does the same; every
 * other prompt (a dataset that is not arithmetic) gets the 401. Every answer, good or bad, also
 * carries the header back in a response header. Whatever of this a client stores, logs or reports
 * is a leak.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { solvePrompt } from '../../stack/referenceModel/solver';

export interface LeakyModel {
  /** Base URL for OpenAI clients, ending in /v1. */
  url: string;
  /** Authorization headers it has seen (to prove the key reached it). */
  authorizations: Set<string>;
  close(): Promise<void>;
}

type Answer = { kind: 'ok'; text: string } | { kind: 'unauthorized' } | { kind: 'broken' };

function answerFor(prompt: string): Answer {
  const solution = solvePrompt(prompt);
  if (!solution || solution.kind !== 'arithmetic') return { kind: 'unauthorized' };
  const bucket = createHash('sha256').update(prompt).digest()[0]! % 3;
  return bucket === 0
    ? { kind: 'unauthorized' }
    : bucket === 1
      ? { kind: 'broken' }
      : { kind: 'ok', text: solution.answer };
}

export async function startLeakyModel(): Promise<LeakyModel> {
  const authorizations = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const auth = req.headers.authorization ?? '(none)';
      authorizations.add(auth);
      res.setHeader('x-echo-authorization', auth);
      if (req.method === 'GET' && req.url === '/v1/models') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ object: 'list', data: [{ id: 'leaky', object: 'model' }] }));
        return;
      }
      let prompt = '';
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const messages = (body.messages ?? []) as { role: string; content: string }[];
        prompt = messages.filter((m) => m.role === 'user').at(-1)?.content ?? String(body.prompt ?? '');
      } catch {
        // an unreadable body is answered like any other prompt
      }
      const answer = answerFor(prompt);
      if (answer.kind === 'unauthorized') {
        res.writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': `Bearer realm="leaky", error="invalid_token", echo="${auth}"`,
        });
        res.end(
          JSON.stringify({
            error: {
              message: `Incorrect API key provided: ${auth}. Check the key you sent (${auth}).`,
              type: 'invalid_request_error',
              code: 'invalid_api_key',
            },
          }),
        );
        return;
      }
      if (answer.kind === 'broken') {
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`internal error while serving the request authorised by ${auth}`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${createHash('sha1').update(prompt).digest('hex').slice(0, 12)}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: 'leaky',
          choices: [{ index: 0, message: { role: 'assistant', content: answer.text }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
