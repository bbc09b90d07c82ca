export * from './roles.js';
export * from './api.js';
export * from './calls.js';
export * from './agents.js';
export * from './events.js';
export * from './redis-keys.js';
export * from './call-codec.js';
export * from './team.js';
