/**
 * The routes a built app actually serves, read from fastify's route tree, so a test that must cover
 * every route learns of a new one from the server itself rather than from a list kept by hand.
 * Paths are in OpenAPI's `{param}` form, as the document at /openapi.json spells them.
 */
import type { FastifyInstance } from 'fastify';

export interface ServedRoute {
  method: string;
  /** e.g. /v1/evaluations/{id}/runs */
  path: string;
}

/** `METHOD /path`, the key route tables use. */
export function routeKey(route: ServedRoute): string {
  return `${route.method} ${route.path}`;
}

/**
 * Every method and path in the tree `printRoutes({ commonPrefix: false })` draws. A node's label
 * continues its parent's (fastify splits `/upload-token` and `/upload-tokens` into `/upload-token`
 * and `s`), so a path is the concatenation of the labels down to it.
 */
export function servedRoutes(app: FastifyInstance): ServedRoute[] {
  const routes: ServedRoute[] = [];
  const labels: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    // A node without methods is a shared stretch of path that no route ends at.
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) {
      if (line.trim() !== '') throw new Error(`cannot read this line of fastify's route tree: ${JSON.stringify(line)}`);
      continue;
    }
    const depth = match[1]!.length / 4;
    labels.length = depth;
    labels.push(match[2]!);
    const path = labels.join('').replace(/:(\w+)/g, '{$1}');
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, path });
  }
  return routes;
}

/** Every operation of an OpenAPI document. */
export function documentedRoutes(doc: { paths: Record<string, Record<string, unknown>> }): ServedRoute[] {
  return Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path })),
  );
}

/** The path with its `{param}`s filled in (URL-encoded). */
export function fillPath(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${template}`);
    return encodeURIComponent(String(value));
  });
}
