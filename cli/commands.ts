/**
 * The commands of `proctor`, after flageval-serving's: upload a directory as a new version, cp a
 * local file or directory into the token's version (as a new version), ls the token's version.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { UploadEntry, UploadVersionView } from '../contracts/upload';
import { UsageError, type CliArgs } from './cliArgs';
import { describeEntries, describeVersion, progressLine } from './output';
import { packPlan, planDirectory } from './tarPacker';
import { requestJson } from './uploadClient';

export const USAGE = `proctor: upload model and code for a private deployment

  proctor upload --token=TOKEN DIR        upload the contents of DIR as a new version
                                          (TOKEN from [Upload Model & Code]; a token uploads once)
  proctor cp --token=TOKEN LOCAL REMOTE   copy LOCAL (a file or a directory) into REMOTE of the
                                          token's version, as a new version: REMOTE/<name of LOCAL>
                                          is created, or its files overwritten (like cp -r)
  proctor ls --token=TOKEN [REMOTE]       list REMOTE (default /) of the token's current version
  proctor help                            this text

Options:
  --token=TOKEN    the upload token (or PROCTOR_UPLOAD_TOKEN)
  --server=URL     the Proctor API (or PROCTOR_URL; default http://127.0.0.1:8080)

Only regular files, directories and relative symbolic links inside the directory are uploaded.
Exit codes: 0 done (the layout check's problems are printed, not an error), 1 refused or failed,
2 a mistake on the command line.`;

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export async function runCommand(args: CliArgs, io: Io): Promise<void> {
  switch (args.command) {
    case 'upload':
      return upload(args, io);
    case 'cp':
      return cp(args, io);
    case 'ls':
      return ls(args, io);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(args.command)}`);
  }
}

async function upload(args: CliArgs, io: Io): Promise<void> {
  const token = requireToken(args);
  const [dir, extra] = args.positional;
  if (!dir || extra !== undefined) throw new UsageError('upload takes one directory: proctor upload --token=TOKEN DIR');
  await requireKind(dir, 'dir');
  const plan = await planDirectory(path.resolve(dir), '');
  const view = await sendTar(args, io, `${args.server}/v1/upload`, 'PUT', token, plan);
  io.stdout.write(`${describeVersion(view)}\n`);
}

async function cp(args: CliArgs, io: Io): Promise<void> {
  const token = requireToken(args);
  const [local, remote, extra] = args.positional;
  if (!local || !remote || extra !== undefined)
    throw new UsageError('cp takes a local path and a remote directory: proctor cp --token=TOKEN LOCAL REMOTE');
  const kind = await requireKind(local, 'any');
  const name = path.basename(path.resolve(local));
  let view: UploadVersionView;
  if (kind === 'dir') {
    const plan = await planDirectory(path.resolve(local), name);
    view = await sendTar(args, io, `${args.server}/v1/upload/cp?to=${encodeURIComponent(remote)}`, 'POST', token, plan);
  } else {
    const info = await stat(local);
    const remoteFile = encodeURIComponent([...remote.split('/'), name].filter((p) => p !== '' && p !== '.').join('/'));
    const progress = progressLine(io.stderr, info.size);
    try {
      view = (await requestJson(
        `${args.server}/v1/upload/files?path=${remoteFile}${info.mode & 0o111 ? '&executable=true' : ''}`,
        {
          method: 'PUT',
          token,
          contentType: 'application/octet-stream',
          body: createReadStream(local),
          onProgress: progress.update,
        },
      )) as UploadVersionView;
    } finally {
      progress.done();
    }
  }
  io.stdout.write(`${describeVersion(view)}\n`);
}

async function ls(args: CliArgs, io: Io): Promise<void> {
  const token = requireToken(args);
  const [remote = '/', extra] = args.positional;
  if (extra !== undefined) throw new UsageError('ls takes at most one remote path: proctor ls --token=TOKEN [REMOTE]');
  const entries = (await requestJson(`${args.server}/v1/upload/ls?path=${encodeURIComponent(remote)}`, {
    method: 'GET',
    token,
  })) as UploadEntry[];
  io.stdout.write(`${describeEntries(entries)}\n`);
}

async function sendTar(
  args: CliArgs,
  io: Io,
  url: string,
  method: string,
  token: string,
  plan: Awaited<ReturnType<typeof planDirectory>>,
) {
  const progress = progressLine(io.stderr, plan.bytes);
  try {
    return (await requestJson(url, {
      method,
      token,
      contentType: 'application/x-tar',
      body: packPlan(plan),
      onProgress: progress.update,
    })) as UploadVersionView;
  } finally {
    progress.done();
  }
}

function requireToken(args: CliArgs): string {
  if (!args.token) throw new UsageError(`${args.command} needs --token=TOKEN (or PROCTOR_UPLOAD_TOKEN)`);
  return args.token;
}

async function requireKind(local: string, wanted: 'dir' | 'any'): Promise<'dir' | 'file'> {
  const info = await stat(local).catch((error: NodeJS.ErrnoException) => {
    throw new Error(error.code === 'ENOENT' ? `${local} does not exist` : `cannot read ${local}: ${error.message}`);
  });
  if (info.isDirectory()) return 'dir';
  if (wanted === 'dir')
    throw new Error(
      `${local} is not a directory; upload takes the directory holding model/, meta.json, service.py and local_guniconf.py`,
    );
  if (!info.isFile()) throw new Error(`${local} is not a regular file or a directory`);
  return 'file';
}
