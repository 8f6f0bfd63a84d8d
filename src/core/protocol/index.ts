/** The realtime protocol edge: dialects, negotiation, ids and event builders. */
export * from './dialect';
export * from './negotiate';
export { newId, type IdPrefix } from './ids';
export { ResponseEmitter, type ResponseEmitterOptions, type FinalStatus, type DoneDetails } from './response-emitter';
export { serverEvents } from './server-events';
export { stamp } from './stamp';
export { modalitiesFromGa, modalitiesToGa, responseParamsFromGa, responseParamsToGa } from './ga-session';
export { SERVER_TYPE_TO_GA, serverTypeFromGa, serverTypeToGa } from './ga-names';
export type { GaAudioFormat, GaSession, GaResponseCreateParams } from './ga-schemas';
