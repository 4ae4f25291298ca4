/** Structured JSON logs (Powertools Logger); secrets are never passed to it. */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'calypso-payouts',
  logLevel: (process.env.LOG_LEVEL as 'INFO' | 'SILENT' | undefined) ?? 'INFO',
});
