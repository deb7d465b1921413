import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tracingEnabled } from '../../../shared/observability/tracing';

const ROOT = join(__dirname, '..', '..', '..');

/** This process's environment without anything that says "Lambda". */
function outsideLambda(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('AWS_LAMBDA') && key !== 'AWS_EXECUTION_ENV',
    ),
  );
}

describe('tracing', () => {
  it('is on only inside Lambda, unless Powertools is told not to trace', () => {
    const lambda = {
      AWS_LAMBDA_FUNCTION_NAME: 'mappa-api-model',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    };
    expect(tracingEnabled(lambda)).toBe(true);
    expect(tracingEnabled({ ...lambda, POWERTOOLS_TRACE_ENABLED: 'false' })).toBe(false);
    expect(tracingEnabled({ AWS_LAMBDA_FUNCTION_NAME: 'mappa-api-model' })).toBe(false);
    expect(tracingEnabled({})).toBe(false);
  });

  it('gives middy one segment middleware in Lambda and none elsewhere; middy accepts both', () => {
    const script = [
      "const middy = require('@middy/core').default ?? require('@middy/core');",
      "const { tracedInvocation } = require('./shared/observability/tracing.ts');",
      'const middlewares = tracedInvocation();',
      'middy(async () => 1).use(middlewares);',
      'process.stdout.write(JSON.stringify(middlewares.map((m) => Object.keys(m).sort())));',
    ].join('\n');
    const run = (env: NodeJS.ProcessEnv) =>
      execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env, encoding: 'utf8' });
    expect(JSON.parse(run(outsideLambda()))).toEqual([]);
    const inLambda = run({
      ...outsideLambda(),
      AWS_LAMBDA_FUNCTION_NAME: 'mappa-api-model',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    });
    expect(JSON.parse(inLambda)).toEqual([['after', 'before', 'onError']]);
  });

  it('does not load the X-Ray SDK (its async hooks slow every await) outside Lambda', () => {
    const script = [
      "const { traced, tracedInvocation } = require('./shared/observability/tracing.ts');",
      'traced({}); tracedInvocation();',
      "const loaded = Object.keys(require.cache).some((path) => path.includes('aws-xray-sdk-core'));",
      'process.stdout.write(String(loaded));',
    ].join('\n');
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) => !key.startsWith('AWS_LAMBDA') && key !== 'AWS_EXECUTION_ENV',
      ),
    );
    const output = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: join(__dirname, '..', '..', '..'),
      env,
      encoding: 'utf8',
    });
    expect(output).toBe('false');
  });
});
