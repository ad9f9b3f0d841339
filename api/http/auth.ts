/**
 * Who may call what. Every request names its caller with `Authorization: Bearer <api key>`; the key
 * is looked up by its hash. Routes declare their audience in `config`: `{ public: true }` needs no
 * key, `{ roles: [...] }` admits only those roles. Both checks run before the body is read, so a
 * refused request costs no upload.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../apiDeps';
import type { Caller } from '../../contracts/caller';
import { ROLES, type Role } from '../../contracts/user';
import { findCallerByKey } from '../../db/queries/users';
import { forbidden, unauthorized } from './problems';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on every authenticated route; public routes have none. */
    caller: Caller;
  }
  interface FastifyContextConfig {
    public?: boolean;
    /** Roles admitted (see contracts/user.ts ROLES); checked when the route is added. */
    roles?: readonly string[];
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export function registerAuth(app: FastifyInstance, deps: ApiDeps): void {
  app.decorateRequest('caller', null as unknown as Caller);
  app.addHook('onRoute', (route) => {
    const unknown = (route.config?.roles ?? []).filter((role) => !(ROLES as readonly string[]).includes(role));
    if (unknown.length > 0)
      throw new Error(`${route.method} ${route.url}: unknown role(s) ${unknown.join(', ')} in config.roles`);
  });
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    // Unknown routes answer 404 whoever asks.
    if (request.is404 || config.public) return;
    const header = request.headers.authorization;
    if (!header) {
      reply.header('www-authenticate', 'Bearer');
      throw unauthorized('send your API key as "Authorization: Bearer <key>"');
    }
    const key = BEARER.exec(header)?.[1];
    const caller = key ? await findCallerByKey(deps.db, key) : null;
    if (!caller) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      throw unauthorized('the API key is not valid (unknown, revoked or malformed)');
    }
    request.caller = caller;
    if (config.roles) requireRole(request, ...(config.roles as Role[]));
  });
}

/** Refuses (403) a caller whose role is not among `roles`. */
export function requireRole(request: FastifyRequest, ...roles: Role[]): void {
  if (!roles.includes(request.caller.role)) {
    throw forbidden(`this needs the role ${roles.join(' or ')}; your role is ${request.caller.role}`);
  }
}
