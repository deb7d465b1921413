import type { LocalApi } from '../../shared/local/api-server';
import { call, startTestApi } from '../support/api';
import { type IngestionStack, startIngestionStack } from '../support/ingestion';

/**
 * A campaign sent outside Mappa (an e-mail to a random half) replayed through the experiments API: arms that
 * are not recommendation strategies, assignments imported with their exposure time, outcomes from events.
 */
describe('experiments with imported assignments', () => {
  let env: IngestionStack;
  let api: LocalApi;
  beforeAll(async () => {
    env = await startIngestionStack();
    api = await startTestApi(env);
  });
  afterAll(async () => {
    await api.close();
    await env.stop();
  });

  const importing = (experimentId: string, assignments: unknown[]) =>
    call<Record<string, unknown>>(
      api.url,
      'importAssignments',
      'POST',
      `/v1/experiments/${experimentId}/assignments`,
      {
        body: { assignments },
      },
    );

  it('takes arms that are anything, imports each user once, keeps a user in the arm they are in', async () => {
    const created = await call(api.url, 'createExperiment', 'POST', '/v1/experiments', {
      body: {
        experimentId: 'spring-email',
        variants: [{ name: 'holdout' }, { name: 'email' }],
        control: 'holdout',
      },
    });
    expect(created.status).toBe(201);
    const assignments = [
      { userId: 'c1', variant: 'email', exposedAt: '2026-03-01T09:00:00Z' },
      { userId: 'c2', variant: 'email' },
      { userId: 'c3', variant: 'holdout' },
    ];
    expect((await importing('spring-email', assignments)).body).toEqual({
      experimentId: 'spring-email',
      imported: 3,
      alreadyAssigned: 0,
      conflicts: 0,
      examples: [],
    });
    // The same file again changes nothing; c3 imported into the other arm stays where it is.
    const again = await importing('spring-email', [
      ...assignments.slice(0, 2),
      { userId: 'c3', variant: 'email' },
    ]);
    expect(again.body).toEqual({
      experimentId: 'spring-email',
      imported: 0,
      alreadyAssigned: 2,
      conflicts: 1,
      examples: [{ userId: 'c3', variant: 'email', assigned: 'holdout' }],
    });

    // An imported customer's purchase four days after the e-mail counts as the arm's conversion (its own
    // timestamp, inside the 30-day attribution window); one months later, outside the window, does not.
    const purchase = await call(api.url, 'postEvents', 'POST', '/v1/events', {
      body: {
        userId: 'c1',
        itemId: 'i1',
        eventType: 'purchase',
        value: 30,
        timestamp: '2026-03-05T10:00:00Z',
      },
    });
    expect(purchase).toMatchObject({ status: 202, body: { attributed: 1 } });
    const late = await call(api.url, 'postEvents', 'POST', '/v1/events', {
      body: {
        userId: 'c1',
        itemId: 'i2',
        eventType: 'purchase',
        value: 50,
        timestamp: '2026-06-01T10:00:00Z',
      },
    });
    expect(late.status).toBe(202);
    expect(late.body).not.toHaveProperty('attributed');
    const report = await call<{
      variants: { variant: string; users: number; exposures: number; converters: number; revenue: number }[];
    }>(api.url, 'getExperimentReport', 'GET', '/v1/experiments/spring-email/report');
    expect(report.body.variants).toEqual([
      expect.objectContaining({ variant: 'holdout', users: 1, exposures: 1, converters: 0 }),
      expect.objectContaining({ variant: 'email', users: 2, exposures: 2, converters: 1 }),
    ]);
    expect(report.body.variants[0]).not.toHaveProperty('strategy');
    expect(report.body.variants[1]).toMatchObject({ revenue: 30 });
  });

  it('names what is wrong: an arm the experiment does not have, an unknown experiment, an empty list', async () => {
    const wrongArm = await importing('spring-email', [
      { userId: 'c9', variant: 'email' },
      { userId: 'c10', variant: 'sms' },
    ]);
    expect(wrongArm).toMatchObject({
      status: 400,
      body: { error: 'validation_error', field: 'assignments[1].variant', in: 'body' },
    });
    expect(String(wrongArm.body.message)).toContain('not an arm of spring-email (holdout, email)');
    expect(await importing('no-such-campaign', [{ userId: 'c1', variant: 'email' }])).toMatchObject({
      status: 404,
      body: { error: 'experiment_not_found', field: 'experimentId' },
    });
    expect(await importing('spring-email', [])).toMatchObject({
      status: 400,
      body: { field: 'assignments' },
    });
  });
});
