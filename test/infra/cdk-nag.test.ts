import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { synthMappaStack } from '../support/synth';

describe('cdk-nag AwsSolutions checks on the whole app', () => {
  const { stack } = synthMappaStack();

  it('reports no unsuppressed errors', () => {
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((error) => `${error.id}: ${String(error.entry.data).split('\n')[0]}`)).toEqual([]);
  });

  it('reports no unsuppressed warnings', () => {
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(warnings.map((warning) => `${warning.id}: ${String(warning.entry.data).split('\n')[0]}`)).toEqual(
      [],
    );
  });

  it('gives every suppression a specific reason', () => {
    const template = JSON.stringify(synthMappaStack().template.toJSON());
    const reasons = [...template.matchAll(/"reason":"([^"]*)"/g)].map((match) => match[1] ?? '');
    for (const reason of reasons) expect(reason.length).toBeGreaterThanOrEqual(30);
  });
});
