package io.rollout.schemas.serde;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * Every released version of every record schema. Single-object encoding puts a schema
 * fingerprint in front of each payload; this history is what turns an older writer's
 * fingerprint back into its schema, so running services keep decoding bytes written
 * before a field was added.
 *
 * <p>The released versions ship as self-contained {@code .avsc} files listed, oldest
 * first, in the classpath resource {@value #INDEX}. Releasing a new version of a record
 * means adding its file there; a test fails while a generated class differs from the
 * newest released version of its record.
 */
public final class SchemaHistory {

    public static final String INDEX = "io/rollout/schemas/history/INDEX";

    private final Map<String, List<Schema>> versionsByName;
    private final Map<Long, Schema> byFingerprint;

    private SchemaHistory(Collection<Schema> schemas) {
        Map<String, List<Schema>> byName = new LinkedHashMap<>();
        Map<Long, Schema> byFp = new HashMap<>();
        for (Schema schema : schemas) {
            if (byFp.putIfAbsent(fingerprint(schema), schema) == null) {
                byName.computeIfAbsent(schema.getFullName(), n -> new ArrayList<>()).add(schema);
            }
        }
        byName.replaceAll((name, versions) -> List.copyOf(versions));
        this.versionsByName = Map.copyOf(byName);
        this.byFingerprint = Map.copyOf(byFp);
    }

    /** The released history shipped in this jar. */
    public static SchemaHistory released() {
        return Released.INSTANCE;
    }

    /** A history of exactly these schemas, oldest first per record name. */
    public static SchemaHistory of(Collection<Schema> schemas) {
        return new SchemaHistory(schemas);
    }

    /** This history plus {@code schema} as the newest version of its record. */
    public SchemaHistory with(Schema schema) {
        List<Schema> all = new ArrayList<>();
        versionsByName.values().forEach(all::addAll);
        all.add(schema);
        return new SchemaHistory(all);
    }

    /** Released versions of the record with this full name, oldest first; empty if none. */
    public List<Schema> versions(String fullName) {
        return versionsByName.getOrDefault(fullName, List.of());
    }

    public Optional<Schema> find(long fingerprint) {
        return Optional.ofNullable(byFingerprint.get(fingerprint));
    }

    /** The fingerprint single-object encoding writes: CRC-64-AVRO of the parsing canonical form. */
    public static long fingerprint(Schema schema) {
        return SchemaNormalization.parsingFingerprint64(schema);
    }

    private static final class Released {
        static final SchemaHistory INSTANCE = load();

        private static SchemaHistory load() {
            ClassLoader loader = SchemaHistory.class.getClassLoader();
            List<Schema> schemas = new ArrayList<>();
            try (InputStream index = loader.getResourceAsStream(INDEX)) {
                if (index == null) {
                    throw new IllegalStateException("schema history index " + INDEX + " is missing from the classpath");
                }
                BufferedReader lines = new BufferedReader(new InputStreamReader(index, StandardCharsets.UTF_8));
                String line;
                while ((line = lines.readLine()) != null) {
                    line = line.strip();
                    if (line.isEmpty() || line.startsWith("#")) {
                        continue;
                    }
                    schemas.add(parse(loader, "io/rollout/schemas/history/" + line));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read schema history " + INDEX, e);
            }
            return new SchemaHistory(schemas);
        }

        private static Schema parse(ClassLoader loader, String resource) throws IOException {
            try (InputStream in = loader.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("schema history lists " + resource + " but it is not on the classpath");
                }
                return new Schema.Parser().parse(in);
            }
        }
    }
}
