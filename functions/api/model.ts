import { lambdaDeps } from '../../shared/serving/container';
import { modelDeps, makeHandler } from '../../shared/serving/handlers/model';

/** The model function's Lambda entry point: its routes over dependencies built from its environment. */
export const handler = makeHandler(lambdaDeps('model', modelDeps));
