import { lambdaDeps } from '../../shared/serving/container';
import { segmentsDeps, makeHandler } from '../../shared/serving/handlers/segments';

/** The segments function's Lambda entry point: its routes over dependencies built from its environment. */
export const handler = makeHandler(lambdaDeps('segments', segmentsDeps));
