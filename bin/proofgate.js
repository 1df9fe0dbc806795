#!/usr/bin/env node
// The compiled CLI (`make build` writes dist/); see src/main.ts.
import "../dist/src/main.js";
