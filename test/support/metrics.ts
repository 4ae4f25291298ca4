/** Reads what the functions' Powertools Metrics buffer holds, before the invocation publishes it. */
import { metrics } from '../../shared/metrics.js';

/** The sum of the values buffered for a metric (0 when none). */
export function buffered(name: string): number {
  if (!metrics.hasStoredMetrics()) return 0;
  const emf = metrics.serializeMetrics() as unknown as Record<string, unknown>;
  const value = emf[name];
  if (value === undefined) return 0;
  return (Array.isArray(value) ? (value as number[]) : [value as number]).reduce(
    (a, b) => a + b,
    0,
  );
}
