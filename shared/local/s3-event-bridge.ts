import type { S3Event, S3EventRecord } from 'aws-lambda';
import { encodeS3EventKey } from '../aws/s3-keys';

/** A Lambda-style handler for S3 notifications. */
export type S3EventHandler = (event: S3Event) => Promise<unknown>;

/** The fields the bridge needs from an emulator's notification (s3rver's shape). */
export interface RawObjectCreated {
  readonly eventName: string;
  readonly bucket: string;
  /** The key as stored, not encoded (s3rver puts it raw into its events). */
  readonly key: string;
  readonly size: number;
  readonly eTag?: string;
  readonly sequencer: string;
}

/** A notification rule, like one S3 bucket notification configuration. */
export interface NotificationRule {
  readonly bucket: string;
  readonly prefix: string;
  readonly suffix?: string;
  readonly handler: S3EventHandler;
}

/** True when the notification rule matches, applying filters the way S3 does (on the raw key). */
export function ruleMatches(rule: NotificationRule, created: RawObjectCreated): boolean {
  return (
    created.eventName.startsWith('ObjectCreated:') &&
    rule.bucket === created.bucket &&
    created.key.startsWith(rule.prefix) &&
    (rule.suffix === undefined || created.key.endsWith(rule.suffix))
  );
}

/**
 * Builds the event AWS delivers to a Lambda for one created object: the same
 * record shape and the key URL-encoded as S3 encodes it.
 */
export function toS3Event(created: RawObjectCreated, region: string, eventTime = new Date()): S3Event {
  const record: S3EventRecord = {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: region,
    eventTime: eventTime.toISOString(),
    eventName: created.eventName as S3EventRecord['eventName'],
    userIdentity: { principalId: 'AWS:LOCAL' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': created.sequencer, 'x-amz-id-2': created.sequencer },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'mappa-local-drop-folder',
      bucket: {
        name: created.bucket,
        ownerIdentity: { principalId: 'LOCAL' },
        arn: `arn:aws:s3:::${created.bucket}`,
      },
      object: {
        key: encodeS3EventKey(created.key),
        size: created.size,
        eTag: created.eTag ?? '',
        // The data bucket is versioned, so AWS's events name the version. s3rver keeps no
        // versions (and serves the current object for any version id); the sequencer stands
        // in, so handlers read "the version the event named" here exactly as in AWS.
        versionId: created.sequencer,
        sequencer: created.sequencer,
      },
    },
  };
  return { Records: [record] };
}

/** A notification that failed every attempt, kept like an on-failure destination would. */
export interface DeadLetter {
  readonly event: S3Event;
  readonly error: string;
  readonly attempts: number;
}

export interface DeliveryOptions {
  /** Total attempts per event, as Lambda's asynchronous invocation (1 + 2 retries). @default 3 */
  readonly maxAttempts?: number;
  /** Delay before the first retry in ms, doubled per retry. @default 200 */
  readonly retryDelayMs?: number;
  readonly region: string;
  readonly onDeadLetter?: (letter: DeadLetter) => void;
}

/**
 * Delivers emulator notifications to the registered handlers with Lambda's
 * asynchronous-invocation semantics: filtered per rule, retried on failure,
 * dead-lettered after the last attempt. `drain()` waits for all in-flight work.
 */
export class S3EventBridge {
  private readonly rules: NotificationRule[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  readonly deadLetters: DeadLetter[] = [];

  constructor(private readonly options: DeliveryOptions) {}

  register(rule: NotificationRule): () => void {
    this.rules.push(rule);
    return () => {
      const index = this.rules.indexOf(rule);
      if (index >= 0) this.rules.splice(index, 1);
    };
  }

  /** Feed one emulator notification; matching handlers run in the background. */
  publish(created: RawObjectCreated): void {
    for (const rule of this.rules) {
      if (!ruleMatches(rule, created)) continue;
      const delivery = this.deliver(rule.handler, toS3Event(created, this.options.region));
      this.inFlight.add(delivery);
      void delivery.finally(() => this.inFlight.delete(delivery));
    }
  }

  /** Resolves when every delivery started so far (and any it caused) has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) {
      await Promise.allSettled([...this.inFlight]);
    }
  }

  get pending(): number {
    return this.inFlight.size;
  }

  private async deliver(handler: S3EventHandler, event: S3Event): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 3;
    const baseDelay = this.options.retryDelayMs ?? 200;
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        await handler(event);
        return;
      } catch (error) {
        lastError = error;
        if (attempt < maxAttempts) await sleep(baseDelay * 2 ** (attempt - 1));
      }
    }
    const letter: DeadLetter = {
      event,
      error: lastError instanceof Error ? lastError.message : String(lastError),
      attempts: maxAttempts,
    };
    this.deadLetters.push(letter);
    this.options.onDeadLetter?.(letter);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
