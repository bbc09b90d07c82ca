export * from './policy.js';
export * from './policy-store.js';
