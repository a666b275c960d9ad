package io.rollout.schemas.topics;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.broker.SharedKafkaBroker;
import io.rollout.schemas.topics.TopicProvisioner.Outcome;
import io.rollout.schemas.topics.TopicProvisioner.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
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
}
