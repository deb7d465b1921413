import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';

/**
 * X-Ray tracing through Powertools for the Lambda functions: each invocation
 * is a segment and every SDK call of a `traced` client a subsegment. The tracer switches
 * itself off outside Lambda (local mode, tests, the Fargate task), where it
 * neither wraps clients nor sends anything.
 */
export const tracer = new Tracer({ serviceName: 'mappa' });

/** The client, with its calls traced when running in Lambda. */
export function traced<Client>(client: Client): Client {
  return tracer.captureAWSv3Client(client);
}

/** Middy middleware opening the invocation's segment (annotated with cold start and service). */
export function tracedInvocation() {
  return captureLambdaHandler(tracer, { captureResponse: false });
}
