/** The client-event guards live in src/security/client-overrides.ts (shared with chained mode). */
export * from '../../security/client-overrides';
