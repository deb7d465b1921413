import { lambdaDeps } from '../../shared/serving/container';
import { experimentsDeps, makeHandler } from '../../shared/serving/handlers/experiments';

/** The experiments function's Lambda entry point: its routes over dependencies built from its environment. */
export const handler = makeHandler(lambdaDeps('experiments', experimentsDeps));
