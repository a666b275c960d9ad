package io.rollout.broker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A self-signed TLS identity for a broker, in one directory: a PKCS12 keystore with one key
 * pair whose certificate names {@code localhost}, {@code 127.0.0.1} and the broker's host,
 * a PKCS12 truststore holding that certificate for clients, and a random password for each
 * in a file beside it (owner-only). Made with the JDK's {@code keytool}, which gets the
 * passwords through its environment, not its command line. For local and test clusters; a
 * shared cluster wants certificates from a real CA.
 */
public record TlsFiles(Path keystore, Path keystorePasswordFile, Path truststore, Path truststorePasswordFile) {

    static final String ALIAS = "broker";
    private static final int VALIDITY_DAYS = 3650;
    private static final String STORE_PASSWORD_ENV = "ROLLOUT_KEYTOOL_STOREPASS";

    /** The file names inside {@code dir}, whether or not they exist. */
    public static TlsFiles in(Path dir) {
        return new TlsFiles(dir.resolve("broker.keystore.p12"), dir.resolve("broker.keystore.password"),
                dir.resolve("client.truststore.p12"), dir.resolve("client.truststore.password"));
    }

    /**
     * The identity in {@code dir}: generated for {@code host} if the directory holds none,
     * reused if it holds one that names {@code host} (so clients keep trusting a restarted
     * broker).
     *
     * @throws IllegalStateException if the directory holds part of an identity, or one made
     *     for other hosts
     */
    public static TlsFiles generate(Path dir, String host) {
        TlsFiles files = in(dir);
        long present = files.all().filter(Files::exists).count();
        if (present == 4) {
            Set<String> names = files.certificateNames();
            if (!names.contains(host)) {
                throw new IllegalStateException("the TLS files in " + dir + " name " + names + ", not " + host
                        + "; delete the directory to generate them for " + host);
            }
            return files;
        }
        if (present > 0) {
            throw new IllegalStateException(dir + " holds only part of a TLS identity (" + present
                    + " of 4 files); delete it to generate a new one");
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
        String keystorePassword = randomPassword();
        String truststorePassword = randomPassword();
        Path certificate = dir.resolve("broker.crt");
        try {
            keytool(keystorePassword, "-genkeypair", "-alias", ALIAS, "-keyalg", "EC", "-groupname", "secp256r1",
                    "-validity", Integer.toString(VALIDITY_DAYS), "-dname", "CN=" + host,
                    "-ext", "SAN=" + subjectAlternativeNames(host), "-storetype", "PKCS12",
                    "-keystore", files.keystore.toString());
            SecretFiles.restrict(files.keystore); // it holds the private key
            keytool(keystorePassword, "-exportcert", "-rfc", "-alias", ALIAS, "-keystore", files.keystore.toString(),
                    "-file", certificate.toString());
            keytool(truststorePassword, "-importcert", "-noprompt", "-alias", ALIAS, "-file", certificate.toString(),
                    "-storetype", "PKCS12", "-keystore", files.truststore.toString());
            SecretFiles.write(files.keystorePasswordFile, keystorePassword + "\n");
            SecretFiles.write(files.truststorePasswordFile, truststorePassword + "\n");
        } catch (RuntimeException e) {
            files.all().forEach(TlsFiles::deleteQuietly);
            throw e;
        } finally {
            deleteQuietly(certificate);
        }
        return files;
    }

    public String keystorePassword() {
        return SecretFiles.read(keystorePasswordFile, "keystore password");
    }

    public String truststorePassword() {
        return SecretFiles.read(truststorePasswordFile, "truststore password");
    }

    /** {@code dns:localhost,ip:127.0.0.1}, and the host if it is neither. */
    static String subjectAlternativeNames(String host) {
        Set<String> names = new LinkedHashSet<>(List.of("dns:localhost", "ip:127.0.0.1"));
        names.add((isIpLiteral(host) ? "ip:" : "dns:") + host);
        return String.join(",", names);
    }

    /** The DNS names and IP addresses the keystore's certificate is valid for. */
    Set<String> certificateNames() {
        try (InputStream in = Files.newInputStream(keystore)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, keystorePassword().toCharArray());
            X509Certificate certificate = (X509Certificate) store.getCertificate(ALIAS);
            Set<String> names = new LinkedHashSet<>();
            Collection<List<?>> alternatives = certificate == null ? null : certificate.getSubjectAlternativeNames();
            if (alternatives != null) {
                alternatives.forEach(entry -> names.add(entry.get(1).toString()));
            }
            return names;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot read the certificate of " + keystore + ": " + e.getMessage(), e);
        }
    }

    private Stream<Path> all() {
        return Stream.of(keystore, keystorePasswordFile, truststore, truststorePasswordFile);
    }

    private static boolean isIpLiteral(String host) {
        return host.matches("[0-9.]+") || host.contains(":");
    }

    private static String randomPassword() {
        byte[] bytes = new byte[24];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private static void keytool(String storePassword, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        command.addAll(List.of("-storepass:env", STORE_PASSWORD_ENV));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put(STORE_PASSWORD_ENV, storePassword);
        try {
            Process process = builder.start();
            ByteArrayOutputStream output = new ByteArrayOutputStream();
            try (InputStream in = process.getInputStream()) {
                in.transferTo(output);
            }
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("keytool " + args[0] + " did not finish within 60 s");
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("keytool " + args[0] + " failed (exit " + process.exitValue() + "): "
                        + output.toString(StandardCharsets.UTF_8).strip());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run keytool from " + command.get(0), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running keytool", e);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // best effort: the caller reports the original failure
        }
    }
}
