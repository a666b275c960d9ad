package io.rollout.env.server;

import io.rollout.env.EnvConfig;
import io.rollout.env.Environment;
import io.rollout.env.EnvironmentFactory;
import io.rollout.env.Observation;
import io.rollout.env.StepResult;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds the open sessions: creates them up to a limit, runs calls on them one at a time,
 * and expires the ones idle longer than the TTL. Time comes from an injected nanosecond
 * clock, so tests advance it instead of sleeping.
 */
public final class SessionManager {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);
    private static final int REMEMBERED_EXPIRED = 10_000;

    private final EnvRegistry registry;
    private final int maxSessions;
    private final long ttlNanos;
    private final LongSupplier nanoClock;
    private final SecureRandom ids = new SecureRandom();
    private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
    private final AtomicInteger reserved = new AtomicInteger();
    private final Map<String, Boolean> recentlyExpired = Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                    return size() > REMEMBERED_EXPIRED;
                }
            });
    private volatile Consumer<String> onExpired = env -> { };

    public SessionManager(EnvRegistry registry, int maxSessions, Duration ttl, LongSupplier nanoClock) {
        if (maxSessions < 1) {
            throw new IllegalArgumentException("max sessions must be >= 1, got " + maxSessions);
        }
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("session TTL must be positive, got " + ttl);
        }
        this.registry = registry;
        this.maxSessions = maxSessions;
        this.ttlNanos = ttl.toNanos();
        this.nanoClock = nanoClock;
    }

    /** Called with the environment name of each session that expires. */
    void onExpired(Consumer<String> listener) {
        this.onExpired = listener;
    }

    public EnvRegistry registry() {
        return registry;
    }

    /** Opens a session and starts its first episode; the session is not kept if the reset fails. */
    public Created create(String envName, long seed, EnvConfig config) {
        EnvironmentFactory factory = registry.get(envName);
        if (reserved.incrementAndGet() > maxSessions) {
            reserved.decrementAndGet();
            throw new SessionLimitException(maxSessions);
        }
        Environment env = null;
        try {
            env = factory.create();
            Observation first = env.reset(seed, config);
            String id = newId();
            sessions.put(id, new Session(id, env, nanoClock.getAsLong()));
            return new Created(id, first);
        } catch (RuntimeException e) {
            reserved.decrementAndGet();
            if (env != null) {
                closeQuietly(env);
            }
            throw e;
        }
    }

    public StepResult step(String id, String action) {
        Session session = require(id);
        synchronized (session) {
            session.touch(nanoClock.getAsLong());
            return session.env.step(action);
        }
    }

    public Observation reset(String id, long seed, EnvConfig config) {
        Session session = require(id);
        synchronized (session) {
            session.touch(nanoClock.getAsLong());
            return session.env.reset(seed, config);
        }
    }

    /** The environment name of session {@code id}. */
    public String envOf(String id) {
        return require(id).env.name();
    }

    public void close(String id) {
        Session session = sessions.remove(id);
        if (session == null) {
            throw unknown(id);
        }
        reserved.decrementAndGet();
        synchronized (session) {
            closeQuietly(session.env);
        }
    }

    /** Closes every session idle for longer than the TTL; returns how many. */
    public int expireIdle() {
        long now = nanoClock.getAsLong();
        List<Session> expired = new ArrayList<>();
        for (Session session : sessions.values()) {
            if (now - session.lastUsedNanos() > ttlNanos && sessions.remove(session.id, session)) {
                expired.add(session);
            }
        }
        for (Session session : expired) {
            reserved.decrementAndGet();
            recentlyExpired.put(session.id, Boolean.TRUE);
            synchronized (session) {
                closeQuietly(session.env);
            }
            onExpired.accept(session.env.name());
        }
        if (!expired.isEmpty()) {
            log.info("expired {} idle session(s)", expired.size());
        }
        return expired.size();
    }

    /** Open sessions per environment name. */
    public Map<String, Integer> openByEnv() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        registry.all().forEach(f -> counts.put(f.name(), 0));
        sessions.values().forEach(s -> counts.merge(s.env.name(), 1, Integer::sum));
        return counts;
    }

    public int open() {
        return sessions.size();
    }

    /** Closes every session, e.g. at shutdown. */
    public void closeAll() {
        for (String id : List.copyOf(sessions.keySet())) {
            try {
                close(id);
            } catch (UnknownSessionException ignored) {
                // Closed concurrently.
            }
        }
    }

    private Session require(String id) {
        Session session = sessions.get(id);
        if (session == null) {
            throw unknown(id);
        }
        return session;
    }

    private UnknownSessionException unknown(String id) {
        return new UnknownSessionException(id, recentlyExpired.containsKey(id));
    }

    private String newId() {
        byte[] bytes = new byte[16];
        ids.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    private static void closeQuietly(Environment env) {
        try {
            env.close();
        } catch (RuntimeException e) {
            log.warn("closing a {} environment failed: {}", env.name(), e.toString());
        }
    }

    /** A new session's id and first observation. */
    public record Created(String id, Observation observation) {
    }
}
