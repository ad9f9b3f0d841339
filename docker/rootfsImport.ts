/**
 * Turning a root file system tar into a tagged image on the engine itself, with no registry: the
 * engine's image import with Dockerfile-style changes (ENTRYPOINT, WORKDIR, ENV, USER, LABEL), the
 * result checked against the inputs label it was given, and the images it superseded pruned. Both
 * the images assembled from this machine's Python (hostPythonImage.ts) and the Debian one
 * (backboneImage.ts) are made this way. Two processes importing at once both succeed; the tag ends
 * on one of two equal images and the spare is pruned.
 */
import type Dockerode from 'dockerode';
import { describeDocker, dockerStatus, errorText, readProgress } from './engine';

export interface RootfsImport {
  /** `repository:tag`. */
  ref: string;
  /** The label holding the inputs hash; one per image kind, so pruning one kind never touches another. */
  inputsLabel: string;
  inputsHash: string;
  /** Import changes besides the inputs label. */
  changes: string[];
  /** The import's commit message. */
  message: string;
  /** What the image is, for error messages. */
  what: string;
}

/** Imports `tar` as `o.ref` and resolves to the tagged image's inspection. */
export async function importRootfs(
  docker: Dockerode,
  tar: NodeJS.ReadableStream,
  o: RootfsImport,
): Promise<Dockerode.ImageInspectInfo> {
  const [repo, tag] = o.ref.split(':') as [string, string];
  try {
    const stream = await docker.importImage(tar, {
      repo,
      tag,
      message: o.message,
      changes: [...o.changes, `LABEL ${o.inputsLabel}=${o.inputsHash}`],
    });
    await readProgress(docker, stream);
  } catch (error) {
    throw new Error(
      `could not import the ${o.what} image into the Docker engine at ${describeDocker(docker)}: ${errorText(error)}`,
      { cause: error },
    );
  }
  const now = await inspectImage(docker, o.ref);
  if (now?.Config?.Labels?.[o.inputsLabel] !== o.inputsHash) {
    throw new Error(
      `${o.ref} was replaced while it was built by an image of other inputs; is another Proctor of another version using this engine?`,
    );
  }
  await pruneSuperseded(docker, o.inputsLabel);
  return now;
}

/** The image's inspection, or null when the engine has no such image. */
export async function inspectImage(docker: Dockerode, ref: string): Promise<Dockerode.ImageInspectInfo | null> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (error) {
    if (dockerStatus(error) === 404) return null;
    throw error;
  }
}

/**
 * Builds this one replaced, and the spare of a build that raced another process's (both imported,
 * one tag won): untagged images with the label, except those a container still uses.
 */
async function pruneSuperseded(docker: Dockerode, label: string): Promise<void> {
  const spares = await docker.listImages({ filters: { label: [label], dangling: ['true'] } });
  for (const image of spares) {
    try {
      await docker.getImage(image.Id).remove({ noprune: false });
    } catch (error) {
      // 404: another process pruned it first; 409: a container still uses it.
      if (dockerStatus(error) !== 404 && dockerStatus(error) !== 409) throw error;
    }
  }
}
