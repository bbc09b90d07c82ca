export * from './roles.js';
export * from './api.js';
