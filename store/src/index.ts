export * from './keys.js';
export * from './sip-users.js';
export * from './call-codec.js';
export * from './agents/agent-table.js';
export * from './agents/agent-record.js';
export * from './agents/pause-timer.js';
export * from './agents/agent-reach.js';
