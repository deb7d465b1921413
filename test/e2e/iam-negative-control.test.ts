import { outputLinesDuring } from '../support/output-lines';
import { initBackend } from '../../shared/ml/backend';
import { call, dropWorld, startTestApi, testWorld, trainQuickModel } from '../support/api';
import { withoutGrant } from '../support/iam';
import { startIngestionStack, TEST_NOW } from '../support/ingestion';
import { defaultPolicies } from '../support/local-stack';

/**
 * The negative control of the local IAM double: take one grant away from the
 * synthesized policies and the end-to-end flow fails, naming the deployable,
 * the action and the resource, exactly where AWS would fail it.
 */
describe('IAM negative control: one grant removed from the synthesized policy', () => {
  beforeAll(() => initBackend({ force: 'wasm' }));

  it('recommendations without BatchGetItem on the users table answer 500 and log who was denied what', async () => {
    // Prepare: the deployed policies, less recommendations' read of user features.
    const policies = withoutGrant(
      await defaultPolicies(),
      'api-recommendations',
      'dynamodb:BatchGetItem',
      'mappa-users',
    );
    const env = await startIngestionStack({}, { iam: policies });
    try {
      await dropWorld(env, testWorld());
      await trainQuickModel(env, new Date(TEST_NOW * 1000));
      const api = await startTestApi(env, { logLevel: 'error' });
      try {
        // Act
        const { result: response, lines: logged } = await outputLinesDuring(() =>
          call(api.url, 'getRecommendations', 'GET', '/v1/users/u1/recommendations'),
        );
        // Assess: a generic 500 to the caller, the specifics in the function's log.
        expect(response.status).toBe(500);
        expect(JSON.stringify(response.body)).not.toContain('BatchGetItem');
        // Logged with the error's stack, not only its message.
        expect(logged.join('\n')).toContain('"stack":"AccessDeniedException: User: arn:aws:sts::');
        expect(logged.join('\n')).toContain(
          'assumed-role/api-recommendations/api-recommendations is not authorized to perform: dynamodb:BatchGetItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/mappa-users',
        );
        // The same route with the synthesized policy intact works (the control's other half).
        expect(env.stack.account.recorder?.denied()).toEqual([
          expect.objectContaining({ deployable: 'api-recommendations', action: 'dynamodb:BatchGetItem' }),
        ]);
      } finally {
        await api.close();
      }
    } finally {
      await env.stop();
    }
  });

  it('a training run without the segment-export grant fails before the manifest, naming the role and key', async () => {
    const policies = withoutGrant(await defaultPolicies(), 'train', 's3:PutObject', '/exports/segments/');
    const env = await startIngestionStack({}, { iam: policies });
    try {
      await dropWorld(env, testWorld());
      await expect(trainQuickModel(env, new Date(TEST_NOW * 1000))).rejects.toThrow(
        /assumed-role\/train\/train is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::mappa-data\/exports\/segments\//,
      );
      expect(await env.keys('models/manifest.json')).toEqual([]);
    } finally {
      await env.stop();
    }
  });
});
