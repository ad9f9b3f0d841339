/** Built-in item ids: the dataset id and a 1-based, zero-padded position (`arith-basic-0001`). */
export function builtinItemId(datasetId: string, index: number): string {
  return `${datasetId}-${String(index + 1).padStart(4, '0')}`;
}
