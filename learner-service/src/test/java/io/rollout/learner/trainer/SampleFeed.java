package io.rollout.learner.trainer;

import io.rollout.broker.SharedKafkaBroker;
import io.rollout.records.TrainingSample;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.serde.Packed;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.SplittableRandom;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Training samples for trainer tests, and a way to put them on the embedded broker. */
final class SampleFeed {

    private SampleFeed() {}

    static void createTopics(TopicCatalog topics) throws Exception {
        Properties admin = new Properties();
        admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, SharedKafkaBroker.bootstrapServers());
        try (Admin a = Admin.create(admin)) {
            new TopicProvisioner(a, Optional.empty(), Duration.ofSeconds(60)).ensure(topics.all());
        }
    }

    /** A group of {@code n} samples (episodes 0..n-1, t = 0) over token ids below 30. */
    static List<TrainingSample> group(String id, int attempt, int n, long policyVersion, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<TrainingSample> out = new ArrayList<>();
        for (int e = 0; e < n; e++) {
            int[] response = random.ints(2 + random.nextInt(3), 4, 30).toArray();
            float[] old = new float[response.length];
            Arrays.fill(old, -3.3f);
            float advantage = (float) (random.nextDouble() * 2 - 1);
            out.add(TrainingSample.newBuilder()
                    .setGroupId(id).setEpisode(e).setAttempt(attempt).setT(0)
                    .setPromptTokens(Packed.ints(random.ints(5, 4, 30).toArray()))
                    .setResponseTokens(Packed.ints(response))
                    .setOldLogProbs(Packed.floats(old))
                    .setEpisodeAdvantage(advantage).setStepAdvantage(0).setAdvantage(advantage)
                    .setAnchorGroupSize(1).setPolicyVersion(policyVersion).setGroupSamples(n)
                    .build());
        }
        return out;
    }

    static void produce(TopicCatalog topics, List<TrainingSample> samples) {
        List<byte[][]> records = new ArrayList<>();
        for (TrainingSample s : samples) {
            records.add(new byte[][] {s.getGroupId().toString().getBytes(StandardCharsets.UTF_8),
                AvroSerde.of(TrainingSample.class).serialize(topics.samples().name(), s)});
        }
        produceRaw(topics, records);
    }

    static void produceRaw(TopicCatalog topics, List<byte[][]> keyValues) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedKafkaBroker.bootstrapServers());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (byte[][] kv : keyValues) {
                producer.send(new ProducerRecord<>(topics.samples().name(), kv[0], kv[1]));
            }
            producer.flush();
        }
    }
}
