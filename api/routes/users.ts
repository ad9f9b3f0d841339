/** Users and their keys: an admin creates a user and hands over the key; anyone reads who they are. */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../apiDeps';
import { CreateUserBody, CreatedUser, MeView, type CreateUserBody as CreateUserFields } from '../../contracts/user';
import { createUserWithKey, EmailTaken, getUserView } from '../../db/queries/users';
import { quotaUse, utcMonth } from '../../db/queries/quota';
import { generateApiKey } from '../../stack/bootstrap';
import { conflict, unauthorized } from '../http/problems';
import { problems } from '../http/openapi';

export async function usersRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const now = () => (deps.now ?? (() => new Date()))();

  app.post<{ Body: CreateUserFields }>(
    '/users',
    {
      schema: {
        summary: 'Create a user and their API key',
        description:
          'The key is returned once, in this response; only its hash is stored. E-mail addresses are unique regardless of case.',
        tags: ['users'],
        body: CreateUserBody,
        response: { 201: CreatedUser, ...problems(400, 403, 409) },
      },
      config: { roles: ['admin'] },
    },
    async (request, reply) => {
      const body = request.body;
      const apiKey = generateApiKey();
      try {
        const { id } = await createUserWithKey(
          deps.db,
          { name: body.name, organization: body.organization ?? '', email: body.email, role: body.role ?? 'user' },
          apiKey,
        );
        request.log.info({ userId: id, role: body.role ?? 'user', by: request.caller.userId }, 'user created');
        return reply.code(201).header('cache-control', 'no-store').send({ id, apiKey });
      } catch (error) {
        if (error instanceof EmailTaken)
          throw conflict(`e-mail ${error.email} is already taken by another user`, 'email');
        throw error;
      }
    },
  );

  app.get(
    '/me',
    {
      schema: {
        summary: "The caller, with this month's quota use",
        description: 'Quotas count launches per UTC calendar month.',
        tags: ['users'],
        response: { 200: MeView },
      },
    },
    async (request) => {
      const user = await getUserView(deps.db, request.caller.userId);
      if (!user) throw unauthorized('the user of this API key no longer exists');
      const quota = await quotaUse(deps.db, user.id, utcMonth(now()), deps.env.quota);
      return { ...user, quota };
    },
  );
}
