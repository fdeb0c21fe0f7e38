package ai.factory.security.keys;

import static java.util.Objects.requireNonNull;

import ai.factory.config.Pkcs11Settings;
import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import com.google.crypto.tink.Aead;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.Provider;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;

/**
 * The site master key, in versions: AES-256 keys named {@code <label>-v<N>} in a {@link KeyStore}, the highest
 * {@code N} being current. It wraps every key-encryption key and nothing else, so rotating it re-wraps a few dozen
 * small keys and never touches data.
 *
 * <ul>
 *   <li>{@code local}: a PKCS12 keystore file ({@code $FACTORY_HOME/master.p12}, mode 0600), created with version 1
 *       at first start. Its password comes from configuration, else from a generated file beside it (0600).</li>
 *   <li>{@code pkcs11}: an HSM through the JDK's SunPKCS11 provider. The keys are token objects, sensitive and not
 *       extractable; wrapping and unwrapping run inside the token, so the key never leaves it. A missing version 1 is
 *       generated inside the token at first start; an operator may create it beforehand under the same label.</li>
 * </ul>
 *
 * <p>Thread-safe: rotation and destruction are serialised; a wrapping call uses the key of the version it names.
 */
public final class MasterKeys {
    private static final Logger LOG = LoggerFactory.getLogger(MasterKeys.class);
    private static final Pattern LABEL = Pattern.compile("[a-z0-9][a-z0-9._-]{0,60}");

    /** Where a master key lives, for the report: the kind and a location without secrets. */
    public enum Kind {
        LOCAL("local-file"), PKCS11("pkcs11");

        private final String id;

        Kind(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }
    }

    private final Kind kind;
    private final String location;
    private final KeyStore store;
    private final @Nullable Provider provider;
    private final String label;
    private final Pattern alias;
    private final KeyStore.@Nullable ProtectionParameter protection;
    private final Persist persist;

    @FunctionalInterface
    private interface Persist {
        void save(KeyStore store) throws IOException, GeneralSecurityException;
    }

    private MasterKeys(Kind kind, String location, KeyStore store, @Nullable Provider provider, String label,
                       KeyStore.@Nullable ProtectionParameter protection, Persist persist) {
        this.kind = kind;
        this.location = location;
        this.store = store;
        this.provider = provider;
        this.label = checkLabel(label);
        this.alias = Pattern.compile(Pattern.quote(label) + "-v([0-9]{1,9})");
        this.protection = protection;
        this.persist = persist;
    }

    /**
     * The local keystore at {@code file}, created (0600, version 1) when missing.
     *
     * @param password the keystore's password; null: read from (or generate into) {@code passwordFile}
     */
    public static MasterKeys local(Path file, char @Nullable [] password, Path passwordFile, String label) {
        requireNonNull(file, "file is null");
        checkLabel(label);
        char[] pass = password != null ? password : passwordFrom(passwordFile);
        try {
            removeInterruptedSaves(file);
            KeyStore store = KeyStore.getInstance("PKCS12");
            boolean created = !Files.exists(file);
            if (created) {
                store.load(null, pass);
            } else {
                try (var in = Files.newInputStream(file)) {
                    store.load(in, pass);
                }
            }
            KeyStore.PasswordProtection protection = new KeyStore.PasswordProtection(pass);
            MasterKeys keys = new MasterKeys(Kind.LOCAL, file.toString(), store, null, label, protection,
                    s -> save(s, file, pass));
            keys.ensureFirstVersion();
            return keys;
        } catch (IOException e) {
            if (e.getCause() instanceof java.security.UnrecoverableKeyException) {
                throw new FactoryException(ErrorCode.UNAVAILABLE, "the master keystore " + file + " does not open with "
                        + "the configured password (keys.keystorePassword, or " + passwordFile + ")");
            }
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot read the master keystore " + file + ": "
                    + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot open the master keystore " + file + ": "
                    + e.getMessage(), e);
        }
    }

    /** An HSM's token through SunPKCS11; version 1 is generated inside the token when it has none. */
    public static MasterKeys pkcs11(Pkcs11Settings settings, String label) {
        requireNonNull(settings, "settings is null");
        checkLabel(label);
        long slot = settings.slot().isPresent() ? settings.slot().getAsLong()
                : Pkcs11Slots.findByLabel(settings.library(), settings.tokenLabel().orElseThrow());
        String config = """
                --name=factory-master
                library=%s
                slot=%d
                attributes(generate, CKO_SECRET_KEY, CKK_AES) = {
                  CKA_SENSITIVE = true
                  CKA_EXTRACTABLE = false
                }
                """.formatted(settings.library(), slot);
        Provider base = java.security.Security.getProvider("SunPKCS11");
        if (base == null) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "this JDK has no SunPKCS11 provider (module jdk.crypto.cryptoki)");
        }
        Provider provider;
        KeyStore store;
        try {
            provider = base.configure(config);
            store = KeyStore.getInstance("PKCS11", provider);
            store.load(null, settings.pin().toCharArray());
        } catch (GeneralSecurityException | IOException | java.security.ProviderException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot open the HSM token in slot " + slot + " through "
                    + settings.library() + ": " + rootMessage(e), e);
        }
        String location = "pkcs11:library=" + settings.library() + ";slot=" + slot
                + settings.tokenLabel().map(t -> ";token=" + t).orElse("") + ";label=" + label + "-vN";
        MasterKeys keys = new MasterKeys(Kind.PKCS11, location, store, provider, label, null, s -> {});
        keys.ensureFirstVersion();
        return keys;
    }

    public Kind kind() {
        return kind;
    }

    /** Where the keys live (a file, or the HSM's library, slot and key label); never a secret. */
    public String location() {
        return location;
    }

    /** The versions present, ascending. */
    public synchronized List<Integer> versions() {
        List<Integer> out = new ArrayList<>();
        try {
            for (String a : Collections.list(store.aliases())) {
                Matcher m = alias.matcher(a);
                if (m.matches() && store.isKeyEntry(a)) {
                    out.add(Integer.parseInt(m.group(1)));
                }
            }
        } catch (GeneralSecurityException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot list the master keys in " + location + ": "
                    + e.getMessage(), e);
        }
        Collections.sort(out);
        return out;
    }

    public int current() {
        return versions().getLast();
    }

    /** The AEAD of one version; UNAVAILABLE when the keystore or token lacks it (restored from an older backup?). */
    public synchronized Aead aead(int version) {
        String name = aliasOf(version);
        try {
            Key key;
            // One token operation at a time (JceAead says why); the keystore's own provider needs no such care.
            synchronized (provider == null ? this : provider) {
                key = store.getKey(name, passwordOf(protection));
            }
            if (key == null) {
                throw new FactoryException(ErrorCode.UNAVAILABLE, "master key version " + version + " (" + name
                        + ") is not in " + location + "; restore the keystore or token that holds it");
            }
            return new JceAead(key, provider);
        } catch (GeneralSecurityException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot read master key " + name + " from " + location
                    + ": " + e.getMessage(), e);
        }
    }

    /** Creates the next version, which becomes current; returns its number. Earlier versions stay until destroyed. */
    public synchronized int rotate() {
        int next = current() + 1;
        generate(next);
        return next;
    }

    /** Removes a version that is no longer current: whatever it alone wrapped can never be unwrapped again. */
    public synchronized void destroy(int version) {
        if (version >= current()) {
            throw new FactoryException(ErrorCode.CONFLICT, "master key version " + version + " is current; rotate first");
        }
        try {
            if (store.containsAlias(aliasOf(version))) {
                store.deleteEntry(aliasOf(version));
                persist.save(store);
            }
        } catch (GeneralSecurityException | IOException e) {
            throw new FactoryException(ErrorCode.INTERNAL, "cannot destroy master key version " + version + " in "
                    + location + ": " + e.getMessage(), e);
        }
    }

    private void ensureFirstVersion() {
        if (versions().isEmpty()) {
            generate(1);
        }
    }

    private void generate(int version) {
        try {
            KeyGenerator generator = provider == null ? KeyGenerator.getInstance("AES")
                    : KeyGenerator.getInstance("AES", provider);
            generator.init(256);
            SecretKey key = generator.generateKey();
            store.setEntry(aliasOf(version), new KeyStore.SecretKeyEntry(key), protection);
            persist.save(store);
        } catch (GeneralSecurityException | IOException e) {
            throw new FactoryException(ErrorCode.UNAVAILABLE, "cannot create master key version " + version + " in "
                    + location + ": " + rootMessage(e), e);
        }
    }

    private String aliasOf(int version) {
        return label + "-v" + version;
    }

    private static char @Nullable [] passwordOf(KeyStore.@Nullable ProtectionParameter protection) {
        return protection instanceof KeyStore.PasswordProtection p ? p.getPassword() : null;
    }

    private static String checkLabel(String label) {
        if (label == null || !LABEL.matcher(label).matches()) {
            throw new IllegalArgumentException("keys.masterKeyLabel must be 1-61 lowercase letters, digits, '.', '_' "
                    + "or '-', got '" + label + "'");
        }
        return label;
    }

    /**
     * Deletes the temporary copies a process killed inside {@link #save} left beside the keystore: each holds key
     * versions (perhaps one being destroyed), so none may outlive the save that made it.
     */
    private static void removeInterruptedSaves(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            return;
        }
        try (var leftovers = Files.newDirectoryStream(dir, file.getFileName() + "*.tmp")) {
            for (Path leftover : leftovers) {
                Files.deleteIfExists(leftover);
                LOG.warn("removed {}, a copy of the master keystore left by an interrupted save", leftover);
            }
        }
    }

    /** Writes the keystore to a 0600 temporary file beside it and renames it into place. */
    private static void save(KeyStore store, Path file, char[] password) throws IOException, GeneralSecurityException {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                store.store(out, password);
            }
            try (var channel = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                channel.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The generated keystore password in {@code file}, created (0600, 32 random bytes in base64) when missing. */
    private static char[] passwordFrom(Path file) {
        requireNonNull(file, "passwordFile is null");
        try {
            if (!Files.exists(file)) {
                byte[] raw = new byte[32];
                new SecureRandom().nextBytes(raw);
                Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".tmp",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                Files.writeString(tmp, Base64.getEncoder().encodeToString(raw) + "\n");
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    Files.deleteIfExists(tmp);
                }
            }
            return Files.readString(file).strip().toCharArray();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the keystore password file " + file, e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t.getMessage() + ")";
    }
}
