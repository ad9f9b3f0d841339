/**
 * The image aggregate: preloaded images stored at start-up, images users import for review, who
 * sees which, the review itself and an approved image's takedown. (name, tag) is unique; the index
 * decides races.
 */
import { and, asc, desc, eq, or, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../client';
import { images } from '../schema';
import type { ImageSource, ImageStatus, ImageView } from '../../contracts/image';
import type { PlatformImage } from '../../contracts/platformImages';

export type ImageRow = typeof images.$inferSelect;

/** Arbitrary constant: serialises concurrent start-ups storing the preloaded images. */
const PLATFORM_IMAGES_LOCK = 72_430_004;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ImageNameTaken extends Error {
  override name = 'ImageNameTaken';
  constructor(
    readonly imageName: string,
    readonly tag: string,
  ) {
    super(`an image named ${imageName} with tag ${tag} already exists; choose another name or tag`);
  }
}

/**
 * Stores the preloaded images, or brings them up to date. Safe on every start and from several
 * processes at once: an advisory lock serialises them; an entry already as stored is not touched.
 */
export async function upsertPlatformImages(db: Db, catalog: readonly PlatformImage[]): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${PLATFORM_IMAGES_LOCK})`);
    for (const image of catalog) {
      const row = {
        source: 'platform' as const,
        ownerId: null,
        status: 'approved' as const,
        url: image.url,
        description: image.description,
        domains: [...image.domains],
        framework: image.framework,
        hardware: image.hardware,
        runRef: image.runRef,
      };
      const [stored] = await tx
        .select()
        .from(images)
        .where(and(eq(images.name, image.name), eq(images.tag, image.tag)));
      if (stored && stored.source !== 'platform') {
        throw new Error(
          `cannot store preloaded image ${image.name}:${image.tag}: a user already imported an image under that name and tag`,
        );
      }
      if (!stored) {
        await tx.insert(images).values({ name: image.name, tag: image.tag, ...row });
        continue;
      }
      const unchanged =
        stored.status === row.status &&
        stored.url === row.url &&
        stored.description === row.description &&
        JSON.stringify(stored.domains) === JSON.stringify(row.domains) &&
        stored.framework === row.framework &&
        stored.hardware === row.hardware &&
        stored.runRef === row.runRef;
      if (!unchanged) await tx.update(images).set(row).where(eq(images.id, stored.id));
    }
  });
}

export interface ImageViewer {
  userId: string;
  isAdmin: boolean;
}

export interface ImageFilter {
  status?: ImageStatus;
  source?: ImageSource;
  domain?: string;
}

function visibleTo(viewer: ImageViewer): SQL | undefined {
  return viewer.isAdmin ? undefined : or(eq(images.source, 'platform'), eq(images.ownerId, viewer.userId));
}

/** Preloaded images and the viewer's own (every image for an admin): preloaded first, then newest first. */
export async function listVisibleImages(db: Db, viewer: ImageViewer, filter: ImageFilter = {}): Promise<ImageRow[]> {
  return db
    .select()
    .from(images)
    .where(
      and(
        visibleTo(viewer),
        filter.status ? eq(images.status, filter.status) : undefined,
        filter.source ? eq(images.source, filter.source) : undefined,
        filter.domain ? sql`${images.domains} ? ${filter.domain}` : undefined,
      ),
    )
    .orderBy(sql`${images.source} = 'platform' desc`, desc(images.createdAt), asc(images.name), asc(images.tag));
}

/** The image with this id, whoever owns it; null for an id that is not a uuid or names nothing. */
export async function getImage(db: Db, id: string): Promise<ImageRow | null> {
  if (!UUID.test(id)) return null;
  const [row] = await db.select().from(images).where(eq(images.id, id)).limit(1);
  return row ?? null;
}

/** The image when the viewer may see it (preloaded, their own, or any for an admin); else null. */
export async function getVisibleImage(db: Db, viewer: ImageViewer, id: string): Promise<ImageRow | null> {
  const row = await getImage(db, id);
  if (!row) return null;
  return viewer.isAdmin || row.source === 'platform' || row.ownerId === viewer.userId ? row : null;
}

export interface ImportedImage {
  name: string;
  tag: string;
  ownerId: string;
  url: string;
  dockerfile: string;
  description: string;
  domains: string[];
}

/** A user's image, pending review; the pull URL is what the Docker engine runs once approved. */
export async function insertImportedImage(db: Db, image: ImportedImage): Promise<ImageRow> {
  const [row] = await db
    .insert(images)
    .values({ ...image, source: 'user', status: 'pending', runRef: image.url })
    .onConflictDoNothing({ target: [images.name, images.tag] })
    .returning();
  if (!row) throw new ImageNameTaken(image.name, image.tag);
  return row;
}

export type ReviewDecision = { status: 'approved' } | { status: 'rejected'; reason: string };

export type ReviewOutcome =
  | { ok: true; image: ImageRow }
  | { ok: false; reason: 'missing' }
  /** Only a pending image can be reviewed; a second approval or rejection changes nothing. */
  | { ok: false; reason: 'not-pending'; image: ImageRow };

export async function reviewImage(
  db: Db | Tx,
  id: string,
  reviewerId: string,
  decision: ReviewDecision,
): Promise<ReviewOutcome> {
  if (!UUID.test(id)) return { ok: false, reason: 'missing' };
  const [reviewed] = await db
    .update(images)
    .set({
      status: decision.status,
      rejectReason: decision.status === 'rejected' ? decision.reason : null,
      reviewedBy: reviewerId,
      reviewedAt: sql`now()`,
    })
    .where(and(eq(images.id, id), eq(images.status, 'pending')))
    .returning();
  if (reviewed) return { ok: true, image: reviewed };
  const current = await getImage(db, id);
  return current ? { ok: false, reason: 'not-pending', image: current } : { ok: false, reason: 'missing' };
}

export type TakedownOutcome =
  | { ok: true; image: ImageRow }
  | { ok: false; reason: 'missing' }
  /** Only an approved image a user imported can be taken down; the image as it stands says why not. */
  | { ok: false; reason: 'not-takeable'; image: ImageRow };

/**
 * Withdraws an approved user image: no new evaluation or launch may use it (the launch re-reads its
 * status); runs launched before keep the reference they froze. The approval's review is kept.
 */
export async function takeDownImage(
  db: Db | Tx,
  id: string,
  adminId: string,
  reason: string,
): Promise<TakedownOutcome> {
  if (!UUID.test(id)) return { ok: false, reason: 'missing' };
  const [takenDown] = await db
    .update(images)
    .set({ status: 'taken-down', takedownReason: reason, takenDownBy: adminId, takenDownAt: sql`now()` })
    .where(and(eq(images.id, id), eq(images.status, 'approved'), eq(images.source, 'user')))
    .returning();
  if (takenDown) return { ok: true, image: takenDown };
  const current = await getImage(db, id);
  return current ? { ok: false, reason: 'not-takeable', image: current } : { ok: false, reason: 'missing' };
}

export function toImageView(row: ImageRow): ImageView {
  return {
    id: row.id,
    name: row.name,
    tag: row.tag,
    source: row.source,
    status: row.status,
    url: row.url,
    description: row.description,
    domains: row.domains,
    framework: row.framework,
    hardware: row.hardware,
    ownerId: row.ownerId,
    rejectReason: row.rejectReason,
    createdAt: row.createdAt.toISOString(),
    reviewedAt: row.reviewedAt?.toISOString() ?? null,
    takedownReason: row.takedownReason,
    takenDownAt: row.takenDownAt?.toISOString() ?? null,
  };
}
