package io.rollout.actor.service;

import io.micrometer.core.instrument.MeterRegistry;
import io.rollout.actor.play.GroupPlayer;
import io.rollout.actor.play.PlayerConfig;
import io.rollout.actor.prompt.PromptBuilder;
import io.rollout.env.client.EnvClient;
import io.rollout.policy.Policy;
import io.rollout.policy.sampling.ContinuousBatcher;
import io.rollout.schemas.topics.TopicCatalog;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One actor, assembled: a weight follower started on the newest adapter version, a group
 * player sampling from the policy through one {@link ContinuousBatcher} (the sequences of all
 * groups in flight decode in one batch they join and leave; timed into the actor's meters) and the {@link ActorService}
 * taking tasks. What {@code actor-service run} and the local launcher start.
 */
public final class Actor implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Actor.class);
    private static final Duration FOLLOWER_CLOSE = Duration.ofSeconds(3);
    /** How long close waits for the decode batch's step in progress (a step takes milliseconds). */
    private static final Duration BATCHER_STOP = Duration.ofSeconds(5);

    private final WeightFollower follower;
    private final ActorService service;
    private final ExecutorService envCalls;
    private final ContinuousBatcher batcher;

    private Actor(WeightFollower follower, ActorService service, ExecutorService envCalls, ContinuousBatcher batcher) {
        this.follower = follower;
        this.service = service;
        this.envCalls = envCalls;
        this.batcher = batcher;
    }

    /** Starts an actor with the default batching ({@link ContinuousBatcher.Settings#defaults()}). */
    public static Actor start(Policy policy, EnvClient env, PlayerConfig player, ActorService.Settings settings,
            TopicCatalog topics, Properties kafka, MeterRegistry registry, String adapterName, Duration topicWait,
            int envThreads) throws TimeoutException {
        return start(policy, env, player, settings, topics, kafka, registry, adapterName, topicWait, envThreads,
                ContinuousBatcher.Settings.defaults());
    }

    /**
     * Starts an actor. The env client and the policy stay the caller's to close.
     *
     * @param adapterName the adapter followed on {@code policy.weights}
     * @param topicWait how long to wait for the topics to exist and for the weights to be read
     * @param envThreads threads making env-service calls (each round steps its episodes concurrently)
     * @param batching the bound of the actor's decode batch
     * @throws TimeoutException if {@code policy.weights} cannot be read to its end within {@code topicWait}
     */
    public static Actor start(Policy policy, EnvClient env, PlayerConfig player, ActorService.Settings settings,
            TopicCatalog topics, Properties kafka, MeterRegistry registry, String adapterName, Duration topicWait,
            int envThreads, ContinuousBatcher.Settings batching) throws TimeoutException {
        WeightFollower follower = new WeightFollower(kafka, topics, adapterName, policy::adapterFromBytes, registry,
                topicWait);
        ExecutorService envCalls = null;
        ContinuousBatcher batcher = null;
        try {
            follower.start(topicWait);
            ActorMetrics metrics = new ActorMetrics(registry, follower::version);
            AtomicInteger n = new AtomicInteger();
            envCalls = Executors.newFixedThreadPool(envThreads, r -> {
                Thread t = new Thread(r, settings.actorId() + "-env-" + n.getAndIncrement());
                t.setDaemon(true);
                return t;
            });
            batcher = policy.newBatcher(batching, metrics.batchListener(), settings.actorId() + "-generate");
            GroupPlayer groupPlayer = new GroupPlayer(env, new PromptBuilder(policy, player.format(),
                    player.historyLength(), player.maxPromptTokens()), metrics.timed(batcher::generate), player,
                    envCalls);
            ActorService service = new ActorService(groupPlayer, follower.adapter(), follower, settings, topics, kafka,
                    metrics);
            service.start();
            return new Actor(follower, service, envCalls, batcher);
        } catch (TimeoutException | RuntimeException e) {
            follower.close();
            if (batcher != null) {
                batcher.close();
            }
            if (envCalls != null) {
                envCalls.shutdownNow();
            }
            throw e;
        }
    }

    public ActorService service() {
        return service;
    }

    public WeightFollower follower() {
        return follower;
    }

    /**
     * True once no thread of this actor is inside the model any more: the players have stopped
     * and the batcher's generation thread has ended its last call. Only then may the policy be closed.
     */
    public boolean modelReleased() {
        try {
            return service.playersStopped() && batcher.awaitStopped(Duration.ofMillis(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Drains and stops the service (see {@link ActorService#close()}), fails the generation rounds
     * still in the decode batch and waits for its step in progress, then stops following weights, waiting at most
     * {@link #FOLLOWER_CLOSE} for the follower (it may be loading a version).
     */
    @Override
    public void close() {
        service.close();
        batcher.close();
        try {
            // The batcher's step in progress may still read an adapter that the follower frees on close.
            if (!batcher.awaitStopped(BATCHER_STOP)) {
                LOG.warn("the decode batch did not stop within {}; closing the weight follower anyway", BATCHER_STOP);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        envCalls.shutdownNow();
        Thread closing = new Thread(follower::close, "weight-follower-close");
        closing.setDaemon(true);
        closing.start();
        try {
            closing.join(FOLLOWER_CLOSE.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
