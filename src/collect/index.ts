export type { CollectorEventName, CollectorEventSink, CollectorEvents, EventMailbox } from './events.js';
export { idempotencyKey } from './idempotency.js';
export { type Identified, type IdentifyInput, identifyAndPlan } from './identify.js';
export {
  type IdentityInput,
  type IdentityOutcome,
  type IdentityResolution,
  type IdentityUncertainty,
  type Rekey,
  resolveIdentity,
} from './identity.js';
export { isServerUidl, type ListingOptions, readListing } from './listing.js';
export {
  FALLBACK_UIDL_PREFIX,
  fallbackUidl,
  headerFingerprint,
  type IdentityStrategy,
  type IdentityStrategyInput,
  identityStrategy,
} from './message-identity.js';
export {
  buildQueuedContent,
  type ContentSummary,
  type HeaderCapture,
  type QueuedContent,
  type QueuedContentOptions,
} from './message-pipeline.js';
export {
  type DeleteReason,
  type ListedMessage,
  type Plan,
  type PlanInput,
  type PlannedDelete,
  type PlannedDuplicate,
  type PlannedSkip,
  plan,
} from './plan.js';
export { type EffectivePolicy, effectivePolicy, shouldDeleteAfterCollect } from './policy.js';
export { runSession } from './session.js';
export type { ConnectionTuning, SessionOptions, SessionResult } from './session-api.js';
export { type TraceHeaderInput, traceHeader } from './trace-header.js';
