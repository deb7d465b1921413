import { fromItem, toAttributeValue, toItem } from '../../../shared/feature-store/attribute-values';

describe('feature-store records ⇄ DynamoDB attribute values', () => {
  it('round-trips plain records, leaving undefined fields out', () => {
    const record = {
      user_id: 'u1',
      count: 3,
      ratio: 0.25,
      flags: [true, null],
      nested: { a: 'x', b: [1, 2] },
    };
    expect(fromItem(toItem({ ...record, missing: undefined }))).toEqual(record);
  });

  it('stores a running sum of squares past 2^53 and reads it back as a number, not a BigInt', () => {
    const m2 = 1.2345e17;
    const back = fromItem(toItem({ m2 }));
    expect(typeof back.m2).toBe('number');
    expect(back.m2).toBe(m2);
  });

  it('refuses a non-finite number, as DynamoDB would', () => {
    expect(() => toAttributeValue(Number.NaN)).toThrow(/NaN/);
    expect(() => toAttributeValue(Number.POSITIVE_INFINITY)).toThrow(/Infinity/);
  });
});
