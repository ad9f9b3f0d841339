/** The domain table (contracts/domainTable.ts): each domain's form and rules, for clients to build forms from. */
import type { FastifyInstance } from 'fastify';
import { DomainTable, domainTable } from '../../contracts/domainTable';

export async function domainsRoutes(app: FastifyInstance): Promise<void> {
  // The table never changes while the process runs.
  const table = domainTable();
  app.get(
    '/domains',
    {
      schema: {
        summary: "Each domain's form and rules",
        description:
          'For every domain: its deployment methods, what an API deployment requires, the model types, whether it has ' +
          'verification and robustness, the model-name rule (pattern and words), what a private deployment speaks and ' +
          'what its upload holds, and for CV and Audio the evaluation tasks with their adaptation methods (the default ' +
          'first) and metric. The API enforces exactly this table (docs/domains.md). Any signed-in role may read it.',
        tags: ['domains'],
        response: { 200: DomainTable },
      },
    },
    async () => table,
  );
}
