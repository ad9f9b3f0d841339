/**
 * Image management (seed: "Image Management"): everyone sees the preloaded images and their own
 * imports (admins see all); users import an image by its pull URL with a Dockerfile for the
 * reviewers; an admin approves or rejects it, and only approved images can serve a private run.
 *
 * The platform builds nothing from the Dockerfile: it is read for review. Its hard rules (FROM
 * first, no ENV overriding what the container provides) refuse the import; the seed's advice
 * (no wget/curl downloads in RUN, a comment above every COPY/ADD) comes back as warnings that the
 * reviewers see too.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiDeps } from '../apiDeps';
import type { FieldError } from '../../contracts/problem';
import { DEPLOYMENT_METHODS_BY_DOMAIN, DOMAINS, Domain } from '../../contracts/domain';
import {
  IMAGE_NAME_PATTERN, IMAGE_NAME_RULE, IMAGE_STATUSES, ImportImageBody, RejectImageBody, type ImageView,
  type ImportImageBody as ImportFields, type RejectImageBody as RejectFields,
} from '../../contracts/image';
import { FieldError as FieldErrorSchema } from '../../contracts/problem';
import {
  ImageNameTaken, getVisibleImage, insertImportedImage, listVisibleImages, reviewImage, toImageView, type ImageRow, type ReviewDecision,
} from '../../db/queries/images';
import { HttpProblem, conflict, notFound, statusTitle, validationProblem } from '../problems';
import { problems } from '../openapi';

export const ImageViewSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  tag: Type.String(),
  source: Type.Union([Type.Literal('platform'), Type.Literal('user')], { description: 'platform: preloaded; user: imported by its owner' }),
  status: Type.Union(IMAGE_STATUSES.map((s) => Type.Literal(s)), { description: 'only approved images can be used by evaluations' }),
  url: Type.String({ description: 'where the image is pulled from (user images) or how the platform builds it (preloaded ones)' }),
  description: Type.String(),
  domains: Type.Array(Type.String(), { description: 'the evaluation domains the image serves' }),
  framework: Type.String(),
  hardware: Type.String(),
  ownerId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'null for preloaded images' }),
  rejectReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  reviewedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const viewInStep: Same<Static<typeof ImageViewSchema>, ImageView> = true;
void viewInStep;

const Warnings = Type.Array(FieldErrorSchema, {
  description: 'advice of the image rules that does not refuse the import but that reviewers check (see the seed’s Dockerfile guidelines)',
});
const ImportedImageSchema = Type.Intersect([ImageViewSchema, Type.Object({ warnings: Warnings })]);
const ImageDetailSchema = Type.Intersect([
  ImageViewSchema,
  Type.Object({ dockerfile: Type.String({ description: 'as submitted, for review; empty for preloaded images' }), warnings: Warnings }),
]);
const ImageList = Type.Object({ items: Type.Array(ImageViewSchema) });

const ImageParams = Type.Object({ id: Type.String({ description: 'the image id' }) });
const ImageQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(IMAGE_STATUSES.map((s) => Type.Literal(s)), { description: `one of ${IMAGE_STATUSES.join(', ')}` })),
    source: Type.Optional(Type.Union([Type.Literal('platform'), Type.Literal('user')], { description: 'one of platform, user' })),
    domain: Type.Optional(Domain),
  },
  { additionalProperties: false },
);

/** Domains whose evaluations run in a container, and so can use an image. */
const CONTAINER_DOMAINS = DOMAINS.filter((d) => DEPLOYMENT_METHODS_BY_DOMAIN[d].includes('private'));

export async function imagesRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get<{ Querystring: Static<typeof ImageQuery> }>(
    '/images',
    {
      schema: {
        summary: 'Preloaded images and the caller’s imports',
        description:
          'Preloaded images first, then imported ones newest first. Users see their own imports, admins everyone’s. ' +
          'Filter by status, source or the domain an image serves.',
        tags: ['images'],
        querystring: ImageQuery,
        response: { 200: ImageList, ...problems(400) },
      },
    },
    async (request) => {
      const rows = await listVisibleImages(deps.db, viewerOf(request.caller), request.query);
      return { items: rows.map(toImageView) };
    },
  );

  app.get<{ Params: Static<typeof ImageParams> }>(
    '/images/:id',
    {
      schema: {
        summary: 'One image, with its Dockerfile and the review warnings',
        tags: ['images'],
        params: ImageParams,
        response: { 200: ImageDetailSchema, ...problems(404) },
      },
    },
    async (request) => {
      const row = await getVisibleImage(deps.db, viewerOf(request.caller), request.params.id);
      if (!row) throw notFound('image');
      return { ...toImageView(row), dockerfile: row.dockerfile, warnings: row.source === 'user' ? reviewDockerfile(row.dockerfile).warnings : [] };
    },
  );

  app.post<{ Body: ImportFields }>(
    '/images',
    {
      schema: {
        summary: 'Import an image for review',
        description:
          `Name: ${IMAGE_NAME_RULE}. Tag: a Docker tag, not "latest" (any case); a UTC timestamp YYYYMMDDHHmmss when left out. ` +
          'Name and tag together are unique (409 otherwise). url: a Docker image reference that `docker pull` accepts ' +
          '(registry host[:port]/path[:tag][@sha256:digest], no scheme). dockerfile: for the reviewers; its first instruction must be ' +
          'FROM and ENV must not set variables the container provides (NVIDIA_*, HOSTNAME, KUBERNETES_*, RANK, MASTER_*, AIRS_*, ' +
          'CUDA_*, NCCL_*, PADDLE_*). domains: the domains the image serves (default: every domain that takes private deployment). ' +
          'The image is pending until an admin reviews it; warnings list the guideline points the reviewers will look at.',
        tags: ['images'],
        body: ImportImageBody,
        response: { 201: ImportedImageSchema, ...problems(400, 409, 413, 415) },
      },
      config: { roles: ['user', 'admin'] },
    },
    async (request, reply) => {
      const body = request.body;
      const tag = body.tag ?? timestampTag((deps.now ?? (() => new Date()))());
      const review = reviewDockerfile(body.dockerfile);
      const errors = [
        ...nameErrors(body.name),
        ...tagErrors(tag),
        ...referenceErrors('url', body.url),
        ...review.errors,
        ...domainErrors(body.domains),
      ];
      if (errors.length > 0) throw validationProblem(errors);

      let row: ImageRow;
      try {
        row = await insertImportedImage(deps.db, {
          name: body.name,
          tag,
          ownerId: request.caller.userId,
          url: body.url,
          dockerfile: body.dockerfile,
          description: body.description ?? '',
          domains: body.domains ?? [...CONTAINER_DOMAINS],
        });
      } catch (error) {
        if (error instanceof ImageNameTaken) {
          throw new HttpProblem(409, statusTitle(409), error.message, [
            { field: 'name', message: `with tag ${tag} is already taken` },
            { field: 'tag', message: `${tag} is already taken for ${body.name}` },
          ]);
        }
        throw error;
      }
      request.log.info({ imageId: row.id, name: row.name, tag: row.tag, ownerId: row.ownerId, warnings: review.warnings.length }, 'image imported');
      return reply.code(201).header('location', `/v1/images/${row.id}`).send({ ...toImageView(row), warnings: review.warnings });
    },
  );

  app.post<{ Params: Static<typeof ImageParams> }>(
    '/images/:id/approve',
    {
      schema: {
        summary: 'Approve a pending image',
        description: 'The image becomes usable by its owner’s evaluations. Only a pending image can be reviewed (409 otherwise).',
        tags: ['images'],
        params: ImageParams,
        response: { 200: ImageViewSchema, ...problems(404, 409) },
      },
      config: { roles: ['admin'] },
    },
    async (request) => review(deps, request.caller.userId, request.params.id, { status: 'approved' }, request.log),
  );

  app.post<{ Params: Static<typeof ImageParams>; Body: RejectFields }>(
    '/images/:id/reject',
    {
      schema: {
        summary: 'Reject a pending image, saying why',
        description: 'The reason is shown to the owner, who may fix the URL or Dockerfile and import again. Only a pending image can be reviewed.',
        tags: ['images'],
        params: ImageParams,
        body: RejectImageBody,
        response: { 200: ImageViewSchema, ...problems(404, 409) },
      },
      config: { roles: ['admin'] },
    },
    async (request) => review(deps, request.caller.userId, request.params.id, { status: 'rejected', reason: request.body.reason }, request.log),
  );
}

function viewerOf(caller: { userId: string; role: string }) {
  return { userId: caller.userId, isAdmin: caller.role === 'admin' };
}

async function review(
  deps: ApiDeps,
  reviewerId: string,
  imageId: string,
  decision: ReviewDecision,
  log: FastifyBaseLogger,
): Promise<ImageView> {
  const outcome = await reviewImage(deps.db, imageId, reviewerId, decision);
  if (!outcome.ok) {
    if (outcome.reason === 'missing') throw notFound('image');
    const { image } = outcome;
    const when = image.reviewedAt ? ` (reviewed at ${image.reviewedAt.toISOString()})` : image.source === 'platform' ? ' (preloaded by the platform)' : '';
    throw conflict(`the image is already ${image.status}${when}; only a pending image can be reviewed`, 'status');
  }
  log.info({ imageId, ownerId: outcome.image.ownerId, status: outcome.image.status, reviewerId }, 'image reviewed');
  return toImageView(outcome.image);
}

/** The default tag: the UTC time of the import, to the second (YYYYMMDDHHmmss). */
export function timestampTag(now: Date): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function nameErrors(name: string): FieldError[] {
  return IMAGE_NAME_PATTERN.test(name) ? [] : [{ field: 'name', message: IMAGE_NAME_RULE }];
}

const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function tagErrors(tag: string): FieldError[] {
  if (tag.toLowerCase() === 'latest') {
    return [{ field: 'tag', message: 'must not be latest (in any case): name a fixed version, so the image a run uses cannot change under it' }];
  }
  if (!DOCKER_TAG.test(tag)) {
    return [{ field: 'tag', message: 'must be a Docker tag: 1–128 letters, digits, underscores, dots and hyphens, not starting with a dot or hyphen' }];
  }
  return [];
}

function domainErrors(domains: readonly string[] | undefined): FieldError[] {
  return (domains ?? []).flatMap((domain, index): FieldError[] =>
    CONTAINER_DOMAINS.includes(domain as Domain)
      ? []
      : [{ field: `domains[${index}]`, message: `${domain} takes API deployments only; images serve private deployments (${CONTAINER_DOMAINS.join(', ')})` }],
  );
}

/*
 * A Docker image reference, as `docker pull` takes it: [host[:port]/]path[:tag][@sha256:digest].
 * The host is a DNS name or IPv4 address (or a bracketed IPv6 one); path components are lowercase
 * alphanumerics joined by '.', '_', '__' or dashes.
 */
const HOST_PART = '(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?';
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_REFERENCE = new RegExp(
  `^(?:${HOST_PART}/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`,
);
const REFERENCE_RULE =
  'must be a Docker image reference that docker pull accepts, e.g. nvcr.io/nvidia/pytorch:23.03-py3 ' +
  '(registry host[:port]/path[:tag][@sha256:digest]; the path in lowercase)';

export function referenceErrors(field: string, reference: string): FieldError[] {
  if (/\s/.test(reference)) return [{ field, message: `must not contain spaces or line breaks; ${REFERENCE_RULE}` }];
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(reference)) {
    return [{ field, message: `must not start with a scheme such as https://; ${REFERENCE_RULE}` }];
  }
  const match = IMAGE_REFERENCE.exec(reference);
  const nameLength = reference.split(/[@]/)[0]!.replace(/:[^:/]*$/, '').length;
  if (!match || nameLength > 255) return [{ field, message: REFERENCE_RULE }];
  return [];
}

/** Variables the container provides (seed: "must not be modified"): prefixes end in '_', the others are exact names. */
const RESERVED_ENV = ['NVIDIA_', 'HOSTNAME', 'KUBERNETES_', 'RANK', 'MASTER_', 'AIRS_', 'CUDA_', 'NCCL_', 'PADDLE_'];

function reservedEnv(name: string): string | undefined {
  return RESERVED_ENV.find((r) => (r.endsWith('_') ? name.startsWith(r) : name === r));
}

interface Instruction {
  line: number;
  keyword: string;
  args: string;
  /** Whether the nearest non-blank line above it is a comment. */
  commented: boolean;
}

export interface DockerfileReview {
  errors: FieldError[];
  warnings: FieldError[];
}

/** The seed's Dockerfile requirements (errors) and recommendations (warnings), each naming its line. */
export function reviewDockerfile(dockerfile: string): DockerfileReview {
  const { instructions, escape } = parseDockerfile(dockerfile);
  const errors: FieldError[] = [];
  const warnings: FieldError[] = [];
  const say = (list: FieldError[], line: number, message: string) => list.push({ field: 'dockerfile', message: `line ${line}: ${message}` });

  const first = instructions[0];
  if (!first) {
    errors.push({ field: 'dockerfile', message: 'has no instructions; it must start with FROM naming the base image' });
  } else if (first.keyword !== 'FROM') {
    say(errors, first.line, `the first instruction must be FROM naming the base image, found ${first.keyword}`);
  }
  for (const instruction of instructions) {
    if (instruction.keyword === 'ENV') {
      for (const name of envNames(instruction.args, escape)) {
        const reserved = reservedEnv(name);
        if (reserved) {
          say(errors, instruction.line, `ENV must not set ${name}: ${reserved.endsWith('_') ? `${reserved}* variables are` : `${reserved} is`} provided by the container and must not be modified`);
        }
      }
    }
    if (instruction.keyword === 'RUN') {
      const tools = downloadCommands(instruction.args);
      if (tools.length > 0) {
        say(warnings, instruction.line, `RUN uses ${tools.join(' and ')}; downloading unknown packages in RUN is not allowed — install official packages with the system's package manager`);
      }
    }
    if ((instruction.keyword === 'COPY' || instruction.keyword === 'ADD') && !instruction.commented) {
      say(warnings, instruction.line, `${instruction.keyword} without a comment above it; explain what it adds to the image`);
    }
  }
  return { errors, warnings };
}

/**
 * Instructions with the line they start on. Parser directives (`# escape=`…) count only at the top,
 * before any comment, blank line or instruction; comment lines inside a continued instruction are
 * dropped, as Docker does.
 */
function parseDockerfile(text: string): { instructions: Instruction[]; escape: string } {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  let at = 0;
  for (; at < lines.length; at++) {
    const directive = /^\s*#\s*([A-Za-z]+)\s*=\s*(\S*)\s*$/.exec(lines[at]!);
    if (!directive) break;
    if (directive[1]!.toLowerCase() === 'escape' && (directive[2] === '`' || directive[2] === '\\')) escape = directive[2];
  }
  const instructions: Instruction[] = [];
  let commented = false;
  while (at < lines.length) {
    const raw = lines[at]!;
    const trimmed = raw.trim();
    if (trimmed === '') {
      at++;
      continue;
    }
    if (trimmed.startsWith('#')) {
      commented = true;
      at++;
      continue;
    }
    const start = at;
    let body = trimmed;
    while (body.endsWith(escape) && at + 1 < lines.length) {
      body = body.slice(0, -1);
      at++;
      while (at < lines.length && /^\s*#/.test(lines[at]!)) at++;
      if (at < lines.length) body += ` ${lines[at]!.trim()}`;
    }
    at++;
    const [, keyword = '', args = ''] = /^(\S+)\s*([\s\S]*)$/.exec(body) ?? [];
    instructions.push({ line: start + 1, keyword: keyword.toUpperCase(), args, commented });
    commented = false;
  }
  return { instructions, escape };
}

/**
 * wget or curl run as a command (first word of a command in the shell line, possibly after sudo or
 * variable assignments), as opposed to merely named, e.g. as a package to install.
 */
function downloadCommands(shell: string): string[] {
  const found = new Set<string>();
  for (const command of shell.split(/&&|\|\||;|\||\$\(|`|\(|\)/)) {
    const words = command.trim().split(/\s+/).filter((w) => w !== 'sudo' && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
    // The exec form, RUN ["curl", …], names the program as the first JSON string.
    const program = words[0]?.replace(/^\[?"|",?$/g, '').split('/').at(-1);
    if (program === 'curl' || program === 'wget') found.add(program);
  }
  return [...found];
}

/** The variable names an ENV sets: `ENV A=1 B="x y"`, or the legacy `ENV A value`. */
function envNames(args: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const c = args[i]!;
    if (c === escape && i + 1 < args.length) {
      word += args[++i];
    } else if (quote) {
      if (c === quote) quote = null;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (/\s/.test(c)) {
      if (word) words.push(word);
      word = '';
    } else {
      word += c;
    }
  }
  if (word) words.push(word);
  if (words.length === 0) return [];
  if (!words[0]!.includes('=')) return [words[0]!];
  return words.map((w) => w.split('=')[0]!).filter(Boolean);
}
