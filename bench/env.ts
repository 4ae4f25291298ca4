/**
 * The benchmark process's environment, set before any shared module reads it: this module is
 * imported first by `run.ts`. Logs are silenced (they would flood the progress output and the
 * terminal would become part of what is measured) and metrics lines are off; DynamoDB Local takes
 * any static credentials.
 */
const env = process.env;
env.LOG_LEVEL = env.BENCH_LOG_LEVEL ?? 'SILENT';
env.POWERTOOLS_METRICS_DISABLED = 'true';
env.AWS_REGION ??= 'eu-west-1';
env.AWS_ACCESS_KEY_ID ??= 'local';
env.AWS_SECRET_ACCESS_KEY ??= 'local';
env.AWS_EC2_METADATA_DISABLED = 'true';

export {};
