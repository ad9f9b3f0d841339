/**
 * How a multimodal built-in names its pictures, and what its generator hands back besides the
 * items: the scene behind each file name. Items refer to pictures by file name only (relative to
 * the dataset's image directory); the scenes let builtinImages.ts draw any of them on demand, so
 * no picture is ever stored in the repository or the database.
 */
import type { DatasetItem } from '../../../contracts/dataset';
import type { Scene } from './render';

/** `img-0000.png`, `img-0001.png`, …: 4 digits from 0000, in the order the generator draws them. */
export function imageFileName(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 9999) throw new RangeError(`no image file name for ${index}`);
  return `img-${String(index).padStart(4, '0')}.png`;
}

export interface BuiltinDrawing {
  items: DatasetItem[];
  /** Every picture the items refer to, by file name, in the order the file names were given. */
  scenes: ReadonlyMap<string, Scene>;
}
