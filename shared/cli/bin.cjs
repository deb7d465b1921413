#!/usr/bin/env node
// Entry point of the `mappa` command: runs the TypeScript CLI through tsx's require hook.
require('tsx/cjs');
require('./main.ts');
