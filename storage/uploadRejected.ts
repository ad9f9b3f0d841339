/**
 * Why an upload was refused, with the HTTP status the API answers with: 400 for a malformed or
 * unsafe archive, 409 for a conflict with the tree it lands on, 413 for a limit. The storage layer
 * knows nothing of HTTP beyond the number; the API turns this into problem+json.
 */
export class UploadRejected extends Error {
  override name = 'UploadRejected';
  constructor(
    readonly status: 400 | 404 | 409 | 413,
    readonly detail: string,
    /** The request field at fault (`body`, `to`, `path`), if any. */
    readonly field?: string,
  ) {
    super(detail);
  }
}
