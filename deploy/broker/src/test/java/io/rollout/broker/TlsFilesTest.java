package io.rollout.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The self-signed keystore and truststore made with the JDK's keytool. */
class TlsFilesTest {

    @Test
    void shouldMakeAKeystoreForTheHostAndATruststoreWithPasswordsOnlyTheOwnerReads(@TempDir Path dir) throws Exception {
        TlsFiles tls = TlsFiles.generate(dir.resolve("tls"), "broker-0.example");

        assertThat(tls.certificateNames()).containsExactlyInAnyOrder("localhost", "127.0.0.1", "broker-0.example");
        assertThat(tls.keystorePassword()).hasSizeGreaterThanOrEqualTo(32).isNotEqualTo(tls.truststorePassword());
        for (Path secret : new Path[] {tls.keystore(), tls.keystorePasswordFile(), tls.truststorePasswordFile()}) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(secret))).as(secret.toString())
                    .isEqualTo("rw-------");
        }
        java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(tls.truststore())) {
            trust.load(in, tls.truststorePassword().toCharArray());
        }
        assertThat(trust.isCertificateEntry(TlsFiles.ALIAS)).isTrue();
        assertThat(Files.list(dir.resolve("tls"))).hasSize(4);
    }

    @Test
    void shouldReuseTheFilesForTheSameHostAndRefuseThemForAnother(@TempDir Path dir) throws Exception {
        TlsFiles first = TlsFiles.generate(dir, "127.0.0.1");
        byte[] keystore = Files.readAllBytes(first.keystore());

        TlsFiles again = TlsFiles.generate(dir, "127.0.0.1");

        assertThat(again).isEqualTo(first);
        assertThat(Files.readAllBytes(again.keystore())).isEqualTo(keystore);
        assertThatThrownBy(() -> TlsFiles.generate(dir, "10.1.2.3"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not 10.1.2.3");
        Files.delete(first.truststore());
        assertThatThrownBy(() -> TlsFiles.generate(dir, "127.0.0.1"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("only part of a TLS identity");
    }

    @Test
    void shouldNameAnIpHostByAddressAndOtherHostsByDns() {
        assertThat(TlsFiles.subjectAlternativeNames("10.0.0.7")).isEqualTo("dns:localhost,ip:127.0.0.1,ip:10.0.0.7");
        assertThat(TlsFiles.subjectAlternativeNames("kafka.lan")).isEqualTo("dns:localhost,ip:127.0.0.1,dns:kafka.lan");
        assertThat(TlsFiles.subjectAlternativeNames("127.0.0.1")).isEqualTo("dns:localhost,ip:127.0.0.1");
    }
}
