/**
 * Built-ins a deployment may lack: a public benchmark is stored only where set-up fetched its file
 * (datasets/builtin/public), so its id can name nothing here. The API then says so, by name and
 * with what to do, rather than calling it unknown.
 */
import { findBuiltinDataset } from '../../datasets/builtinCatalog';
import { installHint } from '../../datasets/builtin/public/publicData';

/** Why `id` names a built-in that is not installed, or null when it is not such a built-in. Call when it is not stored. */
export function unavailableBuiltinReason(id: string): string | null {
  const source = findBuiltinDataset(id)?.publicSource;
  if (!source) return null;
  return `"${id}" is a built-in dataset that is not installed on this deployment, so it is unavailable: ${installHint(source)}`;
}
