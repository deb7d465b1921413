import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiDocument, openApiText } from '../../../shared/serving/openapi';
import { API_ROUTES } from '../../../shared/serving/routes';

describe('the OpenAPI document', () => {
  it('is committed exactly as generated from the schemas (run `npm run openapi` after changing them)', () => {
    const committed = readFileSync(join(__dirname, '../../../docs/openapi.json'), 'utf8');
    expect(committed).toBe(openApiText());
  });

  it('documents every route, with the query parameters and bounds the handlers validate', () => {
    const document = openApiDocument() as {
      paths: Record<string, Record<string, { operationId: string; parameters?: Record<string, unknown>[] }>>;
    };
    for (const route of API_ROUTES)
      expect(document.paths[route.path]?.[route.method.toLowerCase()]?.operationId).toBe(route.operationId);
    const recommendations = document.paths['/v1/users/{userId}/recommendations']?.get?.parameters ?? [];
    expect(recommendations.find((parameter) => parameter.name === 'limit')).toEqual({
      name: 'limit',
      in: 'query',
      schema: { default: 10, type: 'integer', minimum: 1, maximum: 100 },
    });
    expect(recommendations.find((parameter) => parameter.name === 'userId')).toMatchObject({
      in: 'path',
      required: true,
      schema: { type: 'string', minLength: 1, maxLength: 256 },
    });
  });
});
