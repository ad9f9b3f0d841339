/**
 * The inputs each operation of the served OpenAPI document takes: its JSON body schema and its
 * query parameters, with every `$ref` resolved, so a test that must cover all of them learns of a
 * new route or a new field from the document rather than from a list kept by hand.
 */

export type JsonSchema = Record<string, any>;

export interface QueryParameter {
  name: string;
  required: boolean;
  schema: JsonSchema;
}

export interface OperationInputs {
  method: string;
  /** As the document spells it, e.g. /v1/evaluations/{id}. */
  path: string;
  /** `METHOD /path`, the key route tables use. */
  key: string;
  /** The application/json body schema, when the operation takes one. */
  body?: JsonSchema;
  /** Other media types the document lists for the body. */
  otherBodyTypes: string[];
  query: QueryParameter[];
  pathParameters: string[];
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, any>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

/** Every operation that takes a body or a query string. */
export function operationsWithInput(doc: OpenApiDocument): OperationInputs[] {
  const resolve = refResolver(doc);
  const found: OperationInputs[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const parameters = (operation.parameters ?? []) as {
        in: string;
        name: string;
        required?: boolean;
        schema: JsonSchema;
      }[];
      const query = parameters
        .filter((p) => p.in === 'query')
        .map((p) => ({ name: p.name, required: p.required === true, schema: resolve(p.schema) }));
      const content = (operation.requestBody?.content ?? {}) as Record<string, { schema?: JsonSchema }>;
      const json = content['application/json']?.schema;
      if (!json && query.length === 0 && Object.keys(content).length === 0) continue;
      const upper = method.toUpperCase();
      found.push({
        method: upper,
        path,
        key: `${upper} ${path}`,
        ...(json ? { body: resolve(json) } : {}),
        otherBodyTypes: Object.keys(content).filter((t) => t !== 'application/json'),
        query,
        pathParameters: parameters.filter((p) => p.in === 'path').map((p) => p.name),
      });
    }
  }
  return found;
}

/** The path with its `{param}`s filled in (URL-encoded). */
export function pathWith(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${template}`);
    return encodeURIComponent(String(value));
  });
}

/** A copy of a schema with every local `$ref` replaced by what it names (the document has no cycles). */
function refResolver(doc: OpenApiDocument): (schema: JsonSchema) => JsonSchema {
  const visit = (node: unknown, seen: string[]): unknown => {
    if (Array.isArray(node)) return node.map((n) => visit(n, seen));
    if (typeof node !== 'object' || node === null) return node;
    const record = node as Record<string, unknown>;
    if (typeof record.$ref === 'string') {
      const ref = record.$ref;
      const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
      const target = name ? doc.components?.schemas?.[name] : undefined;
      if (!target) throw new Error(`the document's ${ref} does not resolve`);
      if (seen.includes(ref)) throw new Error(`the document's ${ref} refers to itself`);
      const { $ref: _ref, ...siblings } = record;
      return { ...(visit(target, [...seen, ref]) as object), ...(visit(siblings, seen) as object) };
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, visit(v, seen)]));
  };
  return (schema) => visit(schema, []) as JsonSchema;
}
