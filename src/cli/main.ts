#!/usr/bin/env node
// The `trawl` executable: runs the CLI and sets the exit code (2 for bad usage).
import { main } from './program.js';

process.exitCode = await main(process.argv);
