import { lambdaDeps } from '../../shared/serving/container';
import { filtersDeps, makeHandler } from '../../shared/serving/handlers/filters';

/** The filters function's Lambda entry point: its routes over dependencies built from its environment. */
export const handler = makeHandler(lambdaDeps('filters', filtersDeps));
