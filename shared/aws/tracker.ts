/**
 * The system of a function that submits or tracks payouts (submit, apply-webhook, reconcile): the
 * table and the event bus, and Calypso signed with the key from Secrets Manager.
 */
import type { System } from '../system.js';
import { secretSigningCalypso } from './calypso.js';
import { containerSystem } from './container.js';
import { tableWriterPorts } from './writer.js';

export function trackerSystem(): () => System<'repository' | 'calypso' | 'events'> {
  return containerSystem((config) => ({
    ...tableWriterPorts(config),
    calypso: secretSigningCalypso(config),
  }));
}
