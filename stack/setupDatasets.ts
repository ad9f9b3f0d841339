/**
 * `npm run setup:datasets`: installs the public benchmarks (stack/publicDatasets.ts) into the
 * dataset cache, so the next start stores them. Exits 1 when one could not be installed.
 */
import { installPublicDatasets } from './publicDatasets';
import { publicDatasetsDir } from '../config/publicDatasets';

const say = (line: string) => process.stdout.write(`[datasets] ${line}\n`);

const outcome = await installPublicDatasets({ log: say });
for (const id of outcome.present) say(`${id}: already installed in ${publicDatasetsDir()}`);
process.exitCode = outcome.failed.length > 0 ? 1 : 0;
