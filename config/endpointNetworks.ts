/**
 * The networks Proctor will not call on a user's behalf. An evaluation's endpoint and a judge a user
 * names are URLs the user typed; the worker POSTs there and shows the answer, or the start of the
 * error body, in the user's results. Without a policy that is a server-side request forgery with a
 * readable echo (docs/threat-model.md). `PROCTOR_ENDPOINT_DENY_NETWORKS` lists what is refused:
 * named groups and CIDRs, comma-separated. The default refuses only what no model is ever served
 * from (link-local, which holds the cloud metadata services; the unspecified and multicast ranges):
 * loopback and private networks stay open because one-machine installations and research clusters
 * serve models there. A platform open to strangers adds `loopback,private`.
 *
 * Addresses are checked after the name is resolved, at connect time (activities/inference/
 * guardedLookup.ts), so a name that resolves to a refused address is refused too.
 */
import net from 'node:net';

/** The groups a list may name, each a set of CIDRs. */
export const NETWORK_GROUPS: Record<string, readonly string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'],
  'link-local': ['169.254.0.0/16', 'fe80::/10'],
  unspecified: ['0.0.0.0/8', '::/128'],
  multicast: ['224.0.0.0/4', '255.255.255.255/32', 'ff00::/8'],
};

export const DEFAULT_DENIED_NETWORKS = 'link-local,unspecified,multicast';

export class NetworkListError extends Error {
  override name = 'NetworkListError';
}

export interface EndpointNetworkPolicy {
  /** The list as configured, for messages: "link-local, 203.0.113.0/24". */
  readonly description: string;
  /** The entry that refuses this address (an IPv4 or IPv6 literal), or null when it may be called. */
  refusing(address: string): string | null;
  /**
   * For a URL's host: the address and the entry refusing it when the host is an address literal in a
   * refused network; null otherwise (a name is checked where it is resolved, guardedLookup.ts).
   */
  refusingHost(hostname: string): { address: string; network: string } | null;
}

/** Parses a deny list; throws NetworkListError naming the first entry it cannot read. */
export function parseDeniedNetworks(raw: string | undefined): EndpointNetworkPolicy {
  const text =
    raw === undefined || raw.trim() === '' ? DEFAULT_DENIED_NETWORKS : raw.trim().toLowerCase() === 'none' ? '' : raw;
  const entries: { name: string; list: net.BlockList }[] = [];
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const list = new net.BlockList();
    const cidrs = NETWORK_GROUPS[entry.toLowerCase()] ?? [entry];
    for (const cidr of cidrs) addCidr(list, cidr, entry);
    entries.push({ name: entry, list });
  }
  const refusing = (address: string): string | null => {
    const family = net.isIP(address);
    if (family === 0) return null;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    return entries.find((e) => e.list.check(address, type))?.name ?? null;
  };
  return {
    description: entries.length === 0 ? 'none' : entries.map((e) => e.name).join(', '),
    refusing,
    refusingHost(hostname: string) {
      const address = literalAddress(hostname);
      const network = address ? refusing(address) : null;
      return address && network ? { address, network } : null;
    },
  };
}

function addCidr(list: net.BlockList, cidr: string, entry: string): void {
  const [address = '', prefixText, ...rest] = cidr.split('/');
  const family = net.isIP(address);
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (
    family === 0 ||
    rest.length > 0 ||
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > max ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  ) {
    throw new NetworkListError(
      `${JSON.stringify(entry)} is neither a network group (${Object.keys(NETWORK_GROUPS).join(', ')}) nor an address or CIDR such as 203.0.113.0/24 or 2001:db8::/32`,
    );
  }
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
}

/** The host of a URL as an address literal (brackets of IPv6 removed), or null when it is a name. */
export function literalAddress(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return net.isIP(bare) === 0 ? null : bare;
}
