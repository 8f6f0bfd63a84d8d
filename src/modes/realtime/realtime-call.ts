/** Realtime mode: proxies the call to an OpenAI Realtime-compatible upstream (being built; see issue 8). */
import type { Business } from '../../contracts/business';
import type { CallRecord } from '../../contracts/call';
import type { ClientEvent } from '../../contracts/realtime';
import { inputEvents } from '../../core/protocol';
import type { Services } from '../../gateway/services';
import type { CallDriver, DriverHost } from '../driver';

export class RealtimeCall implements CallDriver {
  constructor(
    _s: Services,
    _call: CallRecord,
    _business: Business,
    private readonly host: DriverHost,
  ) {}
  async start(): Promise<void> {
    this.host.send(inputEvents.error({ type: 'server_error', code: 'mode_unavailable', message: 'Realtime mode is not available in this build.' }));
    this.host.hangup('mode_unavailable');
  }
  async onClientEvent(_e: ClientEvent): Promise<void> {}
  onAudio(_b: Uint8Array): void {}
  async close(): Promise<void> {}
}
