/**
 * Runs the reference model on its own:
 *   tsx stack/referenceModel/main.ts [--port 8901] [--host 127.0.0.1] [--model proctor-reference] [--knobs '{"skill":1}']
 * Each flag may instead come from PROCTOR_REFERENCE_MODEL_PORT, _HOST, _NAME or _KNOBS (JSON).
 * Knobs can be changed later with `curl -X PUT -d '{"errorRate":0.1}' http://HOST:PORT/_admin/knobs`.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../../config/logger';
import { InvalidKnobsError, parseKnobs, type Knobs } from './knobs';
import { DEFAULT_MODEL_NAME, startReferenceModel } from './server';

const logger = createLogger('reference-model');

function settings() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      model: { type: 'string' },
      knobs: { type: 'string' },
    },
    strict: true,
  });
  const rawPort = values.port ?? process.env.PROCTOR_REFERENCE_MODEL_PORT ?? '8901';
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`port must be an integer from 0 to 65535, got ${JSON.stringify(rawPort)}`);
  const rawKnobs = values.knobs ?? process.env.PROCTOR_REFERENCE_MODEL_KNOBS;
  let knobs: Partial<Knobs> = {};
  if (rawKnobs) {
    try {
      knobs = parseKnobs(JSON.parse(rawKnobs));
    } catch (error) {
      throw new Error(
        error instanceof InvalidKnobsError ? error.message : `knobs must be a JSON object: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return {
    port,
    host: values.host ?? process.env.PROCTOR_REFERENCE_MODEL_HOST ?? '127.0.0.1',
    modelName: values.model ?? process.env.PROCTOR_REFERENCE_MODEL_NAME ?? DEFAULT_MODEL_NAME,
    knobs,
  };
}

async function main(): Promise<void> {
  const s = settings();
  const model = await startReferenceModel(s);
  const knobs = model.knobs();
  const shown = { ...knobs, requiredApiKey: knobs.requiredApiKey === null ? null : '[set]' };
  logger.info({ url: model.url, model: s.modelName, knobs: shown }, `reference model listening at ${model.url}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    model.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'could not close cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  logger.error({ err: error }, `reference model could not start: ${(error as Error).message}`);
  process.exit(1);
});
