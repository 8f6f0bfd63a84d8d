import type { ServerEvent, ServerEventBody } from '../../contracts/realtime';
import { newId } from './ids';

/** Give a server event its `event_id` (every server event has one, §1.2). */
export function stamp<B extends ServerEventBody>(body: B): Extract<ServerEvent, { type: B['type'] }> {
  return { event_id: newId('event'), ...body } as unknown as Extract<ServerEvent, { type: B['type'] }>;
}
