// tests/integration/live_events_redis.test.mjs: the livestream event suite (live_suite.mjs) on
// two nodes sharing a real Redis: admins connect to one node, viewers to the other.
import { describe } from 'node:test';
import { liveSuite } from './live_suite.mjs';

describe('livestream events, Redis store, two nodes', () => liveSuite('redis'));
