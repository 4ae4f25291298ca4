/**
 * The local stack's environment defaults. Imported first by start.ts, before any module that
 * reads the environment when it loads: the shared Logger takes LOG_LEVEL as it is built, so the
 * level must be set before that import or the first lines come out at INFO.
 */
const env = process.env;

/** Quiet by default: warnings and errors only (LOG_LEVEL=INFO npm start shows everything). */
if (!env.LOG_LEVEL) env.LOG_LEVEL = 'WARN';
env.POWERTOOLS_METRICS_DISABLED ??= 'true';
// DynamoDB Local accepts any credentials; the SDK still wants some.
env.AWS_REGION ??= 'eu-west-1';
env.AWS_ACCESS_KEY_ID ??= 'local';
env.AWS_SECRET_ACCESS_KEY ??= 'local';
env.AWS_EC2_METADATA_DISABLED = 'true';

export {};
