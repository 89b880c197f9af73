#!/usr/bin/env node
// Entry point of `kuryr-cni`, the CNI plugin (installed as /opt/cni/bin/kuryr-cni): it hands
// each CNI verb to the kuryr daemon over its unix socket (docs/cni.md).
import { cniMain } from '../dist/src/cni/plugin.js';

process.exitCode = await cniMain();
