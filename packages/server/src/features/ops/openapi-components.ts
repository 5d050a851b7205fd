/**
 * zod's JSON Schema output keeps named (`.meta({ id })`) and recursive schemas
 * in a `definitions` object inside each schema and points at them with
 * `#/definitions/Name`. In an OpenAPI document that reference resolves
 * against the document root, where nothing is: the document is invalid and
 * Swagger UI shows resolver errors. This moves every such definition to
 * `components.schemas` and rewrites the references, giving distinct schemas
 * that share a name (an `input` and an `output` variant, or zod's numbered
 * `__schemaN` names from separate conversions) distinct component names.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const COMPONENT = '#/components/schemas/';

function rewriteRefs(value: Json, rename: (ref: string) => string | undefined): Json {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, rename));
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    const renamed = key === '$ref' && typeof v === 'string' ? rename(v) : undefined;
    out[key] = renamed !== undefined ? renamed : rewriteRefs(v, rename);
  }
  return out;
}

function containsRef(value: Json, ref: string): boolean {
  if (Array.isArray(value)) return value.some((v) => containsRef(v, ref));
  if (!isObject(value)) return false;
  return Object.entries(value).some(([key, v]) => (key === '$ref' ? v === ref : containsRef(v, ref)));
}

const preferredName = (local: string): string => (/^__schema\d+$/.test(local) || local === '#' ? 'Schema' : local.replace(/[^A-Za-z0-9._-]/g, '_') || 'Schema');

/** Moves one schema's local definitions into `components`; returns the schema without them. */
function hoist(schema: Json, components: JsonObject): Json {
  if (!isObject(schema)) return schema;
  const { definitions, $defs, ...rest } = schema;
  const locals: JsonObject = { ...(isObject(definitions) ? definitions : {}), ...(isObject($defs) ? $defs : {}) };
  let root: JsonObject = rest;
  // A reference to "#" is the root schema referring to itself (recursion): it becomes a component too.
  if (containsRef(root, '#') || Object.values(locals).some((d) => containsRef(d, '#'))) {
    locals['#'] = root;
    root = { $ref: '#' };
  }
  const names = Object.keys(locals);
  if (names.length === 0) return root;

  const target = new Map<string, string>(names.map((n) => [n, preferredName(n)]));
  const suffix = new Map<string, number>(names.map((n) => [n, 1]));
  const localRef = (ref: string): string | undefined => {
    if (ref === '#') return '#';
    const m = /^#\/(?:definitions|\$defs)\/(.+)$/.exec(ref);
    return m?.[1] !== undefined ? decodeURIComponent(m[1].replace(/~1/g, '/').replace(/~0/g, '~')) : undefined;
  };
  const rename = (ref: string): string | undefined => {
    const local = localRef(ref);
    const name = local === undefined ? undefined : target.get(local);
    return name === undefined ? undefined : `${COMPONENT}${name}`;
  };
  // Pick names until every definition either takes a free name or matches the component already there.
  let rewritten = new Map<string, Json>();
  for (let changed = true; changed; ) {
    changed = false;
    rewritten = new Map(names.map((n) => [n, rewriteRefs(locals[n] as Json, rename)]));
    const taken = new Map<string, string>();
    for (const n of names) {
      const name = target.get(n) as string;
      const json = JSON.stringify(rewritten.get(n));
      const existing = name in components ? JSON.stringify(components[name]) : taken.get(name);
      if (existing === undefined || existing === json) {
        taken.set(name, json);
        continue;
      }
      const next = (suffix.get(n) as number) + 1;
      suffix.set(n, next);
      target.set(n, `${preferredName(n)}${next}`);
      changed = true;
    }
  }
  for (const n of names) components[target.get(n) as string] = rewritten.get(n) as Json;
  return rewriteRefs(root, rename);
}

/**
 * Returns `document` with every schema's local definitions moved to
 * `components.schemas` (see the module comment). Idempotent.
 */
export function hoistSchemaDefinitions(document: Record<string, unknown>): Record<string, unknown> {
  const doc = structuredClone(document) as JsonObject;
  const components: JsonObject = isObject(doc.components) ? doc.components : {};
  const schemas: JsonObject = isObject(components.schemas) ? components.schemas : {};
  const paths = isObject(doc.paths) ? doc.paths : {};
  const fixContent = (holder: Json) => {
    if (!isObject(holder) || !isObject(holder.content)) return;
    for (const media of Object.values(holder.content)) if (isObject(media) && 'schema' in media) media.schema = hoist(media.schema as Json, schemas);
  };
  for (const item of Object.values(paths)) {
    if (!isObject(item)) continue;
    for (const operation of Object.values(item)) {
      if (!isObject(operation)) continue;
      if (Array.isArray(operation.parameters)) {
        for (const p of operation.parameters) if (isObject(p) && 'schema' in p) p.schema = hoist(p.schema as Json, schemas);
      }
      fixContent(operation.requestBody as Json);
      if (isObject(operation.responses)) for (const r of Object.values(operation.responses)) fixContent(r);
    }
  }
  if (Object.keys(schemas).length > 0) doc.components = { ...components, schemas };
  return doc;
}
