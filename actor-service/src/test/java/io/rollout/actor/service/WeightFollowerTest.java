package io.rollout.actor.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.actor.TestWorld;
import io.rollout.actor.play.AdapterVersion;
import io.rollout.broker.SharedKafkaBroker;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.records.LoraConfig;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import io.rollout.weights.WeightPublisher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;

/** The weight follower against the shared embedded broker, loading real adapters of the tiny model. */
class WeightFollowerTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final LoraSpec SPEC = LoraSpec.defaults("tiny");

    private final Policy policy = TestWorld.policy();

    @Test
    void shouldStartFromTheNewestPublishedVersion() throws Exception {
        Properties kafka = new Properties();
        kafka.put("bootstrap.servers", SharedKafkaBroker.bootstrapServers());
        TopicCatalog topics = TopicCatalog.builder().prefix("it-follower-" + System.nanoTime() + ".").build();
        try (Admin admin = Admin.create(kafka)) {
            new TopicProvisioner(admin, Optional.empty(), WAIT).ensure(List.of(topics.weights()));
        }
        LoraConfig lora = LoraConfig.newBuilder().setBaseModel(SPEC.baseModel()).setRank(SPEC.rank())
                .setAlpha((float) SPEC.alpha()).setDropout((float) SPEC.dropout())
                .setTargetModules(new ArrayList<>(SPEC.targetModules())).build();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        List<LoraAdapter> loaded = new CopyOnWriteArrayList<>();
        Function<byte[], LoraAdapter> loader = bytes -> {
            LoraAdapter a = policy.adapterFromBytes(bytes);
            loaded.add(a);
            return a;
        };

        try (WeightPublisher publisher = WeightPublisher.builder(kafka, topics, "policy")
                .meterRegistry(new SimpleMeterRegistry()).open()) {
            publisher.publish(1, adapterBytes(1), lora);
            publisher.publish(2, adapterBytes(2), lora);

            WeightFollower follower = new WeightFollower(kafka, topics, "policy", loader, registry, WAIT);
            try {
                follower.start(WAIT);

                assertThat(follower.version()).isEqualTo(2);
                AdapterVersion second = follower.adapter().get();
                assertThat(second.adapter()).isNotNull();
                assertThat(loaded).as("adapters loaded at start: only the newest").hasSize(1);
                Timer swap = registry.get("rollout.actor.adapter.swap.latency").timer();
                assertThat(swap.count()).isZero();

                publisher.publish(3, adapterBytes(3), lora);
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (follower.version() < 3) {
                    if (System.nanoTime() > deadline) {
                        fail("the follower did not swap in version 3; holds " + follower.version());
                    }
                    Thread.sleep(20);
                }
                assertThat(follower.version()).isEqualTo(3);
                assertThat(follower.adapter().get().adapter()).isNotNull().isNotSameAs(second.adapter());
                assertThat(loaded).hasSize(2);
                assertThat(swap.count()).as("no step generated with version 3 yet").isZero();

                follower.generated(3);
                assertThat(swap.count()).isEqualTo(1);
                follower.generated(3);
                follower.generated(2);
                assertThat(swap.count()).isEqualTo(1);
            } finally {
                follower.close();
                AdapterVersion current = follower.adapter().get();
                if (current.adapter() != null) {
                    current.adapter().close();
                }
            }
        }
    }

    private byte[] adapterBytes(long seed) {
        try (LoraAdapter adapter = policy.newAdapter(SPEC, seed)) {
            return adapter.toBytes();
        }
    }
}
