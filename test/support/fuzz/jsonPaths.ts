/** Reading and replacing one value deep inside a JSON value, by its path of keys and indexes. */

export type JsonPath = (string | number)[];

export function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  return path.reduce<any>((node, key) => node?.[key], root);
}

/** A copy of `root` with the value at `path` replaced (the root itself when the path is empty). */
export function withValueAt<T>(root: T, path: readonly (string | number)[], value: unknown): T {
  if (path.length === 0) return value as T;
  const copy = structuredClone(root) as any;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path.at(-1)!] = value;
  return copy;
}

/** A copy of `root` without the value at `path`. */
export function withoutValueAt<T>(root: T, path: readonly (string | number)[]): T {
  const copy = structuredClone(root) as any;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  delete node[path.at(-1)!];
  return copy;
}

/** The paths of the string values in a value, array items included. */
export function stringPaths(value: unknown, path: JsonPath = []): JsonPath[] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringPaths(item, [...path, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...path, k]));
  return [];
}
