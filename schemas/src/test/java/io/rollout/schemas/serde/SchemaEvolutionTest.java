package io.rollout.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rollout.records.DroppedGroup;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.TrainingSample;
import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.serde.UndecodableRecordException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecordBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SchemaEvolutionTest {

    private static final String TOPIC = "rollout.steps";
    private static final List<Class<? extends SpecificRecordBase>> RECORDS = List.of(
            Task.class, Step.class, TrainingSample.class, WeightManifest.class, WeightChunk.class, DroppedGroup.class);

    private final Schema stepV2 = load("/evolution/Step-v2.avsc");
    private final Step step = SampleRecords.step(new Random(11), 120, 24);

    @Test
    void shouldDecodeBytesOfAnOlderStepWriterWithANewerReader() {
        // Written by today's Step (the released v1): the "older writer".
        byte[] v1Bytes = AvroSerde.of(Step.class).serialize(TOPIC, step);

        // A reader one version ahead, whose history holds every released version.
        AvroSerde<GenericRecord> v2Reader = AvroSerde.generic(stepV2, SchemaHistory.released().with(stepV2));
        GenericRecord read = v2Reader.deserialize(TOPIC, v1Bytes);

        assertThat(read.getSchema()).isEqualTo(stepV2);
        assertThat(read.get("responseTruncated")).as("added field takes its default").isEqualTo(false);
        assertThat(read.get("groupId")).isEqualTo(step.getGroupId());
        assertThat(read.get("t")).isEqualTo(step.getT());
        assertThat(read.get("reward")).isEqualTo(step.getReward());
        assertThat(read.get("promptTokens")).isEqualTo(step.getPromptTokens());
        assertThat(read.get("terminalReason").toString()).isEqualTo(step.getTerminalReason().name());
    }

    @Test
    void shouldDecodeANewerWriterOnlyOnceItsSchemaIsKnown() {
        GenericRecord v2 = new GenericData.Record(stepV2);
        GenericRecord v1 = (GenericRecord) GenericData.get().deepCopy(Step.getClassSchema(), step);
        for (Schema.Field field : Step.getClassSchema().getFields()) {
            v2.put(field.name(), GenericData.get().deepCopy(field.schema(), v1.get(field.name())));
        }
        v2.put("responseTruncated", true);
        byte[] v2Bytes = AvroSerde.generic(stepV2, SchemaHistory.released().with(stepV2)).serialize(TOPIC, v2);

        // A reader that was never told of v2 refuses it by name: upgrade readers before writers.
        assertThatThrownBy(() -> AvroSerde.of(Step.class).deserialize(TOPIC, v2Bytes))
                .isInstanceOfSatisfying(UndecodableRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.UNKNOWN_SCHEMA));

        // Given the v2 schema, today's reader decodes it and ignores the new field.
        Step read = AvroSerde.of(Step.class, SchemaHistory.released().with(stepV2)).deserialize(TOPIC, v2Bytes);
        assertThat(read).isEqualTo(step);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4, 5})
    void shouldReleaseTheCurrentSchemaOfEveryRecord(int index) {
        Schema current = SpecificRecordSchemas.of(RECORDS.get(index));
        List<Schema> released = SchemaHistory.released().versions(current.getFullName());

        assertThat(released).as("released versions of %s (add one to %s when the schema changes)",
                current.getName(), SchemaHistory.INDEX).isNotEmpty();
        assertThat(SchemaHistory.fingerprint(released.get(released.size() - 1)))
                .as("the newest released %s equals the generated class", current.getName())
                .isEqualTo(SchemaHistory.fingerprint(current));
        for (Schema writer : released) {
            assertThat(SchemaCompatibility.checkReaderWriterCompatibility(current, writer).getType())
                    .as("current %s reads released version %s", current.getName(), writer)
                    .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
        }
    }

    @Test
    void shouldKeepTheTestVersionCompatibleBothWays() {
        assertThat(SchemaCompatibility.checkReaderWriterCompatibility(stepV2, Step.getClassSchema()).getType())
                .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
        assertThat(SchemaCompatibility.checkReaderWriterCompatibility(Step.getClassSchema(), stepV2).getType())
                .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    }

    private static Schema load(String resource) {
        try (InputStream in = SchemaEvolutionTest.class.getResourceAsStream(resource)) {
            return new Schema.Parser().parse(in);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The schema a generated class was built from. */
    private static final class SpecificRecordSchemas {
        static Schema of(Class<? extends SpecificRecordBase> type) {
            return org.apache.avro.specific.SpecificData.getForClass(type).getSchema(type);
        }
    }
}
