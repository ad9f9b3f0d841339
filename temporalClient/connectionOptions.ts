/**
 * The Temporal connection as the API and the workers open it (temporal.config.ts reads the
 * settings; this file reads the certificate files, which workflow code must never import).
 */
import { readFileSync } from 'node:fs';
import { TemporalConfigError, type TemporalConnectionConfig } from '../temporal.config';

/**
 * The options both kinds of connection take (the client's Connection, the worker's
 * NativeConnection): the files read now, so a wrong path fails at start with its name.
 */
export function temporalConnectionOptions(config: TemporalConnectionConfig): {
  address: string;
  tls?:
    | boolean
    | {
        serverNameOverride?: string;
        serverRootCACertificate?: Buffer;
        clientCertPair?: { crt: Buffer; key: Buffer };
      };
  apiKey?: string;
} {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new TemporalConfigError(`cannot read the ${what} at ${path}: ${(error as Error).message}`);
    }
  };
  const tls = config.tls;
  return {
    address: config.address,
    ...(tls
      ? {
          tls:
            Object.keys(tls).length === 0
              ? true
              : {
                  ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
                  ...(tls.caPath
                    ? { serverRootCACertificate: read('CA certificate (TEMPORAL_TLS_CA)', tls.caPath) }
                    : {}),
                  ...(tls.certPath && tls.keyPath
                    ? {
                        clientCertPair: {
                          crt: read('client certificate (TEMPORAL_TLS_CERT)', tls.certPath),
                          key: read('client key (TEMPORAL_TLS_KEY)', tls.keyPath),
                        },
                      }
                    : {}),
                },
        }
      : {}),
    ...(config.apiKey ? { apiKey: config.apiKey } : {}),
  };
}
