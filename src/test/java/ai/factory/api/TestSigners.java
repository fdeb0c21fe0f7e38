package ai.factory.api;

import ai.factory.security.tls.Pem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;

/** Signing keys for tests: fresh P-256 pairs, written as a signer keeps them (PEM files). */
final class TestSigners {
    private TestSigners() {}

    static KeyPair ecKeys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    /** A fresh key pair written to {@code dir/NAME.pem} (private) and {@code dir/NAME.pub} (public). */
    static Path[] write(Path dir, String name) throws Exception {
        KeyPair keys = ecKeys();
        Path priv = dir.resolve(name + ".pem");
        Path pub = dir.resolve(name + ".pub");
        Files.writeString(priv, Pem.privateKey(keys.getPrivate()));
        Files.writeString(pub, Pem.publicKey(keys.getPublic()));
        return new Path[] {priv, pub};
    }
}
