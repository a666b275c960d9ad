package io.rollout.broker;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Properties;

/**
 * The Kafka client settings for a SASL_SSL listener with SCRAM-SHA-512: what every service
 * takes with {@code --kafka-config FILE}.
 */
public final class ScramClientConfig {

    public static final String MECHANISM = "SCRAM-SHA-512";

    private ScramClientConfig() {
    }

    /**
     * Settings to connect as {@code user}.
     *
     * @param truststore a PKCS12 truststore with the broker's certificate, or null to trust the
     *     JVM's default certificate authorities
     */
    public static Properties saslSsl(String bootstrap, String user, String password, Path truststore,
            String truststorePassword) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("security.protocol", "SASL_SSL");
        p.put("sasl.mechanism", MECHANISM);
        p.put("sasl.jaas.config", jaasConfig(user, password));
        if (truststore != null) {
            p.put("ssl.truststore.type", "PKCS12");
            p.put("ssl.truststore.location", truststore.toAbsolutePath().toString());
            p.put("ssl.truststore.password", truststorePassword);
        }
        return p;
    }

    /** Kafka's JAAS line for a SCRAM login; quotes and backslashes in the values are escaped. */
    static String jaasConfig(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + quote(user)
                + "\" password=\"" + quote(password) + "\";";
    }

    /** Writes {@code props} as a properties file readable by its owner only. */
    public static void write(Path file, Properties props, String comment) {
        StringWriter out = new StringWriter();
        try {
            props.store(out, comment);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SecretFiles.write(file, out.toString());
    }

    private static String quote(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
