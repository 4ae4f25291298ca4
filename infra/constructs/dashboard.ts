/**
 * The operations dashboard: one CloudWatch page with the business flow (payouts created and
 * final by state, withdrawals, batches), what goes wrong (submission failures, Calypso errors and
 * latency, stuck batches, webhooks refused or throttled), and the platform under it (API latency
 * and errors, the reconciler's duration, each function's errors, throttles and duration).
 */
import { Duration } from 'aws-cdk-lib';
import {
  Dashboard,
  GraphWidget,
  Metric,
  TextWidget,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, METRIC_NAMES, SERVICE_DIMENSION } from '../metric-names.js';

export interface OpsDashboardProps {
  serviceName: string;
  api: RestApi;
  /** Every function, by handler name. */
  functions: ReadonlyMap<string, IFunction>;
  /** The scheduled reconciler, whose duration is shown on its own. */
  reconciler?: IFunction;
  /** The metric counted from the API access logs for 429s on the webhook. */
  webhookThrottledMetric: string;
  /** Alarm thresholds drawn as lines on their graphs. */
  thresholds: { submissionFailures: number; calypsoErrors: number };
}

const PERIOD = Duration.minutes(5);
const WIDE = 12;
const HEIGHT = 6;

export class OpsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OpsDashboardProps) {
    super(scope, id);
    const dimensions = { [SERVICE_DIMENSION]: props.serviceName };
    const custom = (name: string, label: string, statistic = 'Sum') =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: dimensions,
        statistic,
        period: PERIOD,
        label,
      });
    const graph = (title: string, left: IMetric[], extra: Partial<GraphWidgetOptions> = {}) =>
      new GraphWidget({ title, left, width: WIDE, height: HEIGHT, ...extra });
    const perFunction = (label: string, metricOf: (fn: IFunction, handler: string) => IMetric) =>
      graph(
        label,
        [...props.functions].map(([handler, fn]) => metricOf(fn, handler)),
      );

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.serviceName,
      defaultInterval: Duration.hours(6),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${props.serviceName}\nEvery alarm of this stack is explained in RUNBOOK.md (what it means, how to look, what to do).`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Payouts created and final, by state', [
        custom(METRIC_NAMES.payoutsCreated, 'created'),
        custom(METRIC_NAMES.payoutsCompleted, 'COMPLETED'),
        custom(METRIC_NAMES.payoutsCompletedWithFailures, 'COMPLETED_WITH_FAILURES'),
        custom(METRIC_NAMES.payoutsFailed, 'FAILED'),
        custom(METRIC_NAMES.payoutsCanceled, 'CANCELED'),
        custom(METRIC_NAMES.payoutsRejected, 'REJECTED'),
      ]),
      graph('Withdrawals completed and failed', [
        custom(METRIC_NAMES.withdrawalsCompleted, 'completed'),
        custom(METRIC_NAMES.withdrawalsFailed, 'failed'),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Submission failures', [custom(METRIC_NAMES.submissionFailures, 'failed attempts')], {
        leftAnnotations: [
          { value: props.thresholds.submissionFailures, label: 'alarm SubmissionFailures' },
        ],
      }),
      graph('Calypso errors and latency', [custom(METRIC_NAMES.calypsoErrors, 'errors')], {
        leftAnnotations: [{ value: props.thresholds.calypsoErrors, label: 'alarm CalypsoErrors' }],
        right: [
          custom(METRIC_NAMES.calypsoLatency, 'latency p50 (ms)', 'p50'),
          custom(METRIC_NAMES.calypsoLatency, 'latency p99 (ms)', 'p99'),
        ],
      }),
    );
    this.dashboard.addWidgets(
      graph('Batches: submitted, completed, due (open) and stuck', [
        custom(METRIC_NAMES.batchesSubmitted, 'submitted'),
        custom(METRIC_NAMES.batchesCompleted, 'completed'),
        custom(METRIC_NAMES.batchesDue, 'due per reconciler tick (max)', 'Maximum'),
        custom(METRIC_NAMES.stuckBatches, 'stuck (max)', 'Maximum'),
      ]),
      graph(
        'Reconciler duration',
        props.reconciler
          ? [
              props.reconciler.metricDuration({ period: PERIOD, statistic: 'Average' }),
              props.reconciler.metricDuration({ period: PERIOD, statistic: 'Maximum' }),
            ]
          : [],
        {
          right: [
            custom(METRIC_NAMES.submissionPausedMinutes, 'submission paused (min)', 'Maximum'),
          ],
        },
      ),
    );
    this.dashboard.addWidgets(
      graph('Webhooks: accepted, rejected, throttled', [
        custom(METRIC_NAMES.webhooksReceived, 'accepted (signature verified)'),
        custom(METRIC_NAMES.webhookSignatureRejected, 'rejected (signature)'),
        custom(props.webhookThrottledMetric, 'throttled (429)'),
      ]),
      graph('Corrections: retry disagreements, rejected but found', [
        custom(METRIC_NAMES.retryDisagreements, 'retry disagreements'),
        custom(METRIC_NAMES.rejectedButFound, 'rejected but found'),
      ]),
    );
    this.dashboard.addWidgets(
      graph('API latency', [
        props.api.metricLatency({ period: PERIOD, statistic: 'p50', label: 'p50' }),
        props.api.metricLatency({ period: PERIOD, statistic: 'p99', label: 'p99' }),
      ]),
      graph('API 4xx and 5xx', [
        props.api.metricClientError({ period: PERIOD, statistic: 'Sum', label: '4xx' }),
        props.api.metricServerError({ period: PERIOD, statistic: 'Sum', label: '5xx' }),
      ]),
    );
    this.dashboard.addWidgets(
      perFunction('Lambda errors per function', (fn, handler) =>
        fn.metricErrors({ period: PERIOD, statistic: 'Sum', label: handler }),
      ),
      perFunction('Lambda throttles per function', (fn, handler) =>
        fn.metricThrottles({ period: PERIOD, statistic: 'Sum', label: handler }),
      ),
    );
    this.dashboard.addWidgets(
      perFunction('Lambda duration per function (p99)', (fn, handler) =>
        fn.metricDuration({ period: PERIOD, statistic: 'p99', label: handler }),
      ),
    );
  }
}

type GraphWidgetOptions = ConstructorParameters<typeof GraphWidget>[0];
