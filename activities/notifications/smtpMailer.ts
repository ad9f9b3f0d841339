/**
 * Sends one mail over SMTP with nodemailer: SMTP's dialogue (EHLO, STARTTLS, AUTH mechanisms,
 * dot-stuffing, MIME with encoded headers and an HTML alternative) is a protocol to take from a
 * maintained library, not to write again. One connection per mail: mails are few, and a server
 * that went away costs nothing to reconnect to.
 */
import nodemailer from 'nodemailer';
import { scrubSecrets } from '../../notifications/scrubSecrets';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string | null;
  /** The outbox row's id: the Message-ID is made from it, so a mail sent twice (a lease that ran out mid-send) reads as one. */
  id: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** Short waits: a try that hangs holds its mail's lease, and the next try is only a back-off away. */
const TIMEOUTS = { connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 60_000, dnsTimeout: 15_000 };

export function createSmtpMailer(smtpUrl: string, from: string): Mailer {
  const transport = nodemailer.createTransport({ url: smtpUrl, ...TIMEOUTS });
  const domain = /@([^@\s<>]+)>?\s*$/.exec(from)?.[1] ?? 'proctor.invalid';
  return {
    async send(mail) {
      await transport.sendMail({
        from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        ...(mail.html === null ? {} : { html: mail.html }),
        messageId: `<${mail.id}@${domain}>`,
      });
    },
    close: () => transport.close(),
  };
}

/** Where mail goes, for logs: the host and port, never the credentials in the URL. */
export function smtpServerName(smtpUrl: string): string {
  try {
    const url = new URL(smtpUrl);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(unparsable SMTP URL)';
  }
}

/** A failed try in a line an operator can act on: nodemailer's code, the server's reply when there was one. */
export function describeMailError(error: unknown): string {
  const e = error as { code?: unknown; response?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : null;
  const message = typeof e.message === 'string' ? e.message : String(error);
  const response =
    typeof e.response === 'string' && !message.includes(e.response) ? ` (server said: ${e.response})` : '';
  return scrubSecrets(`${code ? `${code}: ` : ''}${message}${response}`);
}
