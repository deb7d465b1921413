import * as z from '../data/schema';
import { components } from './response-schemas';
import { API_ROUTES } from './routes';
import {
  attributionQuerySchema,
  experimentPathSchema,
  filterPathSchema,
  itemPathSchema,
  propensityQuerySchema,
  upliftQuerySchema,
  rankQuerySchema,
  recommendationsQuerySchema,
  similarQuerySchema,
  userPathSchema,
} from './schemas';

/**
 * docs/openapi.json, generated: paths and methods from the route table,
 * parameters and bodies from the request schemas the handlers validate with,
 * responses from `response-schemas.ts`. `mappa openapi --out docs/openapi.json`
 * writes it; a test fails when the committed file differs, so it cannot drift.
 */
type JsonObject = Record<string, unknown>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

interface Reply {
  readonly description: string;
  readonly schema: JsonObject;
}

const reply = (description: string, id: string): Reply => ({ description, schema: ref(id) });

/** Answers every API-key route can give besides its own. */
const COMMON: Record<string, Reply> = {
  '400': reply('Invalid path, query or body; `field` names the first offending field', 'ValidationError'),
  '403': reply('Missing or invalid API key (answered by API Gateway)', 'GatewayError'),
  '429': {
    description: 'Throttled by the usage plan (API Gateway) or by DynamoDB (the function)',
    schema: { oneOf: [ref('GatewayError'), ref('Error')] },
  },
  '500': reply('Unexpected failure; the body carries only the request id', 'Error'),
  '503': reply('No model has been trained yet, or the feature store is unavailable', 'Error'),
};
const common = (...statuses: string[]) =>
  Object.fromEntries(statuses.map((status) => [status, COMMON[status] as Reply]));
const WITH_MODEL = ['400', '403', '429', '500', '503'];

interface Operation {
  readonly summary: string;
  readonly path?: z.ZodMiniObject;
  readonly query?: z.ZodMiniType;
  /** Components the body may be (one, or any of several). */
  readonly body?: readonly string[];
  readonly responses: Record<string, Reply>;
}

const OPERATIONS: Record<string, Operation> = {
  getRecommendations: {
    summary: 'Top-N items for a user',
    path: userPathSchema,
    query: recommendationsQuerySchema,
    responses: {
      '200': reply('Recommendations, best first', 'Recommendations'),
      '404': reply('The experiment, filter or promotion does not exist', 'ValidationError'),
      '409': reply('A stored filter no longer parses', 'ValidationError'),
      ...common(...WITH_MODEL),
    },
  },
  rankItems: {
    summary: 'Order the given items for a user',
    path: userPathSchema,
    query: rankQuerySchema,
    body: ['RankRequest'],
    responses: {
      '200': reply('The known items, best first; unknown ids listed apart', 'Ranking'),
      '404': reply('The filter does not exist', 'ValidationError'),
      '409': reply('The stored filter no longer parses', 'ValidationError'),
      ...common(...WITH_MODEL),
    },
  },
  getSimilarItems: {
    summary: 'Nearest items in the embedding space',
    path: itemPathSchema,
    query: similarQuerySchema,
    responses: {
      '200': reply('Similar items by cosine similarity', 'SimilarItems'),
      '404': reply('The item is not in the served model, or the filter does not exist', 'ValidationError'),
      '409': reply('The stored filter no longer parses', 'ValidationError'),
      ...common(...WITH_MODEL),
    },
  },
  getUserSegment: {
    summary: 'The customer segment the user belongs to',
    path: userPathSchema,
    responses: {
      '200': reply("The user's segment with its profile", 'UserSegment'),
      '404': reply('The user has no history in the served model', 'ValidationError'),
      ...common(...WITH_MODEL),
    },
  },
  getUserPropensity: {
    summary: "The user's conversion (purchase) or churn propensity, scored at training",
    path: userPathSchema,
    query: propensityQuerySchema,
    responses: {
      '200': reply('Probability (calibrated) and decile (1 = the top 10% of users)', 'Propensity'),
      '404': reply('The user has no history in the served model', 'ValidationError'),
      ...common(...WITH_MODEL),
    },
  },
  getUserUplift: {
    summary:
      "The user's predicted uplift in an experiment: how much the treatment (any variant against the control) changes their conversion probability, scored at training",
    path: userPathSchema,
    query: upliftQuerySchema,
    responses: {
      '200': reply('Predicted uplift (probability points) and decile (1 = contact first)', 'Uplift'),
      '404': reply(
        'The user has no history in the served model, or the experiment was not running at training',
        'ValidationError',
      ),
      ...common(...WITH_MODEL),
    },
  },
  getSegments: {
    summary: 'Profiles of every customer segment of the served model',
    responses: { '200': reply('Segment profiles', 'Segments'), ...common('403', '429', '500', '503') },
  },
  createExperiment: {
    summary:
      'Define an A/B experiment: arms with traffic weights, each a recommendation strategy or anything else (assigned by import)',
    body: ['ExperimentDefinition'],
    responses: {
      '200': reply('The same definition was already created (a retry)', 'Experiment'),
      '201': reply('Created and running', 'Experiment'),
      '409': reply('Another definition exists under this id', 'ValidationError'),
      ...common('400', '403', '429', '500'),
    },
  },
  importAssignments: {
    summary:
      'Import who was in which arm of a campaign sent outside Mappa (up to 1,000 per request; each user counts once)',
    path: experimentPathSchema,
    body: ['AssignmentImport'],
    responses: {
      '200': reply('Counts of imported, repeated and conflicting assignments', 'AssignmentImportResult'),
      '404': reply('No experiment with this id', 'ValidationError'),
      ...common('400', '403', '429', '500'),
    },
  },
  getExperimentReport: {
    summary: 'Per-variant outcomes, lift vs control with 95% CIs and p-values, power',
    path: experimentPathSchema,
    responses: {
      '200': reply('The report', 'ExperimentReport'),
      '404': reply('No such experiment', 'ValidationError'),
      ...common('400', '403', '429', '500'),
    },
  },
  getAttribution: {
    summary:
      'Impressions, clicks, conversions, revenue, CTR and conversion rate with 95% CIs per surface, strategy, filter, promotion and experiment variant',
    query: attributionQuerySchema,
    responses: { '200': reply('The report', 'Attribution'), ...common('400', '403', '429', '500') },
  },
  forgetUser: {
    summary:
      'Forget a user: features, vectors, recent history and experiment assignments now; a tombstone drops later rows; curated data rewritten by the deletion job',
    path: userPathSchema,
    responses: {
      '202': reply('What was deleted, and whether curated data is clean yet', 'ForgetReport'),
      ...common('400', '403', '429', '500'),
    },
  },
  createFilter: {
    summary: 'Define a named filter (expression language, see docs/serving.md#filters)',
    body: ['FilterRequest'],
    responses: {
      '200': reply('The same filter was already created (a retry)', 'Filter'),
      '201': reply('Created; applies to requests with ?filter= or ?promotion=', 'Filter'),
      '400': {
        description: 'Invalid body, or an expression that does not parse (`position` points at the error)',
        schema: { oneOf: [ref('ValidationError'), ref('FilterExpressionError')] },
      },
      '409': reply(
        'Another expression exists under this name, or the deployment holds 100 filters',
        'ValidationError',
      ),
      ...common('403', '429', '500'),
    },
  },
  listFilters: {
    summary: 'Every named filter',
    responses: { '200': reply('The filters, by name', 'Filters'), ...common('403', '429', '500') },
  },
  deleteFilter: {
    summary: 'Delete a named filter (scoring functions stop applying it within their 60 s cache)',
    path: filterPathSchema,
    responses: {
      '200': reply('The deleted filter', 'DeletedFilter'),
      '404': reply('No such filter', 'ValidationError'),
      ...common('400', '403', '429', '500'),
    },
  },
  postEvents: {
    summary: 'Record one behaviour event or a batch of up to 100',
    body: ['Event', 'EventBatch'],
    responses: {
      '202': reply(
        "Applied to the user's recent history and staged for the next training run",
        'EventsAccepted',
      ),
      ...common(...WITH_MODEL),
    },
  },
  getModel: {
    summary: 'The model being served',
    responses: {
      '200': reply('Version, training time and test metrics', 'Model'),
      ...common('403', '429', '500', '503'),
    },
  },
  getHealth: {
    summary: 'Liveness and dependencies; says whether a model is loaded',
    responses: { '200': reply('The function is up', 'Health'), '500': COMMON['500'] as Reply },
  },
};

/**
 * Leaves out what the schemas imply but a reader does not need: the safe-integer
 * bounds of every integer, and the date-time regex beside `format: date-time`.
 */
function tidy(context: { jsonSchema: JsonObject }): void {
  const schema = context.jsonSchema;
  if (schema.maximum === Number.MAX_SAFE_INTEGER) delete schema.maximum;
  if (schema.minimum === Number.MIN_SAFE_INTEGER) delete schema.minimum;
  if (schema.format === 'date-time') delete schema.pattern;
}

/** A JSON Schema without the keys that belong to a standalone document, not to an embedded one. */
function embedded(schema: JsonObject): JsonObject {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/** Path or query parameters from a strict object schema: types and bounds as parsed, required as sent. */
function parameters(schema: z.ZodMiniType | undefined, location: 'path' | 'query'): JsonObject[] {
  if (!schema) return [];
  const output = z.toJSONSchema(schema, { io: 'output', override: tidy }) as {
    properties: Record<string, JsonObject>;
  };
  const input = z.toJSONSchema(schema, { io: 'input', override: tidy }) as { required?: string[] };
  return Object.entries(output.properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: location,
      ...(location === 'path' || input.required?.includes(name) ? { required: true } : {}),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

function componentSchemas(): Record<string, JsonObject> {
  const uri = (id: string) => `#/components/schemas/${id}`;
  // Bodies a client sends are described as sent (defaults optional), answers as received.
  const asSent = z.toJSONSchema(components, { uri, io: 'input', override: tidy }).schemas;
  const asReceived = z.toJSONSchema(components, { uri, io: 'output', override: tidy }).schemas;
  const sent = new Set(Object.values(OPERATIONS).flatMap((operation) => operation.body ?? []));
  return Object.fromEntries(
    Object.keys(asReceived).map((id) => [
      id,
      embedded((sent.has(id) ? asSent[id] : asReceived[id]) as JsonObject),
    ]),
  );
}

export function openApiDocument(): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of API_ROUTES) {
    const operation = OPERATIONS[route.operationId];
    if (!operation) throw new Error(`no OpenAPI description for ${route.operationId}`);
    const body = operation.body;
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: operation.summary,
      ...(route.apiKeyRequired ? {} : { security: [] }),
      ...(operation.path || operation.query
        ? { parameters: [...parameters(operation.path, 'path'), ...parameters(operation.query, 'query')] }
        : {}),
      ...(body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: body.length === 1 ? ref(body[0] as string) : { oneOf: body.map(ref) },
                },
              },
            },
          }
        : {}),
      responses: Object.fromEntries(
        Object.entries(operation.responses)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([status, { description, schema }]) => [
            status,
            { description, content: { 'application/json': { schema } } },
          ]),
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Mappa personalization API',
      version: '1.0.0',
      description:
        'Recommendations, personalized ranking, similar items and behaviour events over the two-tower model Mappa trains. Every route except /v1/health needs an API key in the `x-api-key` header (API Gateway usage plans throttle per key). Generated from the request and response schemas (shared/serving/openapi.ts).',
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        variables: { apiId: { default: 'example' }, region: { default: 'eu-west-1' } },
      },
      { url: 'http://127.0.0.1:3000', description: 'mappa serve' },
    ],
    security: [{ apiKey: [] }],
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
      schemas: componentSchemas(),
    },
  };
}

/** The document as committed: two-space JSON and a final newline. */
export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
