import { z } from 'zod';

/**
 * A zod model as the JSON Schema (draft-07, which Fastify's validator and serializer read) of a
 * route's body, params or answer, so the API's schemas never restate the models.
 */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io });
  return rest;
}
