// tests/integration/live_events_memory.test.mjs: the livestream event suite (live_suite.mjs)
// on one node with the in-process state store.
import { describe } from 'node:test';
import { liveSuite } from './live_suite.mjs';

describe('livestream events, memory store', () => liveSuite('memory'));
