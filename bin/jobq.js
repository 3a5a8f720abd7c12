#!/usr/bin/env node
// Shim into the compiled entry point; all logic lives in src/main.ts. The version check runs first:
// it is a static import, the entry point a dynamic one, so no dependency loads on an old Node.
import './node-check.js';

await import('../dist/main.js');
