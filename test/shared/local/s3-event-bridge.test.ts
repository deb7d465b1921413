import { type RawObjectCreated, ruleMatches, toS3Event } from '../../../shared/local/s3-event-bridge';

const created: RawObjectCreated = {
  eventName: 'ObjectCreated:Put',
  bucket: 'mappa-data',
  key: 'incoming/items/new items.csv',
  size: 12,
  eTag: 'abc',
  sequencer: '0A1B',
};
const handler = async () => undefined;

describe('ruleMatches', () => {
  it('matches on bucket, raw-key prefix and suffix like an S3 notification filter', () => {
    expect(ruleMatches({ bucket: 'mappa-data', prefix: 'incoming/items/', handler }, created)).toBe(true);
    expect(ruleMatches({ bucket: 'mappa-data', prefix: 'incoming/users/', handler }, created)).toBe(false);
    expect(ruleMatches({ bucket: 'other', prefix: 'incoming/items/', handler }, created)).toBe(false);
    expect(
      ruleMatches({ bucket: 'mappa-data', prefix: 'incoming/', suffix: '.json', handler }, created),
    ).toBe(false);
  });

  it('ignores removals', () => {
    expect(
      ruleMatches(
        { bucket: 'mappa-data', prefix: 'incoming/', handler },
        { ...created, eventName: 'ObjectRemoved:Delete' },
      ),
    ).toBe(false);
  });
});

describe('toS3Event', () => {
  it('builds the Lambda payload with the key URL-encoded', () => {
    const event = toS3Event(created, 'eu-west-1', new Date('2026-11-23T10:00:00Z'));
    expect(event.Records).toHaveLength(1);
    expect(event.Records[0]).toMatchObject({
      eventSource: 'aws:s3',
      awsRegion: 'eu-west-1',
      eventTime: '2026-11-23T10:00:00.000Z',
      eventName: 'ObjectCreated:Put',
      s3: {
        bucket: { name: 'mappa-data', arn: 'arn:aws:s3:::mappa-data' },
        object: { key: 'incoming/items/new+items.csv', size: 12, eTag: 'abc', sequencer: '0A1B' },
      },
    });
  });
});
