/**
 * The `model` / `system_fingerprint` pairs a batch's answers carried, each with when it was first
 * seen, for db/queries/modelIdentities.ts to compare with what the run saw before. Answers carrying
 * neither field say nothing about the model and are left out.
 */
export interface ModelIdentity {
  model: string | null;
  systemFingerprint: string | null;
  firstSeenAt: Date;
}

export class ModelIdentities {
  private readonly byKey = new Map<string, ModelIdentity>();

  seen(answer: { model: string | null; systemFingerprint: string | null }, at = new Date()): void {
    if (answer.model === null && answer.systemFingerprint === null) return;
    const key = JSON.stringify([answer.model, answer.systemFingerprint]);
    if (!this.byKey.has(key))
      this.byKey.set(key, { model: answer.model, systemFingerprint: answer.systemFingerprint, firstSeenAt: at });
  }

  list(): ModelIdentity[] {
    return [...this.byKey.values()];
  }
}
