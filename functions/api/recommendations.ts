import { lambdaDeps } from '../../shared/serving/container';
import { recommendationsDeps, makeHandler } from '../../shared/serving/handlers/recommendations';

/** The recommendations function's Lambda entry point: its routes over dependencies built from its environment. */
export const handler = makeHandler(lambdaDeps('recommendations', recommendationsDeps));
