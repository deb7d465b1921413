import { decodeS3EventKey, encodeS3EventKey } from '../../../shared/aws/s3-keys';

describe('S3 event keys', () => {
  it.each([
    ['incoming/users/plain.csv', 'incoming/users/plain.csv'],
    ['incoming/users/with space.csv', 'incoming/users/with+space.csv'],
    ['incoming/users/a+b.csv', 'incoming/users/a%2Bb.csv'],
    ['incoming/users/(1) it’s.csv', 'incoming/users/%281%29+it%E2%80%99s.csv'],
    ['incoming/users/ümlaut&x=1.csv', 'incoming/users/%C3%BCmlaut%26x%3D1.csv'],
  ])('encodes %s as S3 does and decodes it back', (raw, encoded) => {
    expect(encodeS3EventKey(raw)).toBe(encoded);
    expect(decodeS3EventKey(encoded)).toBe(raw);
  });
});
