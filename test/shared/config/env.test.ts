import * as z from '../../../shared/data/schema';
import { ConfigurationError, readEnv, requiredString } from '../../../shared/config/env';

describe('readEnv', () => {
  const shape = {
    MAPPA_DATA_BUCKET: requiredString,
    MAPPA_TIMEOUT_MS: z.coerce.number().check(z.refine(Number.isInteger), z.positive()),
  };

  it('parses every variable with its schema', () => {
    expect(readEnv(shape, { MAPPA_DATA_BUCKET: ' data ', MAPPA_TIMEOUT_MS: '250' })).toEqual({
      MAPPA_DATA_BUCKET: 'data',
      MAPPA_TIMEOUT_MS: 250,
    });
  });

  it('fails fast naming a missing variable', () => {
    expect(() => readEnv(shape, { MAPPA_TIMEOUT_MS: '1' })).toThrow(
      new ConfigurationError('MAPPA_DATA_BUCKET', 'is not set'),
    );
  });

  it('fails fast naming a malformed variable', () => {
    expect(() => readEnv(shape, { MAPPA_DATA_BUCKET: 'b', MAPPA_TIMEOUT_MS: '-3' })).toThrow(
      /^Environment variable MAPPA_TIMEOUT_MS is invalid: /,
    );
  });
});
