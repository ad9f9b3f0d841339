/**
 * `proctor`: the command-line client that uploads model and code for a private deployment
 * (`npm run proctor -- upload --token=… DIR`). Exit codes: 0 done, 1 refused or failed (the
 * server's reason is printed), 2 a mistake on the command line.
 */
import { parseArgs, UsageError } from './cliArgs';
import { runCommand, USAGE } from './commands';
import { ServerProblem } from './uploadClient';

async function main(): Promise<number> {
  const io = { stdout: process.stdout, stderr: process.stderr };
  try {
    const args = parseArgs(process.argv.slice(2), process.env);
    if (args.help || args.command === null || args.command === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    await runCommand(args, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`proctor: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof ServerProblem) {
      io.stderr.write(`proctor: ${error.message} (HTTP ${error.status})\n`);
      for (const field of error.fieldErrors)
        if (field.message !== error.message) io.stderr.write(`  ${field.field}: ${field.message}\n`);
      return 1;
    }
    io.stderr.write(`proctor: ${(error as Error).message}\n`);
    return 1;
  }
}

// Exit explicitly: a refused upload may leave a file stream open that would otherwise keep us alive.
main().then((code) => process.exit(code));
