package io.rollout.env.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rollout.env.EnvInputException;
import io.rollout.env.Seeds;
import io.rollout.env.remote.RemoteEnvSpec.AnchorMode;
import io.rollout.env.remote.RemoteProtocol.ActionSource;
import io.rollout.env.remote.RemoteProtocol.WonRule;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RemoteEnvSpecTest {

    private static final String BASE = "name=alfworld,url=http://127.0.0.1:36001,protocol=agentgym-alfworld";

    @Test
    void shouldParseEverySetting() {
        RemoteEnvSpec spec = RemoteEnvSpec.parse("name=alfworld, url=http://127.0.0.1:36001/, "
                + "protocol=agentgym-alfworld, timeout=30s, connect-timeout=500ms, retries=3, backoff=1s, "
                + "dataset-size=3553, index-offset=10, won=full, close=false, anchor=observation+actions");

        assertThat(spec.name()).isEqualTo("alfworld");
        assertThat(spec.url()).isEqualTo(URI.create("http://127.0.0.1:36001"));
        assertThat(spec.requestTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(spec.connectTimeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(spec.retries()).isEqualTo(3);
        assertThat(spec.backoff()).isEqualTo(Duration.ofSeconds(1));
        assertThat(spec.datasetSize()).hasValue(3553);
        assertThat(spec.indexOffset()).isEqualTo(10);
        assertThat(spec.anchorMode()).isEqualTo(AnchorMode.OBSERVATION_AND_ACTIONS);
        assertThat(spec.protocol().preset()).isEqualTo("agentgym-alfworld");
        assertThat(spec.protocol().wonRule()).isEqualTo(WonRule.FULL);
        assertThat(spec.protocol().closeRoute()).isFalse();
    }

    @Test
    void shouldApplyDefaultsAndPresetFields() {
        RemoteEnvSpec spec = RemoteEnvSpec.parse(BASE);

        assertThat(spec.requestTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(spec.connectTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(spec.retries()).isEqualTo(2);
        assertThat(spec.backoff()).isEqualTo(Duration.ofMillis(200));
        assertThat(spec.datasetSize()).isEmpty();
        assertThat(spec.anchorMode()).isEqualTo(AnchorMode.OBSERVATION);
        assertThat(spec.protocol()).isEqualTo(RemoteProtocol.ALFWORLD);
        assertThat(spec.protocol().idField()).isEqualTo("id");
        assertThat(spec.protocol().indexField()).isEqualTo("game");
        assertThat(spec.protocol().extraResetFields()).isEqualTo(Map.of("world_type", "Text"));
        assertThat(spec.protocol().invalidObservation()).isEqualTo("Nothing happens.");
    }

    @Test
    void shouldKnowTheWebshopAndGenericPresets() {
        RemoteProtocol webshop = RemoteEnvSpec.parse(
                "name=webshop,url=http://127.0.0.1:36006,protocol=agentgym-webshop").protocol();
        assertThat(webshop.idField()).isEqualTo("env_idx");
        assertThat(webshop.indexField()).isEqualTo("session_id");
        assertThat(webshop.stepObservationField()).isEqualTo("state");
        assertThat(webshop.actionSource()).isEqualTo(ActionSource.WEBSHOP_CLICKABLES);
        assertThat(webshop.wonRule()).isEqualTo(WonRule.FULL);

        RemoteProtocol generic = RemoteEnvSpec.parse(
                "name=textcraft,url=http://127.0.0.1:36002,protocol=agentgym,index-field=data_idx").protocol();
        assertThat(generic.idField()).isEqualTo("id");
        assertThat(generic.indexField()).isEqualTo("data_idx");
    }

    @Test
    void shouldOverridePresetFieldNames() {
        RemoteEnvSpec spec = RemoteEnvSpec.parse(BASE + ",id-field=env_id,index-field=task_id");

        assertThat(spec.protocol().idField()).isEqualTo("env_id");
        assertThat(spec.protocol().indexField()).isEqualTo("task_id");
        assertThat(spec.protocol().extraResetFields()).containsEntry("world_type", "Text");
    }

    @Test
    void shouldReadBackItsOwnTextForm() {
        RemoteEnvSpec spec = RemoteEnvSpec.parse(BASE + ",timeout=90s,backoff=0ms,dataset-size=7,index-offset=3,"
                + "id-field=env_id,anchor=observation+actions,connect-timeout=2m");

        assertThat(RemoteEnvSpec.parse(spec.toString())).isEqualTo(spec);
        assertThat(spec.toString()).contains("timeout=90s", "backoff=0ms", "connect-timeout=2m", "dataset-size=7");
    }

    @Test
    void shouldBuildTheSameSpecInCode() {
        RemoteEnvSpec built = RemoteEnvSpec.builder("alfworld", "http://127.0.0.1:36001", RemoteProtocol.ALFWORLD)
                .requestTimeout(Duration.ofSeconds(10)).retries(1).datasetSize(100).build();

        assertThat(built).isEqualTo(RemoteEnvSpec.parse(BASE + ",timeout=10s,retries=1,dataset-size=100"));
    }

    @Test
    void shouldMapSeedToIndexModuloDatasetSizePlusOffset() {
        RemoteEnvSpec spec = RemoteEnvSpec.parse(BASE + ",dataset-size=10,index-offset=100");

        assertThat(spec.indexFor(0)).isEqualTo(100);
        assertThat(spec.indexFor(7)).isEqualTo(107);
        assertThat(spec.indexFor(23)).isEqualTo(103);
        assertThat(spec.indexFor(Seeds.MAX)).isEqualTo(100 + Seeds.MAX % 10);
    }

    @Test
    void shouldPassSeedAsIndexWithoutDatasetSize() {
        RemoteEnvSpec spec = RemoteEnvSpec.parse(BASE);

        assertThat(spec.indexFor(12345)).isEqualTo(12345);
    }

    @Test
    void shouldRejectSeedOutOfRange() {
        RemoteEnvSpec spec = RemoteEnvSpec.parse(BASE);

        assertThatThrownBy(() -> spec.indexFor(-1)).isInstanceOf(EnvInputException.class)
                .extracting(e -> ((EnvInputException) e).kind()).isEqualTo(EnvInputException.Kind.SEED_OUT_OF_RANGE);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "url=http://127.0.0.1:36001,protocol=agentgym-alfworld | setting 'name' is missing",
            "name=alfworld,protocol=agentgym-alfworld | setting 'url' is missing",
            "name=alfworld,url=http://127.0.0.1:36001 | setting 'protocol' is missing",
            "name=Alf World,url=http://h:1,protocol=agentgym | name='Alf World'",
            "name=alfworld,url=ftp://h:1,protocol=agentgym | url='ftp://h:1' must start with http",
            "name=alfworld,url=http://,protocol=agentgym | url='http://'",
            "name=alfworld,url=http://h:1/?x=1,protocol=agentgym | url='http://h:1/?x=1' must not carry a query",
            "name=alfworld,url=http://h:1,protocol=gym | protocol='gym' is not one of [agentgym, agentgym-alfworld",
            BASE + ",timeout=30 | timeout='30' is not a duration",
            BASE + ",timeout=0s | timeout='0ms' must be in",
            BASE + ",connect-timeout=fast | connect-timeout='fast' is not a duration",
            BASE + ",retries=-1 | retries='-1' must be in [0, 10]",
            BASE + ",retries=11 | retries='11' must be in [0, 10]",
            BASE + ",retries=two | retries='two' is not an integer",
            BASE + ",dataset-size=0 | dataset-size='0' must be in [1,",
            BASE + ",index-offset=-5 | index-offset='-5' must be in",
            BASE + ",won=sometimes | won='sometimes' is not one of [full, positive]",
            BASE + ",close=yes | close='yes' must be true or false",
            BASE + ",anchor=state | anchor='state' is not one of",
            BASE + ",index-field=id | id-field and index-field must differ",
            BASE + ",id-field=env id | id-field 'env id' is not a field name",
            BASE + ",timeout=1s,timeout=2s | setting 'timeout' is given twice",
            BASE + ",tiemout=1s | unknown setting 'tiemout'",
            BASE + ",retries | 'retries' is not key=value",
            BASE + ", | '' is not key=value",
    })
    void shouldRejectBadSettingNamingIt(String text, String message) {
        assertThatThrownBy(() -> RemoteEnvSpec.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }
}
