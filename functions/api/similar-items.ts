import { lambdaDeps } from '../../shared/serving/container';
import { similarItemsDeps, makeHandler } from '../../shared/serving/handlers/similar-items';

/** The similar-items function's Lambda entry point: its routes over dependencies built from its environment. */
export const handler = makeHandler(lambdaDeps('similar-items', similarItemsDeps));
