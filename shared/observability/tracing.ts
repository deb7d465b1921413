import type { Tracer } from '@aws-lambda-powertools/tracer';
import type * as TracerModule from '@aws-lambda-powertools/tracer';
import type * as TracerMiddlewareModule from '@aws-lambda-powertools/tracer/middleware';
import type middy from '@middy/core';

/**
 * X-Ray tracing through Powertools for the Lambda functions: each invocation
 * is a segment and every SDK call of a `traced` client a subsegment.
 *
 * The tracer is loaded only where it traces — in a Lambda function with
 * tracing not switched off. Loading the X-Ray SDK installs async hooks that
 * slow every `await` in the process (measured ~9× on a promise loop), which
 * local mode, the tests and the Fargate task would pay for nothing.
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    Boolean(env.AWS_LAMBDA_FUNCTION_NAME && env.AWS_EXECUTION_ENV) && env.POWERTOOLS_TRACE_ENABLED !== 'false'
  );
}

let tracer: Tracer | undefined;

function lambdaTracer(): Tracer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when tracing (see above)
  const { Tracer: TracerClass } = require('@aws-lambda-powertools/tracer') as typeof TracerModule;
  tracer ??= new TracerClass({ serviceName: 'mappa' });
  return tracer;
}

/** The client, with its calls traced when running in Lambda; unchanged elsewhere. */
export function traced<Client>(client: Client): Client {
  return tracingEnabled() ? lambdaTracer().captureAWSv3Client(client) : client;
}

/** Middy middleware opening the invocation's segment (cold start and service annotated): one in Lambda, none elsewhere. */
export function tracedInvocation<Event, Result>(): middy.MiddlewareObj<Event, Result>[] {
  if (!tracingEnabled()) return [];
  const { captureLambdaHandler } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when tracing (see above)
    require('@aws-lambda-powertools/tracer/middleware') as typeof TracerMiddlewareModule;
  return [
    captureLambdaHandler(lambdaTracer(), { captureResponse: false }) as middy.MiddlewareObj<Event, Result>,
  ];
}
