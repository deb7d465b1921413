import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/** The repository's OpenAPI document, and a check that a response matches what it promises. */
export const OPENAPI = JSON.parse(readFileSync(join(__dirname, '../../docs/openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(OPENAPI, 'openapi.json');

const pointer = (part: string) => part.replace(/~/g, '~0').replace(/\//g, '~1');

function operation(operationId: string): { path: string; method: string } {
  for (const [path, methods] of Object.entries(OPENAPI.paths)) {
    for (const [method, spec] of Object.entries(methods)) {
      if (spec.operationId === operationId) return { path, method };
    }
  }
  throw new Error(`operation ${operationId} is not in docs/openapi.json`);
}

/** Throws with ajv's errors unless `body` is a documented `status` response of the operation. */
export function expectDocumentedResponse(operationId: string, status: number, body: unknown): void {
  const { path, method } = operation(operationId);
  const responses = OPENAPI.paths[path]?.[method]?.responses ?? {};
  if (!(String(status) in responses)) {
    throw new Error(`${operationId} does not document status ${status}: ${JSON.stringify(body)}`);
  }
  const ref = `openapi.json#/paths/${pointer(path)}/${method}/responses/${status}/content/application~1json/schema`;
  const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  if (!validate(body)) {
    throw new Error(
      `${operationId} ${status} response does not match docs/openapi.json: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
    );
  }
}
