/**
 * The alarms and where they go: an SNS topic encrypted with a customer-managed key (CloudWatch
 * cannot publish to a topic under the AWS-managed SNS key), publishable over TLS only, with an
 * optional e-mail subscription.
 */
import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Metric,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AlarmsProps {
  stage: string;
  alarmEmail?: string;
}

export type ThresholdAlarm = {
  metric: IMetric;
  description: string;
} & (
  | {
      /** Fires when the metric is at or above this value in one period; no data is fine. */
      atLeast: number;
    }
  | {
      /** Fires when the metric is below this value in one period, or has no data at all. */
      below: number;
    }
);

export class Alarms extends Construct {
  readonly topic: Topic;
  readonly key: Key;
  private readonly action: SnsAction;
  private readonly stage: string;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.stage = props.stage;
    this.key = new Key(this, 'TopicKey', {
      description: `Encrypts the calypso-payouts-${props.stage} alarm topic`,
      enableKeyRotation: true,
    });
    this.key.grant(
      new ServicePrincipal('cloudwatch.amazonaws.com'),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.topic = new Topic(this, 'Topic', {
      displayName: `calypso-payouts ${props.stage} alarms`,
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.action = new SnsAction(this.topic);
  }

  /** An alarm that notifies the topic when it fires and when it is OK again. */
  add(id: string, alarm: ThresholdAlarm): Alarm {
    const rising = 'atLeast' in alarm;
    const created = new Alarm(this, id, {
      alarmName: `calypso-payouts-${this.stage}-${id}`,
      alarmDescription: alarm.description,
      metric: alarm.metric,
      threshold: rising ? alarm.atLeast : alarm.below,
      comparisonOperator: rising
        ? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        : ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: rising ? TreatMissingData.NOT_BREACHING : TreatMissingData.BREACHING,
    });
    created.addAlarmAction(this.action);
    created.addOkAction(this.action);
    return created;
  }
}

/** The period every alarm evaluates. */
export const ALARM_PERIOD = Duration.minutes(5);

export function customMetric(
  namespace: string,
  name: string,
  dimensions: Record<string, string>,
  statistic: 'Sum' | 'Maximum',
): Metric {
  return new Metric({
    namespace,
    metricName: name,
    dimensionsMap: dimensions,
    statistic,
    period: ALARM_PERIOD,
  });
}
