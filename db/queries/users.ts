/**
 * The user aggregate: users, their API keys (stored only as hashes), and resolving a presented key
 * to the caller it belongs to.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { apiKeys, users } from '../schema';
import { hashApiKey } from './apiKeyHash';
import type { Caller } from '../../contracts/caller';
import type { Role, UserView } from '../../contracts/user';

export class EmailTaken extends Error {
  override name = 'EmailTaken';
  constructor(readonly email: string) {
    super(`a user with e-mail ${email} already exists`);
  }
}

export interface NewUser {
  name: string;
  organization: string;
  email: string;
  role: Role;
}

/** The caller a key belongs to, or null for an unknown or revoked key. */
export async function findCallerByKey(db: Db, key: string): Promise<Caller | null> {
  const [row] = await db
    .select({
      userId: users.id,
      role: users.role,
      name: users.name,
      organization: users.organization,
      email: users.email,
    })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(and(eq(apiKeys.keyHash, hashApiKey(key)), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row ?? null;
}

/**
 * Creates a user with their first API key. E-mail addresses are unique regardless of case: the
 * users table has no unique index on them, so an advisory lock on the address serialises
 * concurrent creations and the check inside it cannot be raced.
 */
export async function createUserWithKey(db: Db, user: NewUser, apiKey: string): Promise<{ id: string }> {
  const email = user.email.trim();
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`user-email:${email.toLowerCase()}`}, 0))`);
    const [existing] = await tx
      .select({ id: users.id })
      .from(users)
      .where(sql`lower(${users.email}) = ${email.toLowerCase()}`)
      .limit(1);
    if (existing) throw new EmailTaken(email);
    const [created] = await tx
      .insert(users)
      .values({ ...user, email })
      .returning({ id: users.id });
    await tx.insert(apiKeys).values({ userId: created!.id, keyHash: hashApiKey(apiKey), prefix: apiKey.slice(0, 10) });
    return { id: created!.id };
  });
}

export async function getUserView(db: Db, id: string): Promise<UserView | null> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row
    ? {
        id: row.id,
        name: row.name,
        organization: row.organization,
        email: row.email,
        role: row.role,
        createdAt: row.createdAt.toISOString(),
      }
    : null;
}

/** Arbitrary constant: serialises concurrent bootstraps so only one admin user is created. */
const BOOTSTRAP_LOCK = 72_430_002;

/**
 * First start: the admin user with this e-mail holds the key (by its hash), the user created if
 * there is none. Safe from several launchers at once: an advisory lock serialises them, and a key
 * already known is left as it is.
 */
export async function ensureAdminKey(db: Db, admin: { email: string; keyHash: string; prefix: string }): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`);
    const [known] = await tx
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, admin.keyHash))
      .limit(1);
    if (known) return;
    const [existing] = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.email, admin.email), eq(users.role, 'admin')))
      .orderBy(users.createdAt)
      .limit(1);
    const userId =
      existing?.id ??
      (
        await tx.insert(users).values({ name: 'admin', email: admin.email, role: 'admin' }).returning({ id: users.id })
      )[0]!.id;
    await tx
      .insert(apiKeys)
      .values({ userId, keyHash: admin.keyHash, prefix: admin.prefix })
      .onConflictDoNothing({ target: apiKeys.keyHash });
  });
}
