package ai.factory.security.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.factory.ServerTest;
import ai.factory.config.Pkcs11Settings;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import com.google.crypto.tink.Aead;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.Provider;
import java.security.Security;
import java.util.Collections;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The master key providers: a local PKCS12 keystore, and a real SoftHSM2 token through SunPKCS11. */
@ServerTest
class MasterKeysTest {
    private static final byte[] AD = "context".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    @Test
    void localKeystoreIsCreatedPrivateAtFirstStartAndReusedAfterwards() throws Exception {
        Path file = dir.resolve("master.p12");
        Path password = dir.resolve("master.p12.password");

        MasterKeys first = MasterKeys.local(file, null, password, "factory-master");
        byte[] sealed = first.aead(1).encrypt("kek".getBytes(StandardCharsets.UTF_8), AD);

        assertThat(first.kind()).isEqualTo(MasterKeys.Kind.LOCAL);
        assertThat(first.versions()).containsExactly(1);
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.getPosixFilePermissions(password)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(first.location()).isEqualTo(file.toString()).doesNotContain(Files.readString(password).strip());

        MasterKeys again = MasterKeys.local(file, null, password, "factory-master");
        assertThat(again.versions()).containsExactly(1);
        assertThat(new String(again.aead(1).decrypt(sealed, AD), StandardCharsets.UTF_8)).isEqualTo("kek");
        assertThatThrownBy(() -> again.aead(1).decrypt(sealed, "other".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(java.security.GeneralSecurityException.class);
    }

    @Test
    void aConfiguredPasswordIsUsedAndAWrongOneIsAClearError() {
        Path file = dir.resolve("master.p12");
        MasterKeys.local(file, "correct horse".toCharArray(), dir.resolve("unused"), "factory-master");

        assertThat(dir.resolve("unused")).doesNotExist();
        assertThat(MasterKeys.local(file, "correct horse".toCharArray(), dir.resolve("unused"), "factory-master").versions())
                .containsExactly(1);
        assertThatThrownBy(() -> MasterKeys.local(file, "battery staple".toCharArray(), dir.resolve("unused"), "factory-master"))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE))
                .hasMessageContaining("does not open with the configured password")
                .hasMessageNotContaining("battery");
    }

    @Test
    void rotationAddsAVersionThatPersistsAndOldVersionsGoOnlyWhenDestroyed() throws Exception {
        Path file = dir.resolve("master.p12");
        MasterKeys keys = MasterKeys.local(file, null, dir.resolve("pw"), "factory-master");
        byte[] underOne = keys.aead(1).encrypt(new byte[] {1, 2, 3}, AD);

        assertThat(keys.rotate()).isEqualTo(2);
        assertThat(keys.current()).isEqualTo(2);
        MasterKeys reopened = MasterKeys.local(file, null, dir.resolve("pw"), "factory-master");
        assertThat(reopened.versions()).containsExactly(1, 2);
        assertThat(reopened.aead(1).decrypt(underOne, AD)).containsExactly(1, 2, 3);

        assertThatThrownBy(() -> reopened.destroy(2)).hasMessageContaining("is current");
        reopened.destroy(1);
        assertThat(MasterKeys.local(file, null, dir.resolve("pw"), "factory-master").versions()).containsExactly(2);
        assertThatThrownBy(() -> reopened.aead(1))
                .isInstanceOfSatisfying(FactoryException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE))
                .hasMessageContaining("master key version 1");
    }

    @Test
    void labelsAreChecked() {
        assertThatThrownBy(() -> MasterKeys.local(dir.resolve("m.p12"), null, dir.resolve("pw"), "../evil"))
                .hasMessageContaining("keys.masterKeyLabel");
    }

    @Test
    void pkcs11MasterKeyIsMadeAndUsedInsideTheHsmAndNeverLeavesIt() throws Exception {
        Pkcs11Settings byLabel = TestHsm.byLabel();
        String label = "master-" + System.nanoTime();

        MasterKeys hsm = MasterKeys.pkcs11(byLabel, label);
        byte[] sealed = hsm.aead(1).encrypt("kek".getBytes(StandardCharsets.UTF_8), AD);

        assertThat(hsm.kind()).isEqualTo(MasterKeys.Kind.PKCS11);
        assertThat(hsm.versions()).containsExactly(1);
        assertThat(hsm.location()).contains("token=" + TestHsm.TOKEN_LABEL).contains(label).doesNotContain(TestHsm.PIN);

        // Reached by slot id too, as a site that configures keys.pkcs11.slot does; the same key answers.
        long slot = Pkcs11Slots.findByLabel(byLabel.library(), TestHsm.TOKEN_LABEL);
        MasterKeys bySlot = MasterKeys.pkcs11(new Pkcs11Settings(byLabel.library(), OptionalLong.of(slot), Optional.empty(),
                TestHsm.PIN), label);
        assertThat(new String(bySlot.aead(1).decrypt(sealed, AD), StandardCharsets.UTF_8)).isEqualTo("kek");

        // What the token holds: a sensitive, non-extractable secret key object under the label.
        Provider p = Security.getProvider("SunPKCS11").configure("--name=inspect\nlibrary=" + byLabel.library()
                + "\nslot=" + slot + "\n");
        KeyStore token = KeyStore.getInstance("PKCS11", p);
        token.load(null, TestHsm.PIN.toCharArray());
        assertThat(Collections.list(token.aliases())).contains(label + "-v1");
        assertThat(token.getKey(label + "-v1", null).getEncoded()).as("the key material never leaves the HSM").isNull();

        assertThat(bySlot.rotate()).isEqualTo(2);
        assertThat(MasterKeys.pkcs11(byLabel, label).versions()).containsExactly(1, 2);
        bySlot.destroy(1);
        assertThat(MasterKeys.pkcs11(byLabel, label).versions()).containsExactly(2);
    }

    @Test
    void pkcs11MistakesAreClearErrors() {
        Pkcs11Settings good = TestHsm.byLabel();

        assertThatThrownBy(() -> MasterKeys.pkcs11(new Pkcs11Settings(good.library(), OptionalLong.empty(),
                Optional.of("no-such-token"), TestHsm.PIN), "m"))
                .isInstanceOf(FactoryException.class)
                .hasMessageContaining("no token labelled 'no-such-token'").hasMessageContaining(TestHsm.TOKEN_LABEL);
        // (A wrong PIN can't be shown here: a PKCS#11 login holds for the whole process, and other tests in this JVM
        // are logged in to the shared token, so the module does not ask again.)
        assertThatThrownBy(() -> MasterKeys.pkcs11(new Pkcs11Settings(dir.resolve("nothing.so"), OptionalLong.empty(),
                Optional.of(TestHsm.TOKEN_LABEL), TestHsm.PIN), "m"))
                .isInstanceOf(FactoryException.class).hasMessageContaining("nothing.so");
        assertThatThrownBy(() -> new Pkcs11Settings(good.library(), OptionalLong.of(1), Optional.of("x"), "pin"))
                .hasMessageContaining("exactly one of slot and tokenLabel");
        assertThat(good.toString()).doesNotContain(TestHsm.PIN);
    }

    @Test
    void aeadTellsTamperingApart() throws Exception {
        Aead aead = MasterKeys.local(dir.resolve("m.p12"), null, dir.resolve("pw"), "factory-master").aead(1);
        byte[] sealed = aead.encrypt(new byte[32], AD);
        sealed[20] ^= 1;
        assertThatThrownBy(() -> aead.decrypt(sealed, AD)).isInstanceOf(java.security.GeneralSecurityException.class);
        assertThatThrownBy(() -> aead.decrypt(new byte[5], AD)).isInstanceOf(java.security.GeneralSecurityException.class);
    }
}
