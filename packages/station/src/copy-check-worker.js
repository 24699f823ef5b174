// The worker thread of copy-check-pool.ts. Worker threads do not inherit the parent's
// TypeScript loader on Node 20 (tsx registers its hooks per thread), so this plain-JavaScript
// entry registers it here and then loads the worker itself, whether the parent runs under
// tsx, vitest or anything else.
import { register } from 'tsx/esm/api';

register();
await import('./copy-check-thread.ts');
