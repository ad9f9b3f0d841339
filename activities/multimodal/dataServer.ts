/**
 * The multimodal data server: what a user's `bash run.sh TASK SERVER_IP SERVER_PORT` job asks for
 * its data, one server per dataset of a run, speaking the seed's protocol:
 *
 * - `GET /io_info` → `{ checkpoint_path, output_dir }`, paths inside the job's container;
 * - `GET /meta_info` → vqa `{ length, name, type: 'vqa' }`, retrieval `{ name, image_number,
 *   caption_number, type: 'retrieval' }`, t2i `{ length, name, type: 't2i' }`;
 * - `GET /get_data?index=N` → vqa `{ img_path: [paths], question, question_id, type }`, t2i
 *   `{ prompt, id: N }`; retrieval needs `&type=img` → `{ img_path }` or `&type=text` → `{ caption }`.
 *
 * Refusals are JSON `{ error }`: 400 for a missing or malformed parameter, 404 for an index past the
 * end and for an unknown path, 405 for a method other than GET (servedDataset.ts has the details).
 * The answers are small and computed per request, and nothing served carries a ground truth. The
 * server counts requests, so the job's end can tell a run.sh that never asked for its data.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DatasetItem } from '../../contracts/dataset';
import { DataRequestError } from './dataRequestError';
import { serveDataset, type MultimodalTask } from './servedDataset';

export interface DataServerDataset {
  /** The dataset id, as meta_info's name. */
  name: string;
  task: MultimodalTask;
  /** contracts/dataset.ts items, per the multimodal data model. */
  items: DatasetItem[];
  /** Where the dataset's image files are inside the job's container, e.g. /data/images (joined with metadata.images names). */
  imageDirInContainer: string;
}

export interface DataServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  host: string;
  port: number;
  /** Every request received, whatever its path and answer. */
  requests(): number;
  /** The get_data requests answered with data: 0 when the job never fetched an item. */
  dataRequests(): number;
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

export interface DataServerOptions {
  dataset: DataServerDataset;
  /** What io_info answers: paths inside the job's container. */
  io: { checkpointPath: string; outputDir: string };
  /** Where the server listens; 127.0.0.1 by default. */
  host?: string;
  /** 0 (the default): any free port. */
  port?: number;
}

const ROUTES = 'GET /io_info, GET /meta_info and GET /get_data?index=N';

export async function startDataServer(o: DataServerOptions): Promise<DataServer> {
  const served = serveDataset(o.dataset);
  const ioInfo = JSON.stringify({ checkpoint_path: o.io.checkpointPath, output_dir: o.io.outputDir });
  const metaInfo = JSON.stringify(served.metaInfo);
  const host = o.host ?? '127.0.0.1';
  let requests = 0;
  let dataRequests = 0;

  /** The answer's JSON text; throws DataRequestError for a request it refuses. */
  const answer = (req: IncomingMessage): string => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = (queryAt < 0 ? url : url.slice(0, queryAt)).replace(/\/+$/, '') || '/';
    if (path !== '/io_info' && path !== '/meta_info' && path !== '/get_data')
      throw new DataRequestError(404, `no route ${path}; this data server answers ${ROUTES}`);
    if (req.method !== 'GET')
      throw new DataRequestError(405, `${path} answers GET only, not ${req.method}`, { allow: 'GET' });
    if (path === '/io_info') return ioInfo;
    if (path === '/meta_info') return metaInfo;
    const text = JSON.stringify(served.getData(new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1))));
    dataRequests++;
    return text;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    requests++;
    try {
      send(res, 200, answer(req));
    } catch (error) {
      if (error instanceof DataRequestError)
        send(res, error.status, JSON.stringify({ error: error.message }), error.headers);
      else send(res, 500, JSON.stringify({ error: 'the data server failed to answer' }));
    }
  };

  const server = http.createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | null = null;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    requests: () => requests,
    dataRequests: () => dataRequests,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
