package io.rollout.env.server;

import io.rollout.env.Environment;

/**
 * One client's environment instance. Calls on one session are serialised by its lock;
 * sessions are independent of each other.
 */
final class Session {

    final String id;
    final Environment env;
    private volatile long lastUsedNanos;

    Session(String id, Environment env, long nowNanos) {
        this.id = id;
        this.env = env;
        this.lastUsedNanos = nowNanos;
    }

    void touch(long nowNanos) {
        lastUsedNanos = nowNanos;
    }

    long lastUsedNanos() {
        return lastUsedNanos;
    }
}
