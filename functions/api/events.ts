import { lambdaDeps } from '../../shared/serving/container';
import { eventsDeps, makeHandler } from '../../shared/serving/handlers/events';

/** The events function's Lambda entry point: its routes over dependencies built from its environment. */
export const handler = makeHandler(lambdaDeps('events', eventsDeps));
