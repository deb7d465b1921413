import { join } from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { ENV } from '../../shared/config/env-names';

/** Repository root, for function entry points. */
export const REPO_ROOT = join(__dirname, '..', '..');

export interface AppFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'runtime' | 'architecture'> {
  /** Handler file relative to the repository root, e.g. `functions/preprocess/handler.ts`. */
  readonly entryPath: string;
  /** Days the function's logs are kept. @default 30 */
  readonly logRetentionDays?: logs.RetentionDays;
}

/**
 * Every Mappa Lambda function: Node 22 on ARM64, bundled by the local esbuild
 * (never Docker) with the AWS SDK left to the runtime, X-Ray tracing, JSON logs
 * with bounded retention.
 */
export class AppFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetentionDays ?? logs.RetentionDays.ONE_MONTH,
    });
    super(scope, id, {
      ...props,
      entry: join(REPO_ROOT, props.entryPath),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      timeout: props.timeout ?? Duration.seconds(30),
      environment: { NODE_OPTIONS: '--enable-source-maps', [ENV.logLevel]: 'INFO', ...props.environment },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node22',
        format: OutputFormat.CJS,
        // The SDK clients come from the Lambda runtime; @aws-sdk/util-dynamodb is bundled (a few KB) so its
        // number handling (allowImpreciseNumbers, wrapNumbers as a function) is the pinned version's, not the
        // runtime's.
        externalModules: ['@aws-sdk/client-*', '@aws-sdk/lib-storage', '@tensorflow/tfjs-node'],
        ...props.bundling,
      },
    });
    NagSuppressions.addResourceSuppressions(
      this,
      [
        {
          id: 'AwsSolutions-L1',
          reason:
            'Node.js 22 is the runtime Mappa is built and tested for; moving to 24 is a tested change, not an automatic one.',
        },
        {
          id: 'AwsSolutions-IAM4',
          reason: 'AWSLambdaBasicExecutionRole only allows writing this function’s CloudWatch logs.',
          appliesTo: [
            'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
          ],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (AWS requires Resource *).',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
    Stack.of(this); // the function must live in a stack (synth fails clearly otherwise)
  }
}
