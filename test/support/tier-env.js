/**
 * setupFiles of every tier: the environment sidecars and control planes started by tests inherit.
 * A fixed seed for every random choice (api/random.ts), and the proxy's event-loop-delay load shedding
 * (proxy/http/overload.ts) moved far out of reach, so a busy machine cannot turn a test into a 503;
 * test/proxy/hardening/ builds its own OverloadManager with explicit thresholds.
 */
process.env.WEFT_RANDOM_SEED ??= '20261206';
process.env.WEFT_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS ??= '600000';
