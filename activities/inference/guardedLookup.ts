/**
 * Name resolution for requests to user-named endpoints that refuses addresses in the networks the
 * platform will not call (config/endpointNetworks.ts). It runs when the socket connects, so the
 * address checked is the address used: a name that resolves to a public address when the
 * evaluation is saved and to 169.254.169.254 when the run starts is still refused. Of a name with
 * several addresses only the permitted ones are tried.
 */
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { EndpointNetworkPolicy } from '../../config/endpointNetworks';

/** A request that would have reached a refused network; the inference error kind `denied`. */
export class DeniedNetworkError extends Error {
  override name = 'DeniedNetworkError';

  constructor(
    readonly host: string,
    readonly address: string,
    readonly network: string,
  ) {
    super(
      `the endpoint ${host === address ? address : `${host} (${address})`} is in a network this platform does not call (${network}); ` +
        'serve the model at an address its workers may reach',
    );
  }
}

export function guardedLookup(policy: EndpointNetworkPolicy): LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error);
      const allowed = addresses.filter((a) => policy.refusing(a.address) === null);
      if (allowed.length === 0) {
        const first = addresses[0];
        return callback(
          first
            ? new DeniedNetworkError(hostname, first.address, policy.refusing(first.address)!)
            : Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }),
        );
      }
      if (options.all) return callback(null, allowed);
      return callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  }) as LookupFunction;
}
