/**
 * The WebSocket channel contract (docs/protocol.md §2), checked with the same cases on every
 * implementation: the reference gateway's in-memory hub and the FakeGateway of
 * @modelriver/test-utils. Cases a target may leave out run only where it declares the capability;
 * cases a target is known to fail (drifts) run as expected failures. See targets.ts.
 *
 * The Redis target runs three hubs on one Redis: channels are run on the first, clients dial the
 * other two, so every case also checks that the store carries the contract between nodes.
 */
import { describe } from 'vitest';
import { describeWithRedis } from '../../examples/gateway/test/redis.helpers.js';
import { defineContractCases } from './contract-cases.js';
import { redisTarget, targets } from './targets.js';

for (const factory of targets) describe(factory.name, () => defineContractCases(factory));
describeWithRedis('three hubs on one Redis', (redis) => defineContractCases(redisTarget(() => redis().url)));
