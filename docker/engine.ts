/**
 * Reaching a Docker engine: a client for the address configured as DOCKER_HOST (a unix socket,
 * tcp://host:port, or dockerode's default), and a ping that says in words why an engine is not there.
 */
import Dockerode from 'dockerode';

export class DockerUnavailableError extends Error {
  override name = 'DockerUnavailableError';
}

export function connectDocker(dockerHost: string | null): Dockerode {
  if (dockerHost === null || dockerHost === '') return new Dockerode();
  if (dockerHost.startsWith('unix://')) return new Dockerode({ socketPath: dockerHost.slice('unix://'.length) });
  if (dockerHost.startsWith('/')) return new Dockerode({ socketPath: dockerHost });
  const match = /^(tcp|http|https):\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(dockerHost);
  if (!match)
    throw new DockerUnavailableError(
      `DOCKER_HOST ${JSON.stringify(dockerHost)} is not unix:///path, tcp://host:port or https://host:port`,
    );
  const [, scheme, host, port] = match;
  // 2376 is the engine's TLS port by convention, as the docker CLI assumes too.
  const protocol = scheme === 'https' || port === '2376' ? 'https' : 'http';
  return new Dockerode({ host: host!.replace(/^\[|\]$/g, ''), port: Number(port), protocol });
}

/** Where a client talks to, for messages. */
export function describeDocker(docker: Dockerode): string {
  const o = docker.modem as { socketPath?: unknown; host?: string; port?: number | string; protocol?: string };
  if (typeof o.socketPath === 'string') return `unix://${o.socketPath}`;
  if (o.host) return `${o.protocol ?? 'http'}://${o.host}:${o.port}`;
  return 'the default Docker socket';
}

/** Resolves once the engine answers `/_ping`; otherwise throws DockerUnavailableError saying why. */
export async function pingDocker(docker: Dockerode, timeoutMs = 5_000): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    // The typings omit the options argument that carries the abort signal.
    await (docker.ping as (opts: { abortSignal: AbortSignal }) => Promise<unknown>)({ abortSignal: abort.signal });
  } catch (error) {
    const reason = abort.signal.aborted ? `no answer within ${timeoutMs} ms` : errorText(error);
    throw new DockerUnavailableError(`the Docker engine at ${describeDocker(docker)} does not answer: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The engine's HTTP status in a dockerode error (404 for a missing container or image), if any. */
export function dockerStatus(error: unknown): number | null {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : null;
}

/** The engine's own message rather than dockerode's "(HTTP code 404) no such container - …" wrapper. */
export function errorText(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | null)?.json;
  if (json && typeof json.message === 'string') return json.message;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}

export interface ProgressEvent {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  [key: string]: unknown;
}

/**
 * Reads an engine progress stream (image pull or import) to its end. The engine reports a failure
 * as an `error` event inside a 200 response, so that becomes a thrown Error here.
 */
export function readProgress(
  docker: Dockerode,
  stream: NodeJS.ReadableStream,
  onEvent?: (event: ProgressEvent) => void,
): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: ProgressEvent[]) => {
        if (error) return reject(error);
        const failed = events.find((e) => e.error !== undefined || e.errorDetail !== undefined);
        if (failed)
          return reject(new Error(failed.errorDetail?.message ?? failed.error ?? 'the engine reported an error'));
        resolve(events);
      },
      onEvent,
    );
  });
}
