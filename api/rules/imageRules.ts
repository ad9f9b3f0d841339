/**
 * The rules an imported image is checked against before it is stored (seed: "Image Management"):
 * its name, its Docker tag, its pull reference, the domains it serves, and the review of its
 * Dockerfile. Each broken rule is a FieldError naming the field; the Dockerfile's hard rules (FROM
 * first, no ENV overriding what the container provides) are errors, the seed's advice (no wget/curl
 * downloads in RUN, a comment above every COPY/ADD) comes back as warnings for the reviewers.
 */
import type { FieldError } from '../../contracts/problem';
import { DEPLOYMENT_METHODS_BY_DOMAIN, DOMAINS, type Domain } from '../../contracts/domain';
import { IMAGE_NAME_PATTERN, IMAGE_NAME_RULE } from '../../contracts/image';

/** Domains whose evaluations run in a container, and so can use an image. */
export const CONTAINER_DOMAINS = DOMAINS.filter((d) => DEPLOYMENT_METHODS_BY_DOMAIN[d].includes('private'));

/** The default tag: the UTC time of the import, to the second (YYYYMMDDHHmmss). */
export function timestampTag(now: Date): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function nameErrors(name: string): FieldError[] {
  return IMAGE_NAME_PATTERN.test(name) ? [] : [{ field: 'name', message: IMAGE_NAME_RULE }];
}

const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function tagErrors(tag: string): FieldError[] {
  if (tag.toLowerCase() === 'latest') {
    return [
      {
        field: 'tag',
        message:
          'must not be latest (in any case): name a fixed version, so the image a run uses cannot change under it',
      },
    ];
  }
  if (!DOCKER_TAG.test(tag)) {
    return [
      {
        field: 'tag',
        message:
          'must be a Docker tag: 1–128 letters, digits, underscores, dots and hyphens, not starting with a dot or hyphen',
      },
    ];
  }
  return [];
}

export function domainErrors(domains: readonly string[] | undefined): FieldError[] {
  return (domains ?? []).flatMap((domain, index): FieldError[] =>
    CONTAINER_DOMAINS.includes(domain as Domain)
      ? []
      : [
          {
            field: `domains[${index}]`,
            message: `${domain} takes API deployments only; images serve private deployments (${CONTAINER_DOMAINS.join(', ')})`,
          },
        ],
  );
}

/*
 * A Docker image reference, as `docker pull` takes it: [host[:port]/]path[:tag][@sha256:digest].
 * The host is a DNS name or IPv4 address (or a bracketed IPv6 one); path components are lowercase
 * alphanumerics joined by '.', '_', '__' or dashes.
 */
const HOST_PART =
  '(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?';
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
  const say = (list: FieldError[], line: number, message: string) =>
    list.push({ field: 'dockerfile', message: `line ${line}: ${message}` });

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
          say(
            errors,
            instruction.line,
            `ENV must not set ${name}: ${reserved.endsWith('_') ? `${reserved}* variables are` : `${reserved} is`} provided by the container and must not be modified`,
          );
        }
      }
    }
    if (instruction.keyword === 'RUN') {
      const tools = downloadCommands(instruction.args);
      if (tools.length > 0) {
        say(
          warnings,
          instruction.line,
          `RUN uses ${tools.join(' and ')}; downloading unknown packages in RUN is not allowed — install official packages with the system's package manager`,
        );
      }
    }
    if ((instruction.keyword === 'COPY' || instruction.keyword === 'ADD') && !instruction.commented) {
      say(
        warnings,
        instruction.line,
        `${instruction.keyword} without a comment above it; explain what it adds to the image`,
      );
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
    if (directive[1]!.toLowerCase() === 'escape' && (directive[2] === '`' || directive[2] === '\\'))
      escape = directive[2];
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
    const words = command
      .trim()
      .split(/\s+/)
      .filter((w) => w !== 'sudo' && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
    // The exec form, RUN ["curl", …], names the program as the first JSON string.
    const program = words[0]
      ?.replace(/^\[?"|",?$/g, '')
      .split('/')
      .at(-1);
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
