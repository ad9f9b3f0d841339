/**
 * Connecting to a Temporal frontend over TLS and mutual TLS, as the API and the workers do
 * (temporal.config.ts reads the settings, temporalClient/connectionOptions.ts the files). A CA, a
 * server certificate and client certificates are made here with openssl; a TLS terminator that
 * demands a client certificate signed by that CA stands in front of the test's Temporal server,
 * as a load balancer or Temporal's own TLS would. Both connection kinds (the client's Connection,
 * the worker's NativeConnection) get through with the right files; a missing client certificate,
 * one from another CA, and a server the CA did not sign are each refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { TemporalConfigError, temporalConnectionConfig } from '../../temporal.config';
import { temporalConnectionOptions } from '../../temporalClient/connectionOptions';
import { requireEnv } from '../support/env';

const run = promisify(execFile);
const SERVER_NAME = 'temporal.proctor.test';
let dir: string;
let terminator: tls.Server;
let port: number;

async function openssl(...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** A CA (key and certificate) named `name`. */
async function makeCa(name: string): Promise<void> {
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=Proctor test ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
}

/** A leaf certificate for `cn`, signed by the CA `ca`, for server or client use. */
async function makeLeaf(name: string, ca: string, cn: string, use: 'serverAuth' | 'clientAuth'): Promise<void> {
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  );
  await writeFile(
    path.join(dir, `${name}.ext`),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${use}`,
      ...(use === 'serverAuth' ? [`subjectAltName=DNS:${cn}`] : []),
    ].join('\n'),
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  );
}

const file = (name: string) => path.join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'proctor-tls-'));
  await makeCa('ca');
  await makeCa('rogue');
  await makeLeaf('server', 'ca', SERVER_NAME, 'serverAuth');
  await makeLeaf('client', 'ca', 'proctor-worker', 'clientAuth');
  await makeLeaf('stranger', 'rogue', 'proctor-worker', 'clientAuth');

  // The TLS terminator: TLS (HTTP/2 by ALPN, as gRPC needs) outside, the test's Temporal inside.
  const [host, temporalPort] = requireEnv('TEMPORAL_ADDRESS').split(':') as [string, string];
  terminator = tls.createServer(
    {
      key: await readFile(file('server.key')),
      cert: await readFile(file('server.crt')),
      ca: [await readFile(file('ca.crt'))],
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (outside) => {
      const inside = net.connect(Number(temporalPort), host);
      outside.pipe(inside).pipe(outside);
      const close = () => {
        outside.destroy();
        inside.destroy();
      };
      outside.on('error', close);
      inside.on('error', close);
    },
  );
  terminator.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
  port = (terminator.address() as net.AddressInfo).port;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => terminator?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function optionsFor(env: Record<string, string>) {
  return {
    ...temporalConnectionOptions(
      temporalConnectionConfig({
        TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
        TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
        ...env,
      }),
    ),
    connectTimeout: '5 seconds',
  };
}

const MUTUAL = () => ({
  TEMPORAL_TLS_CA: file('ca.crt'),
  TEMPORAL_TLS_CERT: file('client.crt'),
  TEMPORAL_TLS_KEY: file('client.key'),
});

describe('a Temporal frontend behind mutual TLS', () => {
  it('answers the client connection and the worker connection that bring the CA and a client certificate', async () => {
    const client = await Connection.connect(optionsFor(MUTUAL()));
    try {
      const info = await client.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBeTruthy();
    } finally {
      await client.close();
    }
    const worker = await NativeConnection.connect(optionsFor(MUTUAL()));
    await worker.close();
  });

  it('refuses a connection without a client certificate, with one of another CA, and a server the CA did not sign', async () => {
    await expect(Connection.connect(optionsFor({ TEMPORAL_TLS_CA: file('ca.crt') }))).rejects.toThrow();
    await expect(
      Connection.connect(
        optionsFor({
          TEMPORAL_TLS_CA: file('ca.crt'),
          TEMPORAL_TLS_CERT: file('stranger.crt'),
          TEMPORAL_TLS_KEY: file('stranger.key'),
        }),
      ),
    ).rejects.toThrow();
    // Trusting only the rogue CA, the client refuses the real server's certificate.
    await expect(Connection.connect(optionsFor({ ...MUTUAL(), TEMPORAL_TLS_CA: file('rogue.crt') }))).rejects.toThrow();
  });
});

describe('temporalConnectionConfig', () => {
  it('turns TLS on for any TLS setting or an API key, and leaves it off otherwise', () => {
    expect(temporalConnectionConfig({})).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      tls: null,
      apiKey: null,
    });
    expect(temporalConnectionConfig({ TEMPORAL_TLS: 'true' }).tls).toEqual({});
    expect(temporalConnectionConfig({ TEMPORAL_API_KEY: 'k' })).toMatchObject({ tls: {}, apiKey: 'k' });
    expect(temporalConnectionConfig({ TEMPORAL_TLS_CA: '/ca.pem' }).tls).toEqual({ caPath: '/ca.pem' });
    expect(temporalConnectionOptions(temporalConnectionConfig({ TEMPORAL_API_KEY: 'k' }))).toEqual({
      address: '127.0.0.1:7233',
      tls: true,
      apiKey: 'k',
    });
  });

  it('refuses half a client certificate, TLS off with an API key, and files it cannot read, naming them', () => {
    expect(() => temporalConnectionConfig({ TEMPORAL_TLS_CERT: '/c.pem' })).toThrow(TemporalConfigError);
    expect(() => temporalConnectionConfig({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })).toThrow(
      /API key needs TLS/,
    );
    expect(() => temporalConnectionConfig({ TEMPORAL_TLS: 'maybe' })).toThrow(/TEMPORAL_TLS must be true or false/);
    expect(() =>
      temporalConnectionOptions(temporalConnectionConfig({ TEMPORAL_TLS_CA: '/nonexistent/ca.pem' })),
    ).toThrow(/TEMPORAL_TLS_CA.*\/nonexistent\/ca\.pem/);
  });
});
