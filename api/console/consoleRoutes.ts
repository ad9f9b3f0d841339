/**
 * The web console, `GET /console/`: static files (one HTML page, ES modules, a style sheet) read from
 * api/console/assets when the app is built and served from memory. The page holds no data of its
 * own: its scripts call the /v1 API in the browser with the key the user signs in with, so the
 * console sees exactly what the key may see, through the same routes and checks as any client.
 * docs/console.md says why there is no build step and no framework.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { notFound } from '../http/problems';

export const CONSOLE_ASSETS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'assets');

/**
 * Scripts only from this origin's files (no inline script, no eval), fetches only to this origin,
 * no plugin, frame or form submission (forms are handled by the scripts, so a key typed into one
 * never lands in a URL), and the page cannot be framed.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Small files that change with a deploy: revalidated every time rather than cached stale.
  'cache-control': 'no-cache',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

interface Asset {
  body: Buffer;
  contentType: string;
}

/** Every file of the assets folder with a known type, by name; anything else is not served. */
export function loadConsoleAssets(dir: string = CONSOLE_ASSETS_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[path.extname(name)];
    if (contentType) assets.set(name, { body: readFileSync(path.join(dir, name)), contentType });
  }
  if (!assets.has('index.html')) throw new Error(`the console's index.html is missing from ${dir}`);
  return assets;
}

export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  const assets = loadConsoleAssets();
  const send = (reply: FastifyReply, asset: Asset) => reply.headers(HEADERS).type(asset.contentType).send(asset.body);

  // Static files, not API operations: left out of the OpenAPI document.
  app.get('/console/', { schema: { hide: true }, config: { public: true } }, async (_request, reply) =>
    send(reply, assets.get('index.html')!),
  );

  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/console/:asset',
    {
      schema: { hide: true, params: Type.Object({ asset: Type.String({ maxLength: 64 }) }) },
      config: { public: true },
    },
    async (request, reply) => {
      const asset = assets.get(request.params.asset);
      if (!asset) throw notFound(`console file ${request.params.asset}`);
      return send(reply, asset);
    },
  );
}
