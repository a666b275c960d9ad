package io.rollout.runtime.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class KafkaSettingsTest {

    private static Properties base(String... pairs) {
        Properties p = new Properties();
        p.put("bootstrap.servers", "127.0.0.1:9092");
        for (int i = 0; i < pairs.length; i += 2) {
            p.put(pairs[i], pairs[i + 1]);
        }
        return p;
    }

    @Test
    void shouldGiveEachClientACopyAndLeaveTheSharedSettingsAlone() {
        Properties shared = base("group.id", "g");

        Properties copy = KafkaSettings.copy(shared);
        copy.put("acks", "1");
        KafkaSettings.consumer(shared, null, "c");
        KafkaSettings.producer(shared, "p");

        assertThat(copy).containsEntry("group.id", "g").containsEntry("bootstrap.servers", "127.0.0.1:9092");
        assertThat(shared).isEqualTo(base("group.id", "g"));
    }

    @Test
    void shouldSetTheGroupOrRemoveItAndDefaultTheClientId() {
        assertThat(KafkaSettings.consumer(base("group.id", "theirs"), "mine", "me"))
                .containsEntry("group.id", "mine").containsEntry("client.id", "me");
        assertThat(KafkaSettings.consumer(base("group.id", "theirs", "client.id", "given"), null, "me"))
                .doesNotContainKey("group.id").containsEntry("client.id", "given");
        assertThat(KafkaSettings.consumer(base(), null, null)).isEqualTo(base());
    }

    @Test
    void shouldTurnOffAutoCommitForAnAssignedConsumerWhateverTheSettingsSay() {
        assertThat(KafkaSettings.assignedConsumer(base("group.id", "g", "enable.auto.commit", "true"), null))
                .doesNotContainKey("group.id").doesNotContainKey("client.id")
                .containsEntry("enable.auto.commit", "false");
    }

    @Test
    void shouldMakeAProducerIdempotentWhateverTheSettingsSay() {
        Properties p = KafkaSettings.producer(base("acks", "1", "enable.idempotence", "false", "linger.ms", "7"), "p");

        assertThat(p).containsAllEntriesOf(Map.of("acks", "all", "enable.idempotence", "true", "linger.ms", "7",
                "client.id", "p"));
        assertThat(KafkaSettings.producer(base("client.id", "given"), "p")).containsEntry("client.id", "given");
        assertThat(KafkaSettings.producer(base(), null)).doesNotContainKey("client.id");
    }
}
