import { pino, type Logger } from 'pino';

/**
 * Structured logs for every process. Anything that might carry a credential is redacted by path,
 * as a second line of defence: code never logs secrets on purpose.
 */
export function createLogger(name: string, level = process.env.PROCTOR_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        'apiKey',
        '*.apiKey',
        'deployment.apiKey',
        '*.deployment.apiKey',
        'req.body.deployment.apiKey',
        'authorization',
        'headers.authorization',
        'req.headers.authorization',
      ],
      censor: '[redacted]',
    },
  });
}
