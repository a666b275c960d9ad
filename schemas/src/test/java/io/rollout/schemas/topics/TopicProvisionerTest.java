package io.rollout.schemas.topics;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.broker.SharedKafkaBroker;
import io.rollout.schemas.topics.TopicProvisioner.Outcome;
import io.rollout.schemas.topics.TopicProvisioner.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

/** Provisioning against the shared embedded broker. */
class TopicProvisionerTest {

    @Test
    void shouldVerifyTopicsRightAfterCreatingThem() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                SharedKafkaBroker.bootstrapServers()))) {
            TopicProvisioner provisioner = new TopicProvisioner(admin, Optional.empty(), Duration.ofSeconds(30));
            // A topic is listed before the broker serves it; a second run at once must wait, not fail.
            for (int run = 0; run < 5; run++) {
                List<Topic<?, ?>> topics = TopicCatalog.builder().prefix("fresh" + run + ".").build().all();

                List<Outcome> created = provisioner.ensure(topics);
                List<Outcome> verified = provisioner.ensure(topics);

                assertThat(created).extracting(Outcome::status).containsOnly(Status.CREATED);
                assertThat(verified).extracting(Outcome::status).containsOnly(Status.VERIFIED);
            }
        }
    }

    @Test
    void shouldCreateTopicsWithMinInsyncReplicasOneBelowTheReplicationFactor() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                SharedKafkaBroker.bootstrapServers()))) {
            // The broker's default factor (1 here), and the same given explicitly.
            for (Optional<Short> factor : List.of(Optional.<Short>empty(), Optional.of((short) 1))) {
                List<Topic<?, ?>> topics = TopicCatalog.builder()
                        .prefix("isr-" + factor.map(String::valueOf).orElse("default") + ".").build().all();

                TopicProvisioner provisioner = new TopicProvisioner(admin, factor, Duration.ofSeconds(30));
                provisioner.ensure(topics);
                provisioner.ensure(topics); // verifies: returns once the broker describes them

                List<ConfigResource> resources = topics.stream()
                        .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t.name())).toList();
                Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all().get();
                for (ConfigResource r : resources) {
                    ConfigEntry isr = configs.get(r).get(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG);
                    assertThat(isr.value()).as("min.insync.replicas of %s", r.name()).isEqualTo("1");
                    assertThat(isr.source()).as("where min.insync.replicas of %s comes from", r.name())
                            .isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
                }
            }
        }
    }

    @Test
    void shouldAskForOneInsyncReplicaLessThanTheReplicas() {
        assertThat(TopicProvisioner.minInsyncReplicas(1)).isEqualTo(1);
        assertThat(TopicProvisioner.minInsyncReplicas(2)).isEqualTo(1);
        assertThat(TopicProvisioner.minInsyncReplicas(3)).isEqualTo(2);
        assertThat(TopicProvisioner.minInsyncReplicas(5)).isEqualTo(4);

        Topic<?, ?> weights = TopicCatalog.defaults().weights();
        NewTopic request = TopicProvisioner.request(weights, Optional.of((short) 3), OptionalInt.of(3));
        assertThat(request.replicationFactor()).isEqualTo((short) 3);
        assertThat(request.configs())
                .containsEntry(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, "2")
                .containsAllEntriesOf(weights.configs());
        assertThat(TopicProvisioner.request(weights, Optional.empty(), OptionalInt.empty()).configs())
                .as("replicas unknown: the brokers' default applies").isEqualTo(weights.configs());
    }
}
