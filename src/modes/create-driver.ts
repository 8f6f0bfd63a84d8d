/**
 * Picks the call driver for the call's mode: the one place a transport's host gets a driver (a
 * realtime call that falls back to chained mode builds its ChainedCall itself).
 */
import type { Business } from '../contracts/business';
import type { CallRecord } from '../contracts/call';
import type { Services } from '../services';
import { ChainedCall } from './chained/chained-call';
import type { CallDriver, DriverHost } from './driver';
import { RealtimeCall } from './realtime/realtime-call';

export function createDriver(s: Services, call: CallRecord, business: Business, host: DriverHost): CallDriver {
  return call.mode === 'realtime' ? new RealtimeCall(s, call, business, host) : new ChainedCall(s, call, business, host);
}
