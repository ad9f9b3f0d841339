/**
 * The leaderboards: a run's owner submits a formal run that succeeded, named or anonymous, once and
 * within its window (the submission is an update to the run's publication workflow, see
 * workflows/leaderboardWindow.ts); anyone reads a domain's board, without a key.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import { DOMAINS, type Domain } from '../../contracts/domain';
import {
  ANONYMOUS,
  LeaderboardSubmissionView,
  LeaderboardSuiteView,
  LeaderboardView,
  SetLeaderboardSuiteBody,
  SubmitToLeaderboardBody,
} from '../../contracts/leaderboard';
import { HttpProblem, conflict, forbidden, statusTitle } from '../http/problems';
import { problems } from '../http/openapi';
import { visibleRun } from '../rules/visibleRun';
import {
  admissibleDatasets,
  currentSuite,
  customDatasetsOf,
  getPublication,
  listSuites,
  loadLeaderboard,
  runDatasetResults,
  setSuite,
  toSuiteView,
  uncovered,
  type PublicationRow,
} from '../../db/queries/leaderboard';
import { getUserView } from '../../db/queries/users';
import { submitToLeaderboard } from '../gateways/temporalGateway';

const RunParams = Type.Object({ runId: Type.String({ description: 'the run id' }) });
const DomainParams = Type.Object({ domain: Type.String({ description: `the domain: one of ${DOMAINS.join(', ')}` }) });

/** Resolves a path's domain, or answers 404 naming the domains there are. */
export function boardDomain(raw: string): Domain {
  if ((DOMAINS as readonly string[]).includes(raw)) return raw as Domain;
  throw new HttpProblem(
    404,
    statusTitle(404),
    `there is no leaderboard for ${JSON.stringify(raw)}; the domains are ${DOMAINS.join(', ')}`,
  );
}

export async function leaderboardRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post(
    '/runs/:runId/leaderboard',
    {
      schema: {
        summary: "Submit a formal run to its domain's leaderboard, named or anonymous",
        description:
          'Only the run’s owner, once, for a formal run that succeeded on built-in datasets, within the submission window ' +
          '(PROCTOR_LEADERBOARD_WINDOW_DAYS after the run ended, 30 days by default). Only submitted runs appear on the board.',
        tags: ['leaderboard'],
        params: RunParams,
        body: SubmitToLeaderboardBody,
        response: { 201: LeaderboardSubmissionView, ...problems(403, 404, 409, 503) },
      },
      config: { roles: ['user', 'admin'] },
    },
    async (request, reply) => {
      const { run, evaluationDeletedAt } = await visibleRun(deps.db, request.caller, request.params.runId);
      if (run.ownerId !== request.caller.userId)
        throw forbidden('only the run’s owner may submit it to the leaderboard');
      const v = `run v${run.version}`;
      if (run.type !== 'formal')
        throw conflict(`${v} is a verification; only formal runs can be submitted to the leaderboard`, 'type');
      if (run.status !== 'succeeded')
        throw conflict(
          `${v} is ${run.status}; only a formal run that succeeded can be submitted to the leaderboard`,
          'status',
        );
      if (run.config.inferenceOnly)
        throw conflict(
          `${v} is inference-only: its answers were stored, not scored, so it has no score to rank; export them with GET /v1/runs/${run.id}/predictions and score them in an evaluation-only evaluation`,
          'mode',
        );
      if (evaluationDeletedAt)
        throw conflict(
          `${v} belongs to an evaluation deleted at ${evaluationDeletedAt.toISOString()}; a deleted evaluation's runs keep their entries but take no new ones`,
          'evaluation',
        );
      const limit = run.config.limit;
      if (limit)
        throw conflict(
          `${v} is partial: it was launched with a limit of ${limit.count} item(s) per dataset (${limit.sample}); a leaderboard ranks runs over whole datasets`,
          'limit',
        );
      const image = run.config.scoring?.customImage;
      if (image)
        throw conflict(
          `${v} was scored by the custom evaluation image ${image.imageName}, whose metrics are its own; a leaderboard ranks runs the platform scored`,
          'scoring',
        );
      const custom = await customDatasetsOf(deps.db, run.id);
      if (custom.length > 0) {
        throw conflict(
          `a leaderboard compares runs on the platform's built-in datasets; ${v} includes custom dataset(s) ${custom.join(', ')}`,
          'datasets',
        );
      }
      const refusal = refusalOf(v, await getPublication(deps.db, run.id));
      if (refusal) throw refusal;
      // What the board ranks on, checked last: a window that closed or a second submission says so first.
      const suite = await currentSuite(deps.db, run.config.domain);
      const missing = uncovered(suite.datasets, run.config, await runDatasetResults(deps.db, run.id));
      if (missing.length > 0) {
        throw conflict(
          `the ${run.config.domain} leaderboard ranks runs that finished every dataset of its suite "${suite.name}" (v${suite.version}); ${v} lacks ${missing.join(', ')}`,
          'datasets',
        );
      }

      let sent: Awaited<ReturnType<typeof submitToLeaderboard>>;
      try {
        sent = await submitToLeaderboard(deps.temporal, run.id, {
          mode: request.body.mode,
          submittedBy: request.caller.userId,
        });
      } catch (error) {
        deps.logger.error({ runId: run.id, err: error }, 'leaderboard submission could not be delivered');
        throw new HttpProblem(
          503,
          statusTitle(503),
          'the workflow service could not be reached to deliver the submission; nothing was submitted, ask again shortly',
        );
      }
      const publication = await getPublication(deps.db, run.id);
      if (!sent.ok) {
        // The workflow refused (or has ended): the record says why in the owner's terms.
        throw refusalOf(v, publication) ?? conflict(`${v} cannot be submitted now: ${sent.message}`, 'runId');
      }
      const owner = await getUserView(deps.db, run.ownerId);
      const named = sent.entry.mode === 'named';
      deps.logger.info({ runId: run.id, mode: sent.entry.mode }, 'run submitted to the leaderboard');
      return reply.code(201).send({
        runId: run.id,
        domain: publication?.domain ?? run.config.domain,
        mode: sent.entry.mode,
        submitter: named ? (owner?.name ?? '') : ANONYMOUS,
        organization: named ? (owner?.organization ?? '') : ANONYMOUS,
        submittedAt: sent.entry.submittedAt,
        leaderboard: `/v1/leaderboards/${publication?.domain ?? run.config.domain}`,
      });
    },
  );

  r.get(
    '/leaderboards/:domain',
    {
      schema: {
        summary: "A domain's leaderboard: the submitted runs, best first, with their task and dataset scores",
        description:
          'Public. Scores are those of the run’s own view (GET /v1/runs/{runId}): a task’s score is the mean of its datasets, ' +
          'the overall score the mean of the tasks, with 95% intervals where they are known. The same board as a page: /leaderboard/{domain}.',
        tags: ['leaderboard'],
        params: DomainParams,
        response: { 200: LeaderboardView, ...problems(404) },
      },
      config: { public: true },
    },
    async (request) => loadLeaderboard(deps.db, boardDomain(request.params.domain)),
  );

  r.get(
    '/leaderboards/:domain/suites',
    {
      schema: {
        summary: "A board's suites: the datasets ranked runs must have finished, newest version first",
        description:
          'Public. Version 1 is the platform’s default: every admissible built-in dataset of the domain (built-in, scored by the ' +
          'platform, not subjective). Admins set later versions; submissions stay under the version they were made under.',
        tags: ['leaderboard'],
        params: DomainParams,
        response: { 200: Type.Array(LeaderboardSuiteView), ...problems(404) },
      },
      config: { public: true },
    },
    async (request) => (await listSuites(deps.db, boardDomain(request.params.domain))).map(toSuiteView),
  );

  r.put(
    '/leaderboards/:domain/suite',
    {
      schema: {
        summary: "Set a board's suite (admins)",
        description:
          'A new version when the list (or a listed dataset’s content) differs from the current suite (201); the current suite ' +
          'when it is the same (200). Runs submitted under earlier versions stay under them, ranked on their own suite.',
        tags: ['leaderboard'],
        params: DomainParams,
        body: SetLeaderboardSuiteBody,
        response: { 200: LeaderboardSuiteView, 201: LeaderboardSuiteView, ...problems(400, 403, 404) },
      },
      config: { roles: ['admin'] },
    },
    async (request, reply) => {
      const domain = boardDomain(request.params.domain);
      const admissible = new Map((await admissibleDatasets(deps.db, domain)).map((d) => [d.id, d]));
      const chosen = request.body.datasets.map((id, i) => {
        const found = admissible.get(id);
        if (!found) {
          throw new HttpProblem(
            400,
            statusTitle(400),
            `${JSON.stringify(id)} is not an admissible built-in dataset of ${domain}; the admissible ones are ${[...admissible.keys()].join(', ') || 'none yet'}`,
            [{ field: `datasets[${i}]`, message: `must be an admissible built-in dataset of ${domain}` }],
          );
        }
        return found;
      });
      // Stored in the order boards show columns, so the same set in another order is the same suite.
      chosen.sort((a, b) => (a.task === b.task ? (a.id < b.id ? -1 : 1) : a.task < b.task ? -1 : 1));
      const { row, created } = await setSuite(
        deps.db,
        domain,
        { name: request.body.name, datasets: chosen },
        request.caller.userId,
      );
      if (created) deps.logger.info({ domain, version: row.version, datasets: chosen.length }, 'leaderboard suite set');
      return reply.code(created ? 201 : 200).send(toSuiteView(row));
    },
  );
}

/** Why the record says the run cannot be submitted now; null while its window is open. */
function refusalOf(v: string, publication: PublicationRow | null): HttpProblem | null {
  if (!publication) {
    return conflict(
      `${v} has no leaderboard submission window: it opens as the run's workflow finishes (ask again in a moment); runs that ended before leaderboards existed have none`,
      'runId',
    );
  }
  if (publication.status === 'submitted') {
    return conflict(
      `${v} was already submitted (${publication.mode}) at ${publication.submittedAt?.toISOString()}; a run is submitted once`,
      'runId',
    );
  }
  if (publication.status === 'closed') {
    return conflict(
      `the submission window of ${v} closed at ${publication.closesAt.toISOString()}: a run may be submitted within ${duration(publication)} after it succeeded (PROCTOR_LEADERBOARD_WINDOW_DAYS)`,
      'runId',
    );
  }
  return null;
}

function duration(p: PublicationRow): string {
  const ms = p.closesAt.getTime() - p.opensAt.getTime();
  const days = ms / 86_400_000;
  if (days >= 1) return `${Number(days.toFixed(2))} day(s)`;
  const seconds = Math.round(ms / 1000);
  return seconds >= 3600 ? `${Number((seconds / 3600).toFixed(2))} hour(s)` : `${seconds} second(s)`;
}
