import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hoistSchemaDefinitions } from './openapi-components.js';

const toSchema = (schema: z.ZodType, io: 'input' | 'output' = 'output') => z.toJSONSchema(schema, { io, target: 'openapi-3.0', unrepresentable: 'any', reused: 'inline' });
const op = (schema: unknown) => ({ responses: { 200: { description: 'ok', content: { 'application/json': { schema } } } } });

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, out));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) if (k === '$ref') out.push(v as string);
    else refs(v, out);
  }
  return out;
}

describe('hoistSchemaDefinitions', () => {
  it('moves named schemas to components.schemas and points the references there', () => {
    const user = z.object({ id: z.string() }).meta({ id: 'User' });
    const doc = hoistSchemaDefinitions({ openapi: '3.0.3', paths: { '/a': { get: op(toSchema(z.object({ items: z.array(user) }))) }, '/b': { get: op(toSchema(user)) } } });
    const components = (doc.components as { schemas: Record<string, unknown> }).schemas;
    expect(Object.keys(components)).toEqual(['User']);
    expect(refs(doc.paths)).toEqual(['#/components/schemas/User', '#/components/schemas/User']);
    expect(JSON.stringify(doc.paths)).not.toContain('definitions');
  });

  it('gives different schemas that share a name different component names', () => {
    const input = z.object({ name: z.string(), size: z.number().default(1) }).meta({ id: 'Thing' });
    const doc = hoistSchemaDefinitions({
      openapi: '3.0.3',
      paths: { '/in': { post: op(toSchema(z.object({ a: input }), 'input')) }, '/out': { get: op(toSchema(z.object({ a: input }), 'output')) } },
    });
    const components = (doc.components as { schemas: Record<string, { required?: string[] }> }).schemas;
    expect(Object.keys(components).sort()).toEqual(['Thing', 'Thing2']);
    expect(components.Thing?.required).toEqual(['name']);
    expect(components.Thing2?.required).toEqual(['name', 'size']);
    expect(refs((doc.paths as any)['/out'])).toEqual(['#/components/schemas/Thing2']);
  });

  it('keeps recursive schemas recursive, including a schema that refers to itself at the root', () => {
    const json = z.json();
    const doc = hoistSchemaDefinitions({
      openapi: '3.0.3',
      paths: { '/a': { get: op(toSchema(z.object({ value: json }))) }, '/b': { get: op(toSchema(json)) }, '/c': { get: op(toSchema(z.object({ v: json }))) } },
    });
    const components = (doc.components as { schemas: Record<string, unknown> }).schemas;
    // The same JSON schema, converted three times under zod's numbered names, is one component.
    expect(Object.keys(components)).toEqual(['Schema']);
    expect(refs(components.Schema)).toContain('#/components/schemas/Schema');
    for (const r of refs(doc)) expect(r).toBe('#/components/schemas/Schema');
  });

  it('is idempotent and leaves documents without definitions alone', () => {
    const plain = { openapi: '3.0.3', paths: { '/a': { get: op({ type: 'string' }) } } };
    expect(hoistSchemaDefinitions(plain)).toEqual(plain);
    const once = hoistSchemaDefinitions({ openapi: '3.0.3', paths: { '/a': { get: op(toSchema(z.object({ id: z.string() }).meta({ id: 'X' }))) } } });
    expect(hoistSchemaDefinitions(once)).toEqual(once);
  });
});
