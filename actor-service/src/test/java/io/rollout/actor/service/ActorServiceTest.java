package io.rollout.actor.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.actor.ErrorInterceptor;
import io.rollout.actor.HugeObservationFactory;
import io.rollout.actor.TestWorld;
import io.rollout.actor.play.AdapterRef;
import io.rollout.actor.play.BatchGenerator;
import io.rollout.actor.play.GroupPlayer;
import io.rollout.actor.play.PlayerConfig;
import io.rollout.actor.prompt.PromptBuilder;
import io.rollout.broker.SharedKafkaBroker;
import io.rollout.env.client.EnvClient;
import io.rollout.env.server.EnvServer;
import io.rollout.policy.Policy;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.TerminalReason;
import io.rollout.schemas.serde.Packed;
import io.rollout.schemas.topics.Attempts;
import io.rollout.schemas.topics.DeadLetters;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Kafka actor on the shared embedded broker, with the real tiny model and a real
 * env-service; each test has its own topics (one partition each) and consumer group.
 */
class ActorServiceTest {

    private static final AtomicInteger RUNS = new AtomicInteger();
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration DRAIN = Duration.ofSeconds(10);
    private static final Set<TerminalReason> ENDS =
            Set.of(TerminalReason.SUCCESS, TerminalReason.FAILURE, TerminalReason.TRUNCATED);

    private static Policy policy;
    private static EnvServer server;
    private static EnvClient env;
    private static ExecutorService envCalls;

    private TopicCatalog topics;
    private TopicPartition tasksPartition;
    private String group;
    private String actorId;
    private Properties kafka;
    private Admin admin;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private ActorService service;

    @BeforeAll
    static void startWorld() {
        policy = TestWorld.policy();
        server = TestWorld.startServer(64);
        env = EnvClient.create(server.url(), Duration.ofSeconds(2), Duration.ofSeconds(5));
        envCalls = Executors.newFixedThreadPool(4);
    }

    @AfterAll
    static void stopWorld() {
        env.close();
        server.close();
        envCalls.shutdownNow();
    }

    @BeforeEach
    void createTopics() throws Exception {
        int run = RUNS.incrementAndGet();
        String prefix = "it-actor-" + run + "-" + System.nanoTime() + ".";
        topics = TopicCatalog.builder().prefix(prefix).partitions(TopicCatalog.TASKS, 1)
                .partitions(TopicCatalog.STEPS, 1).build();
        tasksPartition = new TopicPartition(topics.tasks().name(), 0);
        group = prefix + "actors";
        actorId = "actor-it-" + run;
        kafka = new Properties();
        kafka.put("bootstrap.servers", SharedKafkaBroker.bootstrapServers());
        admin = Admin.create(kafka);
        new TopicProvisioner(admin, Optional.empty(), WAIT)
                .ensure(List.of(topics.tasks(), topics.steps(), topics.dlq()));
    }

    @AfterEach
    void stopService() {
        if (service != null) {
            service.close();
        }
        admin.close();
    }

    // ---------------------------------------------------------------- tests

    @Test
    void shouldPublishEveryStepUnderTheDeliveryAttemptAndCommitAfterwards() throws Exception {
        PlayerConfig cfg = PlayerConfig.defaults(actorId, "compact").withSeed(11L);
        start(GroupPlayer.create(policy, env, cfg, envCalls));

        send(null, tasks("g-commit", TestWorld.sokobanTask("g-commit", 5, 3, 4)));

        List<Step> steps = readGroup("g-commit", 3);
        Map<Integer, List<Step>> episodes = byEpisode(steps);
        assertThat(episodes).containsOnlyKeys(0, 1, 2);
        for (List<Step> episode : episodes.values()) {
            assertThat(episode).extracting(Step::getT)
                    .containsExactlyElementsOf(IntStream.range(0, episode.size()).boxed().toList());
            assertThat(episode.size()).isBetween(1, 4);
            for (int t = 0; t < episode.size(); t++) {
                boolean last = t == episode.size() - 1;
                Step s = episode.get(t);
                assertThat(s.getDone()).as("done of t=%d", t).isEqualTo(last);
                assertThat(s.getTerminalReason()).isIn(last ? ENDS : Set.of(TerminalReason.NONE));
            }
        }
        int attempt = steps.get(0).getAttempt();
        int assignment = attempt & ((1 << Attempts.ASSIGNMENT_BITS) - 1);
        assertThat(assignment).as("the partition's assignment count in the attempt").isEqualTo(1);
        assertThat(Attempts.taskAttempt(attempt)).isZero();
        assertThat(attempt).isEqualTo(Attempts.delivery(0, assignment));
        assertThat(steps).allSatisfy(s -> {
            assertThat(s.getAttempt()).isEqualTo(attempt);
            assertThat(s.getActorId()).isEqualTo(actorId);
            assertThat(s.getGroupId()).isEqualTo("g-commit");
            assertThat(s.getGroupSize()).isEqualTo(3);
            assertThat(s.getPolicyVersion()).isZero();
        });

        awaitCommitted(1);
        awaitCount("completed", 1);
        assertThat(tasks("failed")).isZero();
        assertThat(tasks("abandoned")).isZero();
        assertThat(tasks("dead_lettered")).isZero();
        assertThat(registry.get("rollout.actor.steps").counter().count()).isEqualTo(steps.size());
        assertThat(service.failure()).isNull();
        assertThat(service.healthy()).isTrue();
    }

    @Test
    void shouldDeadLetterAnUnreadableTaskAndGoOn() throws Exception {
        PlayerConfig cfg = PlayerConfig.defaults(actorId, "compact").withSeed(12L);
        start(GroupPlayer.create(policy, env, cfg, envCalls));
        byte[] garbage = "not a task".getBytes(StandardCharsets.UTF_8);
        byte[] garbageKey = "junk".getBytes(StandardCharsets.UTF_8);

        RecordHeaders original = new RecordHeaders();
        original.add("trace", "t-1".getBytes(StandardCharsets.UTF_8));
        send(original, new ProducerRecord<>(topics.tasks().name(), garbageKey, garbage),
                tasks("g-after", TestWorld.sokobanTask("g-after", 6, 2, 3)));

        List<ConsumerRecord<byte[], byte[]>> dead = readUntil(topics.dlq().name(), all -> !all.isEmpty());
        assertThat(dead).hasSize(1);
        ConsumerRecord<byte[], byte[]> letter = dead.get(0);
        assertThat(letter.key()).isEqualTo(garbageKey);
        assertThat(letter.value()).isEqualTo(garbage);
        assertThat(DeadLetters.text(letter.headers(), DeadLetters.SOURCE_TOPIC)).isEqualTo(topics.tasks().name());
        assertThat(DeadLetters.text(letter.headers(), DeadLetters.SOURCE_PARTITION)).isEqualTo("0");
        assertThat(DeadLetters.text(letter.headers(), DeadLetters.SOURCE_OFFSET)).isEqualTo("0");
        assertThat(DeadLetters.text(letter.headers(), DeadLetters.REASON)).isEqualTo("NOT_SINGLE_OBJECT");
        assertThat(DeadLetters.text(letter.headers(), DeadLetters.SERVICE)).isEqualTo("actor");
        assertThat(DeadLetters.text(letter.headers(), DeadLetters.ERROR)).isNotBlank();
        assertThat(DeadLetters.text(letter.headers(), "trace")).isEqualTo("t-1");

        List<Step> steps = readGroup("g-after", 2);
        assertThat(byEpisode(steps)).containsOnlyKeys(0, 1);

        awaitCommitted(2);
        awaitCount("completed", 1);
        assertThat(tasks("dead_lettered")).isEqualTo(1);
        assertThat(tasks("failed")).isZero();
        assertThat(service.failure()).isNull();
    }

    @Test
    void shouldEndOpenEpisodesAsInfraErrorWhenGenerationFails() throws Exception {
        PlayerConfig cfg = PlayerConfig.defaults(actorId, "compact").withSeed(13L);
        AtomicInteger calls = new AtomicInteger();
        BatchGenerator failing = (prompts, params, adapter) -> {
            if (calls.incrementAndGet() == 1) {
                return policy.generate(prompts, params, adapter);
            }
            throw new IllegalStateException("generation failed on purpose");
        };
        start(new GroupPlayer(env, new PromptBuilder(policy, cfg.format(), cfg.historyLength(),
                cfg.maxPromptTokens()), failing, cfg, envCalls));

        send(null, tasks("g-fail", TestWorld.sokobanTask("g-fail", 7, 3, 4)));

        List<Step> steps = readGroup("g-fail", 3);
        assertThat(calls.get()).as("generation calls").isEqualTo(2);
        int attempt = steps.get(0).getAttempt();
        int infra = 0;
        for (List<Step> episode : byEpisode(steps).values()) {
            Step first = episode.get(0);
            assertThat(first.getT()).isZero();
            assertThat(first.getTerminalReason()).isIn(TerminalReason.NONE, TerminalReason.SUCCESS,
                    TerminalReason.FAILURE);
            if (first.getDone()) {
                assertThat(episode).hasSize(1);
                continue;
            }
            infra++;
            assertThat(episode).hasSize(2);
            Step end = episode.get(1);
            assertThat(end.getT()).isEqualTo(1);
            assertThat(end.getDone()).isTrue();
            assertThat(end.getTerminalReason()).isEqualTo(TerminalReason.INFRA_ERROR);
            assertThat(end.getValid()).isFalse();
            assertThat(end.getReward()).isZero();
            assertThat(Packed.toInts(end.getResponseTokens())).isEmpty();
            assertThat(end.getGroupSize()).isEqualTo(3);
            assertThat(end.getEnv()).isEqualTo("sokoban");
        }
        assertThat(infra).as("episodes still open when generation failed").isPositive();
        assertThat(steps).allSatisfy(s -> {
            assertThat(s.getAttempt()).isEqualTo(attempt);
            assertThat(s.getActorId()).isEqualTo(actorId);
        });

        awaitCommitted(1);
        awaitCount("failed", 1);
        assertThat(tasks("completed")).isZero();
        assertThat(registry.get("rollout.actor.episodes").tag("reason", "infra_error").counter().count())
                .isEqualTo(infra);
        assertThat(service.failure()).isNull();
    }

    @Test
    void shouldFinishTheGroupInPlayOnClose() throws Exception {
        PlayerConfig cfg = PlayerConfig.defaults(actorId, "compact").withSeed(14L);
        AtomicReference<ActorService> running = new AtomicReference<>();
        AtomicInteger calls = new AtomicInteger();
        // The second round waits until close() has begun the drain, so the group is surely in play then.
        BatchGenerator gated = (prompts, params, adapter) -> {
            if (calls.incrementAndGet() == 2) {
                waitFor("close() to begin the drain", () -> !running.get().healthy());
            }
            return policy.generate(prompts, params, adapter);
        };
        running.set(start(new GroupPlayer(env, new PromptBuilder(policy, cfg.format(), cfg.historyLength(),
                cfg.maxPromptTokens()), gated, cfg, envCalls)));

        send(null, tasks("g-drain", TestWorld.sokobanTask("g-drain", 8, 2, 12)));
        readUntil(topics.steps().name(), all -> !all.isEmpty());

        long start = System.nanoTime();
        service.close();
        long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(closeMillis).as("close() returns once the group is done, before the drain timeout")
                .isLessThan(DRAIN.toMillis());
        assertThat(service.awaitStopped(Duration.ZERO)).isTrue();
        assertThat(service.failure()).isNull();
        assertThat(calls.get()).as("rounds played").isGreaterThanOrEqualTo(2);
        // The commit is made before close() returns.
        assertThat(committed()).isEqualTo(1);
        List<Step> steps = readGroup("g-drain", 2);
        assertThat(steps).allSatisfy(s -> assertThat(s.getTerminalReason()).isNotEqualTo(TerminalReason.INFRA_ERROR));
        for (List<Step> episode : byEpisode(steps).values()) {
            assertThat(episode).extracting(Step::getT)
                    .containsExactlyElementsOf(IntStream.range(0, episode.size()).boxed().toList());
            assertThat(episode.get(episode.size() - 1).getTerminalReason()).isIn(ENDS);
        }
        awaitCount("completed", 1);
        assertThat(tasks("abandoned")).isZero();
        assertThat(tasks("failed")).isZero();
    }

    @Test
    void shouldStopUnhealthyWithoutCommittingWhenPlayingThrowsAnError() throws Exception {
        PlayerConfig cfg = PlayerConfig.defaults(actorId, "compact").withSeed(15L);
        AssertionError boom = new AssertionError("a library's assertion failed on purpose");
        BatchGenerator throwing = (prompts, params, adapter) -> {
            throw boom;
        };
        start(new GroupPlayer(env, prompts(cfg), throwing, cfg, envCalls));

        send(null, tasks("g-error", TestWorld.sokobanTask("g-error", 9, 2, 3)));

        waitFor("the service to fail", () -> service.failure() != null);
        assertThat(service.failure()).isSameAs(boom);
        assertThat(service.healthy()).isFalse();
        assertThat(service.ready()).isFalse();
        assertThat(service.awaitStopped(WAIT)).as("the task loop stopped").isTrue();
        assertThat(committed()).as("the claim's offset 0 only: the task is re-delivered").isZero();
    }

    @Test
    void shouldStopUnhealthyWhenTheTaskLoopThrowsAnError() throws Exception {
        kafka.put(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, ErrorInterceptor.class.getName());
        start(GroupPlayer.create(policy, env, PlayerConfig.defaults(actorId, "compact").withSeed(16L), envCalls));

        send(null, tasks("g-loop", TestWorld.sokobanTask("g-loop", 9, 2, 3)));

        assertThat(service.awaitStopped(WAIT)).as("the task loop stopped").isTrue();
        assertThat(service.failure()).isInstanceOf(AssertionError.class).hasMessage(ErrorInterceptor.MESSAGE);
        assertThat(service.healthy()).isFalse();
        assertThat(committed()).isZero();
    }

    /**
     * env-service is stopped in the middle of a group (its sessions are in memory) and started
     * again on the same port: at once (the actor meets 404 unknown_session) or after 3 s (it
     * meets refused connections first). The group is played again from its start under a new
     * delivery attempt and completes; the task is committed once.
     */
    @ParameterizedTest(name = "env-service down for {0} ms")
    @ValueSource(ints = {0, 3000})
    void shouldReplayTheGroupUnderANewAttemptWhenEnvServiceRestarts(int downMillis) throws Exception {
        AtomicReference<EnvServer> current = new AtomicReference<>(TestWorld.startServer(64, 0));
        int port = current.get().port();
        try (EnvClient client = EnvClient.create(current.get().url(), Duration.ofSeconds(1), Duration.ofSeconds(3))) {
            PlayerConfig cfg = PlayerConfig.defaults(actorId, "compact").withSeed(17L);
            AtomicInteger calls = new AtomicInteger();
            BatchGenerator restarting = (prompts, params, adapter) -> {
                if (calls.incrementAndGet() == 2) { // the first round's steps are out
                    current.get().close();
                    if (downMillis == 0) {
                        current.set(TestWorld.startServer(64, port));
                        // Use up the client's kept-alive connections to the old server, so the next steps
                        // reach the new one and meet 404 unknown_session rather than a closed connection.
                        flushConnections(client);
                    } else {
                        Thread restart = new Thread(() -> {
                            sleep(downMillis);
                            current.set(TestWorld.startServer(64, port));
                        });
                        restart.setDaemon(true);
                        restart.start();
                    }
                }
                return policy.generate(prompts, params, adapter);
            };
            start(new GroupPlayer(client, prompts(cfg), restarting, cfg, envCalls));
            waitFor("joined the group", service::ready); // so that only the outage can make it unready
            AtomicBoolean wentUnready = new AtomicBoolean();
            AtomicBoolean sampling = new AtomicBoolean(true);
            Thread sampler = new Thread(() -> {
                while (sampling.get()) {
                    if (!service.ready()) {
                        wentUnready.set(true);
                    }
                    sleep(5);
                }
            });
            sampler.setDaemon(true);
            sampler.start();

            send(null, tasks("g-restart", TestWorld.sokobanTask("g-restart", 10, 3, 6)));

            awaitCommitted(1);
            sampling.set(false);
            assertThat(wentUnready).as("not ready during the outage").isTrue();
            waitFor("ready again", service::ready);
            assertThat(registry.get("rollout.actor.env.outages").counter().count()).isEqualTo(1);
            assertThat(registry.get("rollout.actor.env.available").gauge().value()).isEqualTo(1);
            assertThat(registry.get("rollout.actor.groups.replayed").counter().count()).isEqualTo(1);
            assertThat(calls.get()).as("generation calls").isGreaterThan(2);
            List<Step> steps = readAllSteps().stream().filter(s -> s.getGroupId().equals("g-restart")).toList();
            int replayAttempt = steps.stream().mapToInt(Step::getAttempt).max().orElseThrow();
            List<Step> lost = steps.stream().filter(s -> s.getAttempt() != replayAttempt).toList();
            List<Step> replay = steps.stream().filter(s -> s.getAttempt() == replayAttempt).toList();
            assertThat(lost).as("the first round of the lost attempt").isNotEmpty()
                    .allSatisfy(s -> assertThat(s.getT()).isZero());
            assertThat(lost).extracting(Step::getAttempt).containsOnly(lost.get(0).getAttempt());
            assertThat(Attempts.taskAttempt(replayAttempt)).isZero();
            Map<Integer, List<Step>> episodes = byEpisode(replay);
            assertThat(episodes).containsOnlyKeys(0, 1, 2);
            for (List<Step> episode : episodes.values()) {
                assertThat(episode).extracting(Step::getT)
                        .containsExactlyElementsOf(IntStream.range(0, episode.size()).boxed().toList());
                assertThat(episode.get(episode.size() - 1).getTerminalReason()).isIn(ENDS);
            }
            assertThat(steps).noneMatch(s -> s.getTerminalReason() == TerminalReason.INFRA_ERROR);
            assertThat(tasks("completed")).isEqualTo(1);
            assertThat(tasks("failed")).isZero();
            assertThat(tasks("abandoned")).isZero();
            assertThat(service.failure()).isNull();
            assertThat(service.healthy()).isTrue();
        } finally {
            current.get().close();
        }
    }

    @Test
    void shouldGiveBackAGroupStillInPlayWhenTheDrainTimeoutPasses() throws Exception {
        PlayerConfig cfg = PlayerConfig.defaults(actorId, "compact").withSeed(18L);
        Duration drain = Duration.ofSeconds(2);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        // The second round takes far longer than the drain timeout and, like a native call, ignores interrupts.
        BatchGenerator slow = (prompts, params, adapter) -> {
            if (calls.incrementAndGet() == 2) {
                long until = System.nanoTime() + WAIT.toNanos();
                while (release.getCount() > 0 && System.nanoTime() < until) {
                    try {
                        release.await(50, TimeUnit.MILLISECONDS);
                    } catch (InterruptedException ignored) {
                        // deaf to interrupts
                    }
                }
            }
            return policy.generate(prompts, params, adapter);
        };
        start(new GroupPlayer(env, prompts(cfg), slow, cfg, envCalls), drain);
        try {
            send(null, tasks("g-slow", TestWorld.sokobanTask("g-slow", 8, 2, 12)));
            waitFor("the slow round", () -> calls.get() >= 2);
            int published = readUntil(topics.steps().name(), all -> !all.isEmpty()).size();

            long start = System.nanoTime();
            service.close();
            long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

            assertThat(closeMillis).as("close() returns within the drain timeout and a small margin")
                    .isLessThan(drain.toMillis() + 3_000);
            assertThat(service.awaitStopped(Duration.ZERO)).isTrue();
            assertThat(service.failure()).isNull();
            assertThat(committed()).as("the unfinished task is given back uncommitted").isZero();
            assertThat(tasks("abandoned")).isEqualTo(1);
            assertThat(tasks("completed")).isZero();
            release.countDown();
            sleep(500);
            assertThat(readAllSteps()).as("nothing is published after close()").hasSize(published);
        } finally {
            release.countDown();
        }
    }

    @Test
    void shouldDropTheGroupOfAnOversizedStepAndCommitIt() throws Exception {
        // An env-service and a client whose bounds were raised above the broker's message size.
        EnvServer huge = TestWorld.startServer(new EnvServer.Options("127.0.0.1", 0, 1 << 16, Duration.ofHours(1))
                .withMaxObservationBytes(4 << 20), 64, new HugeObservationFactory(1_500_000));
        try (EnvClient client = EnvClient.builder(huge.url()).connectTimeout(Duration.ofSeconds(2))
                .requestTimeout(Duration.ofSeconds(10)).maxAnswerBytes(4 << 20).build()) {
            start(GroupPlayer.create(policy, client, PlayerConfig.defaults(actorId, "compact").withSeed(19L),
                    envCalls));
            Task big = Task.newBuilder(TestWorld.sokobanTask("g-huge", 20, 2, 3)).setEnv(HugeObservationFactory.NAME)
                    .build();

            send(null, tasks("g-huge", big), tasks("g-next", TestWorld.sokobanTask("g-next", 21, 2, 3)));

            awaitCommitted(2);
            Map<Integer, List<Step>> episodes = byEpisode(readAllSteps().stream()
                    .filter(s -> s.getGroupId().equals("g-huge")).toList());
            assertThat(episodes).containsOnlyKeys(0, 1);
            for (List<Step> episode : episodes.values()) {
                assertThat(episode).extracting(Step::getT).containsExactly(0, 1);
                assertThat(episode.get(0).getTerminalReason()).isEqualTo(TerminalReason.NONE);
                Step end = episode.get(1);
                assertThat(end.getDone()).isTrue();
                assertThat(end.getTerminalReason()).isEqualTo(TerminalReason.INFRA_ERROR);
                assertThat(end.getAnchor()).hasSizeLessThan(1000);
            }
            assertThat(byEpisode(readAllSteps().stream().filter(s -> s.getGroupId().equals("g-next")).toList()))
                    .containsOnlyKeys(0, 1);
            assertThat(tasks("failed")).isEqualTo(1);
            assertThat(tasks("completed")).isEqualTo(1);
            assertThat(registry.get("rollout.actor.steps.oversized").counter().count()).isEqualTo(1);
            assertThat(service.failure()).isNull();
            assertThat(service.healthy()).isTrue();
        } finally {
            huge.close();
        }
    }

    // ---------------------------------------------------------------- fixtures

    private ActorService start(GroupPlayer player) {
        return start(player, DRAIN);
    }

    private ActorService start(GroupPlayer player, Duration drain) {
        service = new ActorService(player, AdapterRef.base(), null,
                new ActorService.Settings(actorId, group, 2, drain).withOutageBackoff(Duration.ofMillis(200),
                        Duration.ofSeconds(2), 10), topics, kafka, new ActorMetrics(registry, () -> 0));
        service.start();
        return service;
    }

    /** Makes many calls at once, so each kept-alive connection of {@code client} is taken (and a dead one dropped). */
    private static void flushConnections(EnvClient client) {
        for (int round = 0; round < 2; round++) {
            List<Thread> calls = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                Thread t = new Thread(() -> {
                    try {
                        client.environments();
                    } catch (RuntimeException expected) {
                        // a connection to the old server
                    }
                });
                t.start();
                calls.add(t);
            }
            for (Thread t : calls) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private static PromptBuilder prompts(PlayerConfig cfg) {
        return new PromptBuilder(policy, cfg.format(), cfg.historyLength(), cfg.maxPromptTokens());
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Every step on partition 0 of the steps topic, up to its end offset now. */
    private List<Step> readAllSteps() {
        Properties p = new Properties();
        p.putAll(kafka);
        p.remove(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG);
        TopicPartition tp = new TopicPartition(topics.steps().name(), 0);
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (consumer.position(tp) < end && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(100)).forEach(all::add);
            }
        }
        return steps(all);
    }

    private ProducerRecord<byte[], byte[]> tasks(String key, Task task) {
        return new ProducerRecord<>(topics.tasks().name(), key.getBytes(StandardCharsets.UTF_8),
                topics.tasks().valueSerde().serializer().serialize(topics.tasks().name(), task));
    }

    /** Sends the records in order; {@code firstHeaders}, if any, go on the first. */
    @SafeVarargs
    private void send(RecordHeaders firstHeaders, ProducerRecord<byte[], byte[]>... records) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (int i = 0; i < records.length; i++) {
                ProducerRecord<byte[], byte[]> r = records[i];
                if (i == 0 && firstHeaders != null) {
                    r = new ProducerRecord<>(r.topic(), null, r.key(), r.value(), firstHeaders);
                }
                producer.send(r).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            }
        }
    }

    /** Reads partition 0 of {@code topic} from the beginning until {@code enough} holds. */
    private List<ConsumerRecord<byte[], byte[]>> readUntil(String topic,
            Predicate<List<ConsumerRecord<byte[], byte[]>>> enough) {
        Properties p = new Properties();
        p.putAll(kafka);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        TopicPartition tp = new TopicPartition(topic, 0);
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            while (!enough.test(all)) {
                if (System.nanoTime() > deadline) {
                    fail("timed out reading " + topic + "; read " + all.size() + " records");
                }
                consumer.poll(Duration.ofMillis(100)).forEach(all::add);
            }
        }
        return all;
    }

    /** The steps of {@code groupId}, read until each of its {@code groupSize} episodes has a done step. */
    private List<Step> readGroup(String groupId, int groupSize) {
        List<ConsumerRecord<byte[], byte[]>> records = readUntil(topics.steps().name(), all -> {
            Set<Integer> done = new java.util.HashSet<>();
            for (Step s : steps(all)) {
                if (s.getGroupId().equals(groupId) && s.getDone()) {
                    done.add(s.getEpisode());
                }
            }
            return done.size() == groupSize;
        });
        return steps(records).stream().filter(s -> s.getGroupId().equals(groupId)).toList();
    }

    private List<Step> steps(List<ConsumerRecord<byte[], byte[]>> records) {
        return records.stream()
                .map(r -> topics.steps().valueSerde().deserializer().deserialize(r.topic(), r.value())).toList();
    }

    private static Map<Integer, List<Step>> byEpisode(List<Step> steps) {
        Map<Integer, List<Step>> episodes = new TreeMap<>();
        for (Step s : steps) {
            episodes.computeIfAbsent(s.getEpisode(), e -> new ArrayList<>()).add(s);
        }
        return episodes;
    }

    /** The group's committed offset on the tasks partition, or -1. */
    private long committed() throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        OffsetAndMetadata o = offsets.get(tasksPartition);
        return o == null ? -1 : o.offset();
    }

    private void awaitCommitted(long offset) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        long now;
        while ((now = committed()) < offset) {
            if (System.nanoTime() > deadline) {
                fail("committed offset of " + group + " is " + now + ", expected " + offset);
            }
            Thread.sleep(50);
        }
        assertThat(now).isEqualTo(offset);
    }

    private double tasks(String outcome) {
        return registry.get("rollout.actor.tasks").tag("outcome", outcome).counter().count();
    }

    private void awaitCount(String outcome, double expected) {
        waitFor("rollout.actor.tasks{outcome=" + outcome + "} to reach " + expected, () -> tasks(outcome) >= expected);
        assertThat(tasks(outcome)).isEqualTo(expected);
    }

    private static void waitFor(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
    }
}
