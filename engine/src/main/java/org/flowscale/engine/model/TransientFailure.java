package org.flowscale.engine.model;

/**
 * Marks an exception whose cause may pass: a remote reward server that timed out, refused a
 * connection or answered 503 after every retry. Trying the same request later may succeed; callers
 * (a service, a batch runner) may retry it, where other failures would fail the same way again.
 */
public interface TransientFailure {}
