/**
 * A real SMTP server for the mail tests (the `smtp-server` package): it asks for the credentials
 * the dispatcher's URL carries, keeps every message it accepts (parsed with `mailparser`), and can be
 * stopped and started again on the same port, or told to refuse recipients with a given reply.
 */
import { SMTPServer, type SMTPServerError } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { freePort } from '../support/ports';

export const SMTP_USER = 'proctor-mailer';
export const SMTP_PASSWORD = 'smtp-pass-not-for-logs-7781';

export interface ReceivedMail {
  /** The envelope's recipients (RCPT TO). */
  to: string[];
  from: string;
  parsed: ParsedMail;
}

/** What the server answers RCPT TO for an address: null accepts it. */
export type RecipientRule = (address: string) => { code: number; message: string } | null;

export interface SmtpSink {
  port: number;
  /** The PROCTOR_SMTP_URL for this server, credentials included. */
  url: string;
  received: ReceivedMail[];
  /** RCPT TO commands seen, accepted or not, with when they came. */
  recipientsTried: { address: string; at: number }[];
  rejectRecipients(rule: RecipientRule | null): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  mailsTo(address: string): ReceivedMail[];
}

export async function createSmtpSink(options: { port?: number } = {}): Promise<SmtpSink> {
  const port = options.port ?? (await freePort());
  const received: ReceivedMail[] = [];
  const recipientsTried: { address: string; at: number }[] = [];
  let rule: RecipientRule | null = null;
  let server: SMTPServer | null = null;

  const replyError = (code: number, message: string): SMTPServerError =>
    Object.assign(new Error(message), { responseCode: code });

  return {
    port,
    url: `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${port}`,
    received,
    recipientsTried,
    rejectRecipients(next) {
      rule = next;
    },
    async start() {
      if (server) throw new Error('the SMTP sink is already running');
      const s = new SMTPServer({
        // No TLS on loopback: nodemailer would otherwise upgrade and refuse the self-signed certificate.
        disabledCommands: ['STARTTLS'],
        allowInsecureAuth: true,
        authMethods: ['PLAIN', 'LOGIN'],
        closeTimeout: 200,
        logger: false,
        onAuth(auth, _session, callback) {
          if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) callback(null, { user: auth.username });
          else callback(replyError(535, 'Authentication credentials invalid'));
        },
        onRcptTo(address, _session, callback) {
          recipientsTried.push({ address: address.address, at: Date.now() });
          const refusal = rule?.(address.address) ?? null;
          callback(refusal ? replyError(refusal.code, refusal.message) : null);
        },
        onData(stream, session, callback) {
          simpleParser(stream)
            .then((parsed) => {
              received.push({
                to: session.envelope.rcptTo.map((r) => r.address),
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                parsed,
              });
              callback(null);
            })
            .catch((error: Error) => callback(error));
        },
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
      s.on('error', () => {});
      server = s;
    },
    async stop() {
      const s = server;
      server = null;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    mailsTo(address) {
      return received.filter((m) => m.to.includes(address));
    },
  };
}

/** Polls until `check` holds; the test's own timeout bounds the wait. */
export async function until(check: () => Promise<boolean> | boolean, what: string, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
