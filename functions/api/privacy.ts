import { lambdaDeps } from '../../shared/serving/container';
import { makeHandler, privacyDeps } from '../../shared/serving/handlers/privacy';

/** The privacy function's Lambda entry point: its routes over dependencies built from its environment. */
export const handler = makeHandler(lambdaDeps('privacy', privacyDeps));
