package io.rollout.schemas.topics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

class TopicCatalogTest {

    @Test
    void shouldNameEveryTopicOfTheDesignWithItsSettings() {
        TopicCatalog catalog = TopicCatalog.defaults();

        assertThat(catalog.all()).extracting(Topic::name).containsExactly(
                "rollout.tasks", "rollout.steps", "train.samples", "policy.weights", "rollout.dropped", "rollout.dlq");
        assertThat(catalog.weights().cleanupPolicy()).isEqualTo("compact");
        assertThat(catalog.weights().partitions()).isEqualTo(1);
        assertThat(Integer.parseInt(catalog.weights().configs().get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG)))
                .isGreaterThan(1024 * 1024);
        assertThat(catalog.steps().cleanupPolicy()).isEqualTo("delete");
        assertThat(catalog.dlq().cleanupPolicy()).isEqualTo("delete");
    }

    @Test
    void shouldPrefixNamesAndOverridePartitions() {
        TopicCatalog catalog = TopicCatalog.builder().prefix("run7.").partitions(TopicCatalog.STEPS, 12).build();

        assertThat(catalog.steps().name()).isEqualTo("run7.rollout.steps");
        assertThat(catalog.steps().partitions()).isEqualTo(12);
        assertThat(catalog.tasks().partitions()).isEqualTo(6);
    }

    @Test
    void shouldRejectBadOptionsNamingThem() {
        assertThatThrownBy(() -> TopicCatalog.builder().partitions("rollout.stepz", 3))
                .hasMessageContaining("unknown topic 'rollout.stepz'");
        assertThatThrownBy(() -> TopicCatalog.builder().partitions(TopicCatalog.STEPS, 0))
                .hasMessageContaining("partitions of rollout.steps must be >= 1");
        assertThatThrownBy(() -> TopicCatalog.builder().partitions(TopicCatalog.WEIGHTS, 3))
                .hasMessageContaining("policy.weights must have exactly 1 partition");
        assertThatThrownBy(() -> TopicCatalog.builder().prefix("run 7/"))
                .hasMessageContaining("topic prefix 'run 7/'");
    }

    @Test
    void shouldReportEveryVerifiedSettingThatDiffers() {
        Topic<?, ?> weights = TopicCatalog.defaults().weights();
        Config actual = new Config(List.of(
                new ConfigEntry(TopicConfig.CLEANUP_POLICY_CONFIG, "delete"),
                new ConfigEntry(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "1048588")));

        List<String> problems = TopicProvisioner.problems(weights, 2, actual);

        assertThat(problems).containsExactly(
                "partitions is 2, expected 1",
                "cleanup.policy is delete, expected compact",
                "max.message.bytes is 1048588, expected at least " + TopicCatalog.WEIGHTS_MAX_MESSAGE_BYTES);
    }

    @Test
    void shouldAcceptALargerMessageLimitAndTunedRetention() {
        Topic<?, ?> weights = TopicCatalog.defaults().weights();
        Config actual = new Config(List.of(
                new ConfigEntry(TopicConfig.CLEANUP_POLICY_CONFIG, "compact"),
                new ConfigEntry(TopicConfig.RETENTION_MS_CONFIG, "1000"),
                new ConfigEntry(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(64 * 1024 * 1024))));

        assertThat(TopicProvisioner.problems(weights, 1, actual)).isEmpty();
    }
}
