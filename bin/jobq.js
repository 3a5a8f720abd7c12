#!/usr/bin/env node
// Shim into the compiled entry point; all logic lives in src/main.ts.
import '../dist/main.js';
