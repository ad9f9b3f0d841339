/**
 * `npm start` on a fresh machine without Docker: as root on a Debian-like system (apt-get present)
 * it offers to install the engine (Debian's `docker.io`), asking on a terminal or following
 * `PROCTOR_INSTALL_DOCKER=yes|no`; otherwise it says the one command to run. Nothing is installed
 * without a yes. The side effects come in as functions, so the choice is tested without a shell.
 */
export const DOCKER_PACKAGE = 'docker.io';

export interface InstallEnvironment {
  /** `PROCTOR_INSTALL_DOCKER`: `yes` installs without asking, `no` never installs. */
  choice: string | undefined;
  isRoot: boolean;
  hasAptGet: boolean;
  /** Asks a yes/no question on the terminal; null when there is no terminal to ask on. */
  ask: ((question: string) => Promise<string>) | null;
  run: (command: string, args: string[]) => Promise<void>;
  say: (line: string) => void;
}

/** Whether the engine was installed (so starting it is worth another try). */
export async function offerDockerInstall(o: InstallEnvironment): Promise<boolean> {
  const command = `apt-get install -y ${DOCKER_PACKAGE}`;
  if (!o.hasAptGet) {
    o.say(
      `Docker is not installed; install Docker Engine for this system (https://docs.docker.com/engine/install/) to evaluate private deployments`,
    );
    return false;
  }
  if (!o.isRoot) {
    o.say(
      `Docker is not installed; to evaluate private deployments run: sudo ${command} (then npm start as root, or set DOCKER_HOST)`,
    );
    return false;
  }
  const choice = (o.choice ?? '').trim().toLowerCase();
  let install = choice === 'yes';
  if (!install && choice !== 'no' && o.ask) {
    const answer = await o.ask(`Docker is not installed. Install it now with "${command}"? [y/N] `);
    install = /^y(es)?$/i.test(answer.trim());
  }
  if (!install) {
    o.say(
      `Docker is not installed; to evaluate private deployments run: ${command} (or start with PROCTOR_INSTALL_DOCKER=yes)`,
    );
    return false;
  }
  o.say(`Installing Docker: apt-get update, then ${command}`);
  await o.run('apt-get', ['update', '-qq']);
  await o.run('apt-get', ['install', '-y', '-qq', DOCKER_PACKAGE]);
  return true;
}
